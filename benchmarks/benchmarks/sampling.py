"""Samples of the nanosecond-scale timings (fib, the no-op floor, pure C, the control), for asv.

Each line is sampled in PROCESSES fresh interpreters, one after another, each timing every line
in turn, ROUNDS rounds of NUMBER calls.  One figure comes out of each process: a low quantile
of its rounds, the (ROUNDS // 20 + 1)-th fastest (process_figure).  Those figures are the
samples bench_fib hands asv, so asv stores each line with its statistics (the median,
quartiles and 99% interval: the figure the site, the gate, the drill and the report read) and
asv compare can test significance.

Why so (docs/measuring.md; the records behind it, each with its host: docs/measurements.md):
samples from one process are not independent (the process's hash seed sets a pure-Python
loop's level), so a process gives one sample, not ROUNDS.  Many short rounds and a low
quantile of them: the figure needs only a few of ROUNDS rounds outside a busy neighbour's
stretches, or inside the millisecond windows in which a two-level host runs at its fast level,
while a rare fast tail must reach several rounds of one process to move it; asv's median over
processes then ignores the minority of processes that fell in a slow stretch or in the tail,
and the per-process level.  The fourth behaviour, slow drift over minutes, no
estimator of one build removes: the tools sample builds side by side instead, PASSES passes
over every build they compare (measuring.sample_passes, asv run --append-samples), so a slow
stretch falls on all of them alike.  One asv run takes one pass: PROCESSES samples a line.

PROCESSES, ROUNDS, NUMBER and PASSES below are the one statement of how samples are taken;
bench_fib's docstrings repeat only the count (asv shows them on the site; a test keeps them
equal).

Run as a script (``python -I sampling.py SPEC``) it is the child process: it imports the
installed fibext, measures, and prints the samples as JSON.  It needs nothing but the standard
library and fibext, so every old commit's environment can run it.
"""

import json
import math
import os
import re
import subprocess
import sys

#: Fresh interpreters in one asv run (a pass), run one after another: one sample each.
PROCESSES = 4
#: Passes the tools run over the builds they compare (asv's samples joined): PASSES x
#: PROCESSES samples a line.
PASSES = 4
#: Rounds of each line per interpreter (every line timed once a round, in turn).
ROUNDS = 40
#: Calls per round: ~0.2 ms for a compiled variant, long enough that timer resolution and the
#: loop's start are below 0.1%, short enough to fit inside a fast window of a two-level host.
#: ROUNDS x NUMBER is what one process spends on a line.
NUMBER = 2_500


#: A regex of the line keys to sample (fib_key, NOOP_KEY, CONTROL_KEY, pure_c_key), read from
#: the environment: unset, every line.  The drill sets it to the lines it times, so its
#: processes do not spend most of their time on lines nobody reads.
LINES_ENV = "FIBEXT_SAMPLE_LINES"


def process_figure(rounds):
    """One process's figure: the (n // 20 + 1)-th fastest of its n finite rounds (the fastest
    below 20 rounds), or None without a finite round.  The third fastest of 40: a fast tail in
    4% of rounds moves about one process in five, where the fastest would follow it in most."""
    finite = sorted(r for r in rounds if r is not None and math.isfinite(r))
    return finite[len(finite) // 20] if finite else None


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
    """{line key: [ns per call, one figure a process]} of every line this commit's fibext
    has, each process timing every line rounds times."""
    spec = json.dumps({"ns": list(ns), "rounds": rounds, "number": number,
                       "lines": os.environ.get(LINES_ENV) or ""})
    samples = {}
    for _ in range(processes):
        # -I: the installed fibext, not a checkout's sources; no PYTHON* variables, so
        # each process draws its own hash seed, as a user's would.
        child = subprocess.run([sys.executable, "-I", __file__, spec], capture_output=True,
                               text=True, timeout=timeout)
        if child.returncode != 0:
            raise RuntimeError(f"the sampling process failed:\n{child.stderr}")
        for key, values in json.loads(child.stdout).items():
            samples.setdefault(key, []).append(process_figure(values))
    return samples


def _sample(spec):
    """The child: every line of the installed fibext (those spec["lines"] matches, where
    given), timed in interleaved rounds."""
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
    wanted = re.compile(spec.get("lines") or "")
    timers = {key: timer for key, timer in timers.items() if wanted.search(key)}
    pure_c = [n for n in ns if wanted.search(pure_c_key("latency", n))
              or wanted.search(pure_c_key("throughput", n))] if time_c is not None else []
    samples = {key: [] for key in timers}
    keys = list(timers)
    for r in range(rounds):
        # a different line first each round, so no line always follows the same one
        first = r % max(1, len(keys))
        for key in keys[first:] + keys[:first]:
            samples[key].append(timers[key].timeit(number) / number * 1e9)
        if pure_c:
            for n in pure_c:
                timing = time_c(n, loops=number, repeat=1)
                samples.setdefault(pure_c_key("latency", n), []).append(timing.latency_ns)
                samples.setdefault(pure_c_key("throughput", n), []).append(timing.throughput_ns)
    return samples


if __name__ == "__main__":
    print(json.dumps(_sample(json.loads(sys.argv[1]))))
