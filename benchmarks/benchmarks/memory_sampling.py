"""Samples of the memory lines (bench_memory), for asv, taken as sampling.py takes fib's, but
a sample the faster of a pair of processes (PAIR), not the fastest of four, and a process's
rounds where the process runs (not in turn on each CPU: a buffer warmed in one core's private
cache would be cold in the other's).

Each line is sampled in PROCESSES fresh interpreters, one after another.  Each prepares the
buffers of every line first (allocated, written, shuffled: never timed), then times every
line in turn, ROUNDS rounds of one short run each, in an order shuffled each round, so that a
line's runs are spread over the whole life of the process and follow no one line.  Before
each timed run untimed passes (WARM_PASSES) bring the buffer to where a repeated pass finds
it (the other lines' runs evicted it).  A process's figure is sampling's low quantile of its rounds
(sampling.process_figure); a sample is the faster figure of a pair of consecutive processes
(sampling.sample_figure).  One asv run takes PROCESSES // PAIR samples; a build gets those of
its measurement and those of the last sampling pass (measuring.py, LAST_PASS_ONLY), taken
beside the other builds, and asv joins them.  The lines below the shared edge of the last
level (EDGE), and the pointer chase's to the last level, take CACHE_PROCESSES more processes
of their own (cache_keys): their level is the process's (where its pages, or its chase's
cycle, fell; below the L2, where its small buffers sit, one against the other, or a
pure-Python loop's level), and a build needs more of them.

Why so (docs/measuring.md; the records, each with its host, docs/measurements.md): a process
that times one line in one window of a few milliseconds sees the host's level in that window,
which lasts tens of milliseconds; spread over seconds, a low quantile finds the fast level in
nearly every process.  What stays per process (where its pages fell, the processor it ran on)
the faster of a pair halves.

A line that cannot be sampled costs only itself: a line with no kernel or no memory for its
buffers is skipped with the reason, one whose kernel raises is failed with it, and a process
that dies loses only its own figures (its partner's stand alone), and each line it was to
time says so when asv runs it (bench_memory's setup, on stderr).

Run as a script (``python -I memory_sampling.py SPEC``) it is the child process: it imports
the installed fibext.memory, measures and prints every round as JSON.  It needs nothing but
the standard library and fibext (with numpy), so every old commit's environment can run it.
"""

import inspect
import json
import random
import subprocess
import sys

#: Fresh interpreters, one after another, in one asv run: two pairs, two samples a line.
PROCESSES = 4
#: Processes a sample: the faster figure of a pair (sampling.sample_figure).  A pair, where
#: fib's lines take the fastest of four: a memory process lasts seconds, and groups of four
#: would double the memory lines' time for the same samples.
PAIR = 2
#: Fresh interpreters more for the lines below the shared edge (and the chase's to the last
#: level: cache_keys), after the others: CACHE_PROCESSES // PAIR more samples of those lines
#: an asv run.
CACHE_PROCESSES = 8
#: How far from the last level a size still sits at its edge, shared with other guests: this
#: factor either way (the report names those lines: figures_memory).
EDGE = 2
#: Rounds of each line per interpreter (every line timed once a round).
ROUNDS = 20
#: A timed run lasts about this long, at least one pass over the buffer.
TARGET_NS = 200_000
#: ...and this long where no cache holds the buffer: a DRAM access costs ~100 ns, and a short
#: run of them would time how it starts more than how it goes on.
COLD_TARGET_NS = 2_000_000
#: A cold line's run shorter than this is warmed by an untimed run of the same length; a
#: longer one pays its start once in many accesses.
COLD_WARM_NS = 10_000_000
#: A line whose pass is long (the largest sizes) takes fewer rounds, its runs in one process
#: within this, but at least MIN_ROUNDS.
BUDGET_NS = 40_000_000
MIN_ROUNDS = 3
#: Above this many times the last-level cache no cache holds a buffer: no pass warms it before
#: its runs (_Passes), and the random read is timed over windows of its index (_Window).
COLD_FACTOR = 1
#: Untimed passes before each timed run of a line a cache can hold, where its pattern names no
#: warming of its own (the pointer chase walks its cycle once): after another line's run, a
#: buffer between the L2 and the end of the last level is not where a repeated pass finds it
#: after one pass, and whether a process's low quantile found it settled followed the order
#: of its rounds; this many settle it (docs/measurements.md).
WARM_PASSES = 3
#: Seconds the whole measurement may take (bench_memory's setup_cache.timeout).
TIMEOUT = 900


def line_key(pattern, impl, size, dtype="float64", stride=None):
    """The key of one memory line: what fibext.memory.prepare is given."""
    return json.dumps({"pattern": pattern, "impl": impl, "size": size, "dtype": dtype,
                       "stride": stride}, sort_keys=True)


def measure(keys, processes=PROCESSES, rounds=ROUNDS, target_ns=TARGET_NS,
            cold_target_ns=COLD_TARGET_NS, budget_ns=BUDGET_NS, timeout=TIMEOUT,
            cache_processes=CACHE_PROCESSES):
    """The keys' samples: {"samples": {key: [ns per element or access, one a pair of
    processes]}, "skipped": {key: why}, "failed": {key: why}, "lost": {key: [why, a failed
    process each]}}.  The lines below the shared edge, and the chase's to the last level
    (cache_keys), get cache_processes more processes of their own, and a sample a pair of
    them.
    A process that fails loses its own figures only, and each sampled line it was to time
    names it in "lost"; RuntimeError where every one of the first processes failed."""
    from . import sampling

    sampling.check_processes(processes, PAIR)
    spec = {"keys": list(keys), "rounds": rounds, "target_ns": target_ns,
            "cold_target_ns": cold_target_ns, "cold_warm_ns": COLD_WARM_NS,
            "warm_passes": WARM_PASSES, "budget_ns": budget_ns, "min_rounds": MIN_ROUNDS,
            "cold_factor": COLD_FACTOR}
    cached = cache_keys(keys) if cache_processes else []
    if cached:
        sampling.check_processes(cache_processes, PAIR)
    # the whole within timeout (setup_cache's): each process its share
    each = timeout / (processes + (cache_processes if cached else 0))
    outputs, errors = _run(spec, processes, each)
    if len(errors) == processes:
        raise RuntimeError("every memory sampling process failed:\n" + "\n".join(errors))
    measured = samples_of(outputs)
    first_lost = [_headline(e) for e in errors]
    cache_lost = []
    if cached:
        # seeds after the first processes': each process its own round order
        extra, extra_errors = _run(dict(spec, keys=cached), cache_processes, each,
                                   first=processes)
        for key, samples in samples_of(extra)["samples"].items():
            if key in measured["samples"]:
                measured["samples"][key] += samples
        cache_lost = [_headline(e) for e in extra_errors]
    # a line some process failed to time stands on the others' samples, and says so
    cached = set(cached)
    measured["lost"] = {}
    for key in measured["samples"]:
        why = first_lost + (cache_lost if key in cached else [])
        if why:
            measured["lost"][key] = why
    return measured


def _headline(error, limit=300):
    """A failed process's error in one line of at most limit characters, its first line (which
    process, how it ended) and its last (a traceback's exception): what a line that lost the
    process's figures says of it; the whole error goes with RuntimeError alone."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()] or ["?"]
    line = lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _run(spec, processes, timeout, first=0):
    """([each process's output, {} where it failed], [what failed]) of processes children
    run one after another on spec, each within timeout seconds."""
    outputs, errors = [], []
    for index in range(first, first + processes):
        try:
            # -I: the installed fibext, not a checkout's sources
            child = subprocess.run([sys.executable, "-I", __file__,
                                    json.dumps(dict(spec, seed=index))],
                                   capture_output=True, text=True,
                                   timeout=timeout)
            if child.returncode != 0:
                raise RuntimeError(f"exit status {child.returncode}: {child.stderr[-2000:]}")
            outputs.append(json.loads(child.stdout))
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
            errors.append(f"sampling process {index + 1} of {first + processes}: {e}")
            outputs.append({})
    return outputs, errors


def cache_keys(keys, caches=None):
    """The keys below the shared edge of the last level (last / EDGE), and the pointer chase's
    up to the last level: there a line's figure is the process's, not the moment's (where its
    pages, or its chase's cycle, fell; below the L2, where its small buffers sit, one against
    the other, or a pure-Python loop's level), and the pairs of PROCESSES leave a build's median
    short of it (docs/measurements.md).  At the edge the neighbours decide the rest (the
    report's band), so only the chase, whose level was most the process's, takes processes
    there.  caches: fibext.memory.cache_sizes() by default; none where this fibext has no
    memory.last_level."""
    try:
        from fibext import memory
        last = memory.last_level(memory.cache_sizes() if caches is None else caches)
    except (ImportError, AttributeError):  # an older commit's fibext: no extra processes
        return []
    out = []
    for key in keys:
        options = json.loads(key)
        size, chase = options["size"], options["pattern"] == "chase"
        if (size <= last) if chase else (size < last / EDGE):
            out.append(key)
    return out


def samples_of(outputs):
    """measure()'s answer from the processes' outputs, in the order they ran ({} for a process
    that failed): a line's sample a pair is the faster figure of the pair's processes that
    timed it."""
    from . import sampling

    lines = [output.get("lines", {}) for output in outputs]
    figures = {key: [sampling.process_figure(rounds.get(key, [])) for rounds in lines]
               for key in dict.fromkeys(k for rounds in lines for k in rounds)}
    out = {"samples": {}, "skipped": {}, "failed": {}}
    for key, values in figures.items():
        samples = sampling.samples_of(values, PAIR)
        if any(v is not None for v in samples):
            out["samples"][key] = samples
    for kind in ("skipped", "failed"):
        for output in outputs:
            for key, why in output.get(kind, {}).items():
                if key not in out["samples"]:
                    out[kind].setdefault(key, why)
    return out


def _sample(spec):
    """The child: every line of spec["keys"] this fibext.memory has, timed in interleaved
    rounds; {"lines": {key: [ns per element or access, a round each]}, "skipped": {key: why},
    "failed": {key: why}}."""
    from fibext import memory

    skipped, failed = {}, {}
    missing = [name for name in _API if not hasattr(memory, name)]
    missing += [f"Pattern.{name}" for name in _PATTERN_API
                if not hasattr(getattr(memory, "Pattern", None), name)]
    missing += [f"Workload.{name}" for name in _WORKLOAD_API
                if not hasattr(getattr(memory, "Workload", None), name)]
    if missing:  # an older commit's fibext.memory: its lines skip, with the reason
        why = f"this commit's fibext.memory lacks {', '.join(missing)}"
        return {"lines": {}, "skipped": dict.fromkeys(spec["keys"], why), "failed": {}}
    if hasattr(memory, "last_level"):  # at most MAX_LLC, as the sizes were chosen
        llc = memory.last_level()
    else:
        caches = memory.cache_sizes()
        llc = max(caches.values()) if caches else memory.DEFAULT_LLC
    cold_above = spec["cold_factor"] * llc
    lines = {}
    for key, workload in _prepare(memory, spec["keys"], skipped).items():
        try:
            if workload.size <= cold_above:
                lines[key] = _Passes(workload, spec["target_ns"],
                                     warm_passes=spec.get("warm_passes", 1))
            elif workload.pattern == "random":
                lines[key] = _Window(workload, spec["cold_target_ns"])
            else:
                lines[key] = _Passes(workload, spec["cold_target_ns"],
                                     warm_below=spec["cold_warm_ns"])
        except Exception as e:  # a kernel that fails fails its own line only
            failed[key] = f"{type(e).__name__}: {e}"
    out = {key: [] for key in lines}
    takes = {key: max(spec["min_rounds"], min(spec["rounds"], int(
        spec["budget_ns"] // line.run_ns))) for key, line in lines.items()}
    order = list(lines)
    shuffle = random.Random(spec.get("seed", 0)).shuffle
    for r in range(spec["rounds"]):
        shuffle(order)  # no line always follows the same one
        for key in order:
            if key in out and _takes(r, takes[key], spec["rounds"]):
                try:
                    out[key].append(lines[key].run())
                except Exception as e:
                    failed[key] = f"{type(e).__name__}: {e}"
                    del out[key]
    return {"lines": out, "skipped": skipped, "failed": failed}


def _takes(r, k, rounds):
    """Whether a line of k rounds is timed in round r of rounds: k of them, spread."""
    return r * k // rounds != (r - 1) * k // rounds


#: What the child uses of fibext.memory (older commits lack some: their lines skip).
_API = ("cache_sizes", "DEFAULT_LLC", "prepare", "kernel", "Workload", "Pattern")
_PATTERN_API = ("first_reps", "warm_reps", "resumes")
_WORKLOAD_API = ("calibrate",)


def _prepare(memory, keys, skipped):
    """{key: fibext.memory.Workload} of the keys this fibext.memory can prepare; the others
    go into skipped with the reason (no kernel, no memory).  The implementations of one
    pattern and size share its buffers (one allocation, one shuffle): the kernels of a line
    only read them, or write what they wrote (fill, copy).  Across patterns, what is only
    read shares one buffer a size and what is written another (prepare's shared, where this
    fibext has it): a process holds and touches a fraction of the memory."""
    workloads, shared = {}, {}
    # prepare(shared=...) came after the sampler: without it, every pattern its own buffers
    buffers = {"shared": {}} if "shared" in inspect.signature(memory.prepare).parameters \
        else {}
    for key in keys:
        options = {k: v for k, v in json.loads(key).items() if v is not None}
        impl = options.pop("impl")
        # the Python kernels take lists, every other one the numpy buffers
        group = json.dumps([options, impl == "python"], sort_keys=True)
        try:
            memory.kernel(impl, options["pattern"], options.get("dtype", "float64"))
            if group not in shared:
                shared[group] = memory.prepare(impl=impl, **options, **buffers)
        except (NotImplementedError, MemoryError) as e:
            skipped[key] = f"{type(e).__name__}: {e}"
            continue
        base = shared[group]
        workloads[key] = memory.Workload(base.pattern, impl, base.size, base.args, base.count,
                                         dtype=base.dtype, stride=base.stride)
    return workloads


class _Passes:
    """A line timed in whole passes (a resuming pattern: in loads), each run about target_ns
    of them, at least one pass.  Before each, an untimed warming run.  Where a cache can hold
    the buffer (warm_below None), the pattern's own warming (warm_reps), else warm_passes
    passes: they bring the buffer to where a repeated pass finds it.  Where none can, a run
    of the same length, if the run is shorter than warm_below: it brings back what the other
    lines' runs evicted and a short run would pay for (the page tables' entries:
    docs/measurements.md)."""

    def __init__(self, workload, target_ns, warm_below=None, warm_passes=1):
        self.workload = workload
        if warm_below is None:
            workload.warm_up()
        # a first call, untimed: its one-time costs out of the calibration
        workload.run(workload.spec.first_reps)
        self.reps, per_call = workload.calibrate(target_ns)
        if warm_below is None:
            self.warm = workload.spec.warm_reps(workload.args) or warm_passes
        else:
            self.warm = self.reps if per_call * self.reps < warm_below else 0
        self.run_ns = per_call * (self.reps + self.warm)

    def run(self):
        workload = self.workload
        if self.warm:
            workload.run(self.warm)
        _, ns = workload.run(self.reps)
        return ns / (self.reps * workload.count)


class _Window:
    """The random read of a buffer no cache holds, timed over windows of its index: each run
    gathers the next target_ns worth of the permutation once (a window read twice could sit
    in the cache), so a run is short where a whole pass would take a second.  An untimed
    window goes first, as _Passes warms a cold run."""

    #: Accesses of the calibrating window.
    FIRST = 4096

    def __init__(self, workload, target_ns):
        self.workload = workload
        self.data, self.index = workload.args
        first = min(self.FIRST, len(self.index))
        _, ns = self._gather(0, first)
        self.width = min(len(self.index), max(first, round(target_ns * first / max(ns, 1))))
        self.start = first
        self.run_ns = 2 * target_ns

    def _gather(self, start, width):
        window = self.index[start:start + width]
        return self.workload.kernel(self.data, window, 1)

    def _next(self):
        if self.start + self.width > len(self.index):
            self.start = 0
        _, ns = self._gather(self.start, self.width)
        self.start += self.width
        return ns

    def run(self):
        self._next()  # untimed: the warming window
        return self._next() / self.width


if __name__ == "__main__":
    print(json.dumps(_sample(json.loads(sys.argv[1]))))
