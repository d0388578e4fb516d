# The pure-C fib, declared for Cython.  The base name is cfib's, not a .pyx's: a .pxd that
# shares a .pyx's name would be read as that module's own declarations.
cdef extern from "cfib.h":
    double cfib(int n) nogil
