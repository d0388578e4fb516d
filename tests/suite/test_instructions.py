"""Exact instruction counts (benchmarks/benchmarks/bench_instructions.py): callgrind is there,
its counts repeat exactly, and they measure the call, not the start-up."""

import shutil

import pytest

import fibext


@pytest.fixture
def module(bench_module):
    return bench_module("bench_instructions")


@pytest.fixture(scope="module")
def fib_counts():
    """Two independent callgrind runs of every variant (about 5 s each)."""
    import benchmarks.bench_instructions as module
    return module.fib_counts(), module.fib_counts()


def test_valgrind_is_installed():
    # benchmarks/env.sh installs it (tests/run sources env.sh): a missing valgrind is a
    # broken set-up, not a reason to skip.
    assert shutil.which("valgrind"), "valgrind missing: run tests/run (benchmarks/env.sh) as root"


def test_fib_counts_repeat_exactly(fib_counts):
    first, second = fib_counts
    assert set(first) == {(v, n) for v in fibext.VARIANTS for n in (0, 90)}
    assert first == second


def test_fib_counts_are_per_call_and_ordered(fib_counts):
    counts, _ = fib_counts
    for variant in fibext.VARIANTS:
        # 90 loop iterations cost instructions; the call itself a few hundred at least
        assert counts[(variant, 90)] > counts[(variant, 0)] > 100, variant
    # The compiled C loop: ~7 instructions an iteration, whatever variant calls it
    for variant in ("cython", "cython_cpdef", "cython_wrap_c", "capi", "capi_varargs"):
        per_iteration = (counts[(variant, 90)] - counts[(variant, 0)]) / 90
        assert 3 < per_iteration < 12, (variant, per_iteration)
        assert counts[(variant, 0)] < counts[("python", 0)]
    # The interpreted loop: hundreds an iteration
    assert (counts[("python", 90)] - counts[("python", 0)]) / 90 > 100
    # METH_VARARGS pays for a tuple and PyArg_ParseTuple; ctypes for its marshalling
    assert counts[("capi_varargs", 0)] > counts[("capi", 0)]
    assert counts[("ctypes", 0)] > counts[("capi_varargs", 0)]


def test_start_up_cancels_out(module):
    """Other loop lengths give the same per-call count (within 0.2%: what is left is the
    interpreter's periodic work): start-up, imports and the loops' shared set-up are not in
    it.  Measured: capi fib(0) 364.72 / 364.86 / 364.53, cython fib(90) 1005 in all three."""
    cases = ["capi", "cython", "python"]
    setup = ("from fibext import VARIANTS\n"
             f"CASES = [(VARIANTS[v], (n,)) for v in {cases!r} for n in (0, 90)]")
    short = module.callgrind_counts(setup, 6, (50, 200, 700))
    long = module.callgrind_counts(setup, 6, (100, 1000, 2000))
    assert short == pytest.approx(long, rel=2e-3)


def test_memory_kernel_counts(module):
    counts = module.memory_counts(patterns=["sequential", "chase", "copy"])
    elements = module.MEMORY_SIZE // 8
    for impl in module.MEMORY_IMPLS:
        # a pass over 2048 float64: a few instructions per element, plus the call
        assert 1 < counts[(impl, "sequential")] / elements < 10, counts
        assert counts[(impl, "copy")] > counts[(impl, "sequential")] / 2
        # the chase walks 256 nodes (one per 64-byte line) per call
        assert 256 < counts[(impl, "chase")], counts


def test_skipped_without_valgrind(module, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)    # no valgrind on this machine
    bench = module.FibInstructions()
    counts = bench.setup_cache()
    assert counts == {}
    with pytest.raises(NotImplementedError, match="valgrind is not installed"):
        bench.setup(counts, "capi", 0)
    with pytest.raises(RuntimeError, match="valgrind is not installed"):
        module.callgrind_counts("CASES = []", 0, (1, 2, 3))


def test_a_variant_this_commit_lacks_is_skipped(module):
    with pytest.raises(NotImplementedError, match="'nope'"):
        module.FibInstructions().setup({("capi", 0): 489.0}, "nope", 0)


def test_benchmark_returns_the_count(module):
    bench = module.FibInstructions()
    assert bench.unit == "instructions"
    assert bench.track_instructions({("capi", 90): 1124.0}, "capi", 90) == 1124.0
    assert module.MemoryInstructions.unit == "instructions"
