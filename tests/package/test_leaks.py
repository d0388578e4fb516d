"""No compiled variant leaks: 10**6 calls on valid and invalid input leave memory and refcounts flat."""

import gc
import sys
import tracemalloc

import psutil
import pytest

import fibext

CALLS = 1_000_000
# tracemalloc slows every allocation a hundredfold: it watches a shorter run, RSS the long one.
TRACED_CALLS = 20_000


class Index:
    def __init__(self, value):
        self.value = value

    def __index__(self):
        if isinstance(self.value, type):  # a fresh exception each time: a re-raised one
            raise self.value()           # grows its own traceback, which is no leak of ours
        return self.value


def valid_and_invalid():
    """Fresh objects whose refcounts only this test touches: not small ints, and strings built
    at run time (literals are shared with the code, one-character strings with the whole
    interpreter: the count of "x" once moved by 31 between two reads)."""
    return [
        int("1000"),           # fast path: an exact int
        Index(int("1000")),    # slow path through the contract's index_n
        -int("1000"),          # ValueError
        2**40 + int("1"),      # OverflowError
        -(2**100),             # ValueError, huge
        "".join(["t", "en"]),        # TypeError
        Index("".join(["x", "y"])),  # TypeError from __index__
        Index(RuntimeError),   # an exception raised by __index__
    ]


def drive(func, args, calls):
    for arg in args:
        for _ in range(calls):
            try:
                func(arg)
            except Exception:
                pass


@pytest.mark.slow
@pytest.mark.parametrize("variant", [n for n in fibext.VARIANTS if n != "python"])
def test_no_leak_over_a_million_calls(variant):
    func = fibext.VARIANTS[variant]
    args = valid_and_invalid()
    per_arg = CALLS // len(args)
    drive(func, args, 1000)  # warm caches and free lists before measuring
    gc.collect()
    # The arguments and what their __index__ hands back: a missing Py_DECREF shows on either.
    watched = args + [arg.value for arg in args if isinstance(arg, Index)]
    refcounts = [sys.getrefcount(obj) for obj in watched]
    rss = psutil.Process().memory_info().rss
    drive(func, args, per_arg)
    gc.collect()
    grown_rss = psutil.Process().memory_info().rss - rss
    assert [sys.getrefcount(obj) for obj in watched] == refcounts

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        drive(func, args, TRACED_CALLS // len(args))
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One leaked float per call would be 480 kB traced and 24 MB of RSS; allow noise.
    assert after - before < 16 * 1024, f"{variant}: Python memory grew {after - before} bytes"
    assert grown_rss < 4 * 1024 * 1024, f"{variant}: RSS grew {grown_rss} bytes"


@pytest.mark.slow
def test_a_leak_would_be_caught():
    """The same measurement on a function that leaks one reference per call must fail."""
    leaked = []
    args = valid_and_invalid()

    def leaky(arg):
        leaked.append(arg)  # holds a reference, as a missing Py_DECREF would
        return 0.0

    refcounts = [sys.getrefcount(arg) for arg in args]
    drive(leaky, args, 10)
    assert [sys.getrefcount(arg) for arg in args] != refcounts
