"""fibext.memory: every kernel gives numpy's answer, sizes are refused before allocation, and no
kernel reads or writes outside its buffers (valgrind memcheck)."""

import math
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fibext import _caches, _memory, memory

REPO = pathlib.Path(__file__).resolve().parent.parent

# Lengths that exercise every remainder loop (the unrolled bodies take 8 or 4 at a time).
LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1000, 1001]
COMPILED = ["cy", "c"]


def compiled(prefix, name):
    return getattr(_memory, f"{prefix}_{name}")


def small_ints(n, dtype=np.float64, seed=0):
    """Integer values, so float sums are exact in any order."""
    return np.random.default_rng(seed).integers(-1000, 1000, n).astype(dtype)


# ---------------------------------------------------------------------------------------------
# The machine: cache sizes and the size grid


def test_parse_size():
    assert _caches._parse_size("32K\n") == 32768
    assert _caches._parse_size("32768K") == 32 << 20
    assert _caches._parse_size("1M") == 1 << 20
    assert _caches._parse_size("512") == 512


def test_sysfs_cache_sizes(tmp_path):
    for i, (level, kind, size) in enumerate(
            [(1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"),
             (3, "Unified", "32768K")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    assert _caches._sysfs_cache_sizes(str(tmp_path)) == {1: 48 << 10, 2: 1 << 20, 3: 32 << 20}
    assert _caches._sysfs_cache_sizes(str(tmp_path / "missing")) == {}


@pytest.mark.skipif(not os.path.isdir(_caches._SYSFS_CACHE), reason="no sysfs cache directory")
def test_cache_sizes_of_this_machine():
    caches = memory.cache_sizes()
    assert caches, "sysfs lists caches but none was read"
    levels = sorted(caches)
    assert levels[0] == 1
    assert all(caches[a] < caches[b] for a, b in zip(levels, levels[1:]))


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


def test_sizes_step_checked():
    with pytest.raises(ValueError, match="step must be at least 1, got 0"):
        memory.sizes(0)


# ---------------------------------------------------------------------------------------------
# The compiled kernels give numpy's answer


@pytest.mark.parametrize("prefix", COMPILED)
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("reps", [1, 3])
def test_sum(prefix, n, reps):
    a = small_ints(n)
    assert compiled(prefix, "sum_f64")(a, reps)[0] == reps * a.sum()
    b = small_ints(n, np.int64)
    value, ns = compiled(prefix, "sum_i64")(b, reps)
    assert value == reps * int(b.sum())
    assert isinstance(ns, int) and ns >= 0


@pytest.mark.parametrize("prefix", COMPILED)
def test_sum_i64_wraps_as_numpy_does(prefix):
    b = np.full(16, 2**62, dtype=np.int64)
    assert compiled(prefix, "sum_i64")(b)[0] == b.sum() == 0


@pytest.mark.parametrize("prefix", COMPILED)
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("stride", [1, 2, 3, 8, 64, 512, 10**9])
def test_sum_strided(prefix, n, stride):
    a = small_ints(n)
    assert compiled(prefix, "sum_strided_f64")(a, stride, 2)[0] == 2 * a[::stride].sum()


@pytest.mark.parametrize("prefix", COMPILED)
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("m", [1, 3, 4, 5, 64, 999])
def test_gather(prefix, n, m):
    a = small_ints(n)
    idx = np.random.default_rng(n * m).integers(0, n, m)  # with repeats: any valid index
    assert compiled(prefix, "gather_f64")(a, idx, 2)[0] == 2 * a[idx].sum()


@pytest.mark.parametrize("prefix", COMPILED)
@pytest.mark.parametrize("n", LENGTHS)
def test_fill(prefix, n):
    a = small_ints(n)
    assert compiled(prefix, "fill_f64")(a, -2.5, 3)[0] == -2.5
    assert (a == -2.5).all()


@pytest.mark.parametrize("prefix", COMPILED)
@pytest.mark.parametrize("n", LENGTHS)
def test_copy(prefix, n):
    src = small_ints(n)
    dst = np.zeros(n)
    assert compiled(prefix, "copy_f64")(dst, src, 2)[0] == src[-1]
    assert (dst == src).all()


# ---------------------------------------------------------------------------------------------
# The pointer chase: Sattolo's cycle, and every kernel walks it


@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 257])
def test_swaps_compiled_match_python(n, cyclic):
    u = np.random.default_rng(n).random(max(n - 1, 0))
    u[-1:] = np.nextafter(1.0, 0.0)  # the largest draw: j must still stay below its bound
    perm = np.arange(n, dtype=np.int64)
    _memory.apply_swaps(perm, u, cyclic)
    assert perm.tolist() == memory.swaps_py(n, u, cyclic)
    assert sorted(perm.tolist()) == list(range(n))


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_shuffled_is_a_permutation(n):
    perm = memory.shuffled(n, np.random.default_rng(n))
    assert sorted(perm.tolist()) == list(range(n))


def test_shuffles_draw_every_permutation():
    """n = 4 has 4! = 24 permutations, 3! = 6 of them one cycle: each shuffle draws all its own."""
    rng = np.random.default_rng(1)
    every = {tuple(memory.shuffled(4, rng).tolist()) for _ in range(1000)}
    cycles = {tuple(memory.sattolo(4, rng).tolist()) for _ in range(300)}
    assert len(every) == 24 and len(cycles) == 6 and cycles < every


def cycle_length(perm):
    p, steps = perm[0], 1
    while p != 0:
        p, steps = perm[p], steps + 1
    return steps


@pytest.mark.parametrize("n", list(range(1, 40)) + [1000, 4096])
def test_sattolo_is_one_cycle(n):
    perm = memory.sattolo(n, np.random.default_rng(n))
    assert sorted(perm.tolist()) == list(range(n))
    assert cycle_length(perm.tolist()) == n


def test_apply_swaps_checks_draws():
    perm = np.arange(4, dtype=np.int64)
    with pytest.raises(ValueError, match=r"u\[1\] = 1.0 lies outside \[0, 1\)"):
        _memory.apply_swaps(perm, np.array([0.5, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"u\[2\] = -0.25 lies outside"):
        _memory.apply_swaps(perm, np.array([0.0, 0.0, -0.25]))
    with pytest.raises(ValueError, match=r"u\[0\] = nan lies outside"):
        _memory.apply_swaps(perm, np.array([np.nan, 0.0, 0.0]))
    with pytest.raises(ValueError, match=r"steps 2 .. 3 lie outside the 3 steps of a shuffle of 4"):
        _memory.apply_swaps(perm, np.array([0.0, 0.0]), first=2)
    with pytest.raises(ValueError, match=r"steps -1 .. 0 lie outside"):
        _memory.apply_swaps(perm, np.array([0.0, 0.0]), first=-1)
    assert perm.tolist() == [0, 1, 2, 3]  # refused before any swap


@pytest.mark.parametrize("cyclic", [False, True])
def test_apply_swaps_in_chunks(cyclic):
    """A shuffle in consecutive chunks is the shuffle in one call (_shuffle relies on it)."""
    u = np.random.default_rng(5).random(99)
    whole, parts = np.arange(100), np.arange(100)
    _memory.apply_swaps(whole, u, cyclic)
    for first in range(0, 99, 10):
        _memory.apply_swaps(parts, u[first:first + 10], cyclic, first)
    assert (whole == parts).all()
    assert whole.tolist() == memory.swaps_py(100, u, cyclic)


@pytest.mark.parametrize("n_nodes", [1, 2, 5, 64, 1000])
def test_chase_nodes_layout(n_nodes):
    nodes = memory.chase_nodes(n_nodes, np.random.default_rng(0))
    assert nodes.size == n_nodes * memory.NODE_STRIDE
    assert nodes.ctypes.data % memory.LINE == 0  # one node per cache line
    assert not nodes.flags.writeable
    heads = nodes[::memory.NODE_STRIDE]
    assert (heads % memory.NODE_STRIDE == 0).all()
    assert sorted((heads // memory.NODE_STRIDE).tolist()) == list(range(n_nodes))
    pad = nodes.reshape(n_nodes, memory.NODE_STRIDE)[:, 1:]
    assert not pad.any()


@pytest.mark.parametrize("impl", ["cython", "c", "python"])
@pytest.mark.parametrize("n_nodes", [1, 2, 7, 64, 500])
def test_chase_visits_every_node_once(impl, n_nodes):
    nodes = memory.chase_nodes(n_nodes, np.random.default_rng(n_nodes))
    chase = memory.kernel(impl, "chase")
    arg = nodes.tolist() if impl == "python" else nodes
    walk, p = [], 0
    for _ in range(n_nodes):
        p = nodes[p]
        walk.append(int(p))
    # the kernel's k-th stop is the walk's, for every k
    assert [chase(arg, 0, k)[0] for k in range(1, n_nodes + 1)] == walk
    assert walk[-1] == 0 and sorted(walk) == [i * memory.NODE_STRIDE for i in range(n_nodes)]
    assert chase(arg, 0, 0)[0] == 0
    assert chase(arg, 0, 3 * n_nodes)[0] == 0  # round and round the same cycle


# ---------------------------------------------------------------------------------------------
# The registry and the workloads: every implementation gives the same answer


def test_registry():
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


def test_buffers_are_aligned_and_touched():
    a = memory.aligned_empty(1001, np.float64)
    assert a.ctypes.data % 64 == 0 and a.size == 1001
    d = memory.data(3000)
    assert d.ctypes.data % 64 == 0 and d[1025] == 1.0


# ---------------------------------------------------------------------------------------------
# Refusals: before any allocation, with the value in the message


@pytest.fixture
def no_allocation(monkeypatch):
    """Make any allocation by fibext.memory fail loudly: refusals must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("allocated before the size was checked")
    monkeypatch.setattr(memory, "aligned_empty", refuse)
    monkeypatch.setattr(memory, "_shuffle", refuse)


@pytest.mark.parametrize("size, error, message", [
    (0, ValueError, "size must be a positive number of bytes, got 0"),
    (-4096, ValueError, "got -4096"),
    (100, ValueError, "whole number of 64-byte cache lines, got 100"),
    (4096.0, TypeError, r"size must be an int number of bytes, not float \(4096.0\)"),
    ("4096", TypeError, r"not str \('4096'\)"),
    (True, TypeError, r"not bool \(True\)"),
    (None, TypeError, r"not NoneType \(None\)"),
    (1 << 62, MemoryError, f"size = {1 << 62} bytes needs about"),
])
@pytest.mark.parametrize("pattern", memory.PATTERNS)
def test_bad_sizes_refused_before_allocation(no_allocation, pattern, size, error, message):
    with pytest.raises(error, match=message):
        memory.prepare(pattern, "c", size)


def test_memory_limit_is_what_is_available(no_allocation, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 1 << 20)
    with pytest.raises(MemoryError, match=r"more than the 1048576 bytes available"):
        memory.prepare("copy", "c", 1 << 19)  # two buffers of 512 KiB and more
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # unknown: no limit
    assert memory.check_size(1 << 40) == 1 << 40


def test_numpy_integer_sizes_accepted():
    assert memory.check_size(np.int64(4096)) == 4096
    assert memory.prepare("sequential", "c", np.int32(4096)).count == 512


def test_available_memory_is_plausible():
    available = memory.available_memory()
    assert available is None or available > 1 << 20


@pytest.mark.parametrize("kwargs, error, message", [
    ({"dtype": "float32"}, ValueError, "dtype must be one of"),
    ({"stride": 0}, ValueError, "stride must be at least 1, got 0"),
    ({"stride": 1.5}, TypeError, "cannot be interpreted as an integer"),
])
def test_bad_options_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        memory.prepare("strided", "c", 4096, **kwargs)


@pytest.mark.parametrize("prefix", COMPILED)
def test_compiled_arguments_checked(prefix):
    a, idx = small_ints(10), np.arange(10)
    with pytest.raises(ValueError, match="reps must be at least 1, got 0"):
        compiled(prefix, "sum_f64")(a, 0)
    with pytest.raises(ValueError, match="a must not be empty"):
        compiled(prefix, "sum_f64")(np.empty(0))
    with pytest.raises(ValueError, match="stride must be at least 1, got -1"):
        compiled(prefix, "sum_strided_f64")(a, -1)
    with pytest.raises(ValueError, match="contiguous"):
        compiled(prefix, "sum_f64")(np.zeros(20)[::2])
    with pytest.raises(ValueError):  # a float64 buffer is not an int64 one
        compiled(prefix, "sum_i64")(a)
    for bad in (-1, 10, 2**40):
        idx[7] = bad
        with pytest.raises(IndexError, match=rf"idx\[7\] = {bad} lies outside \[0, 10\)"):
            compiled(prefix, "gather_f64")(a, idx)
    nodes = np.array([8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16], dtype=np.int64)
    with pytest.raises(IndexError, match=r"nodes\[15\] = 16 lies outside \[0, 16\)"):
        compiled(prefix, "chase")(nodes, 0, 5)
    nodes[15] = 0
    with pytest.raises(IndexError, match=r"start = 16 lies outside"):
        compiled(prefix, "chase")(nodes, 16, 5)
    with pytest.raises(ValueError, match="steps must be at least 0, got -1"):
        compiled(prefix, "chase")(nodes, 0, -1)
    with pytest.raises(ValueError, match="dst has 9 elements, src 10"):
        compiled(prefix, "copy_f64")(np.zeros(9), a)
    with pytest.raises(ValueError, match="dst and src overlap"):
        compiled(prefix, "copy_f64")(a[1:], a[:-1])
    frozen = small_ints(10)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        compiled(prefix, "fill_f64")(frozen, 1.0)


# ---------------------------------------------------------------------------------------------
# No kernel touches memory outside its buffers: valgrind memcheck

# Exactly-sized numpy arrays (each is its own malloc block with PYTHONMALLOC=malloc), so one
# element read or written past either end is an invalid access memcheck reports.  Lengths hit
# every remainder loop; indices touch the first and last elements.
MEMCHECK_SCRIPT = textwrap.dedent("""
    import numpy as np
    from fibext import _memory, memory

    for prefix in ("cy", "c"):
        k = lambda name: getattr(_memory, prefix + "_" + name)
        for n in (1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 100):
            a = np.arange(n, dtype=np.float64)
            assert k("sum_f64")(a, 2)[0] == 2 * a.sum()
            assert k("sum_i64")(np.arange(n), 2)[0] == n * (n - 1)
            for stride in (1, 2, 3, 8, 64, 512, n, n + 1):
                assert k("sum_strided_f64")(a, stride, 2)[0] == 2 * a[::stride].sum()
            for m in (1, 3, 4, 5, 9):
                idx = np.arange(m) * (n - 1) // max(m - 1, 1)  # 0 .. n-1
                assert k("gather_f64")(a, idx, 2)[0] == 2 * a[idx].sum()
            assert k("fill_f64")(a, 3.0, 2)[0] == 3.0
            src = np.arange(n, dtype=np.float64)
            assert k("copy_f64")(a, src, 2)[0] == n - 1
            for n_nodes in (1, 2, 3, 9):
                nodes = np.array(memory.chase_nodes(n_nodes))  # an exact-size copy
                assert k("chase")(nodes, 0, 3 * n_nodes)[0] == 0
        # The checks that refuse bad indices must refuse before reading anything.
        try:
            k("gather_f64")(np.zeros(4), np.array([0, 4]))
        except IndexError:
            pass
        else:
            raise SystemExit("out-of-range index accepted")
    perm = np.arange(9, dtype=np.int64)
    _memory.apply_swaps(perm, np.random.default_rng(0).random(8), True)
    for pattern in memory.PATTERNS:
        for impl in memory.IMPLEMENTATIONS:
            try:
                w = memory.prepare(pattern, impl, 4096 + 64)
            except NotImplementedError:
                continue
            w.run(2)
    print("KERNELS-FROM", _memory.__file__)
    print("MEMCHECK-SCRIPT-DONE")
""")

# The control: a read 8 bytes past a malloc block, which memcheck must report.  It shows that
# the harness would see an out-of-bounds access if a kernel made one.
CONTROL_SCRIPT = textwrap.dedent("""
    import ctypes
    block = ctypes.create_string_buffer(64)  # its own malloc(64): no slack past the end
    ctypes.string_at(ctypes.addressof(block), 72)
    print("MEMCHECK-SCRIPT-DONE")
""")


# glibc's dynamic loader reads a whole word past the end of a short string in is_dst() while
# it expands numpy's $ORIGIN rpath: harmless (aligned, inside the page) and a known valgrind
# false positive.  Suppressed by its exact stack, so nothing else can hide behind it.
SUPPRESSIONS = textwrap.dedent("""
    {
       glibc-ld.so-is_dst-strncmp-word-read
       Memcheck:Addr8
       fun:strncmp
       fun:is_dst
    }
""")


def memcheck(script, tmp_path):
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is required (apt-get install -y valgrind): no skip, see .ci/run"
    path = tmp_path / "script.py"
    path.write_text(script)
    supp = tmp_path / "python.supp"
    supp.write_text(SUPPRESSIONS)
    # PYTHONMALLOC=malloc: every object and numpy buffer is its own malloc block, which
    # memcheck fences; sys.executable is the interpreter itself, not a shim that would exec
    # it outside valgrind.
    # The fibext under test: the installed one in CI (tests/run), the checkout's in place.
    fibext_home = str(pathlib.Path(memory.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONMALLOC="malloc",
               PYTHONPATH=os.pathsep.join(filter(None, [fibext_home,
                                                        os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [valgrind, "--tool=memcheck", "--error-exitcode=99", "--track-origins=no",
         f"--suppressions={supp}", "--leak-check=no", "--num-callers=30",
         sys.executable, str(path)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


INVALID = ("Invalid read", "Invalid write")


@pytest.mark.slow
def test_memcheck_sees_an_out_of_bounds_read(tmp_path):
    code, output = memcheck(CONTROL_SCRIPT, tmp_path)
    assert "MEMCHECK-SCRIPT-DONE" in output
    assert "Invalid read of size" in output and code == 99, output[-3000:]


@pytest.mark.slow
def test_kernels_stay_in_bounds_under_memcheck(tmp_path):
    code, output = memcheck(MEMCHECK_SCRIPT, tmp_path)
    assert "MEMCHECK-SCRIPT-DONE" in output, output[-3000:]
    assert f"KERNELS-FROM {_memory.__file__}\n" in output  # the build under test, not another
    invalid = [line for line in output.splitlines() if any(s in line for s in INVALID)]
    assert not invalid, output[-6000:]


# ---------------------------------------------------------------------------------------------
# The figures drawn from asv's results (benchmarks/figures_memory.py)


@pytest.fixture
def figures(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    import figures_memory

    return figures_memory


def synthetic_results():
    """asv's shape: parameter values as repr strings; None where a run was skipped."""
    sizes = [4096 << k for k in range(0, 17, 2)]
    cost = {s: 1.0 + math.log2(s) / 10 for s in sizes}
    return {
        "bench_fib.Fib.timeraw_call": {("'python'", "90"): 1e-6},
        "bench_memory.PointerChase.track_latency": {
            (repr(i), str(s)): cost[s] * (1.1 if i == "c" else 1) for i in ("cython", "c")
            for s in sizes},
        "bench_memory.SequentialRead.track_ns_per_element": {
            (repr(i), repr(d), str(s)): 0.2 for i in ("cython", "c", "numpy")
            for d in ("float64", "int64") for s in sizes},
        "bench_memory.StridedRead.track_ns_per_element": {
            ("'cython'", str(st), str(s)): st / 10 for st in (1, 8, 64, 512) for s in sizes},
        "bench_memory.RandomRead.track_ns_per_access": {
            (repr(i), str(s)): cost[s] if s < 1 << 20 else None
            for i in ("cython", "c", "numpy") for s in sizes},
        "bench_memory.Write.track_ns_per_element": {
            (repr(p), repr(i), str(s)): 0.3 for p in ("fill", "copy")
            for i in ("cython", "numpy") for s in sizes},
        "bench_memory.PythonLoop.track_cost": {
            (repr(p), str(s)): 25.0 for p in ("sequential", "random") for s in sizes[:5]},
    }


def test_series_parses_asv_keys(figures):
    points = figures.series(synthetic_results(), figures.RANDOM)
    assert len(points) == 3 * 4  # the sizes from 1 MiB on are None: skipped
    assert ({"impl": "cython"}, 4096, pytest.approx(2.2)) in points
    mixed = {figures.CHASE: {("'c'", "4096"): 1.5, ("'c'",): 2.0, ("c", "4096"): 3.0,
                             ("'c'", "'big'"): 4.0, ("'c'", "8192"): float("nan")}}
    assert figures.series(mixed, figures.CHASE) == [({"impl": "c"}, 4096, 1.5)]


def test_draw_writes_every_figure(figures, tmp_path):
    machine = {"machine": "ci box", "caches": {1: 32 << 10, 2: 512 << 10, 3: 32 << 20}}
    paths = figures.draw(synthetic_results(), tmp_path / "out", machine=machine)
    names = ["latency", "sequential", "random", "strided", "write", "patterns"]
    assert paths == [tmp_path / "out" / f"memory_{name}.png" for name in names]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draw_marks_the_caches(figures, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(figures, "_plot", lambda path, title, ylabel, curves, caches, name:
                        drawn.append((path.name, title, caches, name)) or path)
    figures.draw(synthetic_results(), tmp_path, machine={"machine": "box", "caches": {1: 4096}})
    assert all(caches == {1: 4096} and name == "box" for _, _, caches, name in drawn)
    assert all("lower is better" in title for _, title, _, _ in drawn)
    assert "latency per access" in drawn[0][1] and "ns per element" in drawn[1][1]
    drawn.clear()
    figures.draw(synthetic_results(), tmp_path)  # caches of this machine by default
    assert drawn and drawn[0][2] == memory.cache_sizes()


@pytest.mark.parametrize("results", [
    {},
    {"bench_memory.PointerChase.track_latency": {}},
    {"bench_memory.PointerChase.track_latency": {("'c'", "4096"): None}},
    {"bench_memory.RandomRead.track_ns_per_access": {("'c'", "not a size"): 1.0}},
    {"bench_memory.PythonLoop.track_cost": {("'sequential'", "4096"): 20.0}},  # no main curve
])
def test_draw_without_data_draws_nothing(figures, tmp_path, results):
    assert figures.draw(results, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_draw_only_what_is_there(figures, tmp_path):
    results = {figures.CHASE: synthetic_results()[figures.CHASE]}
    paths = figures.draw(results, tmp_path)
    assert [p.name for p in paths] == ["memory_latency.png", "memory_patterns.png"]


# ---------------------------------------------------------------------------------------------
# The asv benchmarks (benchmarks/benchmarks/bench_memory.py)


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    monkeypatch.setenv("FIBEXT_BENCH_STRICT_IMPORTS", "1")  # a missing name fails, not skips
    import benchmarks.bench_memory as module

    return module


def bench_classes(bench):
    return [cls for name, cls in vars(bench).items()
            if isinstance(cls, type) and not name.startswith("_") and hasattr(cls, "params")]


def test_benchmarks_use_the_package_grid(bench):
    assert bench.SIZES == memory.sizes(2) and bench.SIZES_FINE == memory.sizes(1)
    assert bench.PointerChase.params == [["cython", "c"], memory.sizes(1)]
    assert bench.StridedRead.params[1] == list(memory.STRIDES)
    assert bench.SequentialRead.params[1] == list(memory.DTYPES)
    assert max(bench.SIZES_PYTHON) <= 1 << 20
    # On a commit without fibext.memory, asv still picks combinations by index: the fallback
    # must be at least as long as any real list.
    assert len(bench._FALLBACK_SIZES) >= len(memory.sizes(1)) >= len(memory.sizes(2))


def test_every_benchmark_is_pinned_and_reports_ns(bench):
    classes = bench_classes(bench)
    assert {cls.__name__ for cls in classes} == {
        "SequentialRead", "StridedRead", "RandomRead", "PointerChase", "Write", "PythonLoop"}
    versions = [cls.version for cls in classes]
    assert len(set(versions)) == len(versions)
    for cls in classes:
        assert cls.unit == "ns" and len(cls.params) == len(cls.param_names), cls
        tracks = [m for m in dir(cls) if m.startswith("track_")]
        assert len(tracks) == 1, cls


def test_every_benchmark_measures_a_small_size(bench):
    for cls in bench_classes(bench):
        combo = [values[0] for values in cls.params]  # the smallest size comes first
        b = cls()
        b.target_ns = 50_000  # a quick run: this checks the plumbing, not the speed
        b.setup(*combo)
        value = getattr(b, [m for m in dir(cls) if m.startswith("track_")][0])(*combo)
        assert math.isfinite(value) and 0 < value < 10_000, (cls, combo, value)


def test_benchmarks_skip_without_fibext_memory(bench, monkeypatch):
    monkeypatch.setattr(bench, "memory", None)
    with pytest.raises(NotImplementedError, match="fibext.memory is not in this commit"):
        bench.PointerChase().setup("c", 4096)


def test_benchmark_skips_a_missing_kernel(bench):
    b = bench.PointerChase()
    with pytest.raises(NotImplementedError, match="no numpy kernel for the chase pattern"):
        b.setup("numpy", 4096)
