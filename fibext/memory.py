"""fibext.memory: memory access patterns across the cache hierarchy, in Cython, C, numpy and
pure Python.

Reading one large chunk in order versus jumping between random places, from L1 through L2,
L3 and RAM (the "memory units" of the seed; lmbench's lat_mem_rd and Drepper's "What every
programmer should know about memory", section 3.3, draw the same pictures).

- ``PATTERNS`` and ``IMPLEMENTATIONS`` name what can be measured; ``KERNELS[impl][pattern]`` is
  the kernel itself.  ``"cython"`` and ``"c"`` are the compiled kernels of fibext._memory (the
  C ones are the reference); ``"numpy"`` and ``"python"`` are what a Python user reaches for.
- ``cache_sizes()`` reads the machine's caches from the operating system; ``sizes()`` derives
  the working-set sizes from them.
- ``prepare(pattern, impl, size)`` allocates, touches and shuffles the buffers of one
  measurement (never timed) and returns a :class:`Workload`; ``Workload.cost()`` times the
  kernel and returns nanoseconds per element (or per access).

>>> w = prepare("sequential", "c", 4096)
>>> w.run(reps=1)[0] == float(sum(i % 1024 for i in range(512)))
True

Sizes are bytes per buffer and a whole number of 64-byte cache lines.  A size that is not an
int, is below one cache line, or needs more memory than the machine has available is refused
(TypeError, ValueError, MemoryError) before anything is allocated.
"""

import operator
import os
import time
from typing import Callable, Dict

import numpy as np

from fibext import _memory
# Cache sizes live in a pure-Python module, so that the report reads them without numpy or the
# compiled kernels.
from fibext._caches import cache_sizes

#: What can be measured.  Append only: benchmark histories are keyed by these names.
PATTERNS = ("sequential", "strided", "random", "chase", "fill", "copy")
#: ns per ...: the count each pattern's cost is divided by.
PER = {
    "sequential": "element",
    "strided": "element read",
    "random": "access",
    "chase": "access",
    "fill": "element",
    "copy": "element",
}
#: Append only, as PATTERNS.
IMPLEMENTATIONS = ("cython", "c", "numpy", "python")
#: Strided reads, in float64 elements: every element, one per 64-byte cache line, one per
#: 8 lines, one per 64 lines (4 KiB, a page).  Append only.
STRIDES = (1, 8, 64, 512)
#: Element types of the sequential read.  Append only.
DTYPES = ("float64", "int64")

#: Bytes in a cache line; one pointer-chase node fills one.
LINE = 64
#: int64 slots in one chase node.
NODE_STRIDE = _memory.NODE_STRIDE
#: The smallest working set of sizes(): one 4 KiB page.
MIN_SIZE = 4096
#: sizes() goes up to at least this many times the last-level cache, so its top point is
#: mostly served from RAM (STREAM's rule for its arrays).
LLC_FACTOR = 4
#: Used by sizes() only when the operating system reports no cache (documented so a plot made
#: on such a machine can say so): a typical server's last level.
DEFAULT_LLC = 32 << 20
#: Every random draw (shuffles, Sattolo) is seeded: a rerun measures the same layout.
SEED = 20260415

def sizes(step=1, caches=None):
    """Working-set sizes in bytes: 4 KiB x 2**(step*k), k = 0, 1, ..., up to and including the
    first that is at least LLC_FACTOR times the last-level cache.

    Append only, by construction: the points are fixed (powers of two from 4 KiB; step=1 is one
    per octave, step=2 one every other octave) and the machine only decides where the list
    stops, so a machine with a larger cache gets more points on top and no point ever moves.
    A benchmark history is keyed by these values; changing MIN_SIZE or the grid would orphan
    it.  ``caches`` is cache_sizes() by default.
    """
    step = operator.index(step)
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    caches = cache_sizes() if caches is None else caches
    top = LLC_FACTOR * (max(caches.values()) if caches else DEFAULT_LLC)
    out = [MIN_SIZE]
    while out[-1] < top:
        out.append(out[-1] << step)
    return out


def available_memory():
    """Bytes the kernel says can be allocated without swapping (MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


# ---------------------------------------------------------------------------------------------
# Validation and allocation (never timed)

#: Bytes allocated per byte of working set, by pattern, for the compiled kernels and numpy
#: (data plus index, node list, Sattolo's draws, numpy's temporary) and for the Python lists
#: (an 8-byte slot plus a float or int object of 24-32 bytes per element).
_FOOTPRINT = {
    "sequential": (1.2, 6), "strided": (1.2, 6), "random": (3.2, 12),
    "chase": (1.5, 3), "fill": (1.2, 6), "copy": (2.2, 10),
}


def check_size(size, pattern="sequential", impl="c"):
    """Return size as an int, or raise before anything is allocated.

    TypeError for a non-integer (or a bool); ValueError for a size that is not a positive whole
    number of 64-byte cache lines; MemoryError when the buffers of pattern x impl at this size
    would not fit in the memory available now.  Every message names the value.
    """
    if isinstance(size, bool) or not hasattr(type(size), "__index__"):
        raise TypeError(f"size must be an int number of bytes, not {type(size).__name__} "
                        f"({size!r})")
    size = operator.index(size)
    if size <= 0:
        raise ValueError(f"size must be a positive number of bytes, got {size}")
    if size % LINE:
        raise ValueError(f"size must be a whole number of {LINE}-byte cache lines, got {size}")
    compiled, python = _FOOTPRINT.get(pattern, (4, 12))
    need = int(size * (python if impl == "python" else compiled))
    available = available_memory()
    if available is not None and need > available:
        raise MemoryError(f"size = {size} bytes needs about {need} bytes for {pattern} "
                          f"({impl}), more than the {available} bytes available")
    return size


def aligned_empty(n, dtype, align=LINE):
    """An uninitialised 1-d array of n elements whose first byte is align-aligned.

    Cache-line alignment makes "one access per line" exact: a stride of 8 float64 touches
    every line once, and each chase node owns a line.
    """
    dtype = np.dtype(dtype)
    raw = np.empty(n * dtype.itemsize + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    return raw[offset:offset + n * dtype.itemsize].view(dtype)


def data(n, dtype="float64"):
    """n elements of small integers (i % 1024) as dtype, written now.

    Writing every element maps every page (np.empty's pages are not mapped until touched, and
    a first touch inside a timed loop would time the page fault).  Integer values keep float
    sums exact, so every implementation's sum must agree exactly.
    """
    out = aligned_empty(n, dtype)
    period = np.arange(1024, dtype=dtype)
    whole = n - n % 1024
    # one broadcast write, no n-sized temporary: 256 MiB cost a second more through arange
    out[:whole].reshape(-1, 1024)[:] = period
    out[whole:] = period[:n - whole]
    return out


def shuffled(n, rng=None):
    """A uniformly random permutation of range(n) (Fisher-Yates) as an int64 array.

    numpy draws the random numbers (seeded: SEED unless rng is given) and the compiled loop
    swaps: a shuffle as rng.permutation's is, in a fraction of its time at 32 M elements.
    """
    return _shuffle(n, rng, cyclic=False)


def sattolo(n, rng=None):
    """A random cyclic permutation of range(n) by Sattolo's algorithm, as an int64 array p:
    i -> p[i] visits all n items before it returns to i (drawn uniformly among such cycles).
    """
    return _shuffle(n, rng, cyclic=True)


def _shuffle(n, rng, cyclic):
    n = operator.index(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(SEED) if rng is None else rng
    perm = np.arange(n, dtype=np.int64)
    # 1 M draws at a time: the same stream of numbers as one call, without a 256 MiB array of
    # floats (new memory costs page faults, which in this VM cost more than the shuffle).
    chunk = 1 << 20
    for first in range(0, n - 1, chunk):
        _memory.apply_swaps(perm, rng.random(min(chunk, n - 1 - first)), cyclic, first)
    return perm


def swaps_py(n, u, cyclic=False):
    """apply_swaps in pure Python: the reference the tests hold the compiled loop to."""
    perm = list(range(n))
    for k, x in enumerate(u):
        i = n - 1 - k
        count = i if cyclic else i + 1
        j = min(int(x * count), count - 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def chase_nodes(n_nodes, rng=None):
    """The pointer-chase buffer: n_nodes nodes of NODE_STRIDE int64 slots (one 64-byte line
    each); node i's first slot holds the slot index of its successor in a Sattolo cycle, so
    ``p = nodes[p]`` from slot 0 visits every node once per n_nodes steps.  Read-only."""
    perm = sattolo(n_nodes, rng)
    nodes = aligned_empty(n_nodes * NODE_STRIDE, np.int64)
    nodes[:] = 0  # the padding: also maps every page
    nodes[::NODE_STRIDE] = perm * NODE_STRIDE
    nodes.flags.writeable = False
    return nodes


# ---------------------------------------------------------------------------------------------
# numpy and pure-Python kernels: the same calls as the compiled ones, timed around the Python
# code with perf_counter_ns (CLOCK_MONOTONIC, as the compiled kernels use).  Their call
# overhead is part of what a Python user pays, so it stays in.

_now = time.perf_counter_ns


def _np_sum(a, reps=1):
    total = a.dtype.type(0)
    t0 = _now()
    for _ in range(reps):
        total += a.sum()
    return total.item(), _now() - t0


def _np_sum_strided(a, stride, reps=1):
    total = 0.0
    t0 = _now()
    for _ in range(reps):
        total += a[::stride].sum()
    return float(total), _now() - t0


def _np_gather(a, idx, reps=1):
    total = 0.0
    t0 = _now()
    for _ in range(reps):
        total += a[idx].sum()  # fancy indexing: a temporary array, then its sum
    return float(total), _now() - t0


def _np_fill(a, value, reps=1):
    t0 = _now()
    for _ in range(reps):
        a.fill(value)
    return float(a[-1]), _now() - t0


def _np_copy(dst, src, reps=1):
    t0 = _now()
    for _ in range(reps):
        np.copyto(dst, src)
    return float(dst[-1]), _now() - t0


def _py_sum(lst, reps=1):
    total = 0
    t0 = _now()
    for _ in range(reps):
        s = 0
        for x in lst:
            s += x
        total += s
    return total, _now() - t0


def _py_sum_strided(lst, stride, reps=1):
    total = 0
    n = len(lst)
    t0 = _now()
    for _ in range(reps):
        s = 0
        for i in range(0, n, stride):
            s += lst[i]
        total += s
    return float(total), _now() - t0


def _py_gather(lst, idx, reps=1):
    total = 0
    t0 = _now()
    for _ in range(reps):
        s = 0
        for i in idx:
            s += lst[i]
        total += s
    return float(total), _now() - t0


def _py_chase(nodes, start, steps):
    p = start
    t0 = _now()
    for _ in range(steps):
        p = nodes[p]
    return p, _now() - t0


def _py_fill(lst, value, reps=1):
    n = len(lst)
    t0 = _now()
    for _ in range(reps):
        for i in range(n):
            lst[i] = value
    return float(lst[-1]), _now() - t0


def _py_copy(dst, src, reps=1):
    n = len(src)
    t0 = _now()
    for _ in range(reps):
        for i in range(n):
            dst[i] = src[i]
    return float(dst[-1]), _now() - t0


def _compiled_sum(f64, i64):
    def run(a, reps=1):
        return (f64 if a.dtype == np.float64 else i64)(a, reps)
    return run


#: impl -> pattern -> kernel(*Workload.args, reps) -> (value, ns).  A pattern an impl lacks is
#: absent (numpy has no pointer chase: a dependent chain cannot be vectorised).
KERNELS: Dict[str, Dict[str, Callable]] = {
    "cython": {
        "sequential": _compiled_sum(_memory.cy_sum_f64, _memory.cy_sum_i64),
        "strided": _memory.cy_sum_strided_f64,
        "random": _memory.cy_gather_f64,
        "chase": _memory.cy_chase,
        "fill": _memory.cy_fill_f64,
        "copy": _memory.cy_copy_f64,
    },
    "c": {
        "sequential": _compiled_sum(_memory.c_sum_f64, _memory.c_sum_i64),
        "strided": _memory.c_sum_strided_f64,
        "random": _memory.c_gather_f64,
        "chase": _memory.c_chase,
        "fill": _memory.c_fill_f64,
        "copy": _memory.c_copy_f64,
    },
    "numpy": {
        "sequential": _np_sum,
        "strided": _np_sum_strided,
        "random": _np_gather,
        "fill": _np_fill,
        "copy": _np_copy,
    },
    "python": {
        "sequential": _py_sum,
        "strided": _py_sum_strided,
        "random": _py_gather,
        "chase": _py_chase,
        "fill": _py_fill,
        "copy": _py_copy,
    },
}


def kernel(impl, pattern):
    """KERNELS[impl][pattern]; ValueError for an unknown name, NotImplementedError for a
    combination that does not exist (asv records that as a skip)."""
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}")
    try:
        return KERNELS[impl][pattern]
    except KeyError:
        raise NotImplementedError(f"no {impl} kernel for the {pattern} pattern") from None


# ---------------------------------------------------------------------------------------------
# One measurement


class Workload:
    """The buffers of one (pattern, impl, size), ready to time.

    ``args`` go to the kernel before ``reps``; ``count`` is the number of elements (or
    accesses) one rep covers.  For the pointer chase a rep is one dependent load, and each run
    starts where the last one stopped, so that runs shorter than the cycle still walk all of
    it (restarting at node 0 would re-walk a small subset and measure a smaller working set).
    """

    def __init__(self, pattern, impl, size, args, count, dtype="float64", stride=None):
        self.pattern = pattern
        self.impl = impl
        self.size = size
        self.dtype = dtype
        self.stride = stride
        self.args = args
        self.count = count
        self.kernel = kernel(impl, pattern)

    def __repr__(self):
        extra = f", stride={self.stride}" if self.stride else ""
        return (f"Workload({self.pattern!r}, {self.impl!r}, {self.size}, "
                f"dtype={self.dtype!r}{extra})")

    def run(self, reps=1):
        """One kernel call of reps passes (chase: reps loads): (value, ns)."""
        if self.pattern == "chase":
            nodes, start = self.args
            p, ns = self.kernel(nodes, start, reps)
            self.args = (nodes, p)
            return p, ns
        return self.kernel(*self.args, reps)

    def warm_up(self):
        """Start the timed runs from where a steady state has the buffer: a chase walks one
        full cycle (capped: at RAM sizes every load misses whatever came before); the other
        patterns need nothing beyond cost()'s calibration, which runs whole passes."""
        if self.pattern == "chase":
            self.run(min(len(self.args[0]) // NODE_STRIDE, 1 << 21))

    def cost(self, repeat=5, target_ns=2_000_000, budget_ns=500_000_000):
        """Nanoseconds per element (or access): the best of ``repeat`` runs of about
        ``target_ns`` each, down to 2 runs where more would overrun ``budget_ns``.

        The reps per run are calibrated first, so that a 4 KiB pass of a few tens of ns is
        repeated until the clock's resolution and the call overhead are noise.
        """
        self.warm_up()
        reps = 1024 if self.pattern == "chase" else 1
        while True:
            _, ns = self.run(reps)
            if ns >= target_ns // 4:
                break
            reps *= 4
        per_rep = max(ns, 1) / reps
        reps = max(1, round(target_ns / per_rep))
        runs = max(2, min(repeat, int(budget_ns // (per_rep * reps))))
        best = min(self.run(reps)[1] for _ in range(runs))
        return best / (reps * self.count)


def prepare(pattern, impl, size, dtype="float64", stride=1, seed=SEED):
    """Allocate, touch and shuffle the buffers of one measurement: a :class:`Workload`.

    size is the bytes of each buffer (copy reads one and writes another of this size; the
    random read also streams an int64 index of this size); n = size // 8 elements, or
    size // 64 chase nodes.  dtype matters for the sequential read only, stride for the
    strided read only.  Nothing is allocated before the size has been checked.
    """
    kernel(impl, pattern)  # unknown names and missing kernels fail before any allocation
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if pattern != "sequential":
        dtype = "float64"
    stride = operator.index(stride)
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    size = check_size(size, pattern, impl)
    n = size // 8
    rng = np.random.default_rng([seed, size])
    py = impl == "python"

    if pattern == "sequential":
        a = data(n, dtype)
        args, count = ((a.tolist() if py else a),), n
    elif pattern == "strided":
        a = data(n)
        stride = min(stride, n)  # as the kernels do: one element past the end is a[0] alone
        args, count = ((a.tolist() if py else a), stride), -(-n // stride)
    elif pattern == "random":
        a = data(n)
        idx = shuffled(n, rng)
        idx.flags.writeable = False
        args, count = ((a.tolist(), idx.tolist()) if py else (a, idx)), n
    elif pattern == "chase":
        nodes = chase_nodes(size // LINE, rng)
        args, count = ((nodes.tolist() if py else nodes), 0), 1
    elif pattern == "fill":
        a = data(n)
        args, count = ((a.tolist() if py else a), 1.5), n
    else:  # copy
        src, dst = data(n), data(n)
        dst[:] = 0.0
        args, count = ((dst.tolist(), src.tolist()) if py else (dst, src)), n
    return Workload(pattern, impl, size, args, count, dtype=dtype,
                    stride=stride if pattern == "strided" else None)


def measure(pattern, impl, size, **options):
    """prepare() then Workload.cost(): ns per element (or access).  options go to prepare()
    (dtype, stride, seed) or cost() (repeat, target_ns, budget_ns)."""
    cost_options = {k: options.pop(k) for k in ("repeat", "target_ns", "budget_ns")
                    if k in options}
    return prepare(pattern, impl, size, **options).cost(**cost_options)


# ---------------------------------------------------------------------------------------------
# python -m fibext.memory [rounds]: issue 4's goals, measured in one run on this machine


def compare(pattern, size, impls, rounds=5, **options):
    """{impl: ns} for one pattern and size, the best of ``rounds`` rounds that take the
    implementations in turn, so that a change in the machine's load hits all of them alike."""
    workloads = {impl: prepare(pattern, impl, size, **options) for impl in impls}
    target = 20_000_000 if pattern == "chase" else 5_000_000
    best = dict.fromkeys(impls, float("inf"))
    for _ in range(rounds):
        for impl, workload in workloads.items():
            best[impl] = min(best[impl], workload.cost(repeat=3, target_ns=target))
    return best


def _report(rounds=5):
    caches = cache_sizes()
    print("caches:", {f"L{k}": v for k, v in caches.items()})
    print(f"\npointer chase, ns per access (best of {rounds} interleaved rounds)")
    chase = {}
    for size in sizes(1):
        chase[size] = r = compare("chase", size, ["cython", "c"], rounds)
        print(f"{size:>11} B  cython {r['cython']:8.2f}  c {r['c']:8.2f}  "
              f"cython/c {r['cython'] / r['c']:.3f}")
    if len(caches) >= 3:
        l1, l2, l3 = caches[1], caches[2], caches[3]
        bands = {"L1": (0, l1 // 2), "L2": (2 * l1, l2 // 2), "L3": (2 * l2, l3 // 2),
                 "RAM": (LLC_FACTOR * l3, 1 << 62)}
        print("plateaus: the median over the sizes inside each level")
        for level, (lo, hi) in bands.items():
            inside = [s for s in chase if lo <= s <= hi]
            if inside:
                cy = float(np.median([chase[s]["cython"] for s in inside]))
                c = float(np.median([chase[s]["c"] for s in inside]))
                print(f"  {level:3s} {inside[0]:>10} .. {inside[-1]:>10} B: cython {cy:7.2f} ns, "
                      f"c {c:7.2f} ns, cython/c {cy / c:.3f}")
    llc = max(caches.values()) if caches else DEFAULT_LLC
    for pattern, options in (("sequential", {"dtype": "float64"}),
                             ("sequential", {"dtype": "int64"}), ("random", {})):
        print(f"\n{pattern} {options or ''}: ns per {PER[pattern]}")
        for size in (16 << 10, LLC_FACTOR * llc, 2 * LLC_FACTOR * llc):
            r = compare(pattern, size, ["cython", "c", "numpy"], rounds, **options)
            print(f"{size:>11} B  cython {r['cython']:.4f}  c {r['c']:.4f}  numpy {r['numpy']:.4f}"
                  f"  | cython speed / c speed {r['c'] / r['cython']:.3f}"
                  f"  numpy time / cython time {r['numpy'] / r['cython']:.3f}")


if __name__ == "__main__":
    import sys

    _report(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
