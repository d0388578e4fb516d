"""Build rules for fibext; the metadata lives in pyproject.toml.

- The hand-written C-API module _capi links the pure-C cfib() and the C timer.
- Every .pyx (and _pyfib.py, compiled unchanged as _pyfib_compiled) goes through cythonize;
  their build settings sit in "# distutils:" lines at the top of each file, so the same files
  also build through pyximport.  Cython writes its C into build/, never beside the sources.
- Optimised: Python's own CFLAGS (-O3 on CPython) with assertions off.  No -march=native, so
  a wheel runs on any CPU of its architecture.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

C_API = Extension(
    "fibext._capi",
    sources=["fibext/_capi.c", "fibext/cfib.c", "fibext/ctiming.c"],
    include_dirs=["fibext"],
)

CYTHON = [
    Extension("fibext._pyfib_compiled", ["fibext/_pyfib.py"]),
    Extension("fibext._cyfib", ["fibext/_cyfib.pyx"]),
    Extension("fibext._cyfib_cpdef", ["fibext/_cyfib_cpdef.pyx"]),
    Extension("fibext._cywrap", ["fibext/_cywrap.pyx"]),
    Extension("fibext._memory", ["fibext/_memory.pyx"]),
]

setup(ext_modules=[C_API, *cythonize(CYTHON, build_dir="build/cython")])
