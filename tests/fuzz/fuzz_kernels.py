#!/usr/bin/env python3
"""Coverage-guided fuzzing (atheris, libFuzzer) of the argument checks of fibext._memory's
public functions: every Kernels method of both implementations (C and CYTHON) and
apply_swaps.

Each input becomes one call with fuzzed buffers (dtype, length 0-40, contiguous or not,
read-only or not, overlapping or not, indices inside and outside) and fuzzed integers (reps,
stride, start, steps: negative, zero, past the end, beyond 64 bits, not ints at all).  The
contract: the call returns numpy's answer, or raises TypeError, ValueError, IndexError,
OverflowError or BufferError, never anything else and never a crash; and both
implementations give the same outcome (the same value bits, or the same exception type and
message).  Valid counts stay small (reps <= 4, steps <= 400), so that every input is fast.

The short run of tests/package/test_fuzz.py, from the repository root:

    python tests/fuzz/fuzz_kernels.py -runs=5000 tests/fuzz/corpus/kernels

A long run, keeping what it finds in a scratch corpus beside the committed seeds (with the
sanitizer build of tests/package/test_sanitizers.py on PYTHONPATH and libasan preloaded, an
out-of-bounds access is reported where it happens):

    mkdir -p /tmp/kernels-corpus
    python tests/fuzz/fuzz_kernels.py -max_total_time=3600 -print_final_stats=1 \\
        /tmp/kernels-corpus tests/fuzz/corpus/kernels
"""

import operator
import sys

import atheris

with atheris.instrument_imports(include=["fibext"]):
    import numpy as np
    from common import outcome

    from fibext import _buffers, _memory

ALLOWED = (TypeError, ValueError, IndexError, OverflowError, BufferError)
DTYPES = [np.float64, np.int64, np.float32, np.int32, np.uint64, np.bool_]
# Counts that are wrong in every way the contract names, and small right ones.  Valid ones
# stay small: the kernels run reps passes and steps loads, and a fuzzer input must be fast.
COUNTS = [-(2**63), -(2**63) - 1, -1, 0, 1, 2, 3, 4, 2**63, 2**64, True, 1.5, "2", None,
          np.int32(2), np.uint64(3), np.float64(2.0)]
STRIDES = [-1, 0, 1, 2, 3, 7, 8, 40, 41, 10**9, 2**63 - 1, 2**63, 1.0]
STEPS = [-1, 0, 1, 5, 50, 400, 2**63, -(2**63), 2.0, None]


@atheris.instrument_func
def a_buffer(fdp, dtype=None, values=None):
    """A 1-d array of the chosen (or a fuzzed) dtype and length, in a fuzzed layout."""
    dtype = dtype or fdp.PickValueInList(DTYPES)
    n = fdp.ConsumeIntInRange(0, 40)
    if values is None:
        values = [fdp.ConsumeIntInRange(-1000, 1000) for _ in range(n)]
    base = np.array(values[:n] + [0] * (n - len(values)), dtype=np.int64).astype(dtype)
    layout = fdp.ConsumeIntInRange(0, 5)
    if layout == 1:  # every other element: not contiguous
        spread = np.zeros(2 * n, dtype=dtype)
        spread[::2] = base
        base = spread[::2]
    elif layout == 2:  # reversed: a negative stride
        base = base[::-1].copy()[::-1]
    elif layout == 3:
        base.flags.writeable = False
    elif layout == 4:  # 2-d
        base = base.reshape(1, n)
    return base


@atheris.instrument_func
def an_index_buffer(fdp, bound):
    """int64 indices, mostly inside [0, bound), some just outside or far outside."""
    n = fdp.ConsumeIntInRange(0, 40)
    values = []
    for _ in range(n):
        kind = fdp.ConsumeIntInRange(0, 7)
        if kind == 0:
            values.append(fdp.PickValueInList([-1, bound, bound + 1, -(2**63), 2**63 - 1]))
        else:
            values.append(fdp.ConsumeIntInRange(0, max(bound - 1, 0)))
    dtype = np.int64 if fdp.ConsumeIntInRange(0, 5) else fdp.PickValueInList(DTYPES)
    return a_buffer(fdp, dtype, values) if fdp.ConsumeBool() else np.array(values, np.int64)


@atheris.instrument_func
def expected(method, args):
    """numpy's (or a plain loop's) answer to a call the kernels accepted."""
    if method == "chase":
        nodes, p, steps = args
        p = operator.index(p)
        for _ in range(operator.index(steps)):
            p = int(nodes[p])
        return p
    if method == "fill_f64":
        return float(args[1])
    if method == "copy_f64":
        return float(args[1][-1])
    reps = operator.index(args[-1])
    if method == "sum_f64":
        return float(reps * args[0].sum())
    if method == "sum_i64":
        # Wrapped to int64, as the kernels and numpy wrap.
        return (reps * int(args[0].sum()) + 2**63) % 2**64 - 2**63
    if method == "sum_strided_f64":
        a, stride = args[0], operator.index(args[1])
        return float(reps * a[::min(stride, len(a))].sum())
    a, idx = args[0], args[1]
    return float(reps * a[idx].sum())


def run(func, args):
    """What a kernel did: ("value", its value, exact) or ("raises", type, message)."""
    try:
        value, _ = func(*args)  # (value, ns): the ns differ, the value must not
    except Exception as exc:  # the outcome itself is under test
        return ("raises", type(exc), str(exc))
    return ("value", value.hex() if isinstance(value, float) else value)


@atheris.instrument_func
def a_call(fdp):
    """(method, args): one call of a Kernels method or of apply_swaps, arguments fuzzed."""
    method = fdp.PickValueInList(["sum_f64", "sum_i64", "sum_strided_f64", "gather_f64",
                                  "chase", "fill_f64", "copy_f64", "apply_swaps"])
    if method in ("sum_f64", "sum_i64"):
        dtype = np.float64 if method == "sum_f64" else np.int64
        a = a_buffer(fdp, dtype if fdp.ConsumeIntInRange(0, 5) else None)
        return method, (a, fdp.PickValueInList(COUNTS))
    if method == "sum_strided_f64":
        return method, (a_buffer(fdp, np.float64), fdp.PickValueInList(STRIDES),
                        fdp.PickValueInList(COUNTS))
    if method == "gather_f64":
        a = a_buffer(fdp, np.float64)
        return method, (a, an_index_buffer(fdp, len(a)), fdp.PickValueInList(COUNTS))
    if method == "chase":
        n_nodes = fdp.ConsumeIntInRange(1, 5)
        nodes = np.array(_buffers.chase_nodes(n_nodes, np.random.default_rng(0)))
        for _ in range(fdp.ConsumeIntInRange(0, 2)):  # a few slots rewritten
            slot = fdp.ConsumeIntInRange(0, len(nodes) - 1)
            nodes[slot] = fdp.PickValueInList([-1, len(nodes), 2**62, 0, 8, 1])
        if fdp.ConsumeBool():
            nodes.flags.writeable = False
        start = fdp.PickValueInList([0, 8, 1, -1, len(nodes), 2**63, -(2**63), "0", None])
        return method, (nodes, start, fdp.PickValueInList(STEPS))
    if method == "fill_f64":
        value = fdp.PickValueInList([0.0, -1.5, 2, np.float32(3.5), "x", None, 2**1100])
        return method, (a_buffer(fdp, np.float64), value, fdp.PickValueInList(COUNTS))
    if method == "copy_f64":
        if fdp.ConsumeBool():  # two views of one buffer, overlapping or not
            base = np.zeros(fdp.ConsumeIntInRange(1, 40))
            i, j, n = (fdp.ConsumeIntInRange(0, len(base)) for _ in range(3))
            return method, (base[i:i + n], base[j:j + n], fdp.PickValueInList(COUNTS))
        return method, (a_buffer(fdp, np.float64), a_buffer(fdp, np.float64),
                        fdp.PickValueInList(COUNTS))
    perm = a_buffer(fdp, np.int64)
    n = fdp.ConsumeIntInRange(0, 40)
    u = np.array([fdp.PickValueInList([0.0, 0.5, 0.999, 1.0, -0.25, float("nan"), 1e300])
                  for _ in range(n)])
    first = fdp.PickValueInList([0, 1, 2, -1, 39, 2**63 - 1, 2**63, None])
    return method, (perm, u, fdp.ConsumeBool(), first)


@atheris.instrument_func
def test_one_input(data):
    # The same input read twice: each implementation gets buffers of its own (fill and copy
    # write them), with the same layout (two views of one base stay views of one base).
    method, args = a_call(atheris.FuzzedDataProvider(data))
    if method == "apply_swaps":
        before = args[0].copy()
        got = outcome(_memory.apply_swaps, *args)
        if got[0] == "raises":
            if not issubclass(got[1], ALLOWED):
                raise AssertionError(f"apply_swaps{args!r}: {got}")
            if not np.array_equal(args[0], before):
                raise AssertionError(f"apply_swaps{args!r} refused but changed perm")
        elif not np.array_equal(np.sort(args[0]), np.sort(before)):
            raise AssertionError(f"apply_swaps{args!r}: not a permutation of its input")
        return
    got_c = run(getattr(_memory.C, method), args)
    again = a_call(atheris.FuzzedDataProvider(data))[1]
    got_cython = run(getattr(_memory.CYTHON, method), again)
    if got_c != got_cython:
        raise AssertionError(f"{method}{args!r}: C {got_c}, CYTHON {got_cython}")
    if got_c[0] == "raises":
        if not issubclass(got_c[1], ALLOWED):
            raise AssertionError(f"{method}{args!r}: {got_c}")
        return
    want = expected(method, again)
    want = want.hex() if isinstance(want, float) else want
    if got_c[1] != want:
        raise AssertionError(f"{method}{args!r}: {got_c[1]}, expected {want}")


def main():
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
