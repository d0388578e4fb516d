"""benchmarks/benchmarks/memory_sampling.py: the memory lines' sampler takes every line in
interleaved rounds, warms what a cache can hold, reads the largest random buffers through
windows of their index, and hands asv one sample a pair of processes."""

import dataclasses
import math
import re

import pytest

from benchmarks import memory_sampling
from fibext import memory


def test_a_line_of_fewer_rounds_takes_exactly_that_many_spread_over_the_rounds():
    for rounds in (1, 7, 20):
        for k in range(1, rounds + 1):
            taken = [r for r in range(rounds) if memory_sampling._takes(r, k, rounds)]
            assert len(taken) == k and taken[0] == 0, (k, rounds, taken)
            if k > 1:  # spread: no gap more than one longer than another
                gaps = [b - a for a, b in zip(taken, taken[1:])]
                assert max(gaps) - min(gaps) <= 1, (k, rounds, taken)


def test_measure_refuses_processes_that_are_not_whole_pairs():
    for processes in (0, 1, 3):
        with pytest.raises(ValueError, match=r"multiple of 2 \(a sample is the fastest of 2"):
            memory_sampling.measure([], processes=processes)


def test_measure_gives_one_sample_a_pair_and_skips_what_has_no_kernel():
    keys = [memory_sampling.line_key("sequential", "c", 4096),
            memory_sampling.line_key("chase", "cython", 4096),
            memory_sampling.line_key("chase", "numpy", 4096)]  # numpy has no chase
    measured = memory_sampling.measure(keys, processes=4, rounds=3, target_ns=20_000,
                                       cache_processes=0)
    assert set(measured["samples"]) == set(keys[:2]) and not measured["failed"]
    for key, values in measured["samples"].items():
        assert len(values) == 4 // memory_sampling.PAIR, (key, values)
        assert all(math.isfinite(v) and 0 < v < 1000 for v in values), (key, values)
    assert measured["skipped"] == {
        keys[2]: "NotImplementedError: no numpy kernel for the chase pattern"}


def test_the_lines_below_the_shared_edge_take_processes_of_their_own():
    caches = {1: 32 << 10, 2: 1 << 20, 3: 32 << 20}
    chase = {size: memory_sampling.line_key("chase", "c", size)
             for size in (4 << 10, 512 << 10, 1 << 20, 8 << 20, 32 << 20, 64 << 20)}
    sequential = {size: memory_sampling.line_key("sequential", "numpy", size)
                  for size in (256 << 10, 4 << 20, 8 << 20, 16 << 20, 32 << 20, 128 << 20)}
    strided = memory_sampling.line_key("strided", "cython", 1 << 20, stride=64)
    python = memory_sampling.line_key("sequential", "python", 4 << 10)
    keys = [*chase.values(), *sequential.values(), strided, python]
    assert 32 << 20 == memory.last_level(caches) and memory_sampling.EDGE == 2
    # every pattern below the shared edge (16 MiB on), the L1's and L2's sizes too; the chase
    # up to the L3's size; nothing in RAM
    assert memory_sampling.cache_keys(keys, caches) == [
        *(chase[size] for size in (4 << 10, 512 << 10, 1 << 20, 8 << 20, 32 << 20)),
        sequential[256 << 10], sequential[4 << 20], sequential[8 << 20], strided, python]
    # only the last level decides: a machine that names no private level gets them too
    assert memory_sampling.cache_keys(keys, {3: 32 << 20}) == memory_sampling.cache_keys(
        keys, caches)
    assert memory_sampling.cache_keys(keys, {3: 256 << 10}) == [chase[4 << 10], python]


def test_measure_gives_the_lines_below_the_shared_edge_their_extra_pairs(monkeypatch):
    # this machine taken to have a 4 KiB L2 and a 16 KiB L3: its edge from 8 KiB on, the
    # lines of 2 and 4 KiB below it
    monkeypatch.setattr(memory, "cache_sizes", lambda: {1: 2048, 2: 4096, 3: 16384})
    keys = [memory_sampling.line_key("sequential", "c", 8192),
            memory_sampling.line_key("sequential", "cython", 2048),
            memory_sampling.line_key("chase", "cython", 4096)]
    seeds = []
    run = memory_sampling._run
    monkeypatch.setattr(memory_sampling, "_run", lambda spec, *args, **kw: (
        seeds.append((spec["keys"], args, kw)), run(spec, *args, **kw))[1])
    measured = memory_sampling.measure(keys, processes=4, rounds=3, target_ns=20_000,
                                       cache_processes=2, timeout=60)
    assert len(measured["samples"][keys[0]]) == 4 // memory_sampling.PAIR
    for key in keys[1:]:
        assert len(measured["samples"][key]) == (4 + 2) // memory_sampling.PAIR
        assert all(math.isfinite(v) and v > 0 for v in measured["samples"][key])
    # the extra processes time those lines alone, seeded after the others, in the same budget
    assert seeds == [(keys, (4, 10.0), {}), (keys[1:], (2, 10.0), {"first": 4})]


def test_a_line_whose_extra_processes_failed_keeps_the_first_samples_and_names_the_loss(
        monkeypatch):
    # a 4 KiB L2 and an 8 KiB L3: the 4 KiB sequential read at its edge, the chase taken up
    # to the last level
    monkeypatch.setattr(memory, "cache_sizes", lambda: {1: 2048, 2: 4096, 3: 8192})
    keys = [memory_sampling.line_key("sequential", "c", 4096),
            memory_sampling.line_key("chase", "cython", 4096)]
    run = memory_sampling._run
    # the extra processes are given rounds no child can count: each exits with a traceback
    monkeypatch.setattr(memory_sampling, "_run", lambda spec, *args, **kw: run(
        dict(spec, rounds=None) if kw.get("first") else spec, *args, **kw))
    measured = memory_sampling.measure(keys, processes=2, rounds=3, target_ns=20_000,
                                       cache_processes=2, timeout=60)
    assert [len(measured["samples"][key]) for key in keys] == [1, 1]
    assert list(measured["lost"]) == [keys[1]] and len(measured["lost"][keys[1]]) == 2
    for index, why in enumerate(measured["lost"][keys[1]], start=3):
        # one line: which process, how it ended, and the traceback's exception
        assert re.fullmatch(rf"sampling process {index} of 4: exit status 1: Traceback \(most "
                            r"recent call last\): \.\.\. TypeError: .*'NoneType'.*", why), why


def test_a_first_process_that_failed_is_named_by_every_line_it_was_to_time(monkeypatch):
    keys = [memory_sampling.line_key("sequential", "c", 4096),
            memory_sampling.line_key("chase", "numpy", 4096)]  # skipped: no kernel
    run = memory_sampling._run

    def second_dies(spec, processes, timeout, first=0):
        outputs, errors = run(spec, processes, timeout, first)
        return outputs[:1] + [{}], errors + [f"sampling process 2 of 2: exit status -9: {'x' * 400}"]
    monkeypatch.setattr(memory_sampling, "_run", second_dies)
    measured = memory_sampling.measure(keys, processes=2, rounds=3, target_ns=20_000,
                                       cache_processes=0)
    assert list(measured["samples"]) == [keys[0]] and keys[1] in measured["skipped"]
    assert list(measured["lost"]) == [keys[0]] and len(measured["lost"][keys[0]]) == 1
    why = measured["lost"][keys[0]][0]  # cut to one line of 300 characters
    assert why.startswith("sampling process 2 of 2: exit status -9: xxx") and why.endswith(
        "x...") and len(why) == 300


def test_a_pair_stands_on_the_process_that_timed_a_line_and_a_failed_process_costs_only_its_own():
    a, b = "a", "b"
    outputs = [{"lines": {a: [3.0, 2.0], b: [5.0]}},
               {"lines": {a: [1.0]}, "skipped": {b: "MemoryError: no room"}},
               {},  # a process that died
               {"lines": {a: [4.0], b: [6.0]}, "failed": {}}]
    measured = memory_sampling.samples_of(outputs)
    assert measured["samples"] == {a: [1.0, 4.0], b: [5.0, 6.0]}
    assert measured["skipped"] == {}  # b was sampled by the others
    only_skipped = memory_sampling.samples_of([{"skipped": {b: "why"}}, {}])
    assert only_skipped == {"samples": {}, "skipped": {b: "why"}, "failed": {}}


def test_measure_fails_only_where_every_process_failed(monkeypatch):
    monkeypatch.setattr(memory_sampling.sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="(?s)every memory sampling process failed.*exit "
                                           "status 1"):
        memory_sampling.measure([memory_sampling.line_key("sequential", "c", 4096)],
                                processes=2)


def test_a_kernel_that_raises_fails_its_own_line_only(monkeypatch):
    keys = [memory_sampling.line_key("sequential", "c", 4096),
            memory_sampling.line_key("fill", "numpy", 4096)]

    def broken(*args):
        raise IndexError("index 9 is out of bounds")
    monkeypatch.setitem(memory.PATTERN_SPECS, "fill",
                        dataclasses.replace(memory.PATTERN_SPECS["fill"], numpy=broken))
    spec = {"keys": keys, "rounds": 2, "target_ns": 20_000, "cold_target_ns": 20_000,
            "cold_warm_ns": 10**9, "budget_ns": 10**9, "min_rounds": 1, "cold_factor": 1}
    out = memory_sampling._sample(spec)
    assert set(out["lines"]) == {keys[0]} and len(out["lines"][keys[0]]) == 2
    assert out["failed"] == {keys[1]: "IndexError: index 9 is out of bounds"}


def test_the_child_shares_buffers_across_implementations_and_not_with_python():
    keys = [memory_sampling.line_key("random", impl, 8192) for impl in ("c", "cython",
                                                                         "numpy", "python")]
    workloads = memory_sampling._prepare(memory, keys, {})
    data = [w.args[0] for w in workloads.values()]
    assert data[0] is data[1] is data[2] and isinstance(data[3], list)
    assert [w.impl for w in workloads.values()] == ["c", "cython", "numpy", "python"]


def test_a_window_run_gathers_each_part_of_the_index_once_before_it_wraps():
    workload = memory.prepare("random", "c", 1 << 20)
    window = memory_sampling._Window(workload, target_ns=20_000)
    n = len(window.index)
    assert memory_sampling._Window.FIRST <= window.width <= n
    read, gather = [], window._gather
    window._gather = lambda start, width: read.append((start, width)) or gather(start, width)
    for _ in range(2 * n // window.width + 2):
        ns = window.run()
        assert math.isfinite(ns) and ns > 0
    assert len(read) == 2 * (2 * n // window.width + 2)  # a warming window, then the timed
    assert all(start + width <= n for start, width in read)
    # until it wraps, each window starts where the one before ended: none read twice
    ends = [start + width for start, width in read]
    for (start, _), previous_end in zip(read[1:], ends):
        assert start in (previous_end, 0), read
    assert [start for start, _ in read].count(0) >= 1


def test_a_cached_buffer_is_warmed_by_a_pass_and_a_short_cold_run_by_one_of_its_length():
    cached = memory_sampling._Passes(memory.prepare("chase", "c", 4096), target_ns=20_000)
    cold = memory_sampling._Passes(memory.prepare("chase", "c", 4096), target_ns=20_000,
                                   warm_below=10**9)
    long_run = memory_sampling._Passes(memory.prepare("sequential", "c", 4096),
                                       target_ns=20_000, warm_below=1)
    assert cached.warm == 4096 // memory.LINE  # one walk around the cycle
    assert cold.warm == cold.reps >= 1 and long_run.warm == 0
    for line in (cached, cold, long_run):
        assert line.run_ns > 0 and 0 < line.run() < 1000


def test_a_cached_streaming_buffer_gets_warm_passes_before_each_timed_run_and_a_chase_its_cycle():
    workload = memory.prepare("sequential", "c", 1 << 20)
    line = memory_sampling._Passes(workload, target_ns=20_000, warm_passes=3)
    chase = memory_sampling._Passes(memory.prepare("chase", "c", 4096), target_ns=20_000,
                                    warm_passes=3)
    assert line.warm == 3 and chase.warm == 4096 // memory.LINE
    calls, run = [], workload.run
    workload.run = lambda reps: calls.append(reps) or run(reps)
    line.run()
    assert calls == [3, line.reps]  # a rep of a streaming pattern is one pass


def test_the_child_warms_every_cached_line_with_the_specs_passes(monkeypatch):
    seen = []

    class Spy(memory_sampling._Passes):
        def __init__(self, workload, target_ns, warm_below=None, warm_passes=1):
            seen.append((workload.pattern, warm_below, warm_passes))
            super().__init__(workload, target_ns, warm_below, warm_passes)
    monkeypatch.setattr(memory_sampling, "_Passes", Spy)
    keys = [memory_sampling.line_key("sequential", "c", 4096),
            memory_sampling.line_key("fill", "numpy", 4096)]
    spec = {"keys": keys, "rounds": 1, "target_ns": 20_000, "cold_target_ns": 20_000,
            "cold_warm_ns": 10**9, "budget_ns": 10**9, "min_rounds": 1, "cold_factor": 1,
            "warm_passes": memory_sampling.WARM_PASSES}
    memory_sampling._sample(spec)
    assert sorted(seen) == [("fill", None, memory_sampling.WARM_PASSES),
                            ("sequential", None, memory_sampling.WARM_PASSES)]
    assert memory_sampling.WARM_PASSES > 1


def test_an_older_fibext_memory_skips_its_lines_with_the_reason(monkeypatch):
    key = memory_sampling.line_key("sequential", "c", 4096)
    monkeypatch.delattr(memory.Pattern, "warm_reps")
    out = memory_sampling._sample({"keys": [key], "rounds": 1})
    assert out == {"lines": {}, "failed": {},
                   "skipped": {key: "this commit's fibext.memory lacks Pattern.warm_reps"}}


def test_an_older_prepare_without_shared_gets_buffers_of_its_own(monkeypatch):
    prepare = memory.prepare
    monkeypatch.setattr(memory, "prepare", lambda pattern, impl, size, dtype="float64",
                        stride=1: prepare(pattern, impl, size, dtype=dtype, stride=stride))
    keys = [memory_sampling.line_key("sequential", "c", 8192),
            memory_sampling.line_key("strided", "c", 8192, stride=8)]
    seq, strided = memory_sampling._prepare(memory, keys, {}).values()
    assert seq.args[0] is not strided.args[0] and seq.size == strided.size == 8192


def test_the_patterns_that_only_read_share_one_buffer_a_size_and_the_writers_do_not():
    keys = [memory_sampling.line_key("sequential", "c", 8192),
            memory_sampling.line_key("strided", "cython", 8192, stride=8),
            memory_sampling.line_key("random", "numpy", 8192),
            memory_sampling.line_key("fill", "cython", 8192),
            memory_sampling.line_key("sequential", "c", 16384)]
    seq, strided, rand, fill, larger = memory_sampling._prepare(memory, keys, {}).values()
    assert seq.args[0] is strided.args[0] is rand.args[0]
    assert fill.args[0] is not seq.args[0] and larger.args[0] is not seq.args[0]


def test_lines_above_the_last_level_cache_are_timed_cold(monkeypatch):
    keys = [memory_sampling.line_key("random", "c", 1 << 20),
            memory_sampling.line_key("chase", "c", 1 << 20),
            memory_sampling.line_key("sequential", "c", 1 << 20)]
    # cold_factor 0: every buffer counts as one no cache holds
    spec = {"keys": keys, "rounds": 2, "target_ns": 20_000, "cold_target_ns": 50_000,
            "cold_warm_ns": 10**9, "budget_ns": 10**9, "min_rounds": 1, "cold_factor": 0}
    made = []

    def spy(base):
        class Spy(base):
            def __init__(self, workload, target_ns, **options):
                made.append((base.__name__, workload.pattern, target_ns, options))
                super().__init__(workload, target_ns, **options)
        return Spy
    for name in ("_Window", "_Passes"):
        monkeypatch.setattr(memory_sampling, name, spy(getattr(memory_sampling, name)))
    out = memory_sampling._sample(spec)
    assert sorted(made, key=str) == sorted([
        ("_Window", "random", 50_000, {}),
        ("_Passes", "chase", 50_000, {"warm_below": 10**9}),
        ("_Passes", "sequential", 50_000, {"warm_below": 10**9})], key=str)
    assert len(out["lines"]) == 3 and all(len(r) == 2 for r in out["lines"].values())
