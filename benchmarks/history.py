"""The main job: benchmark the recent history of main with asv and publish it, offline.

Registers this machine under a name that identifies its hardware, measures the newest commits
of main, one measurement per build (measuring.py, builds.py: the tip's build first, so a first
site is out in minutes; then the rest, republishing as each build completes), publishes the
site, makes it work with no network, writes the report into it and says where to open it
(publishing.py).  Run again, it measures only what is missing: a build not measured yet, a
benchmark its measured commit lacks (new in the suite, or left out by --bench), one that
failed.  asv saves each commit's results when that commit is done, so an interrupted run loses
only the build it was on.  --quick is a smoke test: its results and site go to .asv/quick/,
never into the history.  --working-tree is the quick loop (worktree.py).
"""

import argparse
import dataclasses
import os
import pathlib
import shutil
import sys
import time

import branches
import measuring
import publishing
import pythons
import repo
import vendor
from benchmarks import sampling
from repo import HTML, RESULTS, ROOT, ToolError


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one run of the main job was asked to do, and where its results and site live."""
    commits: int
    machine: str
    branch: str = "main"
    bench: tuple = ()
    quick: bool = False
    passes: int = sampling.PASSES   # sampling passes over the builds measured (sampling.py)
    publish_only: bool = False
    results_branch: bool = False
    gh_pages: bool = False
    pythons: tuple = ()             # --python: the versions asked for (none: asv.conf.json's)
    config: tuple = ()              # asv's --config arguments: the config copy of this run
    results: pathlib.Path = RESULTS
    html: pathlib.Path = HTML
    started: float = 0.0            # time.monotonic() when the job started


def parse(argv=None):
    """(Settings, whether --working-tree was asked) from the command line."""
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
    parser.add_argument("--python", action="append", default=[], metavar="X.Y",
                        help="benchmark on this Python only (repeatable; default: every one of "
                             "asv.conf.json's pythons this machine has)")
    parser.add_argument("--passes", type=int, default=sampling.PASSES,
                        help="sampling passes of the sampled lines over the builds measured, "
                             f"side by side (default {sampling.PASSES}; each adds "
                             f"{sampling.SAMPLES_A_PASS} samples a fib line and a few "
                             "to the lines asv times itself; the last also samples the "
                             "memory lines)")
    parser.add_argument("--quick", action="store_true",
                        help="one sample per benchmark, kept in .asv/quick/: a smoke test")
    parser.add_argument("--publish-only", action="store_true",
                        help="measure nothing: publish the results already in .asv/results, "
                             "e.g. gathered from several machines (the report is --machine's)")
    parser.add_argument("--results-branch", action="store_true",
                        help=f"commit the new results to the {branches.RESULTS_BRANCH!r} branch "
                             "(never rewritten; a fresh clone that fetches it continues the "
                             "history)")
    parser.add_argument("--working-tree", action="store_true",
                        help="benchmark the working tree (uncommitted changes included) in "
                             "this checkout's environment, beside main's latest results; "
                             "use with --bench (the history is not touched)")
    parser.add_argument("--gh-pages", action="store_true",
                        help=f"commit the published site to a local {branches.PAGES_BRANCH!r} "
                             "branch (as asv gh-pages --no-push; nothing is pushed)")
    args = parser.parse_args(argv)
    if args.commits < 1:
        parser.error(f"--commits must be at least 1, got {args.commits}")
    if args.passes < 1:
        parser.error(f"--passes must be at least 1, got {args.passes}")
    try:
        machine = repo.check_machine_name(args.machine or repo.stable_machine_name())
        repo.commit_of(args.branch)
    except (ValueError, ToolError) as error:
        parser.error(str(error))
    settings = Settings(commits=args.commits, machine=machine, branch=args.branch,
                        bench=tuple(args.bench), quick=args.quick, passes=args.passes,
                        pythons=tuple(args.python),
                        publish_only=args.publish_only, results_branch=args.results_branch,
                        gh_pages=args.gh_pages, started=time.monotonic())
    return settings, args.working_tree


def main(argv=None):
    settings, working_tree = parse(argv)
    try:
        with repo.checkout_lock("the main job (benchmarks/run)"):
            if working_tree:
                import worktree
                return worktree.working_tree(settings)
            return run(settings)
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def preflight(settings):
    """Say at the start what cannot work, before anything is measured."""
    if not settings.publish_only and shutil.which("valgrind") is None:
        print("valgrind not found: the instruction counts and the simulated cache misses and "
              "cycles (bench_instructions, bench_cache) are skipped (install it: apt-get "
              "install valgrind)", flush=True)
    missing = vendor.missing_tools(publishing.VENDOR_CACHE)
    if missing:
        raise ToolError(f"{', '.join(missing)} not found: the offline site needs it to fetch "
                        "its JavaScript libraries once (install Node.js and npm), so nothing "
                        "was measured")


def where(settings):
    """settings with the results, site and config of this run: --quick's apart, else the
    history's (restored from the results branch, under this host's machine name); the config
    names the Pythons found (pythons.py)."""
    found = [] if settings.publish_only else pythons.provide(
        list(settings.pythons) or pythons.wanted())
    if not (found or settings.publish_only):
        raise ToolError("none of the Pythons asked for is on this machine: nothing to measure")
    if settings.quick:
        return dataclasses.replace(settings, results=publishing.QUICK / "results",
                                   html=publishing.QUICK / "html",
                                   config=tuple(publishing.quick_config(found)))
    branches.restore_results(RESULTS)
    if settings.publish_only:
        return settings
    config = repo.config_copy(ROOT / ".asv" / "main.asv.conf.json", pythons=found)
    return dataclasses.replace(settings, config=tuple(config),
                               machine=repo.machine_for_this_host(settings.machine, RESULTS))


def run(settings):
    preflight(settings)
    settings = where(settings)
    publishing.set_aside_unreadable(settings.results)

    def publish_now(first=False):
        report_dir = publishing.publish(settings)
        if first:
            print(f"\nfirst site published after "
                  f"{measuring.fmt(time.monotonic() - settings.started)}: "
                  f"{settings.html}/index.html (the rest follows)", flush=True)
        return report_dir

    status = 0
    if not settings.publish_only:
        status, _ = measuring.measure(settings, publish_now,
                                      lambda: publishing.stale(settings))
    report_dir = publish_now()
    if not (settings.publish_only or settings.quick):
        again, measured = measuring.confirm_regressions(settings)
        status = max(status, again)
        if measured:
            report_dir = publish_now()
    keep_branches(settings)
    say_where(settings, report_dir)
    return 1 if status == 2 else 0


def keep_branches(settings):
    """--results-branch and --gh-pages: the results and the site committed to their branches."""
    if settings.results_branch and not settings.quick:
        commit = branches.commit_directory(RESULTS, branches.RESULTS_BRANCH,
                                           "results of the main job", True)
        print(f"results branch {branches.RESULTS_BRANCH!r}: "
              + (f"new commit {commit[:8]}" if commit else "nothing new"))
    if settings.gh_pages:
        pages = branches.PAGES_BRANCH
        commit = branches.commit_directory(settings.html, pages, "the published site", False)
        count = len(repo.git("ls-tree", "-r", "--name-only", pages).splitlines())
        print(f"{pages!r}: " + (f"new commit {commit[:8]}" if commit else "unchanged")
              + f", {count} files (not pushed: git push origin {pages})")


def say_where(settings, report_dir):
    machines = sorted(p.parent.name
                      for p in pathlib.Path(settings.results).glob("*/machine.json"))
    html = os.path.relpath(settings.html, ROOT)
    print()
    print(f"Published the results of {len(machines)} machine(s): {', '.join(machines)}")
    print(f"  site:    {settings.html}/index.html")
    print(f"  report:  {report_dir}/index.html (machine {settings.machine})")
    print(f"  cython -a: {settings.html}/annotate/index.html")
    print("  preview: python3 -m http.server --bind 127.0.0.1 --directory "
          f"{html} {repo.PORT}   then open http://127.0.0.1:{repo.PORT}/")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # asv writes each commit's results when that commit is done: those stay.
        sys.exit("interrupted: the builds already measured are saved; run again to carry on")
