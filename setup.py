"""Build rules for fibext; the metadata lives in pyproject.toml.

- The hand-written C-API module _capi links the pure-C cfib() and the C timer.
- Every fibext/*.pyx is the module of its own name (found here, not listed), and _pyfib.py is
  compiled unchanged as _pyfib_compiled; all go through cythonize.  Their build settings sit in
  "# distutils:" lines at the top of each file, so the same files also build through pyximport.
  Cython writes its C into build/, never beside the sources, so nothing generated needs naming
  in .gitignore or MANIFEST.in.
- The C compiler runs on every CPU: build_ext compiles the extensions in parallel (its
  --parallel, on by default here; `-j N` chooses).  cythonize stays serial: it takes about 1 s
  for all the modules, less than its worker pool costs to start.  Both skip what build/ already
  holds up to date, so a second build of the same tree compiles nothing (an edit to this file
  recompiles every extension's C; it does not run Cython again).
- Optimised: Python's own CFLAGS (-O3 on CPython) with assertions off.  No -march=native, so
  a wheel runs on any CPU of its architecture.
- FIBEXT_CYTHON_PROFILE=1 compiles the Cython modules with profile=True, so that cProfile
  (and asv profile) sees their functions.  Never the default: the hooks cost every call time.
  It builds under build/profile/, so switching it on or off never reuses the other's objects.
- OpenMP only where the compiler builds and links it (FibextBuildExt); otherwise prange runs
  serially and fibext.parallel.OPENMP is False.
- Code is laid out alike in every build where the compiler can say so (LAYOUT: gcc both,
  clang the first): every function compiled for speed, and every loop top reached only by a
  jump, starts a 64-byte line.  Otherwise a change to one function moves the functions after
  it by a few bytes, and a small loop that comes to straddle two lines runs slower with no
  change to its own code (docs/measuring.md, "Code placement").  _capi links cfib.c and
  ctiming.c before its own C, and keeps its own functions in source order (SOURCE_ORDER), so
  an edit to capi_varargs or the module's glue never moves the timed loops or capi's fib.
  Only setup.py builds add these; pyximport does not.
"""

import copy
import functools
import os
import pathlib
import tempfile
from distutils import log  # setuptools' own copy once setuptools is imported (3.12 has no other)

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

C_API = Extension(
    "fibext._capi",
    # the timed C first: an edit to the module's own C moves nothing linked before it
    sources=["fibext/cfib.c", "fibext/ctiming.c", "fibext/_capi.c"],
    include_dirs=["fibext"],
    depends=["fibext/cfib.h", "fibext/ctiming.h", "fibext/fibarg.h"],  # rebuild when they change
)

CYTHON = [
    Extension("fibext._pyfib_compiled", ["fibext/_pyfib.py"]),  # the pure-Python loop, unchanged
    *(Extension(f"fibext.{path.stem}", [path.as_posix()])
      for path in sorted(pathlib.Path("fibext").glob("*.pyx"))),
]

# OpenMP: modules using prange get the compiler's OpenMP flags only where a tiny OpenMP
# program builds and links with the compiler build_ext really uses; elsewhere they build serially
# (Cython's prange becomes a plain loop) and fibext.parallel.OPENMP says so.
# FIBEXT_OPENMP=0 forces the serial build, to try the fallback (rebuild with --force).
OPENMP_EXTENSIONS = {"fibext._parallel"}

_OPENMP_CHECK = """\
#include <omp.h>
int main(void) {
    int n = 0;
#pragma omp parallel reduction(+ : n)
    n += omp_get_num_threads() > 0;
    return n > 0 ? 0 : 1;
}
"""


def accepted(compiler, flags, program, link):
    """flags if this compiler compiles program with them (and links it, if link), else []."""
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "check.c")
        with open(source, "w") as f:
            f.write(program)
        try:
            objects = compiler.compile([source], output_dir=tmp, extra_postargs=flags)
            if link:
                compiler.link_executable(objects, "check", output_dir=tmp, extra_postargs=flags)
        except (CompileError, LinkError):
            return []
    return flags


def openmp_flags(compiler):
    """The flags that compile and link OpenMP code with this compiler, or [] if none work."""
    if os.environ.get("FIBEXT_OPENMP") == "0":
        return []
    flags = ["/openmp"] if compiler.compiler_type == "msvc" else ["-fopenmp"]
    # Linked, not just compiled: -fopenmp must also find the runtime (libgomp, libomp).
    return accepted(compiler, flags, _OPENMP_CHECK, link=True)


#: Every function (but those gcc optimizes for size: cold ones, module init), and every label
#: reached only by a jump (the top of a loop gcc enters at its test), starts a 64-byte line:
#: an edit moves what follows it by whole lines, and a loop within one line stays there.
LAYOUT = ["-falign-functions=64", "-falign-jumps=64"]
#: _capi's functions in the order of its source (fib's wrappers before the glue), where gcc
#: would reorder them; not for Cython's modules, where it stops gcc inlining a def's body.
SOURCE_ORDER = ["-fno-toplevel-reorder"]


def supported(compiler, flags):
    """Those of flags this compiler honours: -Werror, because clang only warns that it ignores
    -falign-jumps; MSVC has none of these (and would only warn about them)."""
    if compiler.compiler_type == "msvc":
        return []
    return [flag for flag in flags
            if accepted(compiler, [flag, "-Werror"], "int main(void) { return 0; }\n", link=False)]


class FibextBuildExt(build_ext):
    """build_ext that lays code out alike in every build where the compiler can (LAYOUT), adds
    OpenMP flags to OPENMP_EXTENSIONS where the compiler supports them, and compiles the
    extensions in parallel unless -j/--parallel says otherwise."""

    def finalize_options(self):
        if self.parallel is None:
            self.parallel = True  # build_ext's own word for "one worker per CPU"
        super().finalize_options()

    def build_extensions(self):
        flags = openmp_flags(self.compiler)
        if flags:
            log.info("fibext: OpenMP found (%s)", " ".join(flags))
        else:
            log.warn("fibext: no OpenMP, prange builds serially")
        layout = supported(self.compiler, LAYOUT)
        source_order = supported(self.compiler, SOURCE_ORDER)
        log.info("fibext: code layout %s", " ".join(layout + source_order) or "the compiler's")
        for ext in self.extensions:
            ext.extra_compile_args = [*ext.extra_compile_args, *layout]
            if ext.name == C_API.name:
                ext.extra_compile_args += source_order
            # build/ is reused only while these rules stand: a changed flag recompiles everything
            ext.depends = [*ext.depends, __file__]
            if ext.name in OPENMP_EXTENSIONS:
                ext.extra_compile_args = [*ext.extra_compile_args, *flags]
                ext.extra_link_args = [*ext.extra_link_args, *flags]
        # Longest first, so that the workers finish together: a compile takes time roughly in
        # proportion to the C it reads (_memory's is the largest, and takes most of the build).
        self.extensions.sort(key=lambda ext: -sum(map(os.path.getsize, ext.sources)))
        super().build_extensions()

    def build_extension(self, ext):
        # Each extension compiles into a directory of its own: cfib.c is a source of three of
        # them, and parallel workers sharing one cfib.o would link each other's half-written
        # object.  A shallow copy, because the workers are threads sharing this command.
        worker = copy.copy(self)
        worker.build_temp = os.path.join(self.build_temp, ext.name)
        # distutils sorts the sources; link the objects in the order the Extension lists them
        worker.compiler = copy.copy(self.compiler)
        worker.compiler.link_shared_object = functools.partial(
            _link_in_order, self.compiler.link_shared_object, ext.sources)
        super(FibextBuildExt, worker).build_extension(ext)


def _link_in_order(link, sources, objects, *args, **kwargs):
    """link(objects, ...) with the objects in the order of the sources they were built from."""
    order = {pathlib.Path(source).stem: index for index, source in enumerate(sources)}
    ranked = sorted(objects, key=lambda path: order.get(pathlib.Path(path).stem, len(order)))
    return link(ranked, *args, **kwargs)


# Cython's profiling hooks (FIBEXT_CYTHON_PROFILE=1): an option for profiling, never the default.
PROFILE = os.environ.get("FIBEXT_CYTHON_PROFILE") == "1"
BUILD_BASE = "build/profile" if PROFILE else "build"

setup(
    ext_modules=[C_API, *cythonize(CYTHON, build_dir=f"{BUILD_BASE}/cython",
                                   compiler_directives={"profile": True} if PROFILE else {})],
    cmdclass={"build_ext": FibextBuildExt},
    options={"build": {"build_base": BUILD_BASE}},
)
