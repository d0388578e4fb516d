# cython: language_level=3, binding=False, always_allow_keywords=False
# cython: embedsignature=True, embedsignature.format=clinic
# No GIL needed (free-threaded builds): fib and cfib keep no state; index_n is bound at import.
# cython: freethreading_compatible=True
# distutils: sources = fibext/cfib.c
# distutils: include_dirs = fibext
"""fib in Cython wrapping the C function cfib() from cfib.c, declared in cfib.pxd."""

from fibext._contract import index_n as _index_n
from fibext.cfib cimport cfib
from fibext.fibarg cimport as_n

cdef object index_n = _index_n


def fib(n, /):
    """Return the n-th Fibonacci number as a float (Cython calling C's cfib())."""
    cdef int k = as_n(n, index_n)
    return cfib(k)
