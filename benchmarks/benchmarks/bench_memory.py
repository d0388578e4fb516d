"""Memory access patterns from L1 to RAM: seconds per element or per access (lower is better).

Every class is pattern x implementation x working-set size, with the patterns, kernels and
sizes taken from fibext.memory (the one place they are defined).  Every class shares one
measurement an asv run (their common setup_cache, which asv runs once and hands each line its
samples): memory_sampling.py prepares every line's buffers in fresh processes and times the
lines in interleaved rounds of short runs, a process's figure a low quantile of its rounds, a
sample the faster of a pair of processes.  How, and the numbers, are said once, in
memory_sampling.py (PROCESSES, ROUNDS, TARGET_NS); why, in docs/measuring.md.

Each line returns its samples in seconds, asv's {"samples": ..., "number": ...} form, and asv
stores their median with its quartiles and 99% interval.  The last of the tools' sampling
passes (benchmarks/measuring.py, LAST_PASS_ONLY) samples these lines again beside the other
builds they compare, and asv joins the samples.  The versions changed when the lines became
samples in seconds (-samples-1), and again when a sample became a pair of processes timing
every line in interleaved rounds (-samples-2), where it was one process's best of two runs of
one line: the figures at the shared cache moved several-fold, so the history restarts there.
The lines a cache holds, but the pointer chase's, restarted once more (-samples-3) when each
timed run came to follow several warming passes (memory_sampling.WARM_PASSES), where one had
left buffers of 1-64 MiB short of where a repeated pass finds them.  The lines below the
shared edge, and the pointer chase's to the last level, kept their versions when they came to
take more processes (memory_sampling.CACHE_PROCESSES; the chase's first, then those from the
L2's size, then the smaller ones): more samples of the same figure, not another one.

The grid is sized by what a sampling process holds and times (docs/measurements.md has the
time per commit): the pointer chase, the headline latency curve, gets one size per octave;
the other patterns one every other octave, which still puts two or more sizes inside every
cache level; the C reference is tracked where its ratio to Cython is a goal (sequential,
random, chase); pure Python stops at 1 MiB.
"""

import itertools
import sys

from . import memory_sampling
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
    """Shared machinery: one setup_cache samples every line of every class; track_ returns
    the line's samples.

    Subclasses set ``params`` and ``param_names``, and ``pattern`` or ``impl`` where they are
    not parameters; the parameters name what fibext.memory.prepare is given.
    """

    pattern = None
    impl = None
    unit = "seconds"

    @classmethod
    def line_key(cls, *params):
        """The memory_sampling key of one combination of cls's parameters."""
        options = dict(zip(cls.param_names, params))
        pattern = options.pop("pattern", cls.pattern)
        impl = options.pop("impl", cls.impl)
        return memory_sampling.line_key(pattern, impl, options.pop("size"), **options)

    def setup_cache(self):
        if memory is None:
            return {"samples": {}, "skipped": {}, "failed": {}, "lost": {}}  # all skip in setup()
        keys = [cls.line_key(*combo) for cls in _Memory.__subclasses__()
                for combo in itertools.product(*cls.params)]
        return memory_sampling.measure(keys)

    setup_cache.timeout = memory_sampling.TIMEOUT

    def setup(self, cache, *params):
        require(memory, "fibext.memory")
        key = self.line_key(*params)
        if key in cache["failed"]:
            raise RuntimeError(f"{key}: {cache['failed'][key]}")
        if key not in cache["samples"]:
            # a combination with no kernel, or no memory for its buffers: asv skips it
            why = cache["skipped"].get(key, "no sampling process timed it")
            raise NotImplementedError(f"{key} was not sampled: {why}")
        for why in cache.get("lost", {}).get(key, ()):
            # asv keeps no output of setup_cache: the line says it, in the run's log
            print(f"{key}: a sampling process failed, the line stands on the others' samples: "
                  f"{why}", file=sys.stderr)

    def _cost(self, cache, *params):
        """The line's samples, in seconds per element (or access)."""
        return {"samples": [ns * 1e-9 for ns in cache["samples"][self.line_key(*params)]
                            if ns is not None], "number": 1}


class SequentialRead(_Memory):
    """Sum of a float64 or an int64 buffer read in order: seconds per element."""

    pattern = "sequential"
    params = [["cython", "c", "numpy"], DTYPES, SIZES]
    param_names = ["impl", "dtype", "size"]
    version = "memory-sequential-samples-3"  # pinned: editing this file keeps the history

    def track_ns_per_element(self, cache, impl, dtype, size):
        return self._cost(cache, impl, dtype, size)


class StridedRead(_Memory):
    """Sum of every stride-th float64 (8: one per cache line; 512: one per 4 KiB page):
    seconds per element read.  Where the buffer holds few strides (4 KiB at stride 512 is one
    element a pass) the figure is mostly the pass's own overhead."""

    pattern = "strided"
    # Cython only: the C reference of this kernel is tested, and tracked for the patterns
    # whose Cython/C ratio is a goal (sequential, random, chase); each combination costs its
    # runs in every sampling process.
    params = [["cython"], STRIDES, SIZES]
    param_names = ["impl", "stride", "size"]
    version = "memory-strided-samples-3"

    def track_ns_per_element(self, cache, impl, stride, size):
        return self._cost(cache, impl, stride, size)


class RandomRead(_Memory):
    """Sum of a float64 buffer gathered through a pre-shuffled index (a permutation, so every
    element once): seconds per access."""

    pattern = "random"
    params = [["cython", "c", "numpy"], SIZES]
    param_names = ["impl", "size"]
    version = "memory-random-samples-3"

    def track_ns_per_access(self, cache, impl, size):
        return self._cost(cache, impl, size)


class PointerChase(_Memory):
    """Dependent loads around a random cycle (Sattolo), one node per 64-byte cache line:
    latency in seconds per access, as lmbench's lat_mem_rd reports it."""

    pattern = "chase"
    params = [["cython", "c"], SIZES_FINE]
    param_names = ["impl", "size"]
    version = "memory-chase-samples-2"

    def track_latency(self, cache, impl, size):
        return self._cost(cache, impl, size)


class Write(_Memory):
    """fill (write every float64) and copy (read one buffer, write another of the same size):
    seconds per element."""

    params = [["fill", "copy"], ["cython", "numpy"], SIZES]
    param_names = ["pattern", "impl", "size"]
    version = "memory-write-samples-3"

    def track_ns_per_element(self, cache, pattern, impl, size):
        return self._cost(cache, pattern, impl, size)


class PythonLoop(_Memory):
    """The pure-Python loop over a list a user writes first: sum in order and sum through a
    shuffled index: seconds per element or access."""

    impl = "python"
    params = [["sequential", "random"], SIZES_PYTHON]
    param_names = ["pattern", "size"]
    version = "memory-python-samples-3"

    def track_cost(self, cache, pattern, size):
        return self._cost(cache, pattern, size)
