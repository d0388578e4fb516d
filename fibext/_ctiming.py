"""fibext.time_c: the pure-C row, cfib(n) timed inside C (see ctiming.c)."""

import operator
from typing import NamedTuple

from fibext import _capi

#: Most runs time_c() takes: more only waits longer for the same minimum.
MAX_REPEAT = 1_000_000
#: Most calls per run (_capi.time_c counts them with a C int).
MAX_LOOPS = 2**31 - 1


class CTiming(NamedTuple):
    #: ns per call, back-to-back independent calls that the CPU overlaps: C's best case.
    throughput_ns: float
    #: ns per call, each call waiting for the previous one to finish: start to result.
    latency_ns: float


def _count(value, name, cap):
    """value as an int in [1, cap], else TypeError, ValueError or OverflowError naming it."""
    try:
        value = operator.index(value)
    except TypeError as exc:
        raise TypeError(f"time_c() {name} must be an int: {exc}") from None
    if value < 1:
        raise ValueError(f"time_c() {name} must be at least 1, got {value}")
    if value > cap:
        raise OverflowError(f"time_c() {name} must be at most {cap}, got {value}")
    return value


def time_c(n, loops=100_000, repeat=5):
    """Time the C function cfib(n) from C, with no interpreter in the loop.

    Runs ``loops`` calls ``repeat`` times and returns the best of each figure as a
    :class:`CTiming` in nanoseconds per call.  n follows fib()'s contract; loops (at most
    MAX_LOOPS) and repeat (at most MAX_REPEAT) must be positive ints.  Memory does not grow
    with repeat: only the running minima are kept.
    """
    loops = _count(loops, "loops", MAX_LOOPS)
    repeat = _count(repeat, "repeat", MAX_REPEAT)
    throughput = serial = fence = float("inf")
    for _ in range(repeat):
        t, s, f = _capi.time_c(n, loops)
        throughput, serial, fence = min(throughput, t), min(serial, s), min(fence, f)
    # Best against best: a fence slowed by another process must not make a call look free.
    return CTiming(throughput, max(serial - fence, 0.0))
