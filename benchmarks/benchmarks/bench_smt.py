"""Two threads on one core: seconds for a floating-point or integer dependency chain alone on
one pinned CPU, and for two of them side by side on two pinned CPUs.

fibext.parallel is the one place that defines the kernels (fibext._smt), the pairings, the
widths, the iterations and the pinning.  In a pair, kernel a runs SMT_ITERATIONS and kernel b
as many as take as long alone (fibext.parallel.smt_iterations, timed in setup), so the pair
ideally takes Alone(a)'s time on two cores and twice it on one core shared by time-slicing;
the figure of what each pairing gains, 2 x Alone(a) / Pair, is drawn by
benchmarks/figures_cpu.py.  A machine with one CPU skips both (fibext.parallel.PinningError).
"""

from .common import optional, require

# From the package; a commit without the pairing gets one placeholder, skipped in setup.
PAIRINGS = list(optional("fibext.parallel", "SMT_PAIRINGS", ())) or ["fp+int"]
WIDTHS = list(optional("fibext.parallel", "SMT_WIDTHS", ())) or [1]
KERNELS = sorted({k for pairing in PAIRINGS for k in pairing.split("+")})


class _Pinned:
    """Shared set-up: the two CPUs the threads are pinned to, chosen in setup."""

    number = 1  # one run is 3-5 ms: far above the timer's resolution
    # 2 rounds of 5 a run, one run a sampling pass (benchmarks/measuring.py): 40 samples over
    # the default 4 passes, as one run of 2 x 20 gave, from 4 time windows.
    repeat = 5
    warmup_time = 0  # nothing to warm: the kernels touch no memory
    timeout = 60

    def setup(self, *params):
        smt_cpus = optional("fibext.parallel", "smt_cpus", None)
        require(smt_cpus, "fibext.parallel.smt_cpus")
        try:
            self.cpus = smt_cpus()[:2]
        except RuntimeError as exc:  # PinningError: one CPU, or no sched_setaffinity
            raise NotImplementedError(str(exc)) from None
        self.run_pinned = optional("fibext.parallel", "run_pinned", None)
        self.iterations = optional("fibext.parallel", "SMT_ITERATIONS", None)


class Alone(_Pinned):
    """Seconds for SMT_ITERATIONS steps of one kernel in one thread pinned to one CPU, the
    other CPU idle: the reference each pairing is measured against."""

    params = [KERNELS, WIDTHS]
    param_names = ["kernel", "width"]
    version = "smt-alone-1"  # pinned: editing this file keeps the history

    def time_alone(self, kernel, width):
        self.run_pinned([(kernel, self.cpus[0])], self.iterations, width)


class Pair(_Pinned):
    """Seconds for two threads, one per pinned CPU, each running its kernel of the pairing
    ("fp+int": FP beside integer; a for SMT_ITERATIONS steps, b for as long), started
    together, until both end."""

    params = [PAIRINGS, WIDTHS]
    param_names = ["pairing", "width"]
    version = "smt-pair-1"  # pinned: editing this file keeps the history

    def setup(self, pairing, width):
        super().setup(pairing, width)
        matched = optional("fibext.parallel", "smt_iterations", None)
        self.counts = matched(pairing, width, self.iterations, self.cpus[0])

    def time_pair(self, pairing, width):
        a, b = pairing.split("+")
        self.run_pinned([(a, self.cpus[0]), (b, self.cpus[1])], self.counts, width)
