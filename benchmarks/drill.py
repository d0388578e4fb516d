"""Regression drills: inject known changes into a scratch clone and check that the benchmark
history reports each one at its own commit, by the mechanism that should see it, and nothing
else.

    python benchmarks/drill.py [--workdir DIR] [--keep]

On a scratch clone of main it makes the commits of COMMITS: changes that alter nothing
measurable (a README line, a comment in a C file, a comment in a .pyx file), one compiled
variant made ~3x slower, another ~20% slower, 15 instructions (~1%) added to a third, then the
two slowdowns undone.  It runs asv on every commit (fib(90) of five compiled variants, and the
exact instruction counts of bench_instructions.py), publishes, and finds the changes:

- wall time: asv's own step detection (asv.step_detect.detect_steps, as ``asv publish``
  fits each line) on the values asv stores and publishes (for fib, a robust figure of 40
  samples from 8 processes: benchmarks/benchmarks/sampling.py); a step between two fitted
  levels is a change at the first commit of the new level when it passes asv's own test (the
  jump exceeds both levels' error estimates and the line's threshold).
- instruction counts: consecutive commits compared, with the counts' threshold (they are
  exact, so there is no noise to fit).

It asserts that each injected change is reported at its own commit, for its own variant, by
the expected mechanisms (wall time and counts for the slowdowns, counts for the 1%), that the
undo is reported the same way, and that no no-op commit is reported by anything.  A wall-time
step is asserted only where the host's noise, measured by the drill itself on the lines and
commits that changed nothing, leaves room for it beside the threshold; otherwise it is
reported as "not supported by this host's noise", never guessed.  The 1% change is left in
place at the tip, so asv's regressions.json and its Atom feed must list exactly its lines.
Then it prints the table: change, expected, found where, by what.  Exit 0 when all hold, 1
otherwise.
Thresholds: asv.conf.json's regressions_thresholds.
"""

import argparse
import html
import json
import math
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import control
import noise as noise_report
import repo
import steps
from asvresults import entry_name, is_count, is_na, load_benchmarks, load_results, result_lines
from repo import ROOT, threshold_for
from tables import markdown_table

MACHINE = "drill-machine"
FIB = "bench_fib.Fib.track_call"
COUNTS = "bench_instructions.FibInstructions.track_instructions"
#: What the drill times: fib(90) of the three variants it changes and two it leaves alone,
#: and the control line (control.py: the machine's, measured again where it stands out).
#: python, cython_untyped and ctypes are left out: they are not what the drill tests.
TIMES = (r"^bench_fib\.(Control\.track_call$|Fib\.track_call\("
         r"'(cython|cython_cpdef|cython_wrap_c|capi|capi_varargs)', 90\)$)")
#: The exact counts of every variant (one callgrind process a commit).
COUNTS_BENCH = r"^bench_instructions\.FibInstructions\."
#: The simulated cycles of every variant and the simulated misses and cycles of the memory
#: kernels (one valgrind process each a commit).
SIMULATED_BENCH = r"^bench_cache\."

# ---------------------------------------------------------------------------------------------
# The injected changes: text edits of the clone's fibext sources.  Each fails loudly if its
# anchor text is gone (the drill must then be updated, not silently inject nothing).

#: cfib's loop with `extra` dependent multiplications by 1.0 every `every` iterations: the
#: result is bit-identical, the dependency chain (and the time) longer.  The empty asm hides
#: the 1.0 from the compiler (it must keep the multiplications) and costs nothing; a volatile
#: 1.0 instead, loaded in the loop, made the time bimodal here (1.2x or 2.3x per process).
SLOW_FIB_C = """\
/* drill: cfib with `extra` dependent multiplications by 1.0 every `every` iterations */
static double
fibext_drill_fib(int n, int extra, int every)
{
    double a = 0.0, b = 1.0, t, one = 1.0;
    __asm__ ("" : "+m" (one));  /* the compiler no longer knows that one is 1.0 */
    for (int i = 0; i < n; i++) {
        t = a;
        a = a + b;
        b = t;
        if (i % every == 0) {
            for (int j = 0; j < extra; j++) {
                a *= one;
            }
        }
    }
    return a;
}
"""
#: (b) typed Cython: 2 multiplications on every iteration's add: fib(90) 96 -> 265 ns (2.8x;
#: measured here, best of 6 processes; fib(0) unchanged).
CYTHON_EXTRA = 2
#: (c) C-API: one multiplication every 4th iteration: fib(90) 95 -> 116 ns (+22%).
CAPI_EVERY = 4
#: (d) capi_varargs: this many nops per call (exactly this many instructions more).
NOPS = 15


def _replace(path, old, new):
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"drill: {path.name} no longer contains the text to replace:\n{old}")
    path.write_text(text.replace(old, new, 1))


def readme_line(clone, k):
    with open(clone / "README.md", "a") as f:
        f.write(f"\nDrill note {k}: documentation only.\n")


def c_comment(clone):
    path = clone / "fibext" / "_capi.c"
    path.write_text("/* drill: a comment that changes nothing measurable */\n" + path.read_text())


def pyx_comment(clone):
    _replace(clone / "fibext" / "_cyfib_cpdef.pyx", "\nfrom fibext._contract",
             "\n# drill: a comment that changes nothing measurable\nfrom fibext._contract")


def slow_cython(clone, extra=CYTHON_EXTRA):
    path = clone / "fibext" / "_cyfib.pyx"
    verbatim = "\n".join("    " + line if line else "" for line in SLOW_FIB_C.splitlines())
    _replace(path, "\n\ndef fib(n, /):",
             f'\n\ncdef extern from *:\n    """\n{verbatim}\n    """\n'
             "    double fibext_drill_fib(int n, int extra, int every)\n\n\ndef fib(n, /):")
    _replace(path, "    cdef int i\n    cdef double a = 0.0, b = 1.0\n    for i in range(k):\n"
                   "        a, b = a + b, a\n    return a\n",
             f"    return fibext_drill_fib(k, {extra}, 1)\n")


def slow_capi(clone, every=CAPI_EVERY):
    path = clone / "fibext" / "_capi.c"
    _replace(path, "PyDoc_STRVAR(fib_doc,", SLOW_FIB_C + "\nPyDoc_STRVAR(fib_doc,")
    _replace(path, "    return PyFloat_FromDouble(cfib(n));",
             f"    return PyFloat_FromDouble(fibext_drill_fib(n, 1, {every}));")


def nops_capi_varargs(clone, nops=NOPS):
    _replace(clone / "fibext" / "_capi.c", '    return Py_BuildValue("d", cfib(n));',
             f'    __asm__ __volatile__(".rept {nops}\\n\\tnop\\n\\t.endr");\n'
             '    return Py_BuildValue("d", cfib(n));')


#: (f) the order in which the sequential float64 sum reads its n elements: sweep o (0..7)
#: reads elements o, o + 8, o + 16, ... so consecutive reads are one 64-byte line apart.  The
#: same elements, the same sums per accumulator order aside; only the access pattern changes.
STRIDED_ORDER_C = """\
/* drill: read element j of a sequential sweep as a line-strided one */
#define FIBEXT_DRILL_STRIDED(j, n) \\
    ((j) < (n) / 8 * 8 ? (j) % ((n) / 8) * 8 + (j) / ((n) / 8) : (j))
"""
STRIDED_ORDER_PYX = """\
cdef inline Py_ssize_t _drill_strided(Py_ssize_t j, Py_ssize_t n) noexcept nogil:
    # drill: read element j of a sequential sweep as a line-strided one
    cdef Py_ssize_t q = n // 8
    return j % q * 8 + j // q if j < q * 8 else j


"""


def _within(text, start, end, pattern, replacement):
    """text with pattern replaced inside the span that starts at `start` and ends at the first
    `end` after it (one function); an error if the span or any match is missing."""
    first = text.find(start)
    last = text.find(end, first + len(start)) if first >= 0 else -1
    body, count = re.subn(pattern, replacement, text[first:last]) if last > 0 else ("", 0)
    if count == 0:
        raise RuntimeError(f"drill: no {pattern!r} in the function starting {start!r}")
    return text[:first] + body + text[last:]


def strided_sequential(clone):
    """(f) The sequential float64 sum, C and Cython, reads its n elements one cache line apart
    (8 sweeps): past the first level every read misses instead of one in 8."""
    fibext = pathlib.Path(clone) / "fibext"
    c = fibext / "cmem.c"
    text = _within(c.read_text(), "cmem_sum_f64(const double *a", "\n}\n",
                   r"a\[([^\]]+)\]", r"a[FIBEXT_DRILL_STRIDED(\1, n)]")
    c.write_text(text.replace("\ndouble\ncmem_sum_f64(", "\n" + STRIDED_ORDER_C + "\ndouble\ncmem_sum_f64(", 1))
    pyx = fibext / "_memory.pyx"
    start = "cdef double _sum_f64("
    text = _within(pyx.read_text(), start, "\n\n\n", r"a\[([^\]]+)\]", r"a[_drill_strided(\1, n)]")
    block = text.rfind("\n\n", 0, text.find(start)) + 2   # the decorators' first line
    pyx.write_text(text[:block] + STRIDED_ORDER_PYX + text[block:])


def undo_slowdowns(clone, base, every=CAPI_EVERY):
    """Undo (b) and (c); (d) stays, so that the tip still holds a regression."""
    repo.git("checkout", base, "--", "fibext/_cyfib.pyx", cwd=clone)
    _replace(clone / "fibext" / "_capi.c", f"fibext_drill_fib(n, 1, {every})", "cfib(n)")
    _replace(clone / "fibext" / "_capi.c", SLOW_FIB_C, "")


@dataclass
class DrillCommit:
    label: str
    edit: object                        # edit(clone, base_sha)
    #: variant -> (direction, mechanisms that must report it): "slower"/"faster",
    #: {"time", "counts"}.  Empty: a no-op, which nothing may report.
    expect: dict = field(default_factory=dict)


#: The size of each injected wall-time step (measured: fib(90) before and after), from which
#: the drill decides whether the host's noise lets the threshold see it.
NOMINAL_TIME_STEP = {"cython": 2.8, "capi": 1.22}


#: Mechanisms: "time" (bench_fib's published figure, by asv's step fit), "counts" (exact
#: instructions), "cycles" (simulated cycles of a fib call), "cache" (simulated misses and cycles
#: of the memory kernels): the last three exact, compared commit to commit.
BOTH = frozenset({"time", "counts", "cycles"})
EXACT = frozenset({"counts", "cycles"})
COMMITS = [
    DrillCommit("(a) README line", lambda c, b: readme_line(c, 1)),
    DrillCommit("(a) comment in _capi.c", lambda c, b: c_comment(c)),
    DrillCommit("(b) cython ~3x slower", lambda c, b: slow_cython(c),
                {"cython": ("slower", BOTH)}),
    # each slowdown stands for three commits or more: asv's step fit (a Potts model whose
    # penalty grows with the line's spread) may merge a shorter plateau into its neighbours
    DrillCommit("(c) capi ~20% slower", lambda c, b: slow_capi(c),
                {"capi": ("slower", BOTH)}),
    DrillCommit("(a) comment in _cyfib_cpdef.pyx", lambda c, b: pyx_comment(c)),
    DrillCommit(f"(d) capi_varargs +{NOPS} instructions (~1%)", lambda c, b: nops_capi_varargs(c),
                {"capi_varargs": ("slower", EXACT)}),
    DrillCommit("(e) undo b and c (d stays: a regression at the tip)", undo_slowdowns,
                {"cython": ("faster", BOTH), "capi": ("faster", BOTH)}),
    DrillCommit("(f) sequential read strided, same elements (stays)",
                lambda c, b: strided_sequential(c), {"sequential": ("slower", frozenset({"cache"}))}),
    DrillCommit("(a) README line", lambda c, b: readme_line(c, 2)),
]

# ---------------------------------------------------------------------------------------------
# The scratch clone and its history


def make_clone(workdir, source=ROOT, branch="main"):
    """A clone of source's branch with the drill's commits on top: [(sha, label)] with the
    base (the branch's tip) first."""
    clone = pathlib.Path(workdir) / "fibext"
    repo.git("clone", "--quiet", "--branch", branch, str(source), str(clone), cwd=workdir)
    base = repo.git("rev-parse", "HEAD", cwd=clone)
    commits = [(base, "base: main's tip")]
    for step in COMMITS:
        step.edit(clone, base)
        repo.git("-c", "user.name=drill", "-c", "user.email=drill@localhost", "commit", "-qam",
             f"drill: {step.label}", cwd=clone)
        commits.append((repo.git("rev-parse", "HEAD", cwd=clone), step.label))
    return clone, commits


def run_history(clone, commits, machine=MACHINE):
    """asv run on every commit, samples recorded: the counts, then the times, then again the
    sampled lines of a commit whose control line stands out (control.py); then the
    clone's own main job publishes them (--publish-only: the site, its step markers, the
    report).  Returns the worst exit status."""
    repo.register_machine(machine, cwd=clone)
    hashfile = clone / ".asv" / "drill-hashes.txt"
    hashfile.parent.mkdir(exist_ok=True)
    hashfile.write_text("\n".join(sha for sha, _ in commits) + "\n")
    options = ["--machine", machine, "--record-samples", "--show-stderr"]
    status = 0
    # asv keeps each commit's results file and adds to it: the second run keeps the first's.
    for bench in (COUNTS_BENCH, SIMULATED_BENCH, TIMES):
        status = max(status, repo.asv("run", f"HASHFILE:{hashfile}", *options, "--bench", bench,
                                      cwd=clone, check=False).returncode)

    def run_again(shas):  # the main job's rule for a commit sampled on a busy machine
        nonlocal status
        again = clone / ".asv" / "drill-hashes-again.txt"
        again.write_text("\n".join(shas) + "\n")
        status = max(status, repo.asv("run", f"HASHFILE:{again}", *options, "--bench", TIMES,
                                      cwd=clone, check=False).returncode)

    control.measure_again(run_again, clone / ".asv" / "results", machine,
                          [sha for sha, _ in commits], repo.load_thresholds(clone)[0])
    published = subprocess.run([sys.executable, "benchmarks/history.py", "--publish-only",
                                "--machine", machine], cwd=clone, capture_output=True, text=True)
    if published.returncode != 0:
        print(published.stdout[-3000:], published.stderr[-3000:])
        status = max(status, published.returncode)
    return status


# ---------------------------------------------------------------------------------------------
# Finding the changes


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
            found = steps.count_steps(line["value"], threshold)
        else:
            weights = line["weight"] if None not in line["weight"] else None
            found = steps.time_steps(line["value"], weights, threshold)
        reports += [Report(i, mechanism, name, params, a, b) for i, a, b in found]
    return reports


def no_op_noise(lines, benchmarks):
    """{line: largest relative change between consecutive commits where the drill changed
    nothing in that line's variant}: the wall-clock noise between commits, time lines only."""
    changed = {}
    for i, step in enumerate(COMMITS, start=1):
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


def supported(variant, threshold, noise):
    """Whether a time step of the variant's nominal size clears the threshold even when the
    host's no-op noise works against it on both sides of the step (the level before and the
    level after each move by up to the noise): |log step| > log(1 + threshold) + 2 log(1 + noise)."""
    step = NOMINAL_TIME_STEP.get(variant)
    return step is not None and (abs(math.log(step))
                                 > math.log1p(threshold) + 2 * math.log1p(noise))


def check(reports, commits, time_supported=lambda variant: True, time_verdicts=True):
    """(rows of the table, failures): one row per drill commit.

    An injected change must be reported at its own commit, for its variant, in its direction,
    by each expected mechanism.  Any report at that commit for another variant, and any report
    at a no-op commit, is a failure.  (A report for the injected variant in the other
    direction, e.g. fib(0) a few instructions shorter when fib(90) got longer, belongs to the
    change and is listed.)  time_verdicts=False: the host's no-op noise is at or above the time
    threshold, so a time report at a commit that changed nothing is noise the threshold cannot
    tell from a step: listed as such, not failed (the exact mechanisms stay strict).
    """
    rows, failures = [], []
    for i, (sha, label) in enumerate(commits[1:], start=1):
        expect = COMMITS[i - 1].expect
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


def check_tip(html_dir, commits):
    """(lines listed, failures): asv's regressions.json and its Atom feed must list exactly
    the lines of the change left in place at the tip, and nothing else."""
    last = {}  # variant -> the direction of its last change
    for step in COMMITS:
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


def scratch_dir(workdir):
    """(directory for the clone, cleanup): a new directory inside workdir (or a temporary
    one), so that cleaning up removes only what the drill made."""
    if workdir is None:
        path = pathlib.Path(tempfile.mkdtemp(prefix="fibext-drill-"))
    else:
        workdir = pathlib.Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        path = pathlib.Path(tempfile.mkdtemp(prefix="fibext-drill-", dir=workdir))
    return path, lambda: shutil.rmtree(path, ignore_errors=True)


def report_drill(clone, commits, start, source, thresholds):
    """Find, check and print; returns the failures."""
    status = run_history(clone, commits)
    lines, benchmarks = series(clone / ".asv" / "results", MACHINE, commits)
    noise = no_op_noise(lines, benchmarks)
    largest = max(noise.values(), default=0.0)
    fib_threshold = threshold_for(thresholds, f"{FIB}('capi', 90)")
    reports = find_changes(lines, benchmarks, thresholds)
    # time verdicts need a host whose no-op noise stays under the threshold
    time_verdicts = largest < fib_threshold
    rows, failures = check(reports, commits,
                           time_supported=lambda v: time_verdicts and supported(v, fib_threshold,
                                                                                largest),
                           time_verdicts=time_verdicts)
    if status != 0:
        failures.append(f"asv run exited {status} (a benchmark failed)")
    listed, tip_failures = check_tip(clone / ".asv" / "html", commits)
    failures += tip_failures

    print()
    print(f"Drill on {len(commits)} commits ({time.monotonic() - start:.0f} s), thresholds "
          f"from {source}:")
    print(drill_table(rows))
    print()
    if noise:
        worst = max(noise, key=noise.get)
        print(f"Wall-time noise of the published values between consecutive commits that "
              f"changed nothing in a line: median {100 * statistics.median(noise.values()):.1f}%, "
              f"largest {100 * largest:.1f}% ({worst}).  Time steps asserted: "
              + (", ".join(f"{v} ({s:.2f}x)" for v, s in NOMINAL_TIME_STEP.items()
                           if time_verdicts and supported(v, fib_threshold, largest)) or
                 f"none (the no-op noise is above the {100 * fib_threshold:.0f}% threshold: "
                 "no time verdict on this host now)") + ".")
    print(f"asv's regressions.json (regressions still present at the tip) lists {len(listed)} "
          f"line(s){': ' + ', '.join(listed) if listed else ''}.")
    noise_md = noise_report.write_noise_report(clone / ".asv" / "results", MACHINE,
                                               clone / ".asv" / "html" / "report")
    print()
    print(noise_report.summary(noise_md))
    for failure in failures:
        print("FAIL:", failure)
    print("drill: " + ("FAIL" if failures else "pass"))
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where to make the scratch clone (a new directory "
                        "inside it; default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch clone")
    parser.add_argument("--source", default=str(ROOT), help="the repository to clone (this one)")
    args = parser.parse_args(argv)
    source = pathlib.Path(args.source)
    if not (source / ".git").exists():
        parser.error(f"--source {source} is not a git repository")

    start = time.monotonic()
    workdir, cleanup = scratch_dir(args.workdir)
    try:
        clone, commits = make_clone(workdir, source)
        thresholds, where = repo.load_thresholds(clone)
        return 1 if report_drill(clone, commits, start, where, thresholds) else 0
    finally:
        if args.keep:
            print(f"scratch clone kept: {workdir}")
        else:
            cleanup()


if __name__ == "__main__":
    sys.exit(main())
