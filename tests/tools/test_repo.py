"""The tools' shared ground (benchmarks/repo.py): thresholds as asv reads them, refs that stay
refs, machine names that stay inside the results and name the hardware, one job a checkout."""

import json
import re
import subprocess
import sys

import pytest

import repo


def test_threshold_is_the_largest_match_as_in_asv():
    thresholds = {r"bench_fib\.": 0.10, r".*": 0.05, r"bench_instructions\.": 0.005}
    assert repo.threshold_for(thresholds, "bench_fib.Fib.track_call('capi', 90)") == 0.10
    # every name matches ".*": the largest matching threshold wins (asv takes the max)
    assert repo.threshold_for(thresholds, "bench_instructions.FibInstructions.x") == 0.05
    assert repo.threshold_for({r"bench_instructions\.": 0.005},
                              "bench_instructions.FibInstructions.x") == 0.005
    # re.match: anchored at the start, as asv's regressions_thresholds
    assert repo.threshold_for({r"Fib\.": 0.5}, "bench_fib.Fib.x") == 0.05


def test_configured_thresholds_have_no_catch_all_above_counts():
    """A catch-all ".*" would lift the counts' threshold to its own (asv takes the max of
    all matches): asv.conf.json names every kind instead, and the gate reads it from there."""
    thresholds, source = repo.load_thresholds()
    assert source == "asv.conf.json regressions_thresholds"
    assert repo.threshold_for(thresholds, "bench_instructions.FibInstructions.x") == 0.005
    # where pymalloc's pools move a call's count (docs/measurements.md), the measured spread
    # sets it; the compiled fib variants allocate nothing and keep the exact threshold
    assert repo.threshold_for(thresholds, "bench_instructions.MemoryInstructions.x") == 0.02
    for variant, threshold in (("python", 0.01), ("ctypes", 0.01), ("capi_varargs", 0.005),
                               ("cython", 0.005)):
        assert repo.threshold_for(
            thresholds, f"bench_instructions.FibInstructions.track_instructions('{variant}', 90)"
        ) == threshold, variant
    # lines whose build-to-build noise was measured above their kind's (docs/regressions.md)
    assert repo.threshold_for(thresholds, "bench_fib.PureC.track_latency(0)") == 0.3
    assert repo.threshold_for(thresholds, "bench_fib.PureC.track_latency(90)") == 0.15
    # every time kind has its own entry: none falls back to asv's 5% default
    for name in ("bench_fib.Fib.track_call('capi', 90)", "bench_fib.FibNoop.track_call",
                 "bench_fib.PureC.track_latency(90)", "bench_import.ImportModule.timeraw_x",
                 "bench_memory.Sequential.track_x", "bench_parallel.Batch.time_x",
                 "bench_profile.FibProfile.time_loop('python')",
                 "bench_cache.MemoryCache.track_d1_misses('c', 'sequential', 16384)",
                 "bench_cache.MemoryCache.track_cycles('c', 'sequential', 16384)",
                 "bench_cache.FibCycles.track_cycles('capi', 90)"):
        assert any(re.match(regex, name) for regex in thresholds), name


def test_thresholds_are_required(tmp_path):
    (tmp_path / "asv.conf.json").write_text('{"version": 1, "project": "x"}')
    with pytest.raises(SystemExit, match="sets no regressions_thresholds"):
        repo.load_thresholds(tmp_path)


def test_a_ref_is_never_read_as_an_option(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for ref in (f"--output={victim}", "-h", "", "main\n--all"):
        with pytest.raises(repo.ToolError, match="not a git ref"):
            repo.commit_of(ref)
    assert victim.read_text() == "keep me"
    with pytest.raises(repo.ToolError, match="git rev-parse"):
        repo.commit_of("no-such-branch-anywhere")
    assert re.fullmatch(r"[0-9a-f]{40}", repo.commit_of("HEAD"))


@pytest.mark.parametrize("name", ["../x", "../../x", "a/b", "", ".hidden", "x" * 101, "a..b"])
def test_machine_names_cannot_leave_the_results_directory(name):
    with pytest.raises(ValueError, match="machine name"):
        repo.check_machine_name(name)


def test_main_job_refuses_a_machine_name_outside_the_results(tmp_path):
    for args in (["--machine", "../x"], ["--branch=--output=" + str(tmp_path / "f")]):
        done = subprocess.run([sys.executable, str(repo.ROOT / "benchmarks" / "history.py"), *args],
                              capture_output=True, text=True, env={"FIBEXT_MACHINE": "", "PATH": "/usr/bin:/bin"})
        assert done.returncode == 2, done.stderr
        assert "machine name" in done.stderr or "not a git ref" in done.stderr
    assert not (tmp_path / "f").exists()


def test_the_machine_name_identifies_the_host():
    here = repo.host_identity()
    assert here["cpus"] and here["model_name"]
    name = repo.stable_machine_name(here)
    assert name == repo.stable_machine_name(dict(here))        # stable
    assert repo.check_machine_name(name) == name
    # the same model name on another host generation is another machine
    for change in ({"family": "23"}, {"caches": {"L3": "8192K"}}, {"cpus": 64}, {"stepping": "9"}):
        assert repo.stable_machine_name({**here, **change}) != name, change


def test_results_of_another_host_under_a_name_go_under_a_new_name(tmp_path, capsys):
    assert repo.machine_for_this_host("box", tmp_path) == "box"   # nothing recorded yet
    here = repo.host_identity()
    record = tmp_path / "box" / "machine.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"machine": "box", "cpu": repo.describe_host(here), "version": 1}))
    assert repo.machine_for_this_host("box", tmp_path) == "box"   # same host
    other = {**here, "family": "23", "caches": {"L3": "8192K"}}
    record.write_text(json.dumps({"machine": "box", "cpu": repo.describe_host(other), "version": 1}))
    new = repo.machine_for_this_host("box", tmp_path)
    assert new != "box" and new.startswith("box-")
    out = capsys.readouterr().out
    assert "another host" in out and "family 23" in out and repr(new) in out


def test_a_second_job_in_the_checkout_stops_and_names_the_first(tmp_path):
    with repo.checkout_lock("the main job (pid test)", tmp_path):
        # another process, as a second job would be
        code = ("import repo\n"
                "try:\n    with repo.checkout_lock('the gate', %r): print('got it')\n"
                "except repo.ToolError as e: print(e)") % str(tmp_path)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={"PYTHONPATH": str(repo.ROOT / "benchmarks")})
        assert "the main job (pid test)" in done.stdout and "holds this checkout" in done.stdout
    with repo.checkout_lock("the gate", tmp_path):  # released
        pass


def test_report_and_noise_answer_help_and_bad_input():
    for tool in ("report.py", "noise.py", "gate.py", "drill.py", "history.py"):
        done = subprocess.run([sys.executable, str(repo.ROOT / "benchmarks" / tool), "--help"],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "usage:" in done.stdout, (tool, done.stderr)
    done = subprocess.run([sys.executable, str(repo.ROOT / "benchmarks" / "report.py"),
                           "--results", "/nonexistent", "--machine", "m"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "report: no asv results" in done.stderr, done.stderr
