"""fibext.memory: memory access patterns across the cache hierarchy, in Cython, C, numpy and
pure Python.

Reading one large chunk in order versus jumping between random places, from L1 through L2,
L3 and RAM (lmbench's lat_mem_rd and Drepper's "What every programmer should know about
memory", section 3.3, draw the same pictures).

- ``PATTERNS`` and ``IMPLEMENTATIONS`` name what can be measured; ``PATTERN_SPECS[name]`` is
  one :class:`Pattern` record: its unit, its memory footprint, how to build its buffers and
  its kernel in each implementation.  ``"cython"`` and ``"c"`` are the compiled kernels of
  fibext._memory (the C ones are the reference); ``"numpy"`` and ``"python"`` (in
  fibext._pykernels) are what a Python user reaches for.
- ``cache_sizes()`` reads the machine's caches from the operating system; ``sizes()`` derives
  the working-set sizes from them (``last_level()``: the last level, at most ``MAX_LLC``).
- ``prepare(pattern, impl, size)`` allocates, touches and shuffles the buffers of one
  measurement (never timed; see fibext._buffers) and returns a :class:`Workload`;
  ``Workload.cost()`` times the kernel and returns nanoseconds per element (or per access).

>>> w = prepare("sequential", "c", 4096)
>>> w.run(reps=1)[0] == float(sum(i % 1024 for i in range(512)))
True

Sizes are bytes per buffer and a whole number of 64-byte cache lines.  A size that is not an
int, is below one cache line, or needs more memory than the machine has available is refused
(TypeError, ValueError, OverflowError, MemoryError) before anything is allocated.

``python -m fibext.memory [rounds]`` measures the Cython/C and numpy/Cython ratios live
(fibext/memory/__main__.py).
"""

import functools
import operator
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np

from fibext import _buffers, _caches, _memory
from fibext import _pykernels as _py

# Cache sizes live in a pure-Python module, so that the report reads them without numpy or the
# compiled kernels.
from fibext._args import index_in
from fibext._buffers import (  # noqa: F401  (the public names of fibext.memory)
    LINE,
    NODE_STRIDE,
    SEED,
    aligned_empty,
    available_memory,
    chase_nodes,
    data,
    sattolo,
    shuffled,
    swaps_py,
)
from fibext._caches import DEFAULT_LLC, MAX_LLC, cache_sizes  # noqa: F401

#: Append only: benchmark histories are keyed by these names.
IMPLEMENTATIONS = ("cython", "c", "numpy", "python")
#: The compiled implementations: the fibext._memory.Kernels instance each one runs.
COMPILED = {"cython": _memory.CYTHON, "c": _memory.C}
#: Strided reads, in float64 elements: every element, one per 64-byte cache line, one per
#: 8 lines, one per 64 lines (4 KiB, a page).  Append only.
STRIDES = (1, 8, 64, 512)
#: Element types of the sequential read, and their suffix in fibext._memory's kernel names.
#: Append only.
DTYPES = ("float64", "int64")
_SUFFIX = {"float64": "f64", "int64": "i64"}

#: The smallest working set of sizes(): one 4 KiB page.
MIN_SIZE = 4096
#: sizes() goes up to at least this many times the last-level cache, so its top point is
#: mostly served from RAM (STREAM's rule for its arrays).
LLC_FACTOR = 4


def last_level(caches=None):
    """The last-level cache in bytes as sizes() and the memory sampler take it:
    fibext._caches.last_level of ``caches`` (cache_sizes() by default), at most MAX_LLC."""
    return _caches.last_level(cache_sizes() if caches is None else caches)


def sizes(step=1, caches=None):
    """Working-set sizes in bytes: 4 KiB x 2**(step*k), k = 0, 1, ..., up to and including the
    first that is at least LLC_FACTOR times the last-level cache (last_level).

    Append only, by construction: the points are fixed (powers of two from 4 KiB; step=1 is one
    per octave, step=2 one every other octave) and the machine only decides where the list
    stops, so a machine with a larger cache gets more points on top and no point ever moves.
    A benchmark history is keyed by these values; changing MIN_SIZE or the grid would orphan
    it.  ``caches`` is cache_sizes() by default.
    """
    step = operator.index(step)
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    top = LLC_FACTOR * last_level(caches)
    out = [MIN_SIZE]
    while out[-1] < top:
        out.append(out[-1] << step)
    return out


# ---------------------------------------------------------------------------------------------
# The patterns: one record each


@dataclass(frozen=True)
class Pattern:
    """One access pattern: what its cost is per, what it allocates, how to build its buffers,
    and its kernel in each implementation (every kernel is ``kernel(*args, reps)``)."""

    name: str
    #: cost() is nanoseconds per this: what one rep's ``count`` counts.
    per: str
    #: (size, rng, dtype, stride, make_data, make_written) -> (args, count): the kernel's
    #: arguments before reps, as numpy arrays (written and shuffled now), and the elements or
    #: accesses of one rep.  make_data(n, dtype) makes (or shares, read-only) the data a
    #: kernel only reads; make_written(n) makes (or shares) a buffer a kernel writes.
    build: Callable
    #: The method of fibext._memory.Kernels; "{t}" stands for the dtype's suffix ("f64").
    compiled: str
    numpy: Optional[Callable]
    python: Callable
    #: Bytes allocated per byte of working set: for the compiled kernels and numpy (data plus
    #: index, node list, the shuffle's draws, numpy's temporary) and for the Python lists (an
    #: 8-byte slot plus a float or int object of 24-32 bytes per element).
    footprint: Tuple[float, float]
    #: Which of prepare()'s dtype and stride this pattern uses (the others are ignored).
    options: Tuple[str, ...] = ()
    #: The kernel returns a position that the next run starts from (its last argument): a rep
    #: is one dependent load, and runs shorter than the cycle still walk all of it.
    resumes: bool = False
    #: Reps of the first calibration run.
    first_reps: int = 1
    #: args -> reps of an untimed run before the timed ones (0: none).
    warm_reps: Callable = lambda args: 0

    def kernel(self, impl, dtype="float64"):
        """This pattern's kernel in impl; NotImplementedError where there is none."""
        if impl in COMPILED:
            return getattr(COMPILED[impl], self.compiled.format(t=_SUFFIX[dtype]))
        found = {"numpy": self.numpy, "python": self.python}.get(impl)
        if found is None:
            raise NotImplementedError(f"no {impl} kernel for the {self.name} pattern")
        return found


def _sequential(size, rng, dtype, stride, make_data, make_written):
    n = size // 8
    return (make_data(n, dtype),), n


def _strided(size, rng, dtype, stride, make_data, make_written):
    n = size // 8
    return (make_data(n), stride), -(-n // stride)


def _random(size, rng, dtype, stride, make_data, make_written):
    n = size // 8
    idx = _buffers.shuffled(n, rng)
    idx.flags.writeable = False
    return (make_data(n), idx), n


def _chase(size, rng, dtype, stride, make_data, make_written):
    return (_buffers.chase_nodes(size // LINE, rng), 0), 1


def _fill(size, rng, dtype, stride, make_data, make_written):
    n = size // 8
    return (make_written(n), 1.5), n


def _copy(size, rng, dtype, stride, make_data, make_written):
    n = size // 8
    dst = make_written(n)
    dst[:] = 0.0
    return (dst, make_data(n)), n


def _one_cycle(args):
    # A whole walk around the cycle, capped: at RAM sizes every load misses whatever came
    # before, so a longer warm-up changes nothing.
    return min(len(args[0]) // NODE_STRIDE, 1 << 21)


#: Append only (benchmark histories are keyed by the names).
_SPECS = (
    Pattern("sequential", "element", _sequential, "sum_{t}", _py.np_sum, _py.py_sum,
            footprint=(1.2, 6), options=("dtype",)),
    Pattern("strided", "element read", _strided, "sum_strided_f64", _py.np_sum_strided,
            _py.py_sum_strided, footprint=(1.2, 6), options=("stride",)),
    Pattern("random", "access", _random, "gather_f64", _py.np_gather, _py.py_gather,
            footprint=(3.2, 12)),
    # A dependent load is about a nanosecond in L1: 1024 loads before the clock means much.
    Pattern("chase", "access", _chase, "chase", None, _py.py_chase, footprint=(1.5, 3),
            resumes=True, first_reps=1024, warm_reps=_one_cycle),
    Pattern("fill", "element", _fill, "fill_f64", _py.np_fill, _py.py_fill, footprint=(1.2, 6)),
    Pattern("copy", "element", _copy, "copy_f64", _py.np_copy, _py.py_copy,
            footprint=(2.2, 10)),
)
#: Pattern name -> its record.
PATTERN_SPECS = {spec.name: spec for spec in _SPECS}
#: What can be measured, in the order benchmarks and reports list it.
PATTERNS = tuple(PATTERN_SPECS)
#: Pattern name -> what its cost is per ("ns per element", ...).
PER = {spec.name: spec.per for spec in _SPECS}
#: impl -> pattern -> kernel(*Workload.args, reps) -> (value, ns), float64 buffers.  A pattern
#: an impl lacks is absent (numpy has no pointer chase).
KERNELS = {
    impl: {spec.name: spec.kernel(impl) for spec in _SPECS
           if impl in COMPILED or getattr(spec, impl) is not None}
    for impl in IMPLEMENTATIONS
}


def _spec(pattern):
    try:
        return PATTERN_SPECS[pattern]
    except (KeyError, TypeError):
        raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}") from None


def kernel(impl, pattern, dtype="float64"):
    """pattern's kernel in impl; ValueError for an unknown name, NotImplementedError for a
    combination that does not exist (asv records that as a skip)."""
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
    return _spec(pattern).kernel(impl, dtype)


def check_size(size, pattern="sequential", impl="c"):
    """Return size as an int, or raise before anything is allocated.

    TypeError for a non-integer (or a bool); ValueError for a size that is not a positive whole
    number of 64-byte cache lines; OverflowError past sys.maxsize; MemoryError when the buffers
    of pattern x impl at this size would not fit in the memory available now.  Every message
    names the value.
    """
    compiled, python = _spec(pattern).footprint
    return _buffers.check_bytes(size, python if impl == "python" else compiled,
                                f"{pattern} ({impl})")


# ---------------------------------------------------------------------------------------------
# One measurement


class Workload:
    """The buffers of one (pattern, impl, size), ready to time.

    ``args`` go to the kernel before ``reps``; ``count`` is the number of elements (or
    accesses) one rep covers.
    """

    def __init__(self, pattern, impl, size, args, count, dtype="float64", stride=None):
        self.spec = _spec(pattern)
        self.pattern = pattern
        self.impl = impl
        self.size = size
        self.dtype = dtype
        self.stride = stride
        self.args = args
        self.count = count
        self.kernel = kernel(impl, pattern, dtype)

    def __repr__(self):
        extra = f", stride={self.stride}" if self.stride else ""
        return (f"Workload({self.pattern!r}, {self.impl!r}, {self.size}, "
                f"dtype={self.dtype!r}{extra})")

    def run(self, reps=1):
        """One kernel call of reps passes (a resuming pattern: reps loads): (value, ns)."""
        value, ns = self.kernel(*self.args, reps)
        if self.spec.resumes:
            self.args = (*self.args[:-1], value)
        return value, ns

    def warm_up(self):
        """Bring the buffer to the state the timed runs should find: the pattern's warm_reps
        (cost()'s calibration already runs whole passes of the others)."""
        reps = self.spec.warm_reps(self.args)
        if reps:
            self.run(reps)

    def calibrate(self, target_ns):
        """(reps, ns per rep): the reps of a run of about target_ns, from runs grown fourfold
        from first_reps until one lasts a quarter of it, so that a 4 KiB pass of a few tens
        of ns is repeated until the clock's resolution and the call overhead are noise."""
        reps = self.spec.first_reps
        while True:
            _, ns = self.run(reps)
            if ns >= target_ns // 4:
                break
            reps *= 4
        per_rep = max(ns, 1) / reps
        return max(1, round(target_ns / per_rep)), per_rep

    def cost(self, repeat=5, target_ns=2_000_000, budget_ns=500_000_000):
        """Nanoseconds per element (or access): the best of ``repeat`` runs of about
        ``target_ns`` each, down to 2 runs where more would overrun ``budget_ns``.

        The reps per run are calibrated first (calibrate()).
        """
        repeat = index_in(repeat, "repeat")
        target_ns = index_in(target_ns, "target_ns")
        budget_ns = index_in(budget_ns, "budget_ns")
        self.warm_up()
        reps, per_rep = self.calibrate(target_ns)
        runs = max(2, min(repeat, int(budget_ns // (per_rep * reps))))
        best = min(self.run(reps)[1] for _ in range(runs))
        return best / (reps * self.count)


def prepare(pattern, impl, size, dtype="float64", stride=1, seed=SEED, shared=None):
    """Allocate, touch and shuffle the buffers of one measurement: a :class:`Workload`.

    size is the bytes of each buffer (copy reads one and writes another of this size; the
    random read also streams an int64 index of this size); n = size // 8 elements, or
    size // 64 chase nodes.  dtype matters for the sequential read only, stride for the
    strided read only.  Nothing is allocated before the size has been checked.

    shared, a dict the caller keeps across calls, lets workloads of several patterns share
    their buffers instead of writing new ones: the data a kernel only reads (the sequential,
    strided and random reads', copy's source) is one read-only buffer a size and dtype, and
    what a kernel writes (fill's buffer, copy's destination) one writable buffer a size.
    The Python lists never share.  A process that times every pattern then holds a fraction
    of the memory, and touches (page faults: each costs the host too, in a VM) that much less.
    """
    kernel(impl, pattern)  # unknown names and missing kernels fail before any allocation
    spec = PATTERN_SPECS[pattern]
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    stride = operator.index(stride)
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    size = check_size(size, pattern, impl)
    dtype = dtype if "dtype" in spec.options else "float64"
    # As the kernels do: a stride past the end reads a[0] alone.
    stride = min(stride, size // 8) if "stride" in spec.options else None
    make_data = make_written = _buffers.data
    if shared is not None and impl != "python":
        make_data = functools.partial(_shared_data, shared)
        make_written = functools.partial(_shared_written, shared)
    args, count = spec.build(size, np.random.default_rng([seed, size]), dtype, stride,
                             make_data, make_written)
    if impl == "python":
        args = tuple(a.tolist() if isinstance(a, np.ndarray) else a for a in args)
    return Workload(pattern, impl, size, args, count, dtype=dtype, stride=stride)


def _shared_data(shared, n, dtype="float64"):
    """_buffers.data(n, dtype), made once a shared dict and read-only."""
    key = (n, np.dtype(dtype).str)
    if key not in shared:
        shared[key] = _buffers.data(n, dtype)
        shared[key].flags.writeable = False
    return shared[key]


def _shared_written(shared, n):
    """A float64 buffer of n elements that kernels write, made once a shared dict."""
    key = ("written", n)
    if key not in shared:
        shared[key] = _buffers.data(n)
    return shared[key]


def measure(pattern, impl, size, **options):
    """prepare() then Workload.cost(): ns per element (or access).  options go to prepare()
    (dtype, stride, seed) or cost() (repeat, target_ns, budget_ns)."""
    cost_options = {k: options.pop(k) for k in ("repeat", "target_ns", "budget_ns")
                    if k in options}
    return prepare(pattern, impl, size, **options).cost(**cost_options)


def compare(pattern, size, impls, rounds=5, target_ns=5_000_000, **options):
    """{impl: ns} for one pattern and size, the best of ``rounds`` rounds that take the
    implementations in turn, so that a change in the machine's load hits all of them alike."""
    rounds = index_in(rounds, "rounds")
    workloads = {impl: prepare(pattern, impl, size, **options) for impl in impls}
    best = dict.fromkeys(impls, float("inf"))
    for _ in range(rounds):
        for impl, workload in workloads.items():
            best[impl] = min(best[impl], workload.cost(repeat=3, target_ns=target_ns))
    return best
