"""The main job: benchmark the recent history of main with asv and publish it, offline.

Registers this machine under a name that identifies its hardware, measures the newest commits
of main (the tip first, so a first site is out in minutes; then the rest, republishing as
each commit completes), publishes the site, makes it work with no network (vendor.py), writes
the report into it (report.py), and says where to open it.  Run again, it measures only what
is missing: a commit with no results, a benchmark a commit lacks (new in the suite, or left
out by --bench), one that failed; a commit whose every benchmark succeeded is never measured
twice.  asv saves each commit's results when that commit is done, so an interrupted run loses
only the commit it was on.  Then a commit whose control line stands out (sampled while the
machine was disturbed) has its fib lines measured again, or withheld (control.py), and each
timed step the published Regressions page lists is measured again before it stands.  --quick
is a smoke test: its results and site go to .asv/quick/, never into the history.
"""

import argparse
import datetime
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

import annotate
import control
import report
import repo
import stepmarks
import vendor
from asvresults import (entry_name, is_count, load_benchmarks, newest_first, results_of,
                        values_by_benchmark)
from repo import HTML, RESULTS, ROOT, ToolError
from tables import markdown_table

#: Where --quick keeps its results and site, apart from the history.
QUICK = ROOT / ".asv" / "quick"
#: Where results files that could not be read are set aside (never deleted).
QUARANTINE = ROOT / ".asv" / "quarantine"
#: The site's JavaScript libraries, fetched once (vendor.py).
VENDOR_CACHE = ROOT / ".asv" / "vendor-cache"
RESULTS_BRANCH = "results"
STARTED = time.monotonic()
PAGES_BRANCH = "gh-pages"


def recent_commits(count, branch):
    """The newest count commits of branch's first-parent history, newest first."""
    tip = repo.commit_of(branch)
    return repo.git("rev-list", "--first-parent", f"-n{count}", tip).split()


def fill_unmeasured_summaries(html_dir):
    """An empty summary graph for each benchmark that has no result yet (new, or left out with
    --bench): asv publish writes none, and the grid's request for it would end in a 404."""
    summary = pathlib.Path(html_dir) / "graphs" / "summary"
    summary.mkdir(parents=True, exist_ok=True)
    for name in json.loads((pathlib.Path(html_dir) / "index.json").read_text())["benchmarks"]:
        path = summary / f"{name}.json"
        if not path.exists():
            path.write_text("[]")


def set_aside_unreadable(results_dir, quarantine=QUARANTINE):
    """Move every results file that is not valid JSON (a run killed while asv wrote it, a full
    disk) to quarantine/, so asv can measure that commit again; the paths moved."""
    moved = []
    for path in sorted(pathlib.Path(results_dir).glob("*/*.json")):
        try:
            json.loads(path.read_text())
            continue
        except (ValueError, UnicodeDecodeError):
            pass
        stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
        target = quarantine / path.parent.name / f"{path.name}.{stamp}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        print(f"set aside an unreadable results file: {path} -> {target} "
              "(that commit will be measured again)", flush=True)
        moved.append(target)
    return moved


# --- the results branch: the history kept in git, beside the code ------------------------------


def _branch_ref(branch):
    """The local branch, else the remote-tracking one a fresh clone fetched; None if neither."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        try:
            repo.git("rev-parse", "--verify", "--quiet", ref)
            return ref
        except ToolError:
            continue
    return None


def restore_results(results_dir=RESULTS, branch=RESULTS_BRANCH):
    """Copy into results_dir every file of the results branch it lacks (never overwriting):
    a fresh clone continues the history kept there.  The number of files restored."""
    ref = _branch_ref(branch)
    if ref is None:
        return 0
    restored = 0
    for name in repo.git("ls-tree", "-r", "--name-only", ref).splitlines():
        target = pathlib.Path(results_dir) / name
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        data = subprocess.run(["git", "show", f"{ref}:{name}"], cwd=ROOT, check=True,
                              capture_output=True).stdout
        target.write_bytes(data)
        restored += 1
    if restored:
        print(f"restored {restored} results file(s) from the {branch!r} branch", flush=True)
    return restored


def commit_directory(directory, branch, message, keep_existing):
    """Commit directory's files to branch without touching the work tree or the index, on top
    of the branch's tip (never rewriting it).  keep_existing: files the branch has and the
    directory lacks stay (results accumulate); otherwise the branch holds the directory as it is
    (a published site).  The new commit, or None when nothing changed."""
    index = ROOT / ".asv" / f"{branch}.index"
    index.unlink(missing_ok=True)
    env = {**os.environ, "GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(directory)}
    env.setdefault("GIT_AUTHOR_NAME", "fibext main job")
    env.setdefault("GIT_AUTHOR_EMAIL", "fibext@localhost")
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])

    def git(*args):
        done = subprocess.run(["git", *args], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ToolError(f"git {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    parent = _branch_ref(branch)
    try:
        if parent and keep_existing:
            git("read-tree", parent)
        git("add", "--force", "--ignore-removal" if keep_existing else "--all", ".")
        tree = git("write-tree")
        if parent and tree == git("rev-parse", f"{parent}^{{tree}}"):
            return None
        commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
        git("update-ref", f"refs/heads/{branch}", commit)
        return commit
    finally:
        index.unlink(missing_ok=True)


# --- measuring ---------------------------------------------------------------------------------


def _commit_seconds(results_dir, machine):
    """Seconds a commit took to build and benchmark, from asv's own records (the newest
    commit that has them), or None."""
    for result in results_of(results_dir, machine):
        durations = [d for d in result.duration.values() if d]
        if durations:
            return sum(durations)
    return None


def _fmt(seconds):
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def measure(args, publish):
    """Benchmark the newest commits that lack results, the tip first, publishing after each
    commit; asv's worst status (0, or 2 when a benchmark failed)."""
    repo.register_machine(args.machine)
    hashes = recent_commits(args.commits, args.branch)
    options = _options(args)
    # asv skips a commit whose every benchmark succeeded: nothing is measured twice, while a
    # benchmark missing or failed at a commit is measured now
    run = [*options, "--skip-existing-successful"]
    for pattern in args.bench:
        run += ["--bench", pattern]
    if args.quick:
        run.append("--quick")
    status, started, done, already = 0, time.monotonic(), 0, None
    for k, commit in enumerate(hashes, start=1):
        # the tip always goes to asv, whose discovery brings benchmarks.json up to date; the
        # results on disk are read once after it
        if k == 2 and not args.bench:
            already = complete_commits(args.results, args.machine)
        if already and commit in already:
            print(f"== commit {k} of {len(hashes)}: {commit[:8]} has every result already")
            continue
        # asv's own record of the last commit measured (build and benchmarks; environment
        # creation, a one-off, left out), else this run's average
        per_commit = _commit_seconds(args.results, args.machine) or (
            (time.monotonic() - started) / done if done else None)
        left = f", about {_fmt(per_commit * (len(hashes) - k + 1))} left" if per_commit else ""
        print(f"\n== commit {k} of {len(hashes)}: {commit[:8]} ({_fmt(time.monotonic() - STARTED)}"
              f" since the start{left})", flush=True)
        before = _result_mtimes(args.results, args.machine)
        status = max(status, _asv_run(args, [commit], run))
        if _result_mtimes(args.results, args.machine) != before:
            done += 1
            publish(first=(k == 1))
    if not args.quick:
        # a commit measured on a disturbed machine is measured again, or withheld
        codes = []
        control.measure_again(
            lambda commits: codes.append(
                _asv_run(args, commits, [*options, "--bench", control.SAMPLED])),
            args.results, args.machine, hashes, repo.load_thresholds()[0])
        status = max([status, *codes])
    return status


def confirm_regressions(args):
    """Measure once more, from the step's commit to the tip, each timed benchmark the just
    published Regressions page lists, so that one disturbed measurement cannot stand as a
    regression; asv's worst status, and whether anything was measured (publish again)."""
    try:
        benchmarks = load_benchmarks(args.results)
    except (OSError, ValueError):  # nothing measured yet
        return 0, False
    listed = timed_regressions(args.html, benchmarks, recent_commits(args.commits, args.branch))
    if listed:
        print(f"\nthe Regressions page lists {len(listed)} timed benchmark(s) with a step: "
              "measuring them again from the step's commit to the tip", flush=True)
    status = 0
    for name, commits in sorted(listed.items()):
        status = max(status, _asv_run(args, commits,
                                      [*_options(args), "--bench", _every_line_of(name)]))
    return status, bool(listed)


def _every_line_of(name):
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


def _options(args):
    """What every asv run of the main job is given."""
    return ["--machine", args.machine, "--show-stderr", "--record-samples"]


def _asv_run(args, commits, options):
    """asv run of commits with options; its status (0, or 2 when a benchmark failed, its result
    recorded as failed); anything else is fatal."""
    hashfile = ROOT / ".asv" / "hashes-to-run.txt"
    hashfile.write_text("\n".join(commits) + "\n")
    code = repo.asv(*args.config, "run", f"HASHFILE:{hashfile}", *options, check=False).returncode
    if code not in (0, 2):
        raise ToolError(f"asv run exited {code} at {', '.join(c[:8] for c in commits)}")
    return code


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


def _result_mtimes(results_dir, machine):
    return {p: p.stat().st_mtime for p in (pathlib.Path(results_dir) / machine).glob("*.json")}


# --- publishing --------------------------------------------------------------------------------


def publish(args):
    """asv publish, offline, with the report and the annotations; the report's directory."""
    repo.asv(*args.config, "publish", capture=True)
    html = pathlib.Path(args.html)
    fill_unmeasured_summaries(html)
    vendor.make_offline(html, VENDOR_CACHE)
    stepmarks.write(html, repo.load_thresholds()[0])
    commits = repo.git("rev-list", "--first-parent", "--reverse",
                       repo.commit_of(args.branch)).split()
    report_dir = report.write_report(html, args.results, args.machine, commits[-1], commits)
    annotate.write_annotations(ROOT, html)
    return report_dir


def quick_config():
    """A copy of asv.conf.json whose results and site live in .asv/quick/ (the environments
    are shared): the arguments that make asv use it."""
    return repo.config_copy(QUICK / "asv.conf.json", results_dir=QUICK / "results",
                            html_dir=QUICK / "html")


def working_tree(args):
    """Benchmark the working tree (uncommitted changes included) in this checkout's own
    environment, and print each line beside main's latest published figure: the quick loop
    for someone editing fibext.  Nothing goes into the history."""
    tree = ROOT / ".asv" / "working-tree"
    print("+ pip install . (the working tree, into this checkout's environment)", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--force-reinstall", str(ROOT)], check=True)
    shutil.rmtree(tree / "results", ignore_errors=True)
    use_config = repo.config_copy(tree / "asv.conf.json", results_dir=tree / "results",
                                  html_dir=tree / "html", env_dir=tree / "env")
    head = repo.commit_of("HEAD")
    run = [*use_config, "run", "--python=same", "--set-commit-hash", head,
           "--machine", args.machine, "--show-stderr"]
    for pattern in args.bench:
        run += ["--bench", pattern]
    repo.register_machine(args.machine)
    code = repo.asv(*run, check=False).returncode
    if code not in (0, 2):
        raise ToolError(f"asv run exited {code}")
    mine = values_by_benchmark(results_of(tree / "results", args.machine)[0])
    try:
        base = newest_first(RESULTS, args.machine, repo.commit_of(args.branch))[0]
        theirs, label = values_by_benchmark(base), f"{args.branch} {base.commit_hash[:8]}"
    except (FileNotFoundError, ToolError):
        theirs, label = {}, f"{args.branch}: no results on {args.machine}"
    rows = []
    for name, lines in sorted(mine.items()):
        for combo, value in lines.items():
            before = theirs.get(name, {}).get(combo)
            ratio = f"{value / before:.3f}x" if value is not None and before else ""
            rows.append((entry_name(name, combo), _figure(before), _figure(value), ratio))
    print()
    print(markdown_table(["benchmark", label, "working tree", "ratio"], rows, "lrrr"))
    print("\nRatios of one run on a shared machine: read steps beyond the thresholds of "
          "asv.conf.json, and confirm them with benchmarks/gate.py once committed.")
    return 1 if code == 2 else 0


def _figure(value):
    return "" if value is None else f"{value:.4g}"


def preflight(args):
    """Say at the start what cannot work, before anything is measured."""
    if not args.publish_only and shutil.which("valgrind") is None:
        print("valgrind not found: the instruction counts and the simulated cache misses and "
              "cycles (bench_instructions, bench_cache) are skipped (install it: apt-get "
              "install valgrind)", flush=True)
    missing = vendor.missing_tools(VENDOR_CACHE)
    if missing:
        raise ToolError(f"{', '.join(missing)} not found: the offline site needs it to fetch "
                        "its JavaScript libraries once (install Node.js and npm), so nothing "
                        "was measured")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--commits", type=int, default=10,
                        help="how many of main's newest commits to benchmark (default 10)")
    parser.add_argument("--machine", default=os.environ.get("FIBEXT_MACHINE"),
                        help="the name results are kept under (default: from the CPU, its "
                             "caches and count)")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--bench", action="append", default=[],
                        help="only benchmarks matching this regex (asv run --bench); the "
                             "others are measured by the next run without it")
    parser.add_argument("--quick", action="store_true",
                        help="one sample per benchmark, kept in .asv/quick/: a smoke test")
    parser.add_argument("--publish-only", action="store_true",
                        help="measure nothing: publish the results already in .asv/results, "
                             "e.g. gathered from several machines (the report is --machine's)")
    parser.add_argument("--results-branch", action="store_true",
                        help=f"commit the new results to the {RESULTS_BRANCH!r} branch (never "
                             "rewritten; a fresh clone that fetches it continues the history)")
    parser.add_argument("--working-tree", action="store_true",
                        help="benchmark the working tree (uncommitted changes included) in "
                             "this checkout's environment, beside main's latest results; "
                             "use with --bench (the history is not touched)")
    parser.add_argument("--gh-pages", action="store_true",
                        help=f"commit the published site to a local {PAGES_BRANCH!r} branch "
                             "(as asv gh-pages --no-push; nothing is pushed)")
    args = parser.parse_args(argv)
    if args.commits < 1:
        parser.error(f"--commits must be at least 1, got {args.commits}")
    try:
        args.machine = repo.check_machine_name(args.machine or repo.stable_machine_name())
        repo.commit_of(args.branch)
    except (ValueError, ToolError) as error:
        parser.error(str(error))
    try:
        with repo.checkout_lock("the main job (benchmarks/run)"):
            return working_tree(args) if args.working_tree else run(args)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def run(args):
    preflight(args)
    if args.quick:
        args.config, args.results, args.html = quick_config(), QUICK / "results", QUICK / "html"
    else:
        args.config, args.results, args.html = [], RESULTS, HTML
        restore_results(RESULTS)
        if not args.publish_only:
            args.machine = repo.machine_for_this_host(args.machine, RESULTS)
    set_aside_unreadable(args.results)

    def publish_now(first=False):
        report_dir = publish(args)
        if first:
            print(f"\nfirst site published after {_fmt(time.monotonic() - STARTED)}: "
                  f"{args.html}/index.html (the rest follows)", flush=True)
        return report_dir

    status = 0 if args.publish_only else measure(args, publish_now)
    report_dir = publish_now()
    if not (args.publish_only or args.quick):
        again, measured = confirm_regressions(args)
        status = max(status, again)
        if measured:
            report_dir = publish_now()
    if args.results_branch and not args.quick:
        commit = commit_directory(RESULTS, RESULTS_BRANCH, "results of the main job", True)
        print(f"results branch {RESULTS_BRANCH!r}: " + (f"new commit {commit[:8]}" if commit
                                                        else "nothing new"))
    if args.gh_pages:
        commit = commit_directory(args.html, PAGES_BRANCH, "the published site", False)
        count = len(repo.git("ls-tree", "-r", "--name-only", PAGES_BRANCH).splitlines())
        print(f"{PAGES_BRANCH!r}: " + (f"new commit {commit[:8]}" if commit else "unchanged")
              + f", {count} files (not pushed: git push origin {PAGES_BRANCH})")

    machines = sorted(p.parent.name for p in pathlib.Path(args.results).glob("*/machine.json"))
    html = os.path.relpath(args.html, ROOT)
    print()
    print(f"Published the results of {len(machines)} machine(s): {', '.join(machines)}")
    print(f"  site:    {args.html}/index.html")
    print(f"  report:  {report_dir}/index.html (machine {args.machine})")
    print(f"  cython -a: {args.html}/annotate/index.html")
    print("  preview: python3 -m http.server --bind 127.0.0.1 --directory "
          f"{html} {repo.PORT}   then open http://127.0.0.1:{repo.PORT}/")
    return 1 if status == 2 else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # asv writes each commit's results when that commit is done: those stay.
        sys.exit("interrupted: the commits already measured are saved; run again to carry on")
