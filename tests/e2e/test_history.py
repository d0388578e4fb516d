"""The main job keeps the history whole: partial runs never stand in for full ones, unreadable
results are set aside and measured again, a commit sampled on a disturbed machine is measured
again or withheld, the history lives on in a results branch, and a job killed at any moment
loses nothing (benchmarks/history.py, on scratch clones)."""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

import benchmarks.sampling as sampling
import control
import drill_changes
import repo
from helpers import ONE_PYTHON, commit_all, git, main_job, scratch_clone, share_asv_env

pytestmark = [pytest.mark.slow, pytest.mark.alone]
MACHINE = "history-test-machine"
#: The cheapest benchmarks to run: one sampling of the fib lines (a few seconds a commit).
BENCH = ["--bench", r"bench_fib\.(FibNoop|PureC)"]
#: One sampling pass: where the passes are not what a test checks, they only cost time.
ONE_PASS = ["--passes", "1"]
#: Two: the fewest in which samples join.
TWO_PASSES = ["--passes", "2"]
#: BENCH's lines as the sampling processes name them (sampling.LINES_ENV): what a test that
#: measures BENCH reads.  Unset, each of a pass's processes times every fib line of every
#: variant too (about 1 s a process here, where these take 0.1 s), for lines no test here
#: reads (the drill does the same with its own lines).
BENCH_LINES = (rf"^({re.escape(sampling.NOOP_KEY)}|"
               rf"{sampling.pure_c_key('(latency|throughput)', '[0-9]+')})$")


@pytest.fixture
def bench_lines_only(monkeypatch):
    """The sampling processes of this test's main jobs time BENCH's lines alone (the jobs
    inherit the environment): for a test that measures BENCH, and whose every asv run selects
    a part of it (a line that is not sampled fails its benchmark, so a run selecting more
    fails the test instead of passing unmeasured)."""
    monkeypatch.setenv(sampling.LINES_ENV, BENCH_LINES)


@pytest.fixture(scope="module")
def shared_env(asv_env):
    """One asv environment directory for every clone of this module, the session's (asv keys
    environments by their matrix and wheels by commit: the clones are of one repository)."""
    return asv_env


def clone_with_env(directory, shared_env, docs_commits=0):
    return share_asv_env(scratch_clone(directory, docs_commits), shared_env)


def results(clone, machine=MACHINE, root=".asv/results"):
    """{commit: results file data} of machine; every file must be valid JSON."""
    found = {}
    for path in sorted((clone / root / machine).glob("*.json")):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        assert path.name.startswith(data["commit_hash"][:8]), path   # under its own commit
        found[data["commit_hash"]] = data
    return found


def value(data, name):
    entry = data["results"].get(name)
    return entry[data["result_columns"].index("result")] if entry else None


def samples(data, name):
    """A one-line benchmark's samples as asv recorded them (--record-samples)."""
    (found,) = data["results"][name][data["result_columns"].index("samples")]
    return found


def ok(run):
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    return run


def test_partial_runs_never_stand_in_for_full_ones(tmp_path, shared_env, bench_lines_only):
    clone = clone_with_env(tmp_path, shared_env)
    tip = git("rev-parse", "HEAD", cwd=clone)
    # --quick: a smoke test, kept apart
    ok(main_job(clone, "-n", "1", "--machine", MACHINE, "--quick", *BENCH))
    assert not results(clone) and results(clone, root=".asv/quick/results")
    # --bench: real measurements of some benchmarks; the next run measures the missing ones
    ok(main_job(clone, "-n", "1", "--machine", MACHINE, "--bench", r"bench_fib\.FibNoop",
                *TWO_PASSES))
    first = results(clone)[tip]
    assert value(first, "bench_fib.FibNoop.track_call")
    assert "bench_fib.PureC.track_latency" not in first["results"]
    run = ok(main_job(clone, "-n", "1", "--machine", MACHINE, *BENCH, *TWO_PASSES))
    second = results(clone)[tip]
    assert value(second, "bench_fib.PureC.track_latency")
    # kept: the sampling passes for PureC join new samples to the no-op's, never replace them
    kept, joined = (samples(data, "bench_fib.FibNoop.track_call") for data in (first, second))
    assert len(kept) == sampling.SAMPLES_A_PASS * 2
    assert joined[:len(kept)] == kept and len(joined) > len(kept)
    assert "Benchmarking" in run.stdout       # asv's word for measuring, which comes next
    # nothing missing now: nothing built, nothing measured
    again = ok(main_job(clone, "-n", "1", "--machine", MACHINE, *BENCH))
    assert "Building for" not in again.stdout and "Benchmarking" not in again.stdout
    assert "commit 1 of 1" in run.stdout


def test_an_unreadable_results_file_is_set_aside_and_measured_again(tmp_path, shared_env,
                                                                   bench_lines_only):
    clone = clone_with_env(tmp_path, shared_env)
    ok(main_job(clone, "-n", "1", "--machine", MACHINE, *BENCH, *ONE_PASS))
    (path,) = [p for p in (clone / ".asv" / "results" / MACHINE).glob("*.json")
               if p.name != "machine.json"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])            # a kill while asv wrote it
    run = ok(main_job(clone, "-n", "1", "--machine", MACHINE, *BENCH, *ONE_PASS))
    assert "set aside an unreadable results file" in run.stdout
    (kept,) = (clone / ".asv" / "quarantine" / MACHINE).iterdir()
    assert kept.read_bytes() == data[: len(data) // 2]   # never deleted
    assert value(results(clone)[json.loads(path.read_text())["commit_hash"]],
                 "bench_fib.FibNoop.track_call")


def test_a_commit_sampled_on_a_disturbed_machine_is_measured_again_or_withheld(
        tmp_path, shared_env):
    # three builds (the control compares builds: the commits of one build share one sampling)
    clone = clone_with_env(tmp_path, shared_env)
    drill_changes.c_comment(clone)
    commit_all(clone, "a comment in C")
    drill_changes.pyx_comment(clone)
    commit_all(clone, "a comment in Cython")
    bench = ["--bench", r"bench_fib\.(Control|FibNoop)"]
    # two sampling passes, not the default's four: the builds are still sampled side by side
    # (what keeps the steady controls together), in half the processes.  Every fib line is
    # sampled (no sampling.LINES_ENV), as the main job samples them: a process's rounds of the
    # control spread over its whole second.  With the two lines alone (a tenth of that), the
    # re-measured control of a noisy host stood out twice and was withheld (CI, 2026-12-03).
    ok(main_job(clone, "-n", "3", "--machine", MACHINE, *bench, *TWO_PASSES))
    tip = git("rev-parse", "HEAD", cwd=clone)

    def disturb(commit):
        """Rewrite commit's results as asv stores a commit sampled while the machine ran its
        interpreter 1.9x slower: the control and the fib lines alike."""
        (path,) = (clone / ".asv" / "results" / MACHINE).glob(f"{commit[:8]}-*.json")
        data = json.loads(path.read_text())
        column = data["result_columns"].index("result")
        for name in (control.CONTROL, "bench_fib.FibNoop.track_call"):
            data["results"][name][column] = [v * 1.9 for v in data["results"][name][column]]
        path.write_text(json.dumps(data))
        return value(data, control.CONTROL)[0]

    steady = {c: value(data, control.CONTROL)[0] for c, data in results(clone).items()}
    assert len(steady) == 3, steady  # the three builds: the checks of the others below need them
    noop = value(results(clone)[tip], "bench_fib.FibNoop.track_call")[0]
    disturb(tip)
    run = ok(main_job(clone, "-n", "3", "--machine", MACHINE, *bench, *TWO_PASSES))
    assert re.search(rf"at 1 commit\(s\) \({tip[:8]} \d\.\d\dx\)", run.stdout), run.stdout
    assert "measuring their fib lines again (1 of 2)" in run.stdout
    again = results(clone)[tip]     # measured again: back among the others
    assert value(again, control.CONTROL)[0] < 1.5 * max(v for c, v in steady.items() if c != tip)
    assert value(again, "bench_fib.FibNoop.track_call")[0] < 1.5 * noop

    # still disturbed after the rounds: withheld, not published; the rest of the file stays
    disturb(tip)
    found = control.measure_again(lambda commits: None, clone / ".asv" / "results",
                                  MACHINE, list(steady), repo.load_thresholds(clone)[0],
                                  rounds=1, pause=0)
    assert set(found) == {tip}
    left = results(clone)
    assert not [k for k in left[tip]["results"] if k.startswith("bench_fib.")]
    assert all(value(left[c], control.CONTROL) for c in steady if c != tip)
    # the next run measures what the commit lacks
    ok(main_job(clone, "-n", "3", "--machine", MACHINE, *bench, *TWO_PASSES))
    assert value(results(clone)[tip], control.CONTROL)


def test_the_history_outlives_the_machine_on_a_results_branch(tmp_path, shared_env,
                                                              bench_lines_only):
    (tmp_path / "a").mkdir()
    first = clone_with_env(tmp_path / "a", shared_env, docs_commits=1)
    run = ok(main_job(first, "-n", "2", "--machine", MACHINE, "--results-branch", "--gh-pages",
                      *BENCH, *ONE_PASS))
    branch = git("rev-parse", "results", cwd=first)
    # the site in a local gh-pages branch, nothing pushed
    pages = git("ls-tree", "-r", "--name-only", "gh-pages", cwd=first).splitlines()
    assert {"index.html", "index.json", "report/index.html", "steps.json"} <= set(pages)
    assert "'gh-pages': new commit" in run.stdout and f"{len(pages)} files" in run.stdout
    assert "Benchmarking" in run.stdout       # as a run that measures says (the fresh clone's not)
    files = git("ls-tree", "-r", "--name-only", "results", cwd=first).splitlines()
    assert "benchmarks.json" in files and f"{MACHINE}/machine.json" in files
    assert f"{MACHINE}/builds.jsonl" in files          # which commits are one build travels too
    assert len([f for f in files if f.startswith(MACHINE) and f.endswith(".json")
                and not f.endswith("machine.json")]) == 2
    # nothing new: the branch is not touched; something new: a commit on top, never a rewrite
    again = ok(main_job(first, "-n", "2", "--machine", MACHINE, "--results-branch", *BENCH,
                        *ONE_PASS))
    assert "results branch 'results': nothing new" in again.stdout
    assert git("rev-parse", "results", cwd=first) == branch
    with open(first / "README.md", "a") as readme:
        readme.write("\nOne more line.\n")
    commit_all(first, "docs again")
    ok(main_job(first, "-n", "3", "--machine", MACHINE, "--results-branch", *BENCH, *ONE_PASS))
    assert git("rev-parse", "results^", cwd=first) == branch

    # A new machine: a fresh clone of that repository (git clone fetches every branch)
    (tmp_path / "b").mkdir()
    fresh = tmp_path / "b" / "fibext"
    git("clone", "--quiet", str(first), str(fresh), cwd=tmp_path / "b")
    share_asv_env(fresh, shared_env)
    run = ok(main_job(fresh, "-n", "3", "--machine", MACHINE, *BENCH, *ONE_PASS))
    assert "restored" in run.stdout and "Benchmarking" not in run.stdout   # nothing re-measured
    index = json.loads((fresh / ".asv" / "html" / "index.json").read_text())
    assert len(index["revision_to_hash"]) >= 3                              # all of it published


#: When to kill: (a line of the job's output to wait for, seconds after it), in the order the
#: phases come, so that each run reaches the next one: the tip's build (its identity), asv's
#: discovery and sampling of it, its results and the first site, then the second commit's
#: build and sampling, the third commit (one build with the second: its results given), and
#: publishing.  Writing a results file takes microseconds: a file cut short, as a kill there
#: leaves it, is test_an_unreadable_results_file_is_set_aside_and_measured_again's case.
KILLS = [("building", 2), ("Discovering benchmarks", 0.5), ("Setting up bench_fib", 1),
         ("+ asv publish", 0), ("+ asv publish", 1.5), ("first site published", 0.2),
         ("== commit 2 of 3", 0.5), ("Setting up bench_fib", 0.2), ("== commit 3 of 3", 0.5)]


def run_until(args, cwd, marker, delay, group=True):
    """Start the main job; SIGKILL its whole process group (as a crash would; group=False: the
    job's own process alone) `delay` seconds after `marker` appears in its output.  (the line
    it was at, its output).  The output goes to a file, as a terminal would take it: a pipe
    closed after the kill would end what the job left running with its next write."""
    log = pathlib.Path(cwd) / ".asv" / "killed-job.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "w") as out:
        job = subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    killed_at, lines = None, []
    while killed_at is None:
        lines = log.read_text().splitlines()
        found = [line for line in lines if marker in line]
        if found:
            time.sleep(delay)
            (os.killpg if group else os.kill)(job.pid, signal.SIGKILL)
            killed_at = found[0]
        elif job.poll() is not None:
            break
        else:
            time.sleep(0.05)
    job.wait()
    return killed_at, log.read_text().splitlines()


def test_a_job_killed_at_any_moment_loses_nothing_and_leaves_nothing_running(tmp_path,
                                                                            shared_env,
                                                                            bench_lines_only):
    """SIGKILL the main job's process group at every phase of its run, run it again each time;
    every kill point is reached.  What asv left running after a kill (its forkserver sits in a
    process group of its own) is ended by the next run, which says so.  At the end the history
    is what an uninterrupted run leaves: every commit, every benchmark, every file readable,
    each under its own commit, nothing set aside that a run did not cut short."""
    clone = clone_with_env(tmp_path, shared_env, docs_commits=1)
    drill_changes.c_comment(clone)          # the tip another build: two builds to measure
    commit_all(clone, "a comment in C")
    args = [sys.executable, "benchmarks/history.py", "-n", "3", "--machine", MACHINE, *BENCH,
            *ONE_PASS, *ONE_PYTHON]
    moments, left = [], []
    for marker, delay in KILLS:
        killed_at, lines = run_until(args, clone, marker, delay)
        ended = [line for line in lines if line.startswith("ended ")]
        # what the last kill left is gone once this run holds the checkout (ended by it, and
        # named, or ended on its own just before: test_what_a_job_killed_alone_... pins the
        # ending itself down)
        for pid, _ in left:
            assert not os.path.exists(f"/proc/{pid}"), (pid, lines[:5])
        if ended and moments:
            moments[-1] += f"; the next run {ended[0][:40]}"
        # what asv leaves running once the job's group is gone (a child that exits on its own
        # within a few seconds is not left behind)
        time.sleep(3)
        left = repo.leftovers(clone)
        moments.append(f"{marker!r} + {delay} s -> " + (
            f"killed; left running: {[args for _, args in left] or 'nothing'}" if killed_at
            else f"ran to the end ({lines[-1][:60] if lines else ''})"))
        for commit, data in results(clone).items():   # readable, under its own commit
            assert data["commit_hash"] == commit
    print("kills:\n  " + "\n  ".join(moments))
    run = ok(subprocess.run(args, cwd=clone, capture_output=True, text=True))
    assert repo.leftovers(clone) == []
    history = results(clone)
    commits = git("rev-list", "-n3", "HEAD", cwd=clone).split()
    assert sorted(history) == sorted(commits)
    for data in history.values():
        for name in ("bench_fib.FibNoop.track_call", "bench_fib.PureC.track_latency"):
            assert value(data, name), (data["commit_hash"], name)
    # the two older commits are one build: one measurement, the same results
    older = [history[c]["results"] for c in commits[1:]]
    assert older[0] == older[1]
    assert sum("killed" in m for m in moments) == len(KILLS), moments   # every moment reached
    assert "Published the results" in run.stdout


def test_what_a_job_killed_alone_leaves_running_the_next_run_ends(tmp_path, shared_env):
    """kill -9 of the job's own process leaves asv running (its run, with the forkserver in a
    process group of its own and a sampling child, or its publish): the next run of the job
    ends them all, saying so, and measures."""
    clone = clone_with_env(tmp_path, shared_env)
    # fib's whole sampling (seconds): the orphaned asv is still at it when the next run starts
    args = [sys.executable, "benchmarks/history.py", "-n", "1", "--machine", MACHINE,
            "--bench", r"bench_fib\.(Fib|FibNoop)\.", *ONE_PASS, *ONE_PYTHON]
    killed_at, _ = run_until(args, clone, "Setting up bench_fib", 0.1, group=False)
    assert killed_at
    left = repo.leftovers(clone)
    parents = {pid: repo.parent_of(pid) for pid, _ in left}
    # asv itself, asv_runner's processes, or (where the kill landed after it started; on a fast
    # host) the sampling child, a Python of the clone's .asv/ running benchmarks/
    ours = str(pathlib.Path(clone).resolve() / ".asv") + os.sep
    assert left and all(" -m asv " in line or "/asv/" in line or line.startswith(ours)
                        for _, line in left), left
    print("left running after kill -9 of the job:\n  " + "\n  ".join(
        f"{pid} {line[:150]}" for pid, line in left))
    run = ok(subprocess.run(args, cwd=clone, capture_output=True, text=True))
    (ended,) = [line for line in run.stdout.splitlines() if line.startswith("ended ")]
    # asv and asv_runner's forkserver wait to be ended.  What they start ends on its own, and
    # may be gone before the next run looks (it ends the ones running then): a sampling child
    # (one of 16 short processes, one after another), asv_runner's setup_cache process, a fork
    # of the forkserver running one benchmark (its parent's command line)
    commands = dict(left)
    # (a process already gone when its parent was read, None, was one of those)
    lasting = [pid for pid, line in left if "sampling.py" not in line
               and " setup_cache " not in line and parents[pid] is not None
               and commands.get(parents[pid]) != line]
    assert any(" -m asv " in commands[pid] for pid in lasting), left
    assert all(f"pid {pid} " in ended for pid in lasting), (ended, left)
    assert repo.leftovers(clone) == [] and not any(os.path.exists(f"/proc/{p}") for p, _ in left)
    assert value(results(clone)[git("rev-parse", "HEAD", cwd=clone)],
                 "bench_fib.FibNoop.track_call")


@pytest.fixture
def restore_installed_fibext(tmp_path):
    """The quick loop installs the clone's working tree into the environment running it (the
    tests' own): put this checkout's fibext back afterwards, the very files tests/run installed
    (its RECORD's), kept aside before the test: pip uninstalls the clone's, and they are
    copied back.  (Installing the checkout again built the same wheel a second time.)"""
    import importlib.metadata

    import fibext
    site = pathlib.Path(fibext.__file__).resolve().parent.parent
    (dist,) = [d for d in importlib.metadata.distributions(path=[str(site)])
               if d.metadata["Name"] == "fibext"]
    files = [f for f in dist.files if (site / f).is_file()]
    assert any(f.name.endswith(".so") for f in files), files   # the compiled modules among them
    kept = tmp_path / "installed-fibext"
    for f in files:
        (kept / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(site / f, kept / f)
    yield
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "fibext"], check=True)
    for f in files:   # a new file each, as pip writes them: never one this process maps
        (site / f).parent.mkdir(parents=True, exist_ok=True)
        (site / f).unlink(missing_ok=True)
        shutil.copy2(kept / f, site / f)
    assert all((site / f).read_bytes() == (kept / f).read_bytes() for f in files)


def test_the_quick_loop_measures_the_working_tree_beside_main(tmp_path, shared_env,
                                                               restore_installed_fibext,
                                                               bench_lines_only):
    clone = clone_with_env(tmp_path, shared_env)
    ok(main_job(clone, "-n", "1", "--machine", MACHINE, *BENCH, *ONE_PASS))
    before = results(clone)
    with open(clone / "fibext" / "_pyfib.py", "a") as source:   # an uncommitted change
        source.write("\n# an edit not yet committed\n")
    run = ok(main_job(clone, "--working-tree", "--machine", MACHINE, "--bench",
                      r"bench_fib\.FibNoop"))
    row = [line for line in run.stdout.splitlines() if line.startswith("| bench_fib.FibNoop")]
    assert row and row[0].rstrip(" |").endswith("x"), run.stdout[-2000:]   # main | tree | ratio
    assert "| benchmark | main " in run.stdout
    assert results(clone) == before                  # the history is not touched
