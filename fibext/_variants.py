"""The registry of fib variants: the one list the package, the benchmarks and the tests use."""

import importlib
from typing import Callable, NamedTuple


class Variant(NamedTuple):
    name: str         # stable: benchmark histories and tests are keyed by it
    module: str       # where the callable lives
    attr: str
    description: str


#: Append only: a renamed or removed name breaks the benchmark history recorded under it.
VARIANT_SPECS = (
    Variant("python", "fibext._pyfib", "fib",
            "pure Python"),
    Variant("cython_untyped", "fibext._pyfib_compiled", "fib",
            "the same Python source compiled by Cython"),
    Variant("cython", "fibext._cyfib", "fib",
            "typed Cython def"),
    Variant("cython_cpdef", "fibext._cyfib_cpdef", "fib",
            "typed Cython cpdef"),
    Variant("cython_wrap_c", "fibext._cywrap", "fib",
            "Cython wrapping C cfib() (cdef extern)"),
    Variant("capi", "fibext._capi", "fib",
            "C-API, METH_O, multi-phase init"),
    Variant("capi_varargs", "fibext._capi", "fib_varargs",
            "C-API, METH_VARARGS + PyArg_ParseTuple + Py_BuildValue"),
    Variant("ctypes", "fibext._ctypes", "fib",
            "ctypes calling C cfib()"),
)

#: name -> fib callable, in VARIANT_SPECS order.  A compiled module that fails to import is an
#: error here, not a silently shorter dict: every variant is the point of the package.
VARIANTS: "dict[str, Callable[[int], float]]" = {
    spec.name: getattr(importlib.import_module(spec.module), spec.attr)
    for spec in VARIANT_SPECS
}

#: The extension modules the variants are built into (for import-time benchmarks and tests).
COMPILED_MODULES = tuple(sorted({
    spec.module for spec in VARIANT_SPECS
    if importlib.import_module(spec.module).__spec__.origin.endswith((".so", ".pyd"))
}))
