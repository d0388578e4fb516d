"""fibext._memory: every compiled kernel (Cython and C) gives numpy's answer, refuses bad
arguments before the clock starts, and never reads or writes outside its buffers (valgrind
memcheck); apply_swaps shuffles as its pure-Python reference does."""

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import fibext
from fibext import _buffers, _memory, memory

# Lengths that exercise every remainder loop (the unrolled bodies take 8 or 4 at a time).
LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1000, 1001]


@pytest.fixture(params=["cython", "c"])
def kernels(request):
    """The Kernels instance of one compiled implementation."""
    return memory.COMPILED[request.param]


def small_ints(n, dtype=np.float64, seed=0):
    """Integer values, so float sums are exact in any order."""
    return np.random.default_rng(seed).integers(-1000, 1000, n).astype(dtype)


def test_the_two_implementations():
    assert (_memory.CYTHON.c, _memory.C.c) == (False, True)
    assert memory.COMPILED == {"cython": _memory.CYTHON, "c": _memory.C}
    assert repr(_memory.C) == "fibext._memory.C"
    with pytest.raises(AttributeError):
        _memory.C.c = False  # read-only: the instance is the choice


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("reps", [1, 3])
def test_sum(kernels, n, reps):
    a = small_ints(n)
    assert kernels.sum_f64(a, reps)[0] == reps * a.sum()
    b = small_ints(n, np.int64)
    value, ns = kernels.sum_i64(b, reps)
    assert value == reps * int(b.sum())
    assert isinstance(ns, int) and ns >= 0


def test_sum_i64_wraps_as_numpy_does(kernels):
    b = np.full(16, 2**62, dtype=np.int64)
    assert kernels.sum_i64(b)[0] == b.sum() == 0


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("stride", [1, 2, 3, 8, 64, 512, 10**9])
def test_sum_strided(kernels, n, stride):
    a = small_ints(n)
    assert kernels.sum_strided_f64(a, stride, 2)[0] == 2 * a[::stride].sum()


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("m", [1, 3, 4, 5, 64, 999])
def test_gather(kernels, n, m):
    a = small_ints(n)
    idx = np.random.default_rng(n * m).integers(0, n, m)  # with repeats: any valid index
    assert kernels.gather_f64(a, idx, 2)[0] == 2 * a[idx].sum()


@pytest.mark.parametrize("n", LENGTHS)
def test_fill(kernels, n):
    a = small_ints(n)
    assert kernels.fill_f64(a, -2.5, 3)[0] == -2.5
    assert (a == -2.5).all()


@pytest.mark.parametrize("n", LENGTHS)
def test_copy(kernels, n):
    src = small_ints(n)
    dst = np.zeros(n)
    assert kernels.copy_f64(dst, src, 2)[0] == src[-1]
    assert (dst == src).all()


def test_compiled_arguments_checked(kernels):
    a, idx = small_ints(10), np.arange(10)
    with pytest.raises(ValueError, match="reps must be at least 1, got 0"):
        kernels.sum_f64(a, 0)
    with pytest.raises(ValueError, match="a must not be empty"):
        kernels.sum_f64(np.empty(0))
    with pytest.raises(ValueError, match="stride must be at least 1, got -1"):
        kernels.sum_strided_f64(a, -1)
    with pytest.raises(ValueError, match="contiguous"):
        kernels.sum_f64(np.zeros(20)[::2])
    with pytest.raises(ValueError):  # a float64 buffer is not an int64 one
        kernels.sum_i64(a)
    for bad in (-1, 10, 2**40):
        idx[7] = bad
        with pytest.raises(IndexError, match=rf"idx\[7\] = {bad} lies outside \[0, 10\)"):
            kernels.gather_f64(a, idx)
    nodes = np.array([8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16], dtype=np.int64)
    with pytest.raises(IndexError, match=r"nodes\[15\] = 16 lies outside \[0, 16\)"):
        kernels.chase(nodes, 0, 5)
    nodes[15] = 0
    with pytest.raises(IndexError, match=r"start = 16 lies outside"):
        kernels.chase(nodes, 16, 5)
    with pytest.raises(ValueError, match="steps must be at least 0, got -1"):
        kernels.chase(nodes, 0, -1)
    with pytest.raises(ValueError, match="dst has 9 elements, src 10"):
        kernels.copy_f64(np.zeros(9), a)
    with pytest.raises(ValueError, match="dst and src overlap"):
        kernels.copy_f64(a[1:], a[:-1])
    frozen = small_ints(10)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        kernels.fill_f64(frozen, 1.0)


# ---------------------------------------------------------------------------------------------
# The pointer chase: every kernel walks Sattolo's cycle


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
# apply_swaps: the compiled shuffle


@pytest.mark.parametrize("cyclic", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 257])
def test_swaps_compiled_match_python(n, cyclic):
    u = np.random.default_rng(n).random(max(n - 1, 0))
    u[-1:] = np.nextafter(1.0, 0.0)  # the largest draw: j must still stay below its bound
    perm = np.arange(n, dtype=np.int64)
    _memory.apply_swaps(perm, u, cyclic)
    assert perm.tolist() == _buffers.swaps_py(n, u, cyclic)
    assert sorted(perm.tolist()) == list(range(n))


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


@pytest.mark.parametrize("first", [2**63 - 1, 2**63 - 2, 2**62, 10])
def test_apply_swaps_first_near_the_top_is_refused(first):
    """first + len(u) past 2**63 - 1 used to wrap negative and pass the range check, and the
    swap wrote outside the array: the check must not overflow."""
    whole = np.arange(20, dtype=np.int64)
    view = whole[:10]
    with pytest.raises(ValueError, match=rf"steps {first} .. {first} lie outside the 9 steps"):
        _memory.apply_swaps(view, np.array([0.5]), True, first)
    assert whole.tolist() == list(range(20))  # nothing written, inside or past the view


def test_apply_swaps_last_step_is_accepted():
    perm = np.arange(10, dtype=np.int64)
    _memory.apply_swaps(perm, np.array([0.0]), True, 8)  # step 8 of 0 .. 8: swaps 1 and 0
    assert perm.tolist() == [1, 0, *range(2, 10)]
    with pytest.raises(ValueError, match=r"steps 9 .. 9 lie outside the 9 steps"):
        _memory.apply_swaps(perm, np.array([0.0]), True, 9)


@pytest.mark.parametrize("cyclic", [False, True])
def test_apply_swaps_in_chunks(cyclic):
    """A shuffle in consecutive chunks is the shuffle in one call (_buffers._shuffle relies
    on it)."""
    u = np.random.default_rng(5).random(99)
    whole, parts = np.arange(100), np.arange(100)
    _memory.apply_swaps(whole, u, cyclic)
    for first in range(0, 99, 10):
        _memory.apply_swaps(parts, u[first:first + 10], cyclic, first)
    assert (whole == parts).all()
    assert whole.tolist() == _buffers.swaps_py(100, u, cyclic)


# ---------------------------------------------------------------------------------------------
# No kernel touches memory outside its buffers: valgrind memcheck

# Exactly-sized numpy arrays (each is its own malloc block with PYTHONMALLOC=malloc), so one
# element read or written past either end is an invalid access memcheck reports.  Lengths hit
# every remainder loop; indices touch the first and last elements.
MEMCHECK_SCRIPT = textwrap.dedent("""
    import numpy as np
    from fibext import _memory, memory

    for k in (_memory.CYTHON, _memory.C):
        for n in (1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 100):
            a = np.arange(n, dtype=np.float64)
            assert k.sum_f64(a, 2)[0] == 2 * a.sum()
            assert k.sum_i64(np.arange(n), 2)[0] == n * (n - 1)
            for stride in (1, 2, 3, 8, 64, 512, n, n + 1):
                assert k.sum_strided_f64(a, stride, 2)[0] == 2 * a[::stride].sum()
            for m in (1, 3, 4, 5, 9):
                idx = np.arange(m) * (n - 1) // max(m - 1, 1)  # 0 .. n-1
                assert k.gather_f64(a, idx, 2)[0] == 2 * a[idx].sum()
            assert k.fill_f64(a, 3.0, 2)[0] == 3.0
            src = np.arange(n, dtype=np.float64)
            assert k.copy_f64(a, src, 2)[0] == n - 1
            for n_nodes in (1, 2, 3, 9):
                nodes = np.array(memory.chase_nodes(n_nodes))  # an exact-size copy
                assert k.chase(nodes, 0, 3 * n_nodes)[0] == 0
        # The checks that refuse bad indices must refuse before reading anything.
        try:
            k.gather_f64(np.zeros(4), np.array([0, 4]))
        except IndexError:
            pass
        else:
            raise SystemExit("out-of-range index accepted")
    perm = np.arange(9, dtype=np.int64)
    _memory.apply_swaps(perm, np.random.default_rng(0).random(8), True)
    # A first step near 2**63 must be refused, not wrap past the check and write.
    try:
        _memory.apply_swaps(np.arange(20)[:10], np.array([0.5]), True, 2**63 - 1)
    except ValueError:
        pass
    else:
        raise SystemExit("apply_swaps accepted first = 2**63 - 1")
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
    fibext_home = str(pathlib.Path(fibext.__file__).resolve().parent.parent)
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
