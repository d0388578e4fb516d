"""One robust figure per commit for the nanosecond-scale timings (fib, the no-op floor, pure C).

Each line is sampled PROCESSES x ROUNDS times: several fresh interpreters one after another,
each timing every line in turn, round after round, NUMBER calls per sample.  The figure asv
stores is robust_figure() of those samples: the median of their fastest quarter.

Why so (docs/measuring.md; the records behind it, each with its host: docs/measurements.md):
on shared VMs one host slowed the loop in stretches shorter than a commit's sampling (a busy
neighbour: the median is then fast or slow by chance), another showed a rare fast tail (the
fastest sample then jumps with it), and a pure-Python loop's speed depends on the process (its
hash seed).  Samples from several processes, spread over seconds, and a low quantile that
ignores a few outliers either way, are steady on all three.

PROCESSES, ROUNDS and NUMBER below are the one statement of how samples are taken; bench_fib's
docstrings repeat only the sample count (asv shows them on the site; a test keeps them equal).

Run as a script (``python -I sampling.py SPEC``) it is the child process: it imports the
installed fibext, measures, and prints the samples as JSON.  It needs nothing but the standard
library and fibext, so every old commit's environment can run it.
"""

import json
import math
import statistics
import subprocess
import sys

#: Fresh interpreters per commit, run one after another.
PROCESSES = 16
#: Samples of each line per interpreter (every line timed once a round, in turn).
ROUNDS = 5
#: Calls per sample: ~2 ms for a compiled variant, long enough that timer resolution and the
#: loop's start are below 0.1%, short enough to fall between a neighbour's busy stretches.
NUMBER = 20_000


def robust_figure(samples):
    """The median of the fastest quarter of samples (about their 12.5th percentile).

    It follows the uncontended level when a quarter or more of the samples saw it, and
    ignores a fast tail of fewer than one sample in eight.  None without samples.
    """
    finite = sorted(s for s in samples if s is not None and math.isfinite(s))
    if not finite:
        return None
    return statistics.median(finite[:max(1, math.ceil(len(finite) / 4))])


def fib_key(variant, n):
    return f"fib {variant} {n}"


NOOP_KEY = "noop"
#: The control line: control(n) at the largest n sampled, timed with the others.
CONTROL_KEY = "control"


def control(n):
    """fib's loop in pure Python, defined here in the suite and not in fibext: the same code
    in the same interpreter at every commit, so its figure moves only when the machine does.
    A commit whose control stands apart from the others' was measured on a disturbed machine
    (benchmarks/control.py measures it again)."""
    a, b = 0.0, 1.0
    for _ in range(n):
        a, b = a + b, a
    return a


def pure_c_key(kind, n):
    return f"pure-c {kind} {n}"


def measure(ns, processes=PROCESSES, rounds=ROUNDS, number=NUMBER, timeout=600):
    """{line key: [ns per call, ...]} of every line this commit's fibext has, from
    processes x rounds samples each."""
    spec = json.dumps({"ns": list(ns), "rounds": rounds, "number": number})
    samples = {}
    for _ in range(processes):
        # -I: the installed fibext, not a checkout's sources; no PYTHON* variables, so
        # each process draws its own hash seed, as a user's would.
        child = subprocess.run([sys.executable, "-I", __file__, spec], capture_output=True,
                               text=True, timeout=timeout)
        if child.returncode != 0:
            raise RuntimeError(f"the sampling process failed:\n{child.stderr}")
        for key, values in json.loads(child.stdout).items():
            samples.setdefault(key, []).extend(values)
    return samples


def _sample(spec):
    """The child: every line of the installed fibext, timed in interleaved rounds."""
    import timeit

    import fibext

    ns, rounds, number = spec["ns"], spec["rounds"], spec["number"]
    timers = {}
    for name, fib in getattr(fibext, "VARIANTS", {}).items():
        for n in ns:
            # fib and n as the loop function's locals, as timeit's own setup makes them
            timers[fib_key(name, n)] = timeit.Timer(
                "fib(n)", "fib = _fib; n = _n", globals={"_fib": fib, "_n": n})
    try:
        from fibext._capi import noop
    except ImportError:  # a commit before the no-op floor
        noop = None
    if noop is not None:
        timers[NOOP_KEY] = timeit.Timer("noop(0)", "noop = _noop", globals={"_noop": noop})
    timers[CONTROL_KEY] = timeit.Timer("control(n)", "control = _control; n = _n",
                                       globals={"_control": control, "_n": max(ns)})
    time_c = getattr(fibext, "time_c", None)
    samples = {key: [] for key in timers}
    keys = list(timers)
    for r in range(rounds):
        # a different line first each round, so no line always follows the same one
        for key in keys[r % len(keys):] + keys[:r % len(keys)]:
            samples[key].append(timers[key].timeit(number) / number * 1e9)
        if time_c is not None:
            for n in ns:
                timing = time_c(n, loops=number, repeat=1)
                samples.setdefault(pure_c_key("latency", n), []).append(timing.latency_ns)
                samples.setdefault(pure_c_key("throughput", n), []).append(timing.throughput_ns)
    return samples


if __name__ == "__main__":
    print(json.dumps(_sample(json.loads(sys.argv[1]))))
