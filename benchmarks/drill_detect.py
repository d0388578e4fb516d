"""The drill's detection: the history's lines as series over the drill's commits, the steps
found in them (exact counts commit to commit; wall time by asv's own step fit), and the
verdicts: each injected change at its own commit, by its mechanisms, and nothing else.
"""

import html
import json
import math
import statistics
from dataclasses import dataclass

import steps as step_fit
from asvresults import entry_name, is_count, is_na, load_benchmarks, load_results, result_lines
from repo import threshold_for
from tables import markdown_table


@dataclass
class Report:
    index: int          # position in the drill's commits (0 = base)
    mechanism: str      # "time" (asv step detection) or "counts" (consecutive commits)
    name: str
    params: tuple
    before: float
    after: float

    @property
    def ratio(self):
        return self.after / self.before if self.before else math.inf

    @property
    def direction(self):
        return "slower" if self.after > self.before else "faster"

    @property
    def variant(self):
        return subject(self.name, self.params)


def subject(name, params):
    """What a line is about, as the drill's expectations name it: the variant of a fib line,
    the pattern of a memory kernel's line."""
    values = [p.strip("'") for p in params]
    if name.startswith("bench_cache.MemoryCache.") and len(values) > 1:
        return values[1]
    return values[0] if values else ""


def mechanism_of(name, benchmark):
    if not is_count(benchmark):
        return "time"
    if name.startswith("bench_cache.MemoryCache."):
        return "cache"
    return "cycles" if name.startswith("bench_cache.") else "counts"


def series(results_dir, machine, commits):
    """{(name, params): {"value": [...], "weight": [...]}} per commit in the drill's order, and
    the benchmarks' metadata: the values asv stores and publishes, and the weights asv's step
    fit gives them (None where asv has no statistics: a track_ line)."""
    from asv import _stats

    benchmarks = load_benchmarks(results_dir)
    lines = {}
    for i, (sha, _) in enumerate(commits):
        result = load_results(results_dir, machine, sha)
        for key, (value, stats, _samples) in result_lines(result, benchmarks).items():
            line = lines.setdefault(key, {k: [None] * len(commits) for k in ("value", "weight")})
            if is_na(value):
                continue
            line["value"][i] = value
            line["weight"][i] = _stats.get_weight(stats) if stats else None
    return lines, benchmarks


def find_changes(lines, benchmarks, thresholds):
    """Reports of every line: counts compared commit to commit; times by asv's step fit of
    the published values."""
    reports = []
    for (name, params), line in sorted(lines.items()):
        threshold = threshold_for(thresholds, entry_name(name, params) + "@main")
        mechanism = mechanism_of(name, benchmarks[name])
        if mechanism != "time":
            found = step_fit.count_steps(line["value"], threshold)
        else:
            weights = line["weight"] if None not in line["weight"] else None
            found = step_fit.time_steps(line["value"], weights, threshold)
        reports += [Report(i, mechanism, name, params, a, b) for i, a, b in found]
    return reports


def no_op_noise(lines, benchmarks, steps):
    """{line: largest relative change between consecutive commits where the drill's steps
    changed nothing in that line's variant}: the wall-clock noise between commits, time lines
    only."""
    changed = {}
    for i, step in enumerate(steps, start=1):
        for variant in step.expect:
            changed.setdefault(variant, set()).add(i)
    noise = {}
    for (name, params), line in lines.items():
        if is_count(benchmarks[name]):
            continue
        values = line["value"]
        variant = subject(name, params)
        ratios = [abs(values[i] / values[i - 1] - 1) for i in range(1, len(values))
                  if i not in changed.get(variant, ()) and None not in (values[i], values[i - 1])]
        if ratios:
            noise[entry_name(name, params)] = max(ratios)
    return noise


def nominal_steps(steps):
    """{variant: the nominal wall-time step of the edit that changes it}."""
    return {variant: step.nominal_step for step in steps if step.nominal_step
            for variant in step.expect}


def supported(nominal, threshold, noise):
    """Whether a time step of nominal size (None: no time step expected) clears the threshold
    even when the host's no-op noise works against it on both sides of the step (the level
    before and the level after each move by up to the noise):
    |log step| > log(1 + threshold) + 2 log(1 + noise)."""
    return nominal is not None and (abs(math.log(nominal))
                                    > math.log1p(threshold) + 2 * math.log1p(noise))


def time_changes(steps, variant):
    """[(index, direction)] of the drill's commits that change variant's wall time."""
    return [(i, expect[variant][0]) for i, expect in
            enumerate((step.expect for step in steps), start=1)
            if variant in expect and "time" in expect[variant][1]]


def nominal_line(values, changes, nominal):
    """The line the edits would make if each moved it by exactly nominal: values divided by
    the median of their own level (between the changes: the host's noise, code placement
    included) and multiplied by the nominal level.  None where a level has no value."""
    bounds = [0] + [i for i, _ in changes] + [len(values)]
    line, level = [None] * len(values), 1.0
    for k, (start, end) in enumerate(zip(bounds, bounds[1:])):
        if k:
            level *= nominal if changes[k - 1][1] == "slower" else 1 / nominal
        known = [v for v in values[start:end] if v is not None]
        if not known:
            return None
        middle = statistics.median(known)
        line[start:end] = [None if v is None else level * v / middle for v in values[start:end]]
    return line


def fit_finds(line, changes, nominal, threshold):
    """Whether asv's step fit, on this host's own noise and weights (line: the variant's
    series), would report a step of nominal size at each of its changes, in its direction.
    asv's fit (a Potts model whose penalty grows with the line's spread and the number of
    levels) misses a short plateau a few times the noise high: the threshold and the noise
    alone (supported) do not say whether a step is there to be found."""
    if nominal is None or not changes:
        return False
    synthetic = nominal_line(line["value"], changes, nominal)
    if synthetic is None:
        return False
    weights = line["weight"] if None not in line["weight"] else None
    found = {(i, "slower" if after > before else "faster")
             for i, before, after in step_fit.time_steps(synthetic, weights, threshold)}
    return set(changes) <= found


def check(reports, commits, steps, time_supported=lambda variant: True, time_verdicts=True):
    """(rows of the table, failures): one row per drill commit.

    steps: the drill's commits (drill_changes.COMMITS) after the base.  An injected change
    must be reported at its own commit, for its variant, in its direction,
    by each expected mechanism.  Any report at that commit for another variant, and any report
    at a no-op commit, is a failure.  (A report for the injected variant in the other
    direction, e.g. fib(0) a few instructions shorter when fib(90) got longer, belongs to the
    change and is listed.)  time_verdicts=False: the host's no-op noise is at or above the time
    threshold, so a time report at a commit that changed nothing is noise the threshold cannot
    tell from a step: listed as such, not failed (the exact mechanisms stay strict).
    """
    rows, failures = [], []
    for i, (sha, label) in enumerate(commits[1:], start=1):
        expect = steps[i - 1].expect
        here = [r for r in reports if r.index == i]
        expected = "; ".join(f"{v} {d}: {' + '.join(sorted(m))}" for v, (d, m) in expect.items())
        where = []
        for variant, (direction, mechanisms) in expect.items():
            for mechanism in sorted(mechanisms):
                at = sorted({r.index for r in reports if r.variant == variant
                             and r.mechanism == mechanism and r.direction == direction})
                if i in at:
                    where.append(f"{variant} {mechanism}: own commit")
                    continue
                found = "commit " + ", ".join(map(str, at)) if at else "not found"
                # A step the host's noise cannot support is shown, not failed.
                unsupported = mechanism == "time" and not time_supported(variant)
                where.append(f"{variant} {mechanism}: {found}"
                             + (" (not supported by this host's noise)" if unsupported else ""))
                if not unsupported:
                    failures.append(f"commit {i} ({label}): {variant} {direction} not reported "
                                    f"by {mechanism} at its own commit (found at: {at or 'none'})")
        for r in here:
            if r.variant not in expect:
                if r.mechanism == "time" and not time_verdicts:
                    where.append(f"time {r.variant}: within this host's noise (no verdict)")
                    continue
                where.append(f"false report: {r.mechanism} {r.variant}")
                failures.append(f"commit {i} ({label}): unexpected {r.mechanism} report "
                                f"{entry_name(r.name, r.params)} {r.ratio:.3f}x")
        found = "; ".join(f"{r.mechanism} {_short(r)} {r.ratio:.3f}x" for r in here)
        rows.append((i, sha[:8], label, expected or "nothing", "; ".join(where) or "-",
                     found or "nothing"))
    return rows, failures


def _short(report):
    """A line's name for the table: cycles(capi, 90), d1_misses(c, sequential, 196608)."""
    method = report.name.rsplit(".", 1)[-1].removeprefix("track_")
    if method in ("call", "instructions"):
        method = ""
    return f"{method}({', '.join(p.strip(chr(39)) for p in report.params)})"


def drill_table(rows):
    return markdown_table(["#", "commit", "change", "expected", "found where", "by what"], rows)


def check_tip(html_dir, steps):
    """(lines listed, failures): asv's regressions.json and its Atom feed must list exactly
    the lines of the change steps left in place at the tip, and nothing else."""
    last = {}  # variant -> the direction of its last change
    for step in steps:
        last.update({v: direction for v, (direction, _) in step.expect.items()})
    left = {v for v, direction in last.items() if direction == "slower"}
    listed = [entry[0] for entry in json.loads((html_dir / "regressions.json").read_text())
              ["regressions"]]
    feed = (html_dir / "regressions.xml").read_text()
    failures = []
    for name in listed:
        if not any(f"'{v}'" in name for v in left):
            failures.append(f"regressions.json lists {name}, which no change left at the tip")
    for variant in sorted(left):
        mine = [name for name in listed if f"'{variant}'" in name]
        if not mine:
            failures.append(f"regressions.json does not list {variant}'s change left at the tip")
        failures += [f"the Atom feed does not list {name}" for name in mine
                     if html.escape(name) not in feed and name not in feed]
    return listed, failures
