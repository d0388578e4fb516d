"""The compiled kernels against another thread that rewrites their buffers while they run.

fibext._memory checks its arguments (every index inside its buffer, every draw in [0, 1)) and
then runs the loop with the GIL released: a thread that writes the buffer between the check
and the loop would, without a check inside the loop, make the kernel read or write outside
its buffers.  Each test runs one kernel over and over for a bounded time while a writer
thread hammers the buffer it reads (out-of-range indices into gather's idx and chase's nodes,
bad draws into apply_swaps' u, overlapping views for fill and copy), in a subprocess, so that
a segfault is a failed test and not a dead pytest.  Every outcome must be the right answer or
the kernel's clear exception naming the bad value: never a crash, a hang, or a number read
from outside the buffer.  The sanitizer tier (test_sanitizers.py) runs these under ASan too.

FIBEXT_RACE_SECONDS sets how long each kernel is hammered (default 0.5 s, in which the kernels
without the checks in their loops crashed or read outside every time).
"""

import os
import subprocess
import sys
import textwrap

import pytest

SECONDS = float(os.environ.get("FIBEXT_RACE_SECONDS", "0.5"))

# Run as `python -c RACE_SCRIPT KERNEL IMPL SECONDS`.  It prints one "RACE-OK ..." line when
# every call gave an accepted outcome, and exits non-zero (or dies of a signal) otherwise.
# faulthandler prints the stack of a crash, and kills a hang after the run's time plus 30 s.
RACE_SCRIPT = textwrap.dedent(r"""
    import faulthandler
    import re
    import sys
    import threading
    import time

    import numpy as np

    from fibext import _buffers, _memory, _parallel

    KERNEL, IMPL, SECONDS = sys.argv[1], sys.argv[2], float(sys.argv[3])
    faulthandler.enable()
    faulthandler.dump_traceback_later(SECONDS + 30, exit=True)
    sys.setswitchinterval(1e-5)  # hand the GIL over often: more interleavings per second
    k = _memory.C if IMPL == "c" else _memory.CYTHON
    rng = np.random.default_rng(0)
    stop = threading.Event()
    counts = {"calls": 0, "refused": 0, "in_loop": 0}
    # The check before the loop raises the plain message; the one inside the loop adds this.
    IN_LOOP = r"( \(changed while the kernel ran\))?"
    SWAPS_IN_LOOP = r"( \(changed while the swaps ran\))?"

    # Out-of-range indices: just past either end (mapped memory: a silent wrong sum without a
    # check) and far away (unmapped: a segfault).
    BAD_INDICES = [4096, -1, 2**40, -2**40, 2**62]
    # The writer rewrites 16 places, spread over the buffer and visited in a scattered order:
    # each is bad often enough that a run of a second meets many a check-then-use window.
    HOT = [(7 * j) % 16 for j in range(16)]

    def hammer(write):
        def loop():
            i = 0
            while not stop.is_set():
                write(i)
                i += 1
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return thread

    def refused(exc, pattern):
        if not re.fullmatch(pattern, str(exc)):
            raise SystemExit(f"unclear message: {type(exc).__name__}: {exc}")
        counts["refused"] += 1
        counts["in_loop"] += "changed while" in str(exc)

    def run(call):
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            call()
            counts["calls"] += 1

    if KERNEL == "gather":
        n = 4096
        a = np.arange(n, dtype=np.float64)
        idx = rng.integers(0, n, n)
        expected = 3 * float(a[idx].sum())
        good = idx.copy()

        def write(i):
            pos = HOT[i % len(HOT)] * n // 16
            idx[pos] = BAD_INDICES[i % len(BAD_INDICES)]
            idx[pos] = good[pos]

        def call():
            try:
                value, _ = k.gather_f64(a, idx, 3)
            except IndexError as exc:
                refused(exc, r"idx\[\d+\] = -?\d+ lies outside \[0, 4096\)" + IN_LOOP)
            else:
                if value != expected:
                    raise SystemExit(f"gather read outside a: {value} != {expected}")

    elif KERNEL == "chase":
        n_nodes = 512
        nodes = np.array(_buffers.chase_nodes(n_nodes))  # a writable copy
        good = nodes.copy()
        steps = 8 * n_nodes  # eight laps of the cycle from slot 0 end at slot 0

        def write(i):
            slot = HOT[i % len(HOT)] * n_nodes // 16 * _buffers.NODE_STRIDE
            nodes[slot] = BAD_INDICES[i % len(BAD_INDICES)]
            nodes[slot] = good[slot]

        def call():
            try:
                p, _ = k.chase(nodes, 0, steps)
            except IndexError as exc:
                refused(exc, r"nodes\[\d+\] = -?\d+ lies outside \[0, 4096\)" + IN_LOOP)
            else:
                if p != 0:
                    raise SystemExit(f"chase followed a pointer outside nodes: ended at {p}")

    elif KERNEL == "apply_swaps":
        n = 4096
        perm = np.arange(n, dtype=np.int64)
        u = rng.random(n - 1)
        good = u.copy()
        # Negative draws make negative j (a write before perm); nan converts to INT64_MIN.
        bad_draws = [-0.5, -1e18, float("nan"), -2.0]

        def write(i):
            pos = HOT[i % len(HOT)] * (n - 1) // 16
            u[pos] = bad_draws[i % len(bad_draws)]
            u[pos] = good[pos]

        def call():
            try:
                _memory.apply_swaps(perm, u, IMPL == "sattolo")
            except ValueError as exc:
                refused(exc, r"u\[\d+\] = \S+ lies outside \[0, 1\)" + SWAPS_IN_LOOP)
            if not np.array_equal(np.sort(perm), np.arange(n)):
                raise SystemExit("apply_swaps wrote outside perm: no longer a permutation")

    elif KERNEL in ("fill", "copy"):
        # Overlapping views of one buffer: the writer runs the same kernel on a view that
        # overlaps the main thread's, both without the GIL.
        n = 4096
        big = np.zeros(3 * n)
        big[2 * n:] = 2.0

        if KERNEL == "fill":
            def write(i):
                k.fill_f64(big[n // 2:n // 2 + n], 1.0)

            def call():
                value, _ = k.fill_f64(big[:n], 2.0, 3)
                if value not in (1.0, 2.0):
                    raise SystemExit(f"fill returned {value}")
        else:
            def write(i):
                k.copy_f64(big[n // 2:n // 2 + n], big[2 * n:], 1)

            def call():
                value, _ = k.copy_f64(big[:n], big[n:2 * n], 3)
                if value not in (0.0, 2.0):
                    raise SystemExit(f"copy returned {value}")

    elif KERNEL == "sum":
        # No index is read from the data: a writer changes the sum, never the addresses.
        n = 4096
        a = np.ones(n)
        b = np.ones(n, dtype=np.int64)

        def write(i):
            a[(i * 7919) % n] = i
            b[(i * 7919) % n] = -i

        def call():
            k.sum_f64(a, 3)
            k.sum_i64(b, 3)
            k.sum_strided_f64(a, 1 + counts["calls"] % 70, 3)

    elif KERNEL == "parallel":
        # The chunk sizes are module attributes: rebinding them (from the stop check, or any
        # thread) must not change how far a share runs.
        n = 30
        calls = 2 * _parallel.CHUNK + 7
        expected = _parallel.share_gil(calls, n)

        def write(i):
            _parallel.CHUNK = [0, -5, 1][i % 3]
            _parallel.PRANGE_CHUNK = [0, -5, 1][i % 3]

        def call():
            check = lambda: write(counts["calls"])
            results = (_parallel.share_gil(calls, n, check),
                       _parallel.share_nogil(calls, n, check),
                       _parallel.batch_prange(calls, n, 2))
            if results != (expected,) * 3:
                raise SystemExit(f"a share did {results}, not {expected}")

    writer = hammer(write)
    try:
        run(call)
    finally:
        stop.set()
        writer.join()
    print("RACE-OK", KERNEL, IMPL, counts)
""")


# (kernel, implementation): the Kernels instance ("c" or "cython"), or for apply_swaps the
# shuffle; the parallel kernels are one module.
CASES = [(kernel, impl) for kernel in ("gather", "chase", "fill", "copy", "sum")
         for impl in ("c", "cython")]
CASES += [("apply_swaps", "fisher-yates"), ("apply_swaps", "sattolo"), ("parallel", "cython")]


@pytest.mark.parametrize(("kernel", "impl"), CASES)
def test_kernel_survives_a_concurrent_writer(kernel, impl, tmp_path):
    # from a directory of its own: "python -c" puts its working directory first on sys.path,
    # and a checkout's fibext/ (sources, no compiled modules) would hide the build under test
    proc = subprocess.run([sys.executable, "-c", RACE_SCRIPT, kernel, impl, str(SECONDS)],
                          capture_output=True, text=True, timeout=SECONDS + 60, cwd=tmp_path)
    assert proc.returncode == 0, (
        f"{kernel} ({impl}) under a concurrent writer: exit {proc.returncode}\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert "RACE-OK" in proc.stdout
    print(proc.stdout.strip())
