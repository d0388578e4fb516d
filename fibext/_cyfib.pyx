# cython: language_level=3, binding=False, always_allow_keywords=False
# cython: embedsignature=True, embedsignature.format=clinic
# No GIL needed (free-threaded builds): fib keeps no state; index_n is bound once at import.
# cython: freethreading_compatible=True
# distutils: include_dirs = fibext
"""fib in typed Cython: a def function with C-typed locals.

binding=False and always_allow_keywords=False make fib a plain builtin function called with
METH_O, as the C-API variant is: Cython 3's defaults (a cyfunction that parses positional
and keyword arguments with METH_FASTCALL|METH_KEYWORDS) cost a few ns more per call.
"""

from fibext._contract import index_n as _index_n
from fibext.fibarg cimport as_n

# A C-level reference: the slow path then needs no module-dict lookup.
cdef object index_n = _index_n


def fib(n, /):
    """Return the n-th Fibonacci number as a float (typed Cython def)."""
    # n is an object, not "int n": Cython's own int conversion would raise OverflowError for a
    # huge negative n, where the contract asks for ValueError.
    cdef int k = as_n(n, index_n)
    cdef int _i
    cdef double a = 0.0, b = 1.0
    for _i in range(k):
        a, b = a + b, a
    return a
