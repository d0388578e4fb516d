"""Regression drills: inject known changes into a scratch clone and check that the benchmark
history reports each one at its own commit, by the mechanism that should see it, and nothing
else.

    python benchmarks/drill.py [--workdir DIR] [--keep] [--asv-env DIR]

On a scratch clone of main it makes the commits of COMMITS: changes that alter nothing
measurable (a README line, a comment in a C file, a comment in a .pyx file), one compiled
variant made ~3x slower, another ~20% slower, 15 instructions (~1%) added to a third, then the
two slowdowns undone.  It runs asv on every commit (fib(90) of five compiled variants, and the
exact instruction counts of bench_instructions.py), one measurement per build as the main job
does (builds.py: it says which no-op commit is one build with its parent, and what differs
where it is not), publishes, and finds the changes:

- wall time: asv's own step detection (asv.step_detect.detect_steps, as ``asv publish``
  fits each line) on the values asv stores and publishes (for fib, the median of the samples of
  benchmarks/benchmarks/sampling.py); a step between two fitted
  levels is a change at the first commit of the new level when it passes asv's own test (the
  jump exceeds both levels' error estimates and the line's threshold).
- instruction counts: consecutive commits compared, with the counts' threshold (they are
  exact, so there is no noise to fit).

It asserts that each injected change is reported at its own commit, for its own variant, by
the expected mechanisms (wall time and counts for the slowdowns, counts for the 1%), that the
undo is reported the same way, and that no no-op commit is reported by anything.  A wall-time
step is asserted only where the host's noise, measured by the drill itself on the lines and
commits that changed nothing, leaves room for it beside the threshold, and where asv's fit
would find a step of the edit's nominal size in that line's own noise and weights (asv's
penalty misses a short plateau only a few times the noise high); otherwise it is reported as
"not supported by this host's noise", never guessed.  The 1% change is left in
place at the tip, so asv's regressions.json and its Atom feed must list exactly its lines.
Then it prints the table: change, expected, found where, by what.  Exit 0 when all hold, 1
otherwise.
Thresholds: asv.conf.json's regressions_thresholds.  The changes are drill_changes.py, the
detection and verdicts drill_detect.py.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import builds
import control
import drill_detect
import measuring
import noise as noise_report
import pythons
import repo
from asvresults import running_python
from benchmarks import sampling
from drill_changes import COMMITS, make_clone
from repo import ROOT, threshold_for

MACHINE = "drill-machine"
FIB = "bench_fib.Fib.track_call"
COUNTS = "bench_instructions.FibInstructions.track_instructions"
#: What the drill times: fib(90) of the three variants it changes and two it leaves alone,
#: and the control line (control.py: the machine's, measured again where it stands out).
#: python, cython_untyped and ctypes are left out: they are not what the drill tests.
TIMED_VARIANTS = "|".join(("cython", "cython_cpdef", "cython_wrap_c", "capi", "capi_varargs"))
TIMES = rf"^bench_fib\.(Control\.track_call$|Fib\.track_call\('({TIMED_VARIANTS})', 90\)$)"
#: The same lines as the sampling processes name them (sampling.LINES_ENV): only they are timed.
SAMPLED_LINES = rf"^({sampling.CONTROL_KEY}|{sampling.fib_key(f'({TIMED_VARIANTS})', 90)})$"
#: The exact counts of every variant (one callgrind process a commit).
COUNTS_BENCH = r"^bench_instructions\.FibInstructions\."
#: The simulated cycles of every variant and the simulated misses and cycles of the memory
#: kernels (one valgrind process each a commit).
SIMULATED_BENCH = r"^bench_cache\."


def run_history(clone, commits, versions, machine=MACHINE):
    """asv run on one commit of each build, samples recorded: the counts and the times, then
    the times in passes over every build (measuring.sample_passes), then again the sampled
    lines of a build whose control line stands out (control.py); every
    commit gets its build's results; then the clone's own main job publishes them
    (--publish-only: the site, its step markers, the report).  Returns (the worst exit
    status, {commit: {environment: build}})."""
    repo.register_machine(machine, cwd=clone)
    results = clone / ".asv" / "results"
    shas = [sha for sha, _ in commits]
    config = repo.config_copy(clone / ".asv" / "drill.asv.conf.json", clone, pythons=versions)
    envs, conf = builds.environments(config, root=clone)
    identities = builds.identify(shas, envs, conf.build_command, results, machine, root=clone)
    targets = list(dict.fromkeys(builds.choose(c, identities[c], results, machine)
                                 for c in shas))
    options = ["--machine", machine, "--record-samples", "--show-stderr"]
    os.environ[sampling.LINES_ENV] = SAMPLED_LINES   # asv's benchmark processes inherit it
    # one asv run for the counts, the simulated caches and the times: a build is installed
    # once, not once a kind
    status = measuring.asv_run(targets, [*options, *(o for bench in (COUNTS_BENCH,
                                                                      SIMULATED_BENCH, TIMES)
                                                      for o in ("--bench", bench))],
                               config, root=clone, hashfile="drill-hashes.txt")
    # the builds sampled side by side, pass after pass, as the main job does
    status = max(status, measuring.sample_passes(targets, options, config, root=clone,
                                                 bench=[TIMES], hashfile="drill-passes.txt"))

    def run_again(again):  # the main job's rule for a build sampled on a busy machine
        nonlocal status
        status = max(status, measuring.asv_run(again, [*options, "--bench", TIMES], config,
                                               root=clone, hashfile="drill-hashes-again.txt"))

    control.measure_again(run_again, results, machine, targets, repo.load_thresholds(clone)[0])
    builds.share_all(shas, results, machine, root=clone)
    published = subprocess.run([sys.executable, "benchmarks/history.py", "--publish-only",
                                "--machine", machine], cwd=clone, capture_output=True, text=True)
    if published.returncode != 0:
        print(published.stdout[-3000:], published.stderr[-3000:])
        status = max(status, published.returncode)
    return status, identities


def build_relations(clone, commits, identities):
    """[(commit label, "same build as its parent" or what differs)] for the drill's no-op
    commits: whether a change that alters nothing measurable leaves the bytes alone."""
    envs, _ = builds.environments(["--config", str(clone / ".asv" / "drill.asv.conf.json")],
                                  root=clone)
    out = []
    for (parent, _), (sha, label) in zip(commits, commits[1:]):
        if not label.startswith("(a)"):
            continue
        if identities[sha] == identities[parent]:
            out.append((label, "same build as its parent"))
            continue
        found = []
        for env in envs:
            wheels = [_wheel_of(env, c, identities, [s for s, _ in commits]) for c in (parent, sha)]
            if None in wheels:
                found.append(f"{env.name}: wheel not kept")
            else:
                found += builds.differences(*wheels)
        out.append((label, "a build of its own: " + "; ".join(found)))
    return out


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


def _wheel_of(env, commit, identities, shas):
    """The wheel of commit's build in env: its own, or that of a commit of the same build (a
    commit whose sources matched another's was never built)."""
    for other in [commit] + [c for c in shas if identities[c] == identities[commit]]:
        wheel = next(env.cache_dir(other).glob("*.whl"), None)
        if wheel:
            return wheel
    return None


def report_drill(clone, commits, start, source, thresholds, versions):
    """Find, check and print; returns the failures."""
    status, identities = run_history(clone, commits, versions)
    lines, benchmarks = drill_detect.series(clone / ".asv" / "results", MACHINE, commits)
    noise = drill_detect.no_op_noise(lines, benchmarks, COMMITS)
    largest = max(noise.values(), default=0.0)
    fib_threshold = threshold_for(thresholds, f"{FIB}('capi', 90)")
    nominal = drill_detect.nominal_steps(COMMITS)
    reports = drill_detect.find_changes(lines, benchmarks, thresholds)
    # time verdicts need a host whose no-op noise stays under the threshold
    time_verdicts = largest < fib_threshold

    def time_supported(variant):
        """The threshold leaves room for the nominal step beside the host's noise, and asv's
        fit would find a step of that size in this line's own noise and weights."""
        line = lines.get((FIB, (f"'{variant}'", "90")))
        return (time_verdicts and line is not None
                and drill_detect.supported(nominal.get(variant), fib_threshold, largest)
                and drill_detect.fit_finds(line, drill_detect.time_changes(COMMITS, variant),
                                           nominal.get(variant), fib_threshold))
    rows, failures = drill_detect.check(reports, commits, COMMITS, time_supported,
                                        time_verdicts)
    if status != 0:
        failures.append(f"asv run exited {status} (a benchmark failed)")
    listed, tip_failures = drill_detect.check_tip(clone / ".asv" / "html", COMMITS)
    failures += tip_failures

    print()
    print(f"Drill on {len(commits)} commits ({time.monotonic() - start:.0f} s), thresholds "
          f"from {source}:")
    print(drill_detect.drill_table(rows))
    print()
    print("The no-op commits' builds:")
    for label, relation in build_relations(clone, commits, identities):
        print(f"- {label}: {relation}")
    print()
    if noise:
        worst = max(noise, key=noise.get)
        asserted = [f"{v} ({s:.2f}x)" for v, s in nominal.items() if time_supported(v)]
        print(f"Wall-time noise of the published values between consecutive commits that "
              f"changed nothing in a line: median {100 * statistics.median(noise.values()):.1f}%, "
              f"largest {100 * largest:.1f}% ({worst}).  Time steps asserted: "
              + (", ".join(asserted) or
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
    parser.add_argument("--asv-env", metavar="DIR",
                        help="keep the clone's asv environments in DIR (its .asv/env a link "
                             "to it), e.g. one that other clones of this repository share: "
                             "asv makes each environment once, and a commit's wheel is built "
                             "once (the tests' scratch clones do)")
    parser.add_argument("--all-pythons", action="store_true",
                        help="on every Python of asv.conf.json this machine has (default: the "
                             "one running the drill; the verdicts read its results)")
    args = parser.parse_args(argv)
    source = pathlib.Path(args.source)
    if not (source / ".git").exists():
        parser.error(f"--source {source} is not a git repository")

    start = time.monotonic()
    workdir, cleanup = scratch_dir(args.workdir)
    try:
        clone, commits = make_clone(workdir, source)
        if args.asv_env:
            (clone / ".asv").mkdir(exist_ok=True)
            (clone / ".asv" / "env").symlink_to(pathlib.Path(args.asv_env).resolve())
        thresholds, where = repo.load_thresholds(clone)
        versions = pythons.provide(pythons.wanted(clone) if args.all_pythons
                                   else [running_python()], root=clone)
        return 1 if report_drill(clone, commits, start, where, thresholds, versions) else 0
    finally:
        if args.keep:
            print(f"scratch clone kept: {workdir}")
        else:
            cleanup()


if __name__ == "__main__":
    sys.exit(main())
