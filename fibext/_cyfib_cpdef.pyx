# cython: language_level=3, binding=False, always_allow_keywords=False
# cython: embedsignature=True, embedsignature.format=clinic
# No GIL needed (free-threaded builds): fib keeps no state; index_n is bound once at import.
# cython: freethreading_compatible=True
# distutils: include_dirs = fibext
"""fib as a typed Cython cpdef function: callable from C at C speed, and from Python."""

from fibext._contract import index_n as _index_n
from fibext.fibarg cimport as_n

cdef object index_n = _index_n


cpdef double fib(n) except -1:
    """Return the n-th Fibonacci number as a float (typed Cython cpdef)."""
    cdef int k = as_n(n, index_n)
    cdef int _i
    cdef double a = 0.0, b = 1.0
    for _i in range(k):
        a, b = a + b, a
    return a
