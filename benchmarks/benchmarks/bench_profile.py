"""fib under a profiler: the benchmark to point `asv profile` at.

bench_fib's samples are taken in child processes, which a profile of the benchmark process
does not see.  This one runs a loop of fib calls in the benchmark process itself, where `asv
profile` wraps it in cProfile:

    asv profile --python=same "bench_profile.FibProfile.time_loop\\('cython'\\)" -o fib.prof
    asv profile --python=same "bench_profile.FibProfile.time_loop\\('python'\\)" --gui=snakeviz

(the parameter in brackets is part of the name; asv reads the name as a regular expression,
hence the escaped brackets).  Its timings carry the loop's own overhead: bench_fib's are the
figures to quote, this is the one to profile.
"""

from .common import NS, optional, require

VARIANTS = optional("fibext", "VARIANTS", {})
CALLS = 10_000  # calls per timed loop: a profile with counts large enough to read
N = NS[-1]


class FibProfile:
    """Seconds per loop of CALLS fib(90) calls, for each variant: the profiling target."""

    params = [list(VARIANTS) or ["python"]]
    param_names = ["variant"]
    # One sample an asv run, so one a process: asv forks a run's processes from one server,
    # whose hash seed sets the python loop's level, and samples sharing it made asv's test
    # call two identical builds different (4 of 8 lines marked on a no-op pair, 2026-12-03).
    # The passes (benchmarks/measuring.py) add a sample each.
    repeat = 1
    rounds = 1
    warmup_time = 0
    version = "fib-profile-1"  # pinned: editing this file keeps the history

    def setup(self, variant):
        require(variant in VARIANTS, f"variant {variant!r}")
        self.fib = VARIANTS[variant]

    def time_loop(self, variant):
        fib = self.fib
        for _ in range(CALLS):
            fib(N)
