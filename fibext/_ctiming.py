"""fibext.time_c: the pure-C row, cfib(n) timed inside C (see ctiming.c)."""

import operator
from typing import NamedTuple

from fibext import _capi


class CTiming(NamedTuple):
    #: ns per call, back-to-back independent calls that the CPU overlaps: C's best case.
    throughput_ns: float
    #: ns per call, each call waiting for the previous one to finish: start to result.
    latency_ns: float


def time_c(n, loops=100_000, repeat=5):
    """Time the C function cfib(n) from C, with no interpreter in the loop.

    Runs ``loops`` calls ``repeat`` times and returns the best of each figure as a
    :class:`CTiming` in nanoseconds per call.  n follows fib()'s contract; loops and repeat
    must be positive ints.
    """
    repeat = operator.index(repeat)
    if repeat < 1:
        raise ValueError(f"time_c() repeat must be at least 1, got {repeat}")
    runs = [_capi.time_c(n, loops) for _ in range(repeat)]
    throughput, serial, fence = (min(column) for column in zip(*runs))
    # Best against best: a fence slowed by another process must not make a call look free.
    return CTiming(throughput, max(serial - fence, 0.0))
