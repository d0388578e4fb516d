"""fib: time per call of every variant, and the pure-C row timed inside C."""

from .common import optional, require

# The variant registry, from the package itself.  A name a commit lacks is skipped there.
VARIANTS = optional("fibext", "VARIANTS", {})
VARIANT_NAMES = list(VARIANTS) or ["python"]
# Append only: each value is a line in the history.
NS = [0, 10, 90]

# Why timeraw_ with an explicit number: asv_runner times a time_ benchmark that has a setup()
# one call per sample, so its timer's own ~175 ns swamps a 15-50 ns call, and without setup()
# a closure still adds ~70 ns.  timeraw_ runs `timeit(stmt, setup, number)` in a fresh
# process, the same loop pyperf timeit runs, and asv divides by number: ns per call, with
# the callable and n as fast locals.  Each sample is a new process, so repeat is the sample
# count.  Why many short samples: on these shared VMs the same loop runs at 95 or 170 ns per
# call in stretches of ~0.1-0.5 s (another tenant on the core's sibling thread; an idle
# guest sees it too), and the fastest sample is only the uncontended time if some sample
# fits inside a quiet stretch.  Measured here (capi fib(90), 8 trials of "a commit"): the
# fastest of 20 samples of 100 000 calls moved 21% between trials; of 40 samples of 20 000
# calls (2 ms), 4.5%.  20 000 calls still keep timer resolution and loop start-up below 0.1%.
NUMBER = 20_000
#: 4 rounds of 10 samples: 40 a commit, from four moments (asv runs a commit's rounds one after
#: another, or across the commits with --interleave-rounds, as the drill and the gate do).
#: The fastest of them moved 4.0% at most between no-op commits in two quiet drills here,
#: 7.3% in one run while another tenant kept the host busy.
ROUNDS = 4
REPEAT = 10


class Fib:
    """Seconds per fib(n) call from Python, for each variant."""

    params = [VARIANT_NAMES, NS]
    param_names = ["variant", "n"]
    number = NUMBER
    rounds = ROUNDS
    repeat = REPEAT
    warmup_time = 0
    timeout = 120
    version = "fib-timeraw-1"  # pinned: editing this file keeps the history

    def setup(self, variant, n):
        require(variant in VARIANTS, f"variant {variant!r}")

    def timeraw_call(self, variant, n):
        return "fib(n)", f"from fibext import VARIANTS; fib = VARIANTS[{variant!r}]; n = {n}"


class FibNoop:
    """Seconds per call of a METH_O function that does nothing: the floor under every variant."""

    number = NUMBER
    rounds = ROUNDS
    repeat = REPEAT
    warmup_time = 0
    version = "noop-timeraw-1"

    def setup(self):
        require(optional("fibext._capi", "noop", None), "fibext._capi.noop")

    def timeraw_call(self):
        return "noop(0)", "from fibext._capi import noop"


class PureC:
    """Nanoseconds per cfib(n) call, timed inside C by fibext.time_c (no interpreter)."""

    params = [NS]
    param_names = ["n"]
    unit = "ns"
    version = "pure-c-1"

    def setup(self, n):
        self.time_c = optional("fibext", "time_c", None)
        require(self.time_c, "fibext.time_c")

    def track_latency(self, n):
        """Each call waits for the previous one: start to result."""
        return self.time_c(n, loops=100_000, repeat=5).latency_ns

    def track_throughput(self, n):
        """Back-to-back independent calls, which the CPU overlaps."""
        return self.time_c(n, loops=100_000, repeat=5).throughput_ns
