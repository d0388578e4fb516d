"""The regression gate (benchmarks/gate.py): thresholds as asv reads them, asv compare's rule
with a factor per kind, and the command end to end on a scratch clone."""

import os
import re
import subprocess
import sys

import pytest

import drill_changes
import gate
import repo
from benchmarks import sampling
from helpers import REPO, share_asv_env

BENCH = ["--bench", r"^bench_instructions\.FibInstructions\.",
         "--bench", r"^bench_fib\.Fib\.track_call\('(cython|capi)', 90\)$"]
#: The sampled lines BENCH selects, and the control line the gate adds to them, as the sampling
#: processes name them (sampling.LINES_ENV): only they are timed, as the drill does with its
#: lines.  Unset, each process of the gate's eight asv runs (two builds, four passes) times
#: every fib line of every variant too, about five times as long, for lines nobody compares.
SAMPLED_LINES = (rf"^({sampling.CONTROL_KEY}|"
                 rf"{sampling.fib_key('(cython|capi)', 90)})$")


def _stats(samples):
    ordered = sorted(samples)
    return {"ci_99_a": ordered[0], "ci_99_b": ordered[-1], "q_25": ordered[1],
            "q_75": ordered[-2], "repeat": len(samples), "number": 1000}


def _line(samples):
    return (sorted(samples)[len(samples) // 2], _stats(samples), samples)


BENCHMARKS = {"bench_import.ImportModule.timeraw_import": {"unit": "seconds"},
              "bench_fib.Fib.track_call": {"unit": "seconds"},
              "bench_instructions.FibInstructions.track_instructions": {"unit": "instructions"}}


def test_judge_times_with_asv_compare_rule():
    name = "bench_import.ImportModule.timeraw_import"
    base = {(name, ("'a'",)): _line([1.00, 1.01, 1.02, 0.99, 1.0] * 2),
            (name, ("'b'",)): _line([1.00, 1.01, 1.02, 0.99, 1.0] * 2),
            (name, ("'c'",)): _line([1.00, 1.01, 1.02, 0.99, 1.0] * 2)}
    head = {(name, ("'a'",)): _line([1.05, 1.06, 1.07, 1.04, 1.05] * 2),
            (name, ("'b'",)): _line([3.0, 3.1, 2.9, 3.05, 3.0] * 2),
            (name, ("'c'",)): _line([0.5, 0.51, 0.49, 0.5, 0.5] * 2)}
    rows = gate.judge(base, head, BENCHMARKS, {r"bench_import\.": 0.10})
    verdicts = {r["params"][0]: r["verdict"] for r in rows}
    assert verdicts == {"'b'": "slower", "'a'": "same", "'c'": "faster"}
    assert rows[0]["verdict"] == "slower"  # worst first


def test_judge_the_sampled_lines_by_threshold_and_asvs_test_on_their_samples():
    # fib's lines hand asv one sample a group of processes, in seconds: asv's median and its
    # test on them
    name = "bench_fib.Fib.track_call"
    steady = [42e-9 * (1 + k / 1000) for k in range(16)]
    noisy = [42e-9 * (1 + k / 20) for k in range(16)]
    base = {(name, ("'capi'", "90")): _line(steady), (name, ("'cython'", "90")): _line(steady),
            (name, ("'capi_varargs'", "90")): _line(noisy)}
    head = {(name, ("'capi'", "90")): _line([v * 44 / 42 for v in steady]),
            (name, ("'cython'", "90")): _line([v * 118 / 42 for v in steady]),
            # 1.12x at the median, beyond the threshold, but the samples overlap: no verdict
            (name, ("'capi_varargs'", "90")): _line([v * 1.12 for v in noisy[4:]] + noisy[:4])}
    rows = {r["params"][0]: r for r in gate.judge(base, head, BENCHMARKS, {r"bench_fib\.": 0.10})}
    assert rows["'cython'"]["verdict"] == "slower" and rows["'capi'"]["verdict"] == "same"
    assert rows["'cython'"]["ratio"] == pytest.approx(118 / 42, rel=1e-3)
    assert rows["'capi_varargs'"]["ratio"] > 1.1 and rows["'capi_varargs'"]["verdict"] == "same"
    assert "| 42.34 ns | 118.9 ns |" in gate.table(list(rows.values()))


def test_no_time_verdict_on_the_sampled_lines_when_the_control_moved():
    fib, control = "bench_fib.Fib.track_call", "bench_fib.Control.track_call"
    counts = "bench_instructions.FibInstructions.track_instructions"
    benchmarks = {**BENCHMARKS, control: {"unit": "ns"}}
    base = {(fib, ("'cython'", "90")): (42.0, None, None), (control, ()): (1100.0, None, None),
            (counts, ("'capi'", "90")): (1124.0, None, None)}
    head = {(fib, ("'cython'", "90")): (80.0, None, None), (control, ()): (2090.0, None, None),
            (counts, ("'capi'", "90")): (1124.0, None, None)}
    rows = gate.judge(base, head, benchmarks, repo.load_thresholds()[0])
    assert {r["name"]: r["verdict"] for r in rows}[fib] == "slower"
    moved = gate.withhold_if_control_moved(rows)
    assert moved["name"] == control and moved["ratio"] == pytest.approx(1.9)
    verdicts = {r["name"]: r["verdict"] for r in rows}
    assert verdicts == {fib: "unjudged", control: "unjudged", counts: "same"}
    assert "2 unjudged (the control line moved)" in gate.table(rows)
    # a steady control leaves every verdict as it was
    head[(control, ())] = (1120.0, None, None)
    rows = gate.judge(base, head, benchmarks, repo.load_thresholds()[0])
    assert gate.withhold_if_control_moved(rows) is None
    assert {r["name"]: r["verdict"] for r in rows}[fib] == "slower"


def test_judge_counts_by_threshold_alone():
    name = "bench_instructions.FibInstructions.track_instructions"
    base = {(name, ("'capi'", "90")): (1124.0, None, None), (name, ("'capi'", "0")): (489.0, None, None),
            (name, ("'cython'", "90")): (1129.0, None, None), (name, ("'ctypes'", "90")): (5319.8, None, None)}
    head = {(name, ("'capi'", "90")): (1139.0, None, None), (name, ("'capi'", "0")): (490.0, None, None),
            (name, ("'cython'", "90")): (1129.0, None, None), (name, ("'ctypes'", "90")): (None, None, None)}
    rows = {r["params"]: r for r in gate.judge(base, head, BENCHMARKS, repo.load_thresholds()[0])}
    assert rows[("'capi'", "90")]["verdict"] == "slower"      # +15 instructions: 1.3%
    assert rows[("'capi'", "0")]["verdict"] == "same"         # +1: 0.2%
    assert rows[("'cython'", "90")]["verdict"] == "same"
    assert rows[("'ctypes'", "90")]["verdict"] == "failed"
    text = gate.table(list(rows.values()))
    assert "slower | bench_instructions.FibInstructions.track_instructions('capi', 90) | counts" in text
    assert "1,124.0" in text and "1,139.0" in text
    assert "4 lines compared: 1 slower, 0 faster, 1 failed, 2 within their thresholds." in text


def test_table_when_nothing_changed():
    assert "every line within its threshold" in gate.table([])


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def gate_clone(tmp_path_factory, asv_env):
    """A scratch clone with three branches off main: docs (a README line), comment (a comment
    in _capi.c: other bytes, the same code) and slow (the drill's 3x slower typed Cython)."""
    clone = tmp_path_factory.mktemp("gate") / "fibext"
    _git("clone", "--quiet", "--branch", "main", str(REPO), str(clone), cwd=clone.parent)
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam"]
    _git("checkout", "-qb", "docs", cwd=clone)
    drill_changes.readme_line(clone, 1)
    _git(*commit, "docs only", cwd=clone)
    _git("checkout", "-qb", "comment", "main", cwd=clone)
    drill_changes.c_comment(clone)
    _git(*commit, "a comment in C", cwd=clone)
    _git("checkout", "-qb", "slow", "main", cwd=clone)
    drill_changes.slow_cython(clone)
    _git(*commit, "cython 3x slower", cwd=clone)
    _git("checkout", "-q", "main", cwd=clone)
    return share_asv_env(clone, asv_env)


def run_gate(clone, head):
    done = subprocess.run([sys.executable, "benchmarks/gate.py", "--base", "main", "--head", head,
                           "--machine", "gate-test-machine", *BENCH],
                          cwd=clone, capture_output=True, text=True,
                          env={**os.environ, sampling.LINES_ENV: SAMPLED_LINES})
    print(done.stdout[done.stdout.find("Gate: "):])  # the gate's table (pytest -rP shows it)
    return done


@pytest.mark.slow
@pytest.mark.alone  # the gate's time verdicts
def test_gate_fails_a_slower_branch(gate_clone):
    done = run_gate(gate_clone, "slow")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-6000:]
    assert "gate: FAIL" in done.stdout
    # asv's word for measuring and the gate's table, which the one-build answer must not contain
    assert "Benchmarking" in done.stdout and "Gate: " in done.stdout
    slower = [line for line in done.stdout.splitlines() if line.startswith("| slower |")]
    # typed Cython is slower by time and by counts; nothing else is
    assert any("track_call('cython', 90) | time" in line for line in slower), done.stdout
    assert any("track_instructions('cython', 90) | counts" in line for line in slower), done.stdout
    assert all("'cython'" in line for line in slower), done.stdout
    # results stay out of the published history
    assert (gate_clone / ".asv" / "gate-results").is_dir()
    assert not (gate_clone / ".asv" / "results").exists()


@pytest.mark.slow
@pytest.mark.alone  # the gate's time verdicts
def test_gate_answers_at_once_for_one_build(gate_clone):
    done = run_gate(gate_clone, "docs")
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert "gate: same build: nothing to measure" in done.stdout
    assert "Benchmarking" not in done.stdout and "Gate: " not in done.stdout


@pytest.mark.slow
@pytest.mark.alone  # the gate's time verdicts
def test_gate_passes_a_branch_that_changes_no_code(gate_clone):
    done = run_gate(gate_clone, "comment")
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    assert "gate: pass" in done.stdout
    counts = [line for line in done.stdout.splitlines() if "| counts |" in line]
    assert not counts  # exact counts: nothing changed at all
    # lines were compared (a gate that measured nothing also reports 0 slower)
    assert re.search(r"[1-9]\d* lines compared: 0 slower", done.stdout), done.stdout


@pytest.mark.parametrize("args, message", [
    (["--base", "nope"], "git rev-parse"),
    (["--head=--output=/tmp/x"], "not a git ref"),
    (["--machine", "../x"], "machine name"),
])
def test_failures_that_are_not_regressions_exit_2_with_their_message(args, message, capsys):
    assert gate.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("gate: ") and message in err, err
    assert "Traceback" not in err
