# No GIL needed when compiled for a free-threaded build: fib keeps no state.
# cython: freethreading_compatible=True
"""fib in pure Python.

This file is also compiled, unchanged, by Cython into fibext._pyfib_compiled (the
``cython_untyped`` variant): the difference between the two is what compiling alone buys.
"""

from fibext._contract import index_n


def fib(n, /):
    """Return the n-th Fibonacci number as a float (the double a, b loop)."""
    n = index_n(n)
    a, b = 0.0, 1.0
    for i in range(n):
        a, b = a + b, a
    return a
