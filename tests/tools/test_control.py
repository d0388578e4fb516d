"""The control line (benchmarks/control.py): which commits were sampled on a disturbed machine,
and what the main job does about them.  End to end on real results: test_history.py."""

import re

import pytest

import control
import repo


def test_a_commit_whose_control_stands_above_the_others_is_disturbed():
    levels = {"a": 1100.0, "b": 1112.0, "c": 2090.0, "d": 1095.0}
    assert control.disturbed(levels, 0.1) == {"c": pytest.approx(2090 / 1106)}


def test_a_steady_or_faster_control_is_not():
    assert control.disturbed({"a": 1100.0, "b": 1150.0, "c": 1080.0}, 0.1) == {}
    # one commit sampled in an unusually fast window condemns none of the others
    assert control.disturbed({"a": 600.0, "b": 1100.0, "c": 1110.0}, 0.1) == {}
    assert control.disturbed({"a": 1100.0}, 0.1) == {}          # nothing to compare with


def test_two_commits_are_compared_with_their_middle():
    assert control.disturbed({"a": 1000.0, "b": 1150.0}, 0.1) == {}
    assert control.disturbed({"a": 1000.0, "b": 1900.0}, 0.1) == {"b": pytest.approx(1900 / 1450)}


def test_the_tolerance_is_the_control_lines_own_threshold():
    thresholds = repo.load_thresholds()[0]
    assert control.tolerance(thresholds) == repo.threshold_for(thresholds, control.CONTROL)
    assert 0 < control.tolerance(thresholds) < repo.threshold_for(
        thresholds, "bench_fib.Fib.track_call('capi', 90)")


@pytest.fixture
def fake_history(monkeypatch):
    """control.measure_again on a history whose controls follow a script: each call of levels()
    returns the next state; runs, pauses and withheld commits are recorded."""
    record = {"runs": [], "sleeps": [], "withheld": None, "states": []}

    def levels(results_dir, machine, commits):
        return record["states"].pop(0)

    def withhold(results_dir, machine, commits):
        record["withheld"] = set(commits)
        return 5 * len(commits)

    monkeypatch.setattr(control, "levels", levels)
    monkeypatch.setattr(control, "withhold", withhold)
    monkeypatch.setattr(control.time, "sleep", record["sleeps"].append)
    return record


def run_again(record):
    return record["runs"].append


def test_a_disturbed_commit_is_measured_again_and_kept_once_it_is_in_line(fake_history, capsys):
    steady = {"a": 1100.0, "b": 1105.0}
    fake_history["states"] = [{**steady, "c": 2090.0}, {**steady, "c": 1110.0}]
    found = control.measure_again(run_again(fake_history), "results", "m", ["a", "b", "c"],
                                  {r"bench_fib\.Control\.": 0.1})
    assert found == {} and fake_history["withheld"] is None
    assert fake_history["runs"] == [["c"]]
    assert fake_history["sleeps"] == []                  # the first time again: no pause
    out = capsys.readouterr().out
    assert "(c 1.89x)" in out and "measuring their fib lines again (1 of 2)" in out


def test_a_commit_still_disturbed_after_the_rounds_is_withheld(fake_history, capsys):
    busy = {"a": 1100.0, "b": 1105.0, "c": 2090.0}
    fake_history["states"] = [dict(busy), dict(busy), dict(busy)]
    found = control.measure_again(run_again(fake_history), "results", "m", ["a", "b", "c"],
                                  {r"bench_fib\.Control\.": 0.1}, rounds=2, pause=7)
    assert set(found) == {"c"} and fake_history["withheld"] == {"c"}
    assert fake_history["runs"] == [["c"]] * 2
    assert fake_history["sleeps"] == [7]                 # a pause before the second round
    out = capsys.readouterr().out
    assert "WITHHELD" in out and "their 5 sampled line(s) are not published" in out


def test_a_quiet_history_is_left_alone(fake_history):
    fake_history["states"] = [{"a": 1100.0, "b": 1105.0}]
    assert control.measure_again(run_again(fake_history), "results", "m", ["a", "b"],
                                 {r"bench_fib\.Control\.": 0.1}) == {}
    assert fake_history["runs"] == [] and fake_history["withheld"] is None


def test_the_timed_regressions_are_measured_again_from_their_step_to_the_tip(tmp_path):
    import json

    import measuring
    hashes = ["tip", "c3", "c2", "c1"]            # newest first, as the main job keeps them
    revisions = {"1": "c1", "2": "c2", "3": "c3", "4": "tip"}
    (tmp_path / "index.json").write_text(json.dumps({"revision_to_hash": revisions}))
    listed = [
        ["bench_memory.Write.track_ns_per_element('copy', 'cython', 262144)", "g", {}, 0,
         0.26, 0.12, [[3, 4, 0.12, 0.26]]],                       # a step at the tip alone
        ["bench_parallel.Batch.time_batch('cython_prange', 2)", "g", {}, 0, 0.07, 0.03,
         [[1, 2, 0.03, 0.07]]],                                   # a plateau of three commits
        ["bench_instructions.FibInstructions.track_instructions('capi', 90)", "g", {}, 0,
         1139.0, 1124.0, [[2, 3, 1124.0, 1139.0]]],               # exact: the same again
        ["bench_gone.Old.time_it", "g", {}, 0, 2.0, 1.0, [[2, 3, 1.0, 2.0]]],  # not in the suite
    ]
    (tmp_path / "regressions.json").write_text(json.dumps({"regressions": listed}))
    benchmarks = {"bench_memory.Write.track_ns_per_element": {"unit": "seconds"},
                  "bench_parallel.Batch.time_batch": {"unit": "seconds"},
                  "bench_instructions.FibInstructions.track_instructions":
                      {"unit": "instructions"}}
    assert measuring.timed_regressions(tmp_path, benchmarks, hashes) == {
        "bench_memory.Write.track_ns_per_element": ["tip"],
        "bench_parallel.Batch.time_batch": ["tip", "c3", "c2"]}
    assert measuring.timed_regressions(tmp_path / "no-site", benchmarks, hashes) == {}
    # asv matches --bench against "name(params)": the pattern takes every combination, no other
    pattern = measuring.every_line_of("bench_memory.Write.track_ns_per_element")
    assert re.search(pattern, "bench_memory.Write.track_ns_per_element('copy', 'cython', 4096)")
    assert re.search(pattern, "bench_memory.Write.track_ns_per_element")
    assert not re.search(pattern, "bench_memory.Write.track_ns_per_element_x")


def test_memory_regressions_share_one_asv_run_the_others_have_one_each():
    import measuring
    listed = {"bench_memory.Write.track_ns_per_element": ["tip"],
              "bench_parallel.Batch.time_batch": ["tip", "c3", "c2"],
              "bench_memory.PointerChase.track_latency": ["tip", "c3"],
              "bench_import.Import.time_import": ["tip"]}
    # the memory lines are one measurement (bench_memory's setup_cache): asked apart, it
    # would be taken once a line
    assert sorted(measuring._shared_runs(listed)) == sorted([
        (["bench_import.Import.time_import"], ["tip"]),
        (["bench_memory.PointerChase.track_latency", "bench_memory.Write.track_ns_per_element"],
         ["tip", "c3"]),
        (["bench_parallel.Batch.time_batch"], ["tip", "c3", "c2"])])


@pytest.mark.parametrize("bench, measured, not_measured", [
    ((), ["bench_fib.Fib.track_call('cython', 90)", "bench_fib.FibNoop.track_call",
          "bench_fib.Control.track_call"], ["bench_memory.Write.track_ns_per_element"]),
    ((r"bench_fib\.(FibNoop|PureC)",),
     ["bench_fib.FibNoop.track_call", "bench_fib.PureC.track_latency(0)",
      "bench_fib.Control.track_call"],
     ["bench_fib.Fib.track_call('cython', 90)", "bench_fib.Control.track_call_x"]),
    ((r"Fib\.track_call\('capi'", "bench_memory"),
     ["bench_fib.Fib.track_call('capi', 90)", "bench_fib.Control.track_call"],
     ["bench_fib.Fib.track_call('cython', 90)", "bench_memory.Write.track_ns_per_element",
      "bench_fib.FibNoop.track_call"]),
])
def test_a_disturbed_build_is_measured_again_in_what_the_run_measured(bench, measured,
                                                                     not_measured):
    """The control's lines the run selected, and the control that judges them again: a line
    the run did not measure is not the disturbed one, and measuring it would cost the time of
    every fib line (asv selects a benchmark when any --bench pattern finds its name)."""
    import measuring
    patterns = measuring.disturbed_bench(bench)

    def selected(name):
        return any(re.search(p, name) for p in patterns)
    assert [n for n in measured if not selected(n)] == []
    assert [n for n in not_measured if selected(n)] == []
