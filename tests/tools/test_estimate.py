"""The main job's estimate of what is left (benchmarks/measuring.py's Estimate): builds,
measurements and the further sampling passes over the builds measured."""

import json
import pathlib
import re
import types

import pytest

import measuring


def test_nothing_to_say_before_a_measurement():
    assert measuring.Estimate(3, passes=4).left() is None


def test_the_passes_cost_what_a_builds_sampled_lines_took():
    estimate = measuring.Estimate(3, passes=4)
    estimate.built(10)
    estimate.measured(100, sampled=20)
    # two builds and measurements left, then 3 more passes over all three builds
    assert estimate.left() == pytest.approx(2 * 10 + 2 * 100 + 3 * 3 * 20)
    last_too = measuring.Estimate(3, passes=4)
    last_too.built(10)
    last_too.measured(100, sampled=20, last_only=50)
    # the memory lines join the last pass alone: once a build
    assert last_too.left() == pytest.approx(2 * 10 + 2 * 100 + 3 * (3 * 20 + 50))
    one_pass = measuring.Estimate(3, passes=1)
    one_pass.built(10)
    one_pass.measured(100, sampled=20)
    assert one_pass.left() == pytest.approx(2 * 10 + 2 * 100)


def test_a_builds_sampled_lines_are_read_from_its_results_files(tmp_path):
    # what the main job reads back after asv: when each sampled line was measured (the
    # passes go on with the builds measured now) and how long they took (the estimate)
    (tmp_path / "m").mkdir()
    columns = ["result", "params", "version", "started_at", "duration"]
    (tmp_path / "m" / f"{'c' * 8}-virtualenv-py3.11.json").write_text(json.dumps({
        "result_columns": columns,
        "results": {"bench_fib.FibNoop.track_call": [[1e-8], [], "1", 1700, 2.0],
                    "bench_memory.Read.track_ns_per_element": [[1.0], [], "1", 1800, 9.0],
                    "bench_instructions.FibInstructions.track_instructions":
                        [[500.0], [], "1", 1900, 20.0]},
        "durations": {"<setup_cache bench_fib:30>": 30.0, "<build>": 5.0}}))
    at = measuring._sampled_at(tmp_path, "m", "c" * 40)
    name = f"{'c' * 8}-virtualenv-py3.11.json"
    assert at == {(name, "bench_fib.FibNoop.track_call"): 1700,
                  (name, "bench_memory.Read.track_ns_per_element"): 1800}
    # the lines every pass samples with the fib family's shared set-up, and those only the
    # last pass samples; not the lines no pass samples
    assert measuring._sampled_seconds(tmp_path, "m", "c" * 40) == (32.0, 9.0)
    assert measuring._sampled_seconds(tmp_path, "m", "d" * 40) == (None, 0.0)


@pytest.fixture
def asv_runs(monkeypatch):
    """The (commits, options) of each asv run sample_passes starts, none of them run."""
    runs = []
    monkeypatch.setattr(measuring, "asv_run",
                        lambda commits, options, config, root, hashfile: runs.append(
                            (list(commits), options)) or 0)
    return runs


def test_each_pass_takes_the_builds_in_pass_orders_and_rotates_the_pythons(asv_runs):
    # side by side in both senses: no build and no Python always sampled first
    runs = asv_runs
    envs = ["virtualenv:3.11", "virtualenv:3.12", "virtualenv:3.13"]
    measuring.sample_passes(["new", "old"], ["--machine", "m"], passes=4, environments=envs)
    assert [commits for commits, _ in runs] == [["new", "old"], ["old", "new"], ["old", "new"]]
    firsts = [options[options.index("-E") + 1] for _, options in runs]
    assert sorted(firsts) == envs
    memory = "bench_memory.RandomRead.track_ns_per_access('c', 4096)"
    fib = "bench_fib.Fib.track_call('capi', 90)"
    for k, (_, options) in enumerate(runs, start=2):
        assert "--append-samples" in options
        assert sorted(o for o, e in zip(options, options[1:]) if e in envs) == ["-E"] * 3
        chosen = [options[k + 1] for k, o in enumerate(options) if o == "--bench"]
        selected = {name for name in (memory, fib) if any(re.search(p, name) for p in chosen)}
        # the memory lines, costly to sample, join the last pass alone
        assert selected == ({memory, fib} if k == 4 else {fib}), (k, chosen)


def test_passes_over_three_builds_take_the_turned_order_between(asv_runs):
    measuring.sample_passes(["a", "b", "c"], [], passes=4)
    assert [commits for commits, _ in asv_runs] == [["b", "c", "a"], ["b", "c", "a"],
                                                   ["c", "b", "a"]]


def test_no_build_ends_one_pass_and_starts_the_next():
    for count in range(3, 13):
        builds = list(range(count))
        for passes in range(3, 7):  # two: the last, the first reversed, meets it
            orders = measuring.pass_orders(builds, passes)
            assert len(orders) == passes and orders[0] == builds, (count, passes)
            assert all(sorted(order) == builds for order in orders)
            # the last mirrors the first: the memory lines' two runs cancel a steady drift
            assert orders[-1] == builds[::-1]
            for before, after in zip(orders, orders[1:]):
                assert before[-1] != after[0], (count, passes, orders)
            # between the first and the last, a build's samples are a whole pass apart
            for before, after in zip(orders[1:-1], orders[2:-1]):
                assert before == after
    assert measuring.pass_orders([], 4) == [[]] * 4
    assert measuring.pass_orders(["a", "b"], 1) == [["a", "b"]]
    assert measuring.pass_orders(["a", "b", "c"], 2) == [["a", "b", "c"], ["c", "b", "a"]]


def test_two_builds_meet_at_one_turn_and_are_balanced():
    for passes in (2, 4, 6):
        orders = measuring.pass_orders(["new", "old"], passes)
        turns = sum(before[-1] == after[0] for before, after in zip(orders, orders[1:]))
        assert turns == 1, orders
        # each build first in half the passes: a steady drift falls on both alike
        assert sum(order[0] == "new" for order in orders) == passes // 2, orders


def test_a_selection_of_memory_lines_alone_waits_for_the_last_pass(asv_runs):
    measuring.sample_passes(["new", "old"], [], passes=4, bench=[r"^bench_memory\.Write"])
    runs = [options for _, options in asv_runs]
    assert len(runs) == 1 and runs[0][runs[0].index("--bench") + 1] == r"^bench_memory\.Write"


def test_the_passes_sample_every_wall_time_line_and_no_count():
    for name in measuring.SAMPLED_NAMES:
        assert any(re.match(p, name) for p in measuring.PASSED), name
    for pattern in (r"bench_memory\.PointerChase", r"bench_profile\.", r"bench_parallel\.",
                    r"bench_import\.", r"bench_smt\.Pair"):
        assert measuring.selects_sampled(pattern), pattern
    # exact or simulated counts: one valgrind process a build is the whole measurement
    assert not measuring.selects_sampled(r"bench_(instructions|cache)\.")


def test_every_benchmark_asv_times_is_one_the_passes_sample(bench_module):
    """A time_ or timeraw_ benchmark added to the suite is sampled in every time window the
    passes open, as the others are, not in its measurement's run alone."""
    import benchmarks
    timed = []
    for path in sorted(pathlib.Path(benchmarks.__file__).parent.glob("bench_*.py")):
        module = bench_module(path.stem)
        for cls in vars(module).values():
            if isinstance(cls, type) and cls.__module__ == module.__name__:
                timed += [f"{path.stem}.{cls.__name__}.{name}" for name in dir(cls)
                          if name.startswith(("time_", "timeraw_"))]
    assert timed
    assert [n for n in timed if n not in measuring.SAMPLED_NAMES] == []


def test_a_pattern_with_global_flags_is_sampled_in_every_pass_not_refused():
    assert measuring.not_last_only("(?i)BENCH_FIB") == "(?i)BENCH_FIB"
    narrowed = measuring.not_last_only(r"^bench_(fib|memory)\.")
    assert re.search(narrowed, "bench_fib.Control.track_call")
    assert not re.search(narrowed, "bench_memory.Write.track_ns_per_element('fill', 'c', 4096)")


def test_the_first_pass_order_ends_with_the_build_measured_last(monkeypatch):
    # the main job measures new builds newest first; a parent measured by an earlier run
    # had its first pass then: it goes first, so the second pass does not start with the
    # build the measurement just ended on
    hashes = ["tip", "mid", "old"]
    monkeypatch.setattr(measuring.builds, "measured_of",
                        lambda commits, results, machine: {c: c for c in commits})
    settings = types.SimpleNamespace(quick=False, passes=4, bench=(), results=None, machine="m")
    identities = {c: c for c in hashes}
    assert measuring._passes_over(hashes, identities, {"tip"}, settings) == ["mid", "tip"]
    assert measuring._passes_over(hashes, identities, {"tip", "mid"}, settings) == [
        "old", "tip", "mid"]
    assert measuring._passes_over(hashes, identities, set(hashes), settings) == hashes
    orders = measuring.pass_orders(measuring._passes_over(hashes, identities, {"tip"},
                                                          settings), 4)
    assert orders[1][0] != "tip"
