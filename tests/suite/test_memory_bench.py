"""benchmarks/benchmarks/bench_memory.py: the asv benchmarks take their grid from
fibext.memory, are pinned, measure, and skip what a commit lacks."""

import itertools
import math

import pytest

from fibext import memory


@pytest.fixture
def bench(bench_module):
    return bench_module("bench_memory")


def bench_classes(bench):
    return [cls for name, cls in vars(bench).items()
            if isinstance(cls, type) and not name.startswith("_") and hasattr(cls, "params")]


def test_benchmarks_use_the_package_grid(bench):
    assert bench.SIZES == memory.sizes(2) and bench.SIZES_FINE == memory.sizes(1)
    assert bench.PointerChase.params == [["cython", "c"], memory.sizes(1)]
    assert bench.StridedRead.params[1] == list(memory.STRIDES)
    assert bench.SequentialRead.params[1] == list(memory.DTYPES)
    assert max(bench.SIZES_PYTHON) <= 1 << 20
    # On a commit without fibext.memory, asv still picks combinations by index: the fallback
    # must be at least as long as any real list.
    assert len(bench._FALLBACK_SIZES) >= len(memory.sizes(1)) >= len(memory.sizes(2))


def test_every_benchmark_is_pinned_and_reports_seconds(bench):
    classes = bench_classes(bench)
    assert {cls.__name__ for cls in classes} == {
        "SequentialRead", "StridedRead", "RandomRead", "PointerChase", "Write", "PythonLoop"}
    versions = [cls.version for cls in classes]
    assert len(set(versions)) == len(versions)
    for cls in classes:
        assert cls.unit == "seconds" and len(cls.params) == len(cls.param_names), cls
        tracks = [m for m in dir(cls) if m.startswith("track_")]
        assert len(tracks) == 1, cls


def test_every_benchmark_returns_its_samples_from_the_shared_measurement(bench):
    classes = bench_classes(bench)
    assert classes, "bench_memory has no benchmark class (with params): nothing was measured"
    smallest = {cls: [values[0] for values in cls.params] for cls in classes}
    # a quick sampling (one pair, few rounds): this checks the plumbing, not the speed
    cache = bench.memory_sampling.measure([cls.line_key(*combo) for cls, combo in
                                           smallest.items()], processes=2, rounds=3,
                                          target_ns=20_000, cache_processes=0)
    assert not cache["skipped"] and not cache["failed"], cache
    for cls, combo in smallest.items():
        b = cls()
        b.setup(cache, *combo)
        value = getattr(b, [m for m in dir(cls) if m.startswith("track_")][0])(cache, *combo)
        # one sample a pair of processes, for asv to join with the other passes'
        assert set(value) == {"samples", "number"} and len(value["samples"]) == 1, value
        (seconds,) = value["samples"]
        assert math.isfinite(seconds) and 0 < seconds < 10e-6, (cls, combo, value)


def test_one_measurement_samples_every_combination_of_every_class(bench, monkeypatch):
    asked = []
    monkeypatch.setattr(bench.memory_sampling, "measure", lambda keys: asked.extend(keys) or {})
    bench.PointerChase().setup_cache()
    combos = sum(math.prod(len(values) for values in cls.params)
                 for cls in bench_classes(bench))
    assert len(asked) == len(set(asked)) == combos
    assert bench.Write.line_key("copy", "numpy", 4096) in asked
    # asv gives the measurement its own limit, the one the sampler divides among processes
    assert bench._Memory.setup_cache.timeout == bench.memory_sampling.TIMEOUT


def test_every_combination_prepares_what_its_name_says(bench):
    for cls in bench_classes(bench):
        for combo in itertools.product(*[v if n != "size" else [4096]
                                         for n, v in zip(cls.param_names, cls.params)]):
            key = cls.line_key(*combo)
            options = dict(zip(cls.param_names, combo))
            (workload,) = bench.memory_sampling._prepare(memory, [key], {}).values()
            assert workload.size == 4096, (cls, combo)
            assert workload.impl == options.get("impl", cls.impl), (cls, combo)
            assert workload.pattern == options.get("pattern", cls.pattern), (cls, combo)
            if "dtype" in options:
                assert workload.dtype == options["dtype"] == str(workload.args[0].dtype)
            if "stride" in options:  # at 4 KiB (512 elements) a stride of 512 reads one
                assert workload.stride == min(options["stride"], 512)
                assert workload.count == -(-512 // options["stride"])


def test_benchmarks_skip_without_fibext_memory(bench, monkeypatch):
    monkeypatch.setattr(bench, "memory", None)
    cache = bench.PointerChase().setup_cache()
    assert cache == {"samples": {}, "skipped": {}, "failed": {}, "lost": {}}
    with pytest.raises(NotImplementedError, match="fibext.memory is not in this commit"):
        bench.PointerChase().setup(cache, "c", 4096)


def test_a_line_the_measurement_left_out_skips_and_one_that_failed_fails(bench):
    key = bench.PointerChase.line_key("c", 4096)
    cache = {"samples": {}, "skipped": {key: "MemoryError: no room"}, "failed": {}}
    with pytest.raises(NotImplementedError, match="was not sampled: MemoryError: no room"):
        bench.PointerChase().setup(cache, "c", 4096)
    with pytest.raises(NotImplementedError, match="no sampling process timed it"):
        bench.PointerChase().setup(cache, "cython", 4096)
    cache["failed"][key] = "IndexError: index 9 is out of bounds"
    with pytest.raises(RuntimeError, match="IndexError: index 9 is out of bounds"):
        bench.PointerChase().setup(cache, "c", 4096)


def test_a_line_that_lost_a_sampling_process_keeps_its_samples_and_says_so(bench, capsys):
    key = bench.PointerChase.line_key("c", 4096)
    why = "sampling process 6 of 8: exit status -9"
    cache = {"samples": {key: [2.0, 3.0]}, "skipped": {}, "failed": {}, "lost": {key: [why]}}
    bench.PointerChase().setup(cache, "c", 4096)
    assert bench.PointerChase().track_latency(cache, "c", 4096)["samples"] == pytest.approx(
        [2e-9, 3e-9])
    assert capsys.readouterr().err == (
        f"{key}: a sampling process failed, the line stands on the others' samples: {why}\n")
    del cache["lost"][key]
    bench.PointerChase().setup(cache, "c", 4096)
    assert capsys.readouterr().err == ""


def test_every_benchmark_says_in_its_version_that_it_is_in_seconds(bench):
    import asvresults

    for cls in bench_classes(bench):
        assert asvresults.SECONDS_MARK in cls.version, cls


def test_every_benchmark_is_sampled_again_by_the_passes(bench):
    import measuring

    for cls in bench_classes(bench):
        (track,) = [m for m in dir(cls) if m.startswith("track_")]
        assert f"bench_memory.{cls.__name__}.{track}" in measuring.SAMPLED_NAMES, cls
