"""fibext.memory, the public face: the size grid, one record per pattern, workloads that give
the same answer in every implementation, costs, and refusals before any allocation."""

import math

import numpy as np
import pytest

from fibext import _buffers, _caches, _memory, _pykernels, memory

# ---------------------------------------------------------------------------------------------
# The size grid


@pytest.mark.parametrize("step", [1, 2])
def test_sizes_reach_four_times_the_last_level(step):
    caches = {1: 32 << 10, 2: 512 << 10, 3: 32 << 20}
    sizes = memory.sizes(step, caches)
    assert sizes[0] == memory.MIN_SIZE == 4096
    assert all(b == a << step for a, b in zip(sizes, sizes[1:]))  # log-spaced
    assert sizes[-1] >= 4 * caches[3] > sizes[-2]
    # Every level gets at least one size inside it and one beyond the last level.
    bounds = [0, *sorted(caches.values())]
    for lo, hi in zip(bounds, bounds[1:]):
        assert any(lo < s < hi for s in sizes), (lo, hi)


def test_sizes_are_append_only():
    """A larger cache adds points on top; it never moves one."""
    small = memory.sizes(1, {1: 32 << 10, 3: 8 << 20})
    large = memory.sizes(1, {1: 48 << 10, 3: 256 << 20})
    assert large[:len(small)] == small and len(large) > len(small)
    assert memory.sizes(1, {}) == memory.sizes(1, {3: memory.DEFAULT_LLC})


@pytest.mark.parametrize("step", [1, 2])
def test_sizes_stop_at_max_llc_under_a_huge_last_level(step):
    """A guest that reports its host's whole L3 (480 MiB on one Intel Xeon) gets the grid up
    to LLC_FACTOR x MAX_LLC, not to four times that cache; the points below are the usual ones."""
    assert memory.last_level({1: 48 << 10, 3: 480 << 20}) == memory.MAX_LLC
    assert memory.last_level({1: 32 << 10, 3: 32 << 20}) == 32 << 20
    assert memory.last_level({}) == memory.DEFAULT_LLC
    huge = memory.sizes(step, {1: 48 << 10, 3: 480 << 20})
    assert huge[-1] >= memory.LLC_FACTOR * memory.MAX_LLC > huge[-2]
    assert huge == memory.sizes(step, {1: 48 << 10, 3: 64 << 30})
    usual = memory.sizes(step, {1: 32 << 10, 3: 32 << 20})
    assert huge[:len(usual)] == usual


def test_sizes_step_checked():
    with pytest.raises(ValueError, match="step must be at least 1, got 0"):
        memory.sizes(0)


def test_cache_sizes_come_from_caches():
    assert memory.cache_sizes is _caches.cache_sizes


# ---------------------------------------------------------------------------------------------
# The registry: one record per pattern


def test_registry():
    assert memory.PATTERNS == ("sequential", "strided", "random", "chase", "fill", "copy")
    assert memory.IMPLEMENTATIONS == ("cython", "c", "numpy", "python")
    assert set(memory.KERNELS) == set(memory.IMPLEMENTATIONS)
    for impl, kernels in memory.KERNELS.items():
        assert set(kernels) <= set(memory.PATTERNS), impl
    for impl in ("cython", "c", "python"):
        assert set(memory.KERNELS[impl]) == set(memory.PATTERNS)
    assert set(memory.PER) == set(memory.PATTERNS)
    with pytest.raises(NotImplementedError, match="no numpy kernel for the chase pattern"):
        memory.kernel("numpy", "chase")
    with pytest.raises(ValueError, match="impl must be one of .* got 'fortran'"):
        memory.kernel("fortran", "sequential")
    with pytest.raises(ValueError, match="pattern must be one of .* got 'zigzag'"):
        memory.kernel("c", "zigzag")


def test_every_record_names_real_kernels():
    for spec in memory.PATTERN_SPECS.values():
        assert memory.PER[spec.name] == spec.per
        compiled, python = spec.footprint
        assert 1 <= compiled < python, spec.name  # a list costs more than an array
        dtypes = memory.DTYPES if "dtype" in spec.options else ("float64",)
        for dtype in dtypes:
            assert memory.kernel("cython", spec.name, dtype).__self__ is _memory.CYTHON
            assert memory.kernel("c", spec.name, dtype).__self__ is _memory.C
        assert spec.python.__module__ == _pykernels.__name__
    assert memory.kernel("c", "sequential", "int64") == _memory.C.sum_i64


CASES = [("sequential", {"dtype": "float64"}), ("sequential", {"dtype": "int64"})]
CASES += [("strided", {"stride": s}) for s in memory.STRIDES]
CASES += [("random", {}), ("fill", {}), ("copy", {})]


@pytest.mark.parametrize("size", [4096, 64 * 9, 64])
@pytest.mark.parametrize("pattern, options", CASES)
def test_workloads_agree(pattern, options, size):
    values = {}
    for impl in memory.IMPLEMENTATIONS:
        w = memory.prepare(pattern, impl, size, **options)
        values[impl] = w.run(2)[0]
    n = size // 8
    expected = {
        "sequential": 2 * sum(i % 1024 for i in range(n)),
        "strided": 2 * sum(i % 1024 for i in range(0, n, options.get("stride", 1))),
        "random": 2 * sum(i % 1024 for i in range(n)),  # a permutation: every element once
        "fill": 1.5,
        "copy": (n - 1) % 1024,
    }[pattern]
    assert values == dict.fromkeys(memory.IMPLEMENTATIONS, expected)


@pytest.mark.parametrize("impl", ["cython", "c", "python"])
def test_chase_workload_continues_the_cycle(impl):
    w = memory.prepare("chase", impl, 64 * 10)
    stops = [w.run(3)[0] for _ in range(10)]  # 30 steps = 3 times round 10 nodes
    assert stops[-1] == 0 and len(set(stops)) == 10


def test_random_index_is_a_permutation():
    w = memory.prepare("random", "c", 8192)
    a, idx = w.args
    assert sorted(idx.tolist()) == list(range(1024)) and not idx.flags.writeable
    assert (idx[:16] != np.arange(16)).any()  # shuffled
    again = memory.prepare("random", "c", 8192).args[1]
    assert (idx == again).all()  # seeded


def test_workload_options_follow_the_pattern():
    w = memory.prepare("strided", "c", 4096, stride=10**6)
    assert w.stride == 512 and w.count == 1  # clamped as the kernels clamp it
    assert repr(w) == "Workload('strided', 'c', 4096, dtype='float64', stride=512)"
    w = memory.prepare("random", "c", 4096, dtype="int64", stride=8)
    assert (w.dtype, w.stride) == ("float64", None)  # only sequential reads int64
    assert memory.prepare("sequential", "python", 4096, dtype="int64").args[0][3] == 3


@pytest.mark.parametrize("impl", memory.IMPLEMENTATIONS)
@pytest.mark.parametrize("pattern", memory.PATTERNS)
def test_cost_is_a_positive_number(impl, pattern):
    try:
        w = memory.prepare(pattern, impl, 4096)
    except NotImplementedError:
        assert (impl, pattern) == ("numpy", "chase")
        return
    cost = w.cost(repeat=2, target_ns=100_000)
    assert math.isfinite(cost) and cost > 0
    assert w.count == {"strided": 512, "chase": 1}.get(pattern, 512)


def test_measure_and_compare():
    assert memory.measure("sequential", "c", 4096, repeat=2, target_ns=50_000) > 0
    best = memory.compare("chase", 4096, ["cython", "c"], rounds=1, target_ns=50_000)
    assert set(best) == {"cython", "c"} and all(0 < v < math.inf for v in best.values())


@pytest.mark.parametrize("kwargs, error, message", [
    ({"repeat": 0}, ValueError, "repeat must be at least 1, got 0"),
    ({"repeat": -3}, ValueError, "repeat must be at least 1, got -3"),
    ({"repeat": 2.5}, TypeError, "repeat must be an int, not float"),
    ({"target_ns": 0}, ValueError, "target_ns must be at least 1, got 0"),
    ({"budget_ns": None}, TypeError, "budget_ns must be an int, not NoneType"),
])
def test_cost_arguments_checked(kwargs, error, message):
    w = memory.prepare("sequential", "c", 4096)
    with pytest.raises(error, match=message):
        w.cost(**kwargs)


@pytest.mark.parametrize("rounds, error, message", [
    (0, ValueError, "rounds must be at least 1, got 0"),
    ("3", TypeError, "rounds must be an int, not str"),
])
def test_compare_rounds_checked(rounds, error, message):
    with pytest.raises(error, match=message):
        memory.compare("sequential", 4096, ["c"], rounds)


# ---------------------------------------------------------------------------------------------
# Refusals: before any allocation, with the value in the message


@pytest.fixture
def no_allocation(monkeypatch):
    """Make any allocation by fibext.memory fail loudly: refusals must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("allocated before the size was checked")
    monkeypatch.setattr(_buffers, "aligned_empty", refuse)
    monkeypatch.setattr(_buffers, "_shuffle", refuse)


@pytest.mark.parametrize("size, error, message", [
    (0, ValueError, "size must be a positive number of bytes, got 0"),
    (-4096, ValueError, "got -4096"),
    (100, ValueError, "whole number of 64-byte cache lines, got 100"),
    (4096.0, TypeError, r"size must be an int number of bytes, not float \(4096.0\)"),
    ("4096", TypeError, r"not str \('4096'\)"),
    (True, TypeError, r"not bool \(True\)"),
    (None, TypeError, r"not NoneType \(None\)"),
    (1 << 62, MemoryError, f"size = {1 << 62} bytes needs about"),
    (10**400, OverflowError, "size must be at most 9223372036854775807 bytes, got an int of"),
])
@pytest.mark.parametrize("pattern", memory.PATTERNS)
def test_bad_sizes_refused_before_allocation(no_allocation, pattern, size, error, message):
    with pytest.raises(error, match=message):
        memory.prepare(pattern, "c", size)


def test_check_size_of_a_huge_int_names_it(no_allocation, monkeypatch):
    # It used to end in "int too large to convert to float", naming nothing.
    for available in (lambda: 1 << 30, lambda: None):
        monkeypatch.setattr(_buffers, "available_memory", available)
        with pytest.raises(OverflowError, match="size must be at most .* got an int of 1329 bits"):
            memory.check_size(10**400)


def test_memory_limit_is_what_is_available(no_allocation, monkeypatch):
    monkeypatch.setattr(_buffers, "available_memory", lambda: 1 << 20)
    with pytest.raises(MemoryError, match=r"more than the 1048576 bytes available"):
        memory.prepare("copy", "c", 1 << 19)  # two buffers of 512 KiB and more
    monkeypatch.setattr(_buffers, "available_memory", lambda: None)  # unknown: no limit
    assert memory.check_size(1 << 40) == 1 << 40


def test_check_size_uses_the_pattern_footprint(no_allocation, monkeypatch):
    monkeypatch.setattr(_buffers, "available_memory", lambda: 5 << 20)
    assert memory.check_size(1 << 20, "sequential", "c") == 1 << 20
    with pytest.raises(MemoryError, match=r"for sequential \(python\)"):
        memory.check_size(1 << 20, "sequential", "python")  # lists: 6 bytes per byte
    with pytest.raises(ValueError, match="pattern must be one of"):
        memory.check_size(4096, "zigzag")


def test_numpy_integer_sizes_accepted():
    assert memory.check_size(np.int64(4096)) == 4096
    assert memory.prepare("sequential", "c", np.int32(4096)).count == 512


@pytest.mark.parametrize("kwargs, error, message", [
    ({"dtype": "float32"}, ValueError, "dtype must be one of"),
    ({"stride": 0}, ValueError, "stride must be at least 1, got 0"),
    ({"stride": 1.5}, TypeError, "cannot be interpreted as an integer"),
])
def test_bad_options_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        memory.prepare("strided", "c", 4096, **kwargs)


def test_prepare_shares_what_is_read_and_what_is_written_apart():
    shared = {}
    seq = memory.prepare("sequential", "c", 8192, shared=shared)
    strided = memory.prepare("strided", "cython", 8192, stride=8, shared=shared)
    rand = memory.prepare("random", "numpy", 8192, shared=shared)
    fill = memory.prepare("fill", "c", 8192, shared=shared)
    copy = memory.prepare("copy", "c", 8192, shared=shared)
    listed = memory.prepare("sequential", "python", 8192, shared=shared)
    ints = memory.prepare("sequential", "c", 8192, dtype="int64", shared=shared)
    data = seq.args[0]
    # what only is read: one read-only buffer (copy's source too)
    assert strided.args[0] is data and rand.args[0] is data and copy.args[1] is data
    assert not data.flags.writeable
    # what is written: one writable buffer, never the data; the Python lists never shared;
    # another dtype is another buffer
    written = fill.args[0]
    assert copy.args[0] is written and written is not data and written.flags.writeable
    assert isinstance(listed.args[0], list)
    assert ints.args[0] is not data and ints.args[0].dtype == np.int64
    assert len(shared) == 3
    # each kernel does its work on the shared buffers: copy after fill brings back the data
    fill.run(1)
    assert (written == 1.5).all()
    copy.run(1)
    assert np.array_equal(written, data)
    # the shared buffer reads as a buffer of its own would
    alone = memory.prepare("strided", "cython", 8192, stride=8)
    assert strided.run(2)[0] == alone.run(2)[0] and seq.run(1)[0] == float(sum(data))
    # without shared, every call writes its own
    assert memory.prepare("sequential", "c", 8192).args[0] is not data


def test_calibrate_finds_the_reps_of_a_run_of_about_the_target():
    workload = memory.prepare("sequential", "c", 4096)
    reps, per_rep = workload.calibrate(200_000)
    assert reps >= 1 and per_rep > 0
    # a 4 KiB pass takes tens of ns: a 0.2 ms run repeats it thousands of times
    assert reps * per_rep == pytest.approx(200_000, rel=0.5) and reps > 100
    chase = memory.prepare("chase", "c", 4096)
    reps, _ = chase.calibrate(10)  # a run shorter than a first run: the first run's reps
    assert reps >= 1
