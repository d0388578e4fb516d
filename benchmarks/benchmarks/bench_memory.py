"""Memory access patterns from L1 to RAM: seconds per element or per access (lower is better).

Every class is pattern x implementation x working-set size, with the patterns, kernels and
sizes taken from fibext.memory (the one place they are defined).  setup() allocates, touches
and shuffles the buffers (never timed); the track_ method times the kernel itself.  Why track_
and not time_: a 4 KiB pass takes tens of ns, below what asv's timer can resolve per call, so
fibext.memory repeats the pass inside the kernel until a run lasts ~2 ms and divides, taking
the best of a few runs.

That figure is one sample, the process's (asv runs each combination in a process of its own):
a process's buffers sit where its pages fell, which sets a cache-sized working set's level
more than anything within the process does, so its runs are not independent samples.  Each
asv run adds one sample a combination, in asv's {"samples": ..., "number": ...} form: the last
of the tools' sampling passes (benchmarks/measuring.py, LAST_PASS_ONLY) runs these lines again
beside the other builds they compare, and asv joins the samples and stores their median with
its 99% interval, as for bench_fib (docs/measuring.md).  The versions changed when the lines became
samples in seconds, where they were one process's figure in ns: their history restarts there.

The grid is sized by the number of combinations, each a fresh process that imports numpy
(docs/measurements.md has the time per commit): the pointer chase, the headline
latency curve, gets one size per octave; the other patterns one every other octave, which
still puts two or more sizes inside every cache level; the C reference is tracked where its
ratio to Cython is a goal (sequential, random, chase); pure Python stops at 1 MiB.
"""

from .common import require, safe_import

memory = None
with safe_import():
    from fibext import memory

# Patterns, implementations and sizes come from fibext.memory.  On a commit without it every
# combination skips, but asv picks a combination by its index in the lists the benchmark
# process computes, so the fallbacks must be at least as long as the real lists.
_FALLBACK_SIZES = [4096 << k for k in range(32)]  # 4 KiB .. 8 TiB: longer than any real list
if memory is not None:
    SIZES_FINE = memory.sizes(step=1)
    SIZES = memory.sizes(step=2)
    STRIDES = list(memory.STRIDES)
    DTYPES = list(memory.DTYPES)
else:
    SIZES_FINE = SIZES = _FALLBACK_SIZES
    STRIDES = [1, 8, 64, 512]
    DTYPES = ["float64", "int64"]
#: The pure-Python loops take ~20-40 ns an element: 1 MiB (131072 elements) is where they stop.
PYTHON_MAX = 1 << 20
SIZES_PYTHON = [s for s in SIZES if s <= PYTHON_MAX]


class _Memory:
    """Shared machinery: setup() prepares one fibext.memory.Workload, track_ times it.

    Subclasses set ``params`` and ``param_names``, and ``pattern`` or ``impl`` where they are
    not parameters; the parameters are passed to fibext.memory.prepare by name.
    """

    pattern = None
    impl = None
    unit = "seconds"
    timeout = 180
    #: Each run lasts about this long; the process's sample is the best of `repeat` runs
    #: (a few suffice: the spread between processes is the larger one, and passes add them).
    target_ns = 2_000_000
    repeat = 2

    def setup(self, *params):
        require(memory, "fibext.memory")
        options = dict(zip(self.param_names, params))
        pattern = options.pop("pattern", self.pattern)
        # prepare() allocates the buffers and writes every element: np.empty's pages are
        # not mapped until touched, and a first touch inside the timed loop would time the
        # page fault, not the memory.  It raises NotImplementedError (a skip) for a
        # combination fibext.memory has no kernel for.
        impl = options.pop("impl", self.impl)
        self.workload = memory.prepare(pattern, impl, options.pop("size"), **options)

    def _cost(self):
        """This process's sample, in seconds per element (or access)."""
        ns = self.workload.cost(repeat=self.repeat, target_ns=self.target_ns)
        return {"samples": [ns * 1e-9], "number": 1}


class SequentialRead(_Memory):
    """Sum of a float64 or an int64 buffer read in order: seconds per element."""

    pattern = "sequential"
    params = [["cython", "c", "numpy"], DTYPES, SIZES]
    param_names = ["impl", "dtype", "size"]
    version = "memory-sequential-samples-1"  # pinned: editing this file keeps the history

    def track_ns_per_element(self, impl, dtype, size):
        return self._cost()


class StridedRead(_Memory):
    """Sum of every stride-th float64 (8: one per cache line; 512: one per 4 KiB page):
    seconds per element read.  Where the buffer holds few strides (4 KiB at stride 512 is one
    element a pass) the figure is mostly the pass's own overhead."""

    pattern = "strided"
    # Cython only: the C reference of this kernel is tested, and tracked for the patterns
    # whose Cython/C ratio is a goal (sequential, random, chase); each combination costs a
    # process start.
    params = [["cython"], STRIDES, SIZES]
    param_names = ["impl", "stride", "size"]
    version = "memory-strided-samples-1"

    def track_ns_per_element(self, impl, stride, size):
        return self._cost()


class RandomRead(_Memory):
    """Sum of a float64 buffer gathered through a pre-shuffled index (a permutation, so every
    element once): seconds per access."""

    pattern = "random"
    params = [["cython", "c", "numpy"], SIZES]
    param_names = ["impl", "size"]
    version = "memory-random-samples-1"

    def track_ns_per_access(self, impl, size):
        return self._cost()


class PointerChase(_Memory):
    """Dependent loads around a random cycle (Sattolo), one node per 64-byte cache line:
    latency in seconds per access, as lmbench's lat_mem_rd reports it."""

    pattern = "chase"
    params = [["cython", "c"], SIZES_FINE]
    param_names = ["impl", "size"]
    # A longer run than the others: one DRAM access is ~100 ns, so 2 ms would be ~20 000
    # loads; 10 ms keeps the count near lmbench's.
    target_ns = 10_000_000
    version = "memory-chase-samples-1"

    def track_latency(self, impl, size):
        return self._cost()


class Write(_Memory):
    """fill (write every float64) and copy (read one buffer, write another of the same size):
    seconds per element."""

    params = [["fill", "copy"], ["cython", "numpy"], SIZES]
    param_names = ["pattern", "impl", "size"]
    version = "memory-write-samples-1"

    def track_ns_per_element(self, pattern, impl, size):
        return self._cost()


class PythonLoop(_Memory):
    """The pure-Python loop over a list a user writes first: sum in order and sum through a
    shuffled index: seconds per element or access."""

    impl = "python"
    params = [["sequential", "random"], SIZES_PYTHON]
    param_names = ["pattern", "size"]
    version = "memory-python-samples-1"

    def track_cost(self, pattern, size):
        return self._cost()
