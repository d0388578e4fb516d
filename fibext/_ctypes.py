"""fib through ctypes: the C function cfib() called from Python with argtypes and restype set."""

import ctypes

from fibext import _capi
from fibext._contract import index_n

# fibext._capi links cfib.c and exports cfib(): a shared object ctypes can load like any other.
_cfib = ctypes.CDLL(_capi.__file__).cfib
_cfib.argtypes = (ctypes.c_int,)
_cfib.restype = ctypes.c_double


def fib(n, /):
    """Return the n-th Fibonacci number as a float (ctypes calling cfib())."""
    # ctypes' c_int conversion wraps out-of-range ints silently: the contract is checked first.
    return _cfib(index_n(n))
