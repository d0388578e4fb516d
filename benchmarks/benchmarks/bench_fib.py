"""fib: time per call of every variant, the no-op floor under them, pure C timed in C, and a
control line that only the machine can move.

Every class shares one measurement an asv run (their common setup_cache: asv runs it once
and hands each line its samples).  Each line returns its samples, one per group of processes,
in seconds (asv's {"samples": ..., "number": ...} form): asv stores their median with its
quartiles and 99% interval, formats them as times ("105±3ns"), and asv compare tests their
difference.  How the samples are taken (fresh processes, rounds within each, groups, passes
over the builds compared) is said once, in sampling.py, whose PROCESSES, GROUP, ROUNDS, NUMBER
and PASSES are the numbers; why, in docs/measuring.md.  Each line's docstring repeats only the
sample count, because asv shows it beside the line's graph (tests/suite/test_sampling.py keeps
it equal to sampling.py's).

The versions changed when the lines became samples (seconds, asv's median over processes,
where they were one robust figure in ns): their history restarts there.
"""

from . import sampling
from .common import NS, optional, require

# The variant registry, from the package itself.  A name a commit lacks is skipped there.
VARIANTS = optional("fibext", "VARIANTS", {})
VARIANT_NAMES = list(VARIANTS) or ["python"]

class _Sampled:
    """The shared measurement: every line of this commit's fibext, sampled once."""

    unit = "seconds"
    timeout = 600

    def setup_cache(self):
        return sampling.measure(NS)

    @staticmethod
    def samples(cache, key):
        """The line's samples as asv takes them: one a group of processes, in seconds per call.
        """
        require(key in cache, key)
        return {"samples": [ns * 1e-9 for ns in cache[key] if ns is not None],
                "number": sampling.NUMBER}


class Fib(_Sampled):
    params = [VARIANT_NAMES, NS]
    param_names = ["variant", "n"]
    version = "fib-samples-1"  # pinned: editing this file keeps the history

    def track_call(self, cache, variant, n):
        """Time per fib(n) call from Python: asv's median of 16 samples (each the fastest of four
        processes, a process's figure the fourth fastest of its 30 rounds of 2,500 calls; 16
        processes a pass, 4 passes)."""
        return self.samples(cache, sampling.fib_key(variant, n))


class FibNoop(_Sampled):
    version = "noop-samples-1"

    def track_call(self, cache):
        """Time per call of a METH_O function that does nothing, the floor under every variant:
        asv's median of 16 samples (each the fastest of four processes, a process's figure the
        fourth fastest of its 30 rounds of 2,500 calls; 16 processes a pass, 4 passes)."""
        return self.samples(cache, sampling.NOOP_KEY)


class Control(_Sampled):
    version = "control-samples-1"

    def track_call(self, cache):
        """Time per call of fib(90)'s loop in pure Python, defined in the benchmark suite, not in
        fibext: the same code at every commit, so this line is flat unless the machine changed
        (where it stands out, the main job measures that commit's fib lines again: control.py).
        Sampled with every fib line: asv's median of 16 samples (each the fastest of four
        processes, a process's figure the fourth fastest of its 30 rounds of 2,500 calls; 16
        processes a pass, 4 passes)."""
        return self.samples(cache, sampling.CONTROL_KEY)


class PureC(_Sampled):
    params = [NS]
    param_names = ["n"]
    version = "pure-c-samples-1"

    def track_latency(self, cache, n):
        """Time per cfib(n) call timed inside C (fibext.time_c), each call waiting for the previous
        one: asv's median of 16 samples (each the fastest of four processes, a process's figure the
        fourth fastest of its 30 rounds of 2,500 calls; 16 processes a pass, 4 passes). A round
        times the calls with a fence after each, and the fence alone: the figure is the calls' less
        the fence's."""
        return self.samples(cache, sampling.pure_c_key("latency", n))

    # best against best (sampling.latency_of_parts), where each round's difference was taken
    track_latency.version = "pure-c-latency-samples-2"

    def track_throughput(self, cache, n):
        """Time per cfib(n) call timed inside C (fibext.time_c), back-to-back independent calls the
        CPU overlaps: asv's median of 16 samples (each the fastest of four processes, a process's
        figure the fourth fastest of its 30 rounds of 2,500 calls; 16 processes a pass, 4
        passes)."""
        return self.samples(cache, sampling.pure_c_key("throughput", n))
