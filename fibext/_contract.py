"""The contract of fib(), the same for every variant, written once.

fib(n) takes anything ``operator.index`` accepts (int, bool, numpy integers, any object with
``__index__``) and returns a Python float, bit-identical to the pure-Python loop.  Otherwise:

- TypeError naming the type it got: ``operator.index``'s own message, or, when the type's own
  ``__index__`` raised TypeError (numpy's "only integer scalar arrays can be converted to a
  scalar index" names no type), the same words with that message in brackets;
- ValueError for any negative n, naming n;
- OverflowError for n > MAX_N (the compiled loops count with a C int), naming n.

Every variant calls :func:`index_n` (compiled ones only after their own C check of the common
case, an exact int in range; see fibarg.h), so they all raise the same exception with the
same message.
"""

import operator

#: Largest n accepted (C ``INT_MAX``; FIBEXT_MAX_N in fibarg.h is the same).
MAX_N = 2**31 - 1

#: n past which fib(n) overflows a double to inf, in every variant.
LAST_FINITE_N = 1476


def _describe(n):
    # str() of an int beyond 4300 digits raises ValueError itself; name huge ints by size.
    if -(2**63) <= n < 2**63:
        return str(n)
    return f"{'a negative' if n < 0 else 'an'} int of {n.bit_length()} bits"


def _type_name(obj):
    # As CPython's own messages name a type: "numpy.ndarray", but "str".
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def index_n(n):
    """Return n as an int in [0, MAX_N], or raise the contract's exception."""
    try:
        n = operator.index(n)
    except TypeError as exc:
        if not hasattr(type(n), "__index__"):
            raise  # operator.index's own message, which names the type
        # The type's own __index__ refused, in words that need not name the type.
        raise TypeError(f"'{_type_name(n)}' object cannot be interpreted as an integer "
                        f"({exc})") from exc
    if n < 0:
        raise ValueError(f"fib() argument must be non-negative, got {_describe(n)}")
    if n > MAX_N:
        raise OverflowError(f"fib() argument must be at most {MAX_N}, got {_describe(n)}")
    return n
