"""Samples of the nanosecond-scale timings (fib, the no-op floor, pure C, the control), for asv.

Each line is sampled in PROCESSES fresh interpreters, one after another, each timing every line
in turn, ROUNDS rounds of NUMBER calls.  A process's figure is a low quantile of its rounds,
the (ROUNDS // 10 + 1)-th fastest (process_figure); a sample is the fastest figure of GROUP
consecutive processes (sample_figure).  Those samples are what bench_fib hands asv, so asv
stores each line with its statistics (the median, quartiles and 99% interval: the figure the
site, the gate, the drill and the report read) and asv compare can test significance.

Why so (docs/measuring.md; the records behind it, each with its host: docs/measurements.md):
samples from one process are not independent (the process's hash seed sets a pure-Python
loop's level), so a process gives one figure, not ROUNDS.  Many short rounds and a low
quantile of them: the figure needs only a few of ROUNDS rounds outside a busy neighbour's
stretches, or inside the millisecond windows in which a two-level host runs at its fast level,
while a rare fast tail must reach several rounds of one process to move it.  The fastest of a
group of processes: a build's median then moves only where every process of many groups fell
on a slow level (a slow hash seed, a slow stretch, a compiled call that never reached its fast
level in the process's life), where the median of single processes moved with how many of a
build's processes were slow; groups are independent of each other, so asv's test still sees
independent samples.  A process's rounds take turns on every CPU it may run on (round_cpus),
so a vCPU that runs compiled loops slowly for minutes does not hold every process of a pass
(children stay where their parent waits).  The fourth behaviour, slow drift over minutes, no
estimator of one build removes: the tools sample builds side by side instead, PASSES passes
over every build they compare (measuring.sample_passes, asv run --append-samples), so a slow
stretch falls on all of them alike.  One asv run takes one pass: SAMPLES_A_PASS samples a line.

PROCESSES, GROUP, ROUNDS, NUMBER and PASSES below are the one statement of how samples are
taken; bench_fib's docstrings repeat only the count (asv shows them on the site; a test keeps
them equal).

Run as a script (``python -I sampling.py SPEC``) it is the child process: it imports the
installed fibext, measures, and prints the samples as JSON.  It needs nothing but the standard
library and fibext, so every old commit's environment can run it.
"""

import contextlib
import json
import math
import os
import re
import subprocess
import sys

#: Fresh interpreters in one asv run (a pass), run one after another.
PROCESSES = 16
#: Processes a sample: the fastest figure of this many consecutive ones (sample_figure).  Four,
#: not two: a compiled call that starts each process on a slow level and reaches its fast one
#: only some way into the process, or never, leaves most processes of a slow stretch slow.
GROUP = 4
#: Samples a line one asv run (a pass) takes.
SAMPLES_A_PASS = PROCESSES // GROUP
#: Passes the tools run over the builds they compare (asv's samples joined): SAMPLES a line.
PASSES = 4
#: Samples a line over the passes: what asv's median is taken of.
SAMPLES = PASSES * SAMPLES_A_PASS
#: Rounds of each line per interpreter (every line timed once a round, in turn).
ROUNDS = 30
#: Calls per round: ~0.2 ms for a compiled variant, long enough that timer resolution and the
#: loop's start are below 0.1%, short enough to fit inside a fast window of a two-level host.
#: ROUNDS x NUMBER is what one process spends on a line.
NUMBER = 2_500


#: A regex of the line keys to sample (fib_key, NOOP_KEY, CONTROL_KEY, pure_c_key), read from
#: the environment: unset, every line.  The drill sets it to the lines it times, so its
#: processes do not spend most of their time on lines nobody reads.
LINES_ENV = "FIBEXT_SAMPLE_LINES"


def process_figure(rounds):
    """One process's figure: the (n // 10 + 1)-th fastest of its n finite rounds (the fastest
    below 10 rounds), or None without a finite round.  The fourth fastest of 30: a fast tail
    in 4% of rounds moves about one process in 30 (the second fastest: over one in three,
    which the fastest of a group would carry into most samples), where the fastest would
    follow it in most."""
    finite = sorted(_finite(rounds))
    return finite[len(finite) // 10] if finite else None


def sample_figure(figures):
    """One sample from a group of processes' figures: the fastest, or None where none has
    one.  A slow level that half the processes fall on reaches a sample one time in 16."""
    return min(_finite(figures), default=None)


def _finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def samples_of(figures, group=GROUP):
    """A line's samples from its processes' figures, in the order the processes ran: one a
    group of consecutive processes (sample_figure)."""
    if not figures or len(figures) % group:
        raise ValueError(f"the processes' figures must come in whole groups of {group}, "
                         f"not {len(figures)}")
    return [sample_figure(figures[i:i + group]) for i in range(0, len(figures), group)]


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


#: The parts of a pure-C latency (latency_of_parts): a child's rounds, never a line of their own.
PURE_C_SERIAL = pure_c_key("serial", "")
PURE_C_FENCE = pure_c_key("fence", "")


def round_cpus(cpus, rounds):
    """The CPU each round runs on: every CPU the process may use in turn, or None for every
    round where there is only one (or the platform cannot say)."""
    cpus = sorted(cpus)
    if len(cpus) < 2:
        return [None] * rounds
    return [cpus[r % len(cpus)] for r in range(rounds)]


def _allowed_cpus():
    """The CPUs this process may run on; none where the platform cannot pin (not Linux)."""
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return set()


def _run_on(cpu):
    """Move this process to cpu; False where the system refuses (the round is then timed
    wherever the process last ran)."""
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def check_processes(processes, group=GROUP):
    """Refuse, before any process starts, a process count that is not whole groups."""
    if processes < 1 or processes % group:
        raise ValueError(f"processes must be a positive multiple of {group} (a sample is the "
                         f"fastest of {group} processes), not {processes}")


def measure(ns, processes=PROCESSES, rounds=ROUNDS, number=NUMBER, group=GROUP, timeout=600):
    """{line key: [ns per call, one sample a group of processes]} of every line this commit's
    fibext has, each of the processes timing every line rounds times."""
    check_processes(processes, group)
    spec = json.dumps({"ns": list(ns), "rounds": rounds, "number": number,
                       "lines": os.environ.get(LINES_ENV) or ""})
    figures = {}
    for _ in range(processes):
        # -I: the installed fibext, not a checkout's sources; no PYTHON* variables, so
        # each process draws its own hash seed, as a user's would.
        child = subprocess.run([sys.executable, "-I", __file__, spec], capture_output=True,
                               text=True, timeout=timeout)
        if child.returncode != 0:
            raise RuntimeError(f"the sampling process failed:\n{child.stderr}")
        for key, values in json.loads(child.stdout).items():
            figures.setdefault(key, []).append(process_figure(values))
    # every process times the same lines (the same fibext, the same spec)
    return {key: samples_of(values, group) for key, values in latency_of_parts(figures).items()}


def latency_of_parts(figures):
    """figures with each pure-C latency made from its parts, process by process: the
    process's figure of the serialised calls less its figure of the fence alone, never
    below 0.  Best against best, as fibext.time_c takes it: a round whose fence alone ran
    slow (a neighbour, an interrupt) makes that round's difference look too fast, and a low
    quantile of per-round differences picks exactly those rounds."""
    out = {key: values for key, values in figures.items()
           if not key.startswith((PURE_C_SERIAL, PURE_C_FENCE))}
    for key in figures:
        if key.startswith(PURE_C_SERIAL):
            n = key.removeprefix(PURE_C_SERIAL)
            fences = figures.get(PURE_C_FENCE + n, [])
            if len(fences) != len(figures[key]):
                raise ValueError(f"{key}: {len(figures[key])} figures, {len(fences)} of its fence")
            out[pure_c_key("latency", n)] = [
                None if serial is None or fence is None else max(serial - fence, 0.0)
                for serial, fence in zip(figures[key], fences)]
    return out


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
    try:
        from fibext._capi import time_c as time_c_parts  # (throughput, serial, fence) ns a call
    except ImportError:  # a commit before pure C
        time_c_parts = None
    if time_c_parts is not None and len(time_c_parts(0, 1)) != 3:
        time_c_parts = None  # a commit whose time_c returned (throughput, latency)
    wanted = re.compile(spec.get("lines") or "")
    timers = {key: timer for key, timer in timers.items() if wanted.search(key)}
    pure_c = [n for n in ns if wanted.search(pure_c_key("latency", n))
              or wanted.search(pure_c_key("throughput", n))] if time_c is not None else []
    samples = {key: [] for key in timers}
    keys = list(timers)
    allowed, moved = _allowed_cpus(), False
    try:
        for r, cpu in enumerate(round_cpus(allowed, rounds)):
            moved = (cpu is not None and _run_on(cpu)) or moved
            _time_round(r, keys, timers, samples, number, pure_c, time_c, time_c_parts)
    finally:
        if moved:  # where the process may run again, for whoever calls this in-process
            with contextlib.suppress(OSError):  # never in place of the error being raised
                os.sched_setaffinity(0, allowed)
    return samples


def _time_round(r, keys, timers, samples, number, pure_c, time_c, time_c_parts):
    """Round r: every line once, then pure C's, each figure appended to samples."""
    # a different line first each round, so no line always follows the same one
    first = r % max(1, len(keys))
    for key in keys[first:] + keys[:first]:
        samples[key].append(timers[key].timeit(number) / number * 1e9)
    for n in pure_c:
        if time_c_parts is not None:  # the latency is made of its parts' figures
            throughput, serial, fence = time_c_parts(n, number)
            samples.setdefault(pure_c_key("serial", n), []).append(serial)
            samples.setdefault(pure_c_key("fence", n), []).append(fence)
        else:
            timing = time_c(n, loops=number, repeat=1)
            throughput = timing.throughput_ns
            samples.setdefault(pure_c_key("latency", n), []).append(timing.latency_ns)
        samples.setdefault(pure_c_key("throughput", n), []).append(throughput)


if __name__ == "__main__":
    print(json.dumps(_sample(json.loads(sys.argv[1]))))
