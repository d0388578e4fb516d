# fib()'s argument contract in C (fibarg.h), declared for Cython.
cdef extern from "fibarg.h":
    # n for an exact int in [0, MAX_N]; otherwise -1 with no exception: call fibext_checked_n.
    int fibext_fast_n(object arg)
    # The contract's slow path through fibext._contract.index_n: n, or -1 with an exception.
    int fibext_checked_n(object arg, object index_n) except -1


cdef inline int as_n(object arg, object index_n) except -1:
    """n from fib()'s argument: the C fast path, else fibext._contract.index_n."""
    cdef int n = fibext_fast_n(arg)
    if n < 0:
        n = fibext_checked_n(arg, index_n)
    return n
