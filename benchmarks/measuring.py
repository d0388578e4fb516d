"""Measuring: asv run on what the history lacks, one commit per build.

The main job walks main's newest commits, the tip first.  Each commit's build is identified
(builds.py: its sources, else its wheel's bytes); a build already measured gives the commit its
results, and asv measures only a build not measured yet (or the benchmarks its measured commit
lacks), publishing after each.  Then a build whose control line stands out is measured again,
or withheld (control.py), and each timed step the published Regressions page lists is measured
again before it stands.  The sampled lines (fib, the no-op floor, pure C, the control, the
memory lines, the profiling loop, import, parallel, two threads: PASSED, every wall-time
line) of the builds measured in one run are then sampled again side by side, pass after pass
over all of them, their samples joined (sample_passes).
asv_run() is the one way the tools hand commits to asv.
"""

import json
import pathlib
import re
import time

import builds
import control
import repo
from asvresults import is_count, load_benchmarks, results_of
from benchmarks import sampling
from repo import ROOT, ToolError

#: The lines the sampling passes sample again (asv --bench patterns), each asv run adding
#: samples from processes of its own: the fib family (control.SAMPLED, sampled in shared
#: processes), the memory lines (sampled in shared processes of their own: memory_sampling.py),
#: the profiling loop (its level is the forkserver's, which asv's rounds share within a run),
#: and the lines asv times itself (import, parallel, two threads), each run a few samples:
#: every wall-time line's samples come from as many time windows as there are passes, each
#: taken beside the parent build's, not from one run whose level they would all share.
PASSED = (control.SAMPLED, r"^bench_memory\.", r"^bench_profile\.", r"^bench_import\.",
          r"^bench_parallel\.", r"^bench_smt\.")
#: Of those, the lines only the last pass samples again.  The memory lines' sampling costs
#: what a build's measurement of them does (processes that each set up every buffer:
#: docs/measurements.md), so a build gets its measurement's samples and the last pass's
#: (taken beside its parent's); in every pass they would make the suite cost half as much
#: again, where it already costs about twice the suite of before the passes
#: (docs/measurements.md, "The suite's cost against the one the issue measured").
LAST_PASS_ONLY = (r"^bench_memory\.",)


def recent_commits(count, branch, root=ROOT):
    """The newest count commits of branch's first-parent history, newest first."""
    tip = repo.commit_of(branch, cwd=root)
    return repo.git("rev-list", "--first-parent", f"-n{count}", tip, cwd=root).split()


def asv_options(settings):
    """What every asv run of the main job is given."""
    return ["--machine", settings.machine, "--show-stderr", "--record-samples"]


def asv_run(commits, options, config=(), root=ROOT, hashfile="hashes-to-run.txt"):
    """asv run of commits (through a hash file) with options; its status (0, or 2 when a
    benchmark failed, its result recorded as failed); anything else is fatal."""
    path = pathlib.Path(root) / ".asv" / hashfile
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(commits) + "\n")
    code = repo.asv("run", *config, f"HASHFILE:{path}", *options, cwd=root,
                    check=False).returncode
    if code not in (0, 2):
        raise ToolError(f"asv run exited {code} at {', '.join(c[:8] for c in commits)}")
    return code


def sample_passes(commits, options, config=(), root=ROOT, first=2, passes=sampling.PASSES,
                  bench=PASSED, hashfile="hashes-passes.txt", after_each=lambda: None,
                  environments=()):
    """Passes first..passes of the sampled lines (bench: asv --bench patterns among PASSED's)
    over commits (the first pass's order), each an asv run whose samples join those already
    recorded (--append-samples), in pass_orders' order: every build sampled beside the others
    a little at a time, so a slow stretch of the machine falls on all of them alike
    (sampling.py).  environments (asv -E specifiers), where given, are rotated from one pass
    to the next for the same reason: asv runs a commit's environments one after another, and
    no Python should always be sampled first.  after_each() runs after each pass (the main
    job publishes).  asv's worst status."""
    status, taken = 0, []
    orders, envs = pass_orders(commits, passes), list(environments)
    selected = {p: _sampled_selected(p) for p in bench}
    with_last_only = any(any(map(_last_only, names)) for names in selected.values())
    for k in range(first, passes + 1):
        order = orders[k - 1]
        rotated = envs[k % len(envs):] + envs[:k % len(envs)] if envs else []
        chosen = list(bench) if k == passes else [
            not_last_only(p) for p, names in selected.items()
            if not (names and all(map(_last_only, names)))]
        if not chosen:
            continue  # what is chosen is sampled again by the last pass alone
        last_too = k == passes and with_last_only
        left = ""
        if taken and not with_last_only:
            left = f", about {fmt(sum(taken) / len(taken) * (passes - k + 1))} left"
        elif taken and k < passes:  # the last pass costs more: the memory lines join it
            left = f", about {fmt(sum(taken) / len(taken) * (passes - k))} before the last"
        print(f"\n== sampling pass {k} of {passes}: the sampled lines of {len(order)} "
              f"build(s) side by side, their samples joined"
              f"{' (the memory lines too: the last pass)' if last_too else ''}{left}",
              flush=True)
        started = time.monotonic()
        status = max(status, asv_run(order, [*options, "--append-samples",
                                             *(o for p in chosen for o in ("--bench", p)),
                                             *(o for e in rotated for o in ("-E", e))],
                                     config, root=root, hashfile=hashfile))
        after_each()
        taken.append(time.monotonic() - started)
    return status


def pass_orders(builds, passes):
    """The order of the builds in each of passes passes, the first as builds gives it.  The
    last is the first reversed, so over those two (the memory lines' only runs:
    LAST_PASS_ONLY) a steady drift falls on every build alike.  The passes between take the
    first's order turned by half the builds, all alike: no build ends one pass and starts
    the next, where one slow stretch would take two of its passes, and a build's samples
    there are a whole pass apart (the cost under steady drift: docs/measuring.md).  Two
    builds cannot be kept apart: the first half of the passes between keep the first's
    order, the others the last's, so they meet at one turn, not at each.  Two passes meet
    at their turn."""
    first = list(builds)
    turned = first[len(first) // 2:] + first[:len(first) // 2]
    between = passes - 2
    if len(first) > 2:
        middle = [turned] * between
    else:
        middle = [first] * (between // 2) + [first[::-1]] * (between - between // 2)
    return ([first] + middle + [first[::-1]])[:passes]


def _last_only(name):
    return any(re.match(p, name) for p in LAST_PASS_ONLY)


def _sampled_selected(pattern):
    """The sampled lines (SAMPLED_NAMES) asv's --bench pattern selects."""
    return [n for n in SAMPLED_NAMES if re.search(pattern, n)]


def _narrowed(pattern, within, otherwise):
    """One asv --bench regex for what pattern selects (asv searches each name with it) among
    what the regex body `within` matches at the name's start; otherwise where pattern cannot
    be wrapped (one opening with global flags)."""
    narrowed = rf"^(?=.*?(?:{pattern})){within}"
    try:
        re.compile(narrowed)
    except re.error:
        return otherwise
    return narrowed


def not_last_only(pattern):
    """asv's --bench pattern narrowed to the lines every pass samples: what pattern selects,
    less LAST_PASS_ONLY's.  A pattern that cannot be wrapped is returned as it is: its lines
    are then sampled in every pass, which costs time and loses nothing."""
    return _narrowed(pattern, f"(?!{'|'.join(f'(?:{p})' for p in LAST_PASS_ONLY)})", pattern)


class Estimate:
    """What is left of the job, from what it has taken so far: a build (the wheel) for each
    commit whose sources no commit identified before shares, a measurement for each of them
    (two commits of different sources may still turn out to be one build: an upper bound),
    and the further sampling passes over those builds, each costing what a build's sampled
    lines took in its measurement (asv's durations of them, set-up included)."""

    def __init__(self, new_sources, passes=1):
        self.builds_left = self.measures_left = new_sources
        self.passes = passes
        self.build_seconds, self.measure_seconds, self.sampled_seconds = [], [], []
        self.last_only_seconds = []

    def built(self, seconds):
        self.builds_left = max(0, self.builds_left - 1)
        self.build_seconds.append(seconds)

    def measured(self, seconds, sampled=None, last_only=0.0):
        """A build measured in seconds, its lines every pass samples again in sampled, those
        only the last pass does (LAST_PASS_ONLY) in last_only."""
        self.measures_left = max(0, self.measures_left - 1)
        self.measure_seconds.append(seconds)
        if sampled or last_only:
            self.sampled_seconds.append(sampled or 0.0)
            self.last_only_seconds.append(last_only or 0.0)

    def left(self):
        """Seconds left, or None before anything was measured."""
        if not self.measure_seconds:
            return None
        build = sum(self.build_seconds) / len(self.build_seconds) if self.build_seconds else 0
        measure = sum(self.measure_seconds) / len(self.measure_seconds)
        left = self.builds_left * build + self.measures_left * measure
        if self.last_only_seconds and self.passes > 1:
            builds = len(self.measure_seconds) + self.measures_left
            every = sum(self.sampled_seconds) / len(self.sampled_seconds)
            last = sum(self.last_only_seconds) / len(self.last_only_seconds)
            left += builds * ((self.passes - 1) * every + last)
        return left


def fmt(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def measure(settings, publish, site_stale=lambda: False):
    """Give every commit of the history its build's results, measuring each build not yet
    measured (the tip's first), publishing after each (and after the tip's where site_stale()
    says the site lacks results it could show); asv's worst status (0, or 2 when a benchmark
    failed) and {commit: {environment: build}}."""
    repo.register_machine(settings.machine)
    hashes = recent_commits(settings.commits, settings.branch)
    envs, conf = builds.environments(settings.config)
    known = {r["source"] for r in builds.load_records(settings.results,
                                                      settings.machine).values()}
    estimate = Estimate(len({builds.source_key(c) for c in hashes} - known),
                        settings.passes if not settings.quick else 1)
    options = asv_options(settings)
    # asv skips a commit whose every benchmark succeeded: nothing is measured twice, while a
    # benchmark missing or failed at a build's measured commit is measured now
    run = [*options, "--skip-existing-successful", *_bench_options(settings)]
    status, identities, measured, complete, fresh = 0, {}, set(), None, set()
    for k, commit in enumerate(hashes, start=1):
        started = time.monotonic()
        ids = builds.identify([commit], envs, conf.build_command, settings.results,
                              settings.machine)[commit]
        if time.monotonic() - started > 1:
            estimate.built(time.monotonic() - started)
        identities[commit] = ids
        target = builds.choose(commit, ids, settings.results, settings.machine)
        # the tip always goes to asv, whose discovery brings benchmarks.json up to date; the
        # results on disk are read once after it
        if k == 2 and not settings.bench:
            complete = complete_commits(settings.results, settings.machine)
        if target in measured or (complete and target in complete):
            builds.share(commit, ids, settings.results, settings.machine)
            print(f"== commit {k} of {len(hashes)}: {commit[:8]} is the build asv measured at "
                  f"{target[:8]}: its results, nothing measured", flush=True)
            continue
        left = estimate.left()
        print(f"\n== commit {k} of {len(hashes)}: {commit[:8]}"
              + (f", the build asv measured at {target[:8]}" if target != commit else "")
              + f" ({fmt(time.monotonic() - settings.started)} since the start"
              + (f", about {fmt(left)} left" if left is not None else "") + ")", flush=True)
        before = _result_mtimes(settings.results, settings.machine)
        sampled_before = _sampled_at(settings.results, settings.machine, target)
        started = time.monotonic()
        first_site = k == 1 and len(conf.pythons) > 1
        if first_site:
            # the tip on the first Python alone, published at once: the first site is out a
            # Python's measurement sooner; the run below skips what this one measured
            status = max(status, asv_run([target], [*run, "-E", f"{conf.environment_type}:"
                                                                f"{conf.pythons[0]}"],
                                         settings.config))
            publish(first=True)
        status = max(status, asv_run([target], run, settings.config))
        measured.add(target)
        new = _result_mtimes(settings.results, settings.machine) != before
        if _sampled_at(settings.results, settings.machine, target) != sampled_before:
            fresh.add(target)  # its sampled lines measured now: the passes go on with them
        builds.share(commit, ids, settings.results, settings.machine)
        if new or (k == 1 and site_stale()):
            publish(first=(k == 1 and not first_site))
        if new:  # what a build costs: its measurement and the publishing after it
            estimate.measured(time.monotonic() - started,
                              *_sampled_seconds(settings.results, settings.machine, target))
    passes = _passes_over(hashes, identities, fresh, settings)
    if passes:
        status = max(status, sample_passes(
            passes, options, settings.config, passes=settings.passes,
            bench=[p for p in settings.bench if selects_sampled(p)] or PASSED,
            environments=[f"{conf.environment_type}:{python}" for python in conf.pythons],
            after_each=lambda: (builds.share_all(hashes, settings.results, settings.machine),
                                publish())))
    if not settings.quick:
        status = max(status, _measure_disturbed_again(settings, hashes))
    for line in build_lines(hashes, identities):
        print(line)
    return status, identities


def build_lines(hashes, identities):
    """One line a build of the history, its commits newest first."""
    groups = builds.groups({c: identities[c] for c in hashes if c in identities})
    return [f"{len(hashes)} commit(s), {len(groups)} build(s):"] + [
        "  " + builds.describe(group, identities) for group in groups]


#: The sampled lines (PASSED's), by name, to tell whether a --bench selects any.
SAMPLED_NAMES = ("bench_fib.Fib.track_call", "bench_fib.FibNoop.track_call",
                 "bench_fib.Control.track_call", "bench_fib.PureC.track_latency",
                 "bench_fib.PureC.track_throughput",
                 "bench_memory.SequentialRead.track_ns_per_element",
                 "bench_memory.StridedRead.track_ns_per_element",
                 "bench_memory.RandomRead.track_ns_per_access",
                 "bench_memory.PointerChase.track_latency",
                 "bench_memory.Write.track_ns_per_element", "bench_memory.PythonLoop.track_cost",
                 "bench_profile.FibProfile.time_loop", "bench_import.ImportModule.timeraw_import",
                 "bench_parallel.Batch.time_batch", "bench_smt.Alone.time_alone",
                 "bench_smt.Pair.time_pair")


def selects_sampled(pattern):
    """Whether asv's --bench pattern selects any of the sampled lines."""
    return bool(_sampled_selected(pattern))


def _bench_options(settings):
    options = []
    for pattern in settings.bench:
        options += ["--bench", pattern]
    return options + (["--quick"] if settings.quick else [])


def _passes_over(hashes, identities, measured, settings):
    """The builds the sampling passes go over: each build measured in this run and its
    parent's (the build of the next older commit, measured now or before), so every step
    between adjacent builds comes from samples taken side by side.  In the order of their
    first pass (pass_orders): those measured before, then those measured now as they were
    (newest first), so the second pass does not start with the build measured last.  Empty
    for --quick, where the selection has no sampled line, or where nothing was measured."""
    if settings.quick or settings.passes < 2 or not measured or (
            settings.bench and not any(selects_sampled(p) for p in settings.bench)):
        return []
    targets = builds.measured_of(hashes, settings.results, settings.machine)
    chosen = set()
    for k, commit in enumerate(hashes):
        if targets.get(commit) in measured:
            chosen.add(targets[commit])
            parent = next((c for c in hashes[k + 1:]
                           if identities.get(c) != identities.get(commit)), None)
            if parent:
                chosen.add(targets[parent])
    ordered = [t for t in dict.fromkeys(targets.get(c) for c in hashes) if t in chosen]
    return [t for t in ordered if t not in measured] + [t for t in ordered if t in measured]


def disturbed_bench(bench):
    """The asv --bench patterns that measure a disturbed build again: what the run measured
    of the control's lines (control.SAMPLED, narrowed to each of its --bench patterns) and the
    control itself, which judges the new measurement; all of control.SAMPLED where the run
    selected everything.  A line the run did not measure is not the disturbed one."""
    if not bench:
        return [control.SAMPLED]
    return [*(_narrowed(p, f"(?:{control.SAMPLED})", control.SAMPLED) for p in bench),
            every_line_of(control.CONTROL)]


def _measure_disturbed_again(settings, hashes):
    """A build sampled on a disturbed machine is measured again, or withheld (control.py);
    every commit of it then gets the new results."""
    targets = list(dict.fromkeys(builds.measured_of(hashes, settings.results,
                                                    settings.machine).values()))
    options = [*asv_options(settings),
               *(o for p in disturbed_bench(settings.bench) for o in ("--bench", p))]
    codes = []
    control.measure_again(
        lambda commits: codes.append(asv_run(commits, options, settings.config)),
        settings.results, settings.machine, targets, repo.load_thresholds()[0])
    builds.share_all(hashes, settings.results, settings.machine)
    return max(codes, default=0)


def confirm_regressions(settings):
    """Measure once more, from the step's build to the tip's, each timed benchmark the just
    published Regressions page lists, so that one disturbed measurement cannot stand as a
    regression; asv's worst status, and whether anything was measured (publish again)."""
    try:
        benchmarks = load_benchmarks(settings.results)
    except (OSError, ValueError):  # nothing measured yet
        return 0, False
    hashes = recent_commits(settings.commits, settings.branch)
    listed = timed_regressions(settings.html, benchmarks, hashes)
    if listed:
        print(f"\nthe Regressions page lists {len(listed)} timed benchmark(s) with a step: "
              "measuring them again from the step's build to the tip's", flush=True)
    status = 0
    targets = builds.measured_of(hashes, settings.results, settings.machine)
    for names, commits in _shared_runs(listed):
        # a sampled line's new samples join its earlier ones (sample_passes)
        status = max(status, asv_run(list(dict.fromkeys(targets[c] for c in commits)),
                                     [*asv_options(settings), "--append-samples",
                                      *(o for name in names for o in ("--bench",
                                                                      every_line_of(name)))],
                                     settings.config))
    if listed:
        builds.share_all(hashes, settings.results, settings.machine)
    return status, bool(listed)


#: Benchmarks measured together whatever is asked of them (one setup_cache samples them all):
#: one asv run measures every listed one of them, over all their commits.
SHARED_MEASUREMENT = ("bench_memory.",)


def _shared_runs(listed):
    """[(benchmark names, commits)] of one asv run each: a benchmark alone, or every listed
    one of a SHARED_MEASUREMENT, whose commits are joined (the measurement is the cost)."""
    runs = {}
    for name, commits in sorted(listed.items()):
        group = next((p for p in SHARED_MEASUREMENT if name.startswith(p)), name)
        names, joined = runs.setdefault(group, ([], []))
        names.append(name)
        joined.extend(c for c in commits if c not in joined)
    return list(runs.values())


def every_line_of(name):
    """asv --bench's regex for every parameter combination of one benchmark (asv matches it
    against "name(params)" for a parameterized benchmark)."""
    return "^" + re.escape(name) + r"(\(.*\))?$"


def timed_regressions(html_dir, benchmarks, hashes):
    """{benchmark: [commits from its step to the tip]} of the steps asv's Regressions page
    (regressions.json) lists on timed lines of the commits in hashes (newest first).  Exact
    counts are left out: measured again, they would give the same numbers."""
    html_dir = pathlib.Path(html_dir)
    try:
        listed = json.loads((html_dir / "regressions.json").read_text())["regressions"]
        revisions = json.loads((html_dir / "index.json").read_text())["revision_to_hash"]
    except (OSError, ValueError, KeyError):
        return {}
    found = {}
    for line, _graph, _branch, _index, _latest, _best, regression_steps in listed:
        name = line.split("(", 1)[0]
        if name not in benchmarks or is_count(benchmarks[name]):
            continue
        for _before_rev, after_rev, *_ in regression_steps:
            after = revisions.get(str(after_rev))
            if after in hashes:
                found.setdefault(name, set()).update(hashes[:hashes.index(after) + 1])
    return {name: [c for c in hashes if c in commits] for name, commits in found.items()}


def complete_commits(results_dir, machine):
    """The commits whose results hold every benchmark of the suite (benchmarks.json, at its
    current version) with none failed: asv would skip them anyway, after a discovery that
    installs each commit (seconds apiece), so the main job does not call asv for them."""
    try:
        benchmarks = load_benchmarks(results_dir)
    except (OSError, ValueError):
        return set()
    done = set()
    for result in results_of(results_dir, machine):
        if set(result.get_result_keys(benchmarks)) != set(benchmarks):
            continue
        values = [result.get_result_value(name, benchmarks[name]["params"]) for name in benchmarks]
        if not any(v is None or (isinstance(v, list) and None in v) for v in values):
            done.add(result.commit_hash)
    return done


def _sampled_column(results_dir, machine, commit, column):
    """[(results file name, {sampled line: its entry in asv's column}, the file's data)] of
    commit's results files on machine (one per environment)."""
    out = []
    for path in (pathlib.Path(results_dir) / machine).glob(f"{commit[:8]}-*.json"):
        try:
            data = json.loads(path.read_text())
            k = data["result_columns"].index(column)
        except (ValueError, KeyError):
            continue
        out.append((path.name, {name: entry[k] for name, entry in data.get("results", {}).items()
                                if any(re.match(p, name) for p in PASSED) and len(entry) > k},
                    data))
    return out


def _sampled_at(results_dir, machine, commit):
    """{(environment file, line): when asv started measuring it} of commit's sampled lines."""
    return {(name, line): at
            for name, lines, _ in _sampled_column(results_dir, machine, commit, "started_at")
            for line, at in lines.items()}


def _sampled_seconds(results_dir, machine, commit):
    """How long asv took over commit's sampled lines (its durations of them, and the shared
    set-up, the sampling itself, which asv times apart): (those every pass samples again, or
    None; those only the last pass does)."""
    every = last = 0.0
    for _, lines, data in _sampled_column(results_dir, machine, commit, "duration"):
        for name, seconds in lines.items():
            if any(re.match(p, name) for p in LAST_PASS_ONLY):
                last += seconds or 0
            else:
                every += seconds or 0
        durations = data.get("durations", {})
        every += sum(seconds or 0 for key, seconds in durations.items()
                     if key.startswith("<setup_cache bench_fib:"))
        last += sum(seconds or 0 for key, seconds in durations.items()
                    if key.startswith("<setup_cache bench_memory:"))
    return every or None, last


def _result_mtimes(results_dir, machine):
    return {p: p.stat().st_mtime for p in (pathlib.Path(results_dir) / machine).glob("*.json")}
