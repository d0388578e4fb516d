#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris, libFuzzer) of fib()'s argument paths: every variant of
fibext.VARIANTS against the pure-Python reference.

Each input becomes one call: an argument of any kind (an int of any size near the C limits,
an int subclass, a bool, a float, a str, None, numpy scalars and arrays, an object whose
__index__ returns or raises anything) or a wrong call (no argument, two, a keyword).  Every
variant must give the reference's exact outcome, as tests/package/test_fib.py checks: the same
value bits, or the same exception type and message (a wrong call: a TypeError from each).
That covers fibarg.h's fast path (an exact int in range) and its fallback through
fibext._contract.index_n, the METH_O and METH_VARARGS entry points of _capi, ctypes and the
Cython variants.  fibext's Python code is instrumented for coverage; its C is too when fibext
is built with clang's -fsanitize=fuzzer-no-link (tests/fuzz/README.md).

The short run of tests/package/test_fuzz.py, from the repository root:

    python tests/fuzz/fuzz_fib.py -runs=20000 tests/fuzz/corpus/fib

A long run, keeping what it finds in a scratch corpus beside the committed seeds:

    mkdir -p /tmp/fib-corpus
    python tests/fuzz/fuzz_fib.py -max_total_time=3600 -print_final_stats=1 \\
        /tmp/fib-corpus tests/fuzz/corpus/fib

A failure stops the run with the differing outcomes and a crash-<hash> file, which reruns it:
``python tests/fuzz/fuzz_fib.py crash-<hash>``.
"""

import sys

import atheris

with atheris.instrument_imports(include=["fibext"]):
    import numpy as np
    from common import MAX_RUN_N, Index, Int, outcome

    import fibext
    from fibext import _contract

REFERENCE = fibext.VARIANTS["python"]

# Ints near every limit the C code has: C int (fibarg.h's FIBEXT_MAX_N), C long, 64 bits, and
# CPython's digit sizes (30 bits) and its int-to-str limit (4300 digits).
EDGES = [0, 1, 2**15, 2**30, 2**31 - 1, 2**31, 2**32, 2**62, 2**63 - 1, 2**63, 2**64, 2**90,
         10**4300, 2**4000]
NUMPY_INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
# Made anew for each input: an exception raised again keeps growing its traceback.
EXCEPTIONS = [(RuntimeError, "boom"), (ValueError, "no"), (TypeError, "nope"),
              (OverflowError, "big"), (ZeroDivisionError, "zero")]


@atheris.instrument_func
def an_int(fdp):
    """A small int, or one near a limit (either sign), or an arbitrary one of up to 80 bytes."""
    kind = fdp.ConsumeIntInRange(0, 2)
    if kind == 0:
        return fdp.ConsumeIntInRange(-10, MAX_RUN_N + 10)
    if kind == 1:
        value = fdp.PickValueInList(EDGES) + fdp.ConsumeIntInRange(-2, 2)
        return -value if fdp.ConsumeBool() else value
    return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 80))


@atheris.instrument_func
def a_numpy_int(fdp):
    dtype = fdp.PickValueInList(NUMPY_INTS)
    info = np.iinfo(dtype)
    return dtype(fdp.ConsumeIntInRange(int(info.min), int(info.max)))


@atheris.instrument_func
def an_argument(fdp, depth=0):
    """One argument of any kind the contract speaks of, and some it does not."""
    kind = fdp.ConsumeIntInRange(0, 15)
    if kind <= 3:
        return an_int(fdp)
    if kind == 4:
        return Int(an_int(fdp))
    if kind == 5:
        return fdp.ConsumeBool()
    if kind == 6:
        return fdp.ConsumeRegularFloat() if fdp.ConsumeBool() else fdp.ConsumeFloat()
    if kind == 7:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 5))
    if kind == 8:
        return fdp.PickValueInList([None, b"5", 3j, [5], (5,), {}, object(), np.bool_(True)])
    if kind == 9:
        return a_numpy_int(fdp)
    if kind == 10:
        return fdp.PickValueInList([np.float64, np.float32, np.float16])(fdp.ConsumeFloat())
    if kind == 11:
        # numpy arrays: 0-d (which has __index__), 1 and 2 elements, ints or floats.
        values = [fdp.ConsumeIntInRange(-5, MAX_RUN_N) for _ in range(fdp.ConsumeIntInRange(0, 2))]
        array = np.array(values if values or fdp.ConsumeBool() else 7)
        return array.astype(np.float64) if fdp.ConsumeBool() else array
    if kind in (12, 13) and depth < 2:
        return Index(an_argument(fdp, depth + 1))
    if kind == 14:
        error, message = fdp.PickValueInList(EXCEPTIONS)
        return Index(error(message))
    return Index(an_int(fdp))


@atheris.instrument_func
def too_slow(arg):
    """True when arg is a valid n too large to run in pure Python (see common.MAX_RUN_N)."""
    try:
        return _contract.index_n(arg) > MAX_RUN_N
    except Exception:  # invalid: every variant raises, fast
        return False


@atheris.instrument_func
def test_one_input(data):
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeIntInRange(0, 15) == 0:
        # A wrong call: every variant refuses it with a TypeError (their words differ: Python's,
        # Cython's and PyArg_ParseTuple's own).
        args = [an_argument(fdp) for _ in range(fdp.PickValueInList([0, 2, 3]))]
        kwargs = {"n": an_argument(fdp)} if fdp.ConsumeBool() else {}
        for name, func in fibext.VARIANTS.items():
            got = outcome(func, *args, **kwargs)
            if got[:2] != ("raises", TypeError):
                raise AssertionError(f"{name}(*{args!r}, **{kwargs!r}): {got}, not a TypeError")
        return
    arg = an_argument(fdp)
    if too_slow(arg):
        return
    want = outcome(REFERENCE, arg)
    for name, func in fibext.VARIANTS.items():
        got = outcome(func, arg)
        if got != want:
            raise AssertionError(f"{name}({arg!r}): {got}, the reference: {want}")


def main():
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
