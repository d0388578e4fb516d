"""fib: ns per call of every variant, the no-op floor under them, pure C timed in C, and a
control line that only the machine can move.

Every class shares one measurement a commit (their common setup_cache: asv runs it once
and hands each line its samples), and every line's figure is sampling.robust_figure() of its
samples: the median of their fastest quarter.  How the samples are taken (fresh processes,
interleaved rounds) is said once, in sampling.py, whose PROCESSES, ROUNDS and NUMBER are the
numbers; why, in docs/measuring.md.  Each line's docstring repeats only the sample count, because
asv shows it beside the line's graph (tests/suite/test_sampling.py keeps it equal to
sampling.py's constants).
"""

from . import sampling
from .common import NS, optional, require

# The variant registry, from the package itself.  A name a commit lacks is skipped there.
VARIANTS = optional("fibext", "VARIANTS", {})
VARIANT_NAMES = list(VARIANTS) or ["python"]

class _Sampled:
    """The shared measurement: every line of this commit's fibext, sampled once."""

    unit = "ns"
    timeout = 600

    def setup_cache(self):
        return sampling.measure(NS)

    @staticmethod
    def figure(cache, key):
        require(key in cache, key)
        return sampling.robust_figure(cache[key])


class Fib(_Sampled):
    params = [VARIANT_NAMES, NS]
    param_names = ["variant", "n"]
    version = "fib-robust-1"  # pinned: editing this file keeps the history

    def track_call(self, cache, variant, n):
        """ns per fib(n) call from Python: the median of the fastest quarter of 80 samples of
        20,000 calls (sampling.py's constants)."""
        return self.figure(cache, sampling.fib_key(variant, n))


class FibNoop(_Sampled):
    version = "noop-robust-1"

    def track_call(self, cache):
        """ns per call of a METH_O function that does nothing, the floor under every variant:
        the median of the fastest quarter of 80 samples of 20,000 calls (sampling.py's)."""
        return self.figure(cache, sampling.NOOP_KEY)


class Control(_Sampled):
    version = "control-1"

    def track_call(self, cache):
        """ns per call of fib(90)'s loop in pure Python, defined in the benchmark suite, not in
        fibext: the same code at every commit, so this line is flat unless the machine changed
        (where it stands out, the main job measures that commit's fib lines again: control.py).
        The median of the fastest quarter of 80 samples of 20,000 calls, sampled with every fib
        line."""
        return self.figure(cache, sampling.CONTROL_KEY)


class PureC(_Sampled):
    params = [NS]
    param_names = ["n"]
    version = "pure-c-robust-1"

    def track_latency(self, cache, n):
        """ns per cfib(n) call timed inside C (fibext.time_c), each call waiting for the
        previous one: the median of the fastest quarter of 80 samples of 20,000 calls."""
        return self.figure(cache, sampling.pure_c_key("latency", n))

    def track_throughput(self, cache, n):
        """ns per cfib(n) call timed inside C (fibext.time_c), back-to-back independent calls
        the CPU overlaps: the median of the fastest quarter of 80 samples of 20,000 calls."""
        return self.figure(cache, sampling.pure_c_key("throughput", n))
