"""benchmarks/figures_memory.py: the memory figures drawn from asv's results, with the caches
marked; skipped or malformed results draw nothing rather than fail."""

import math

import pytest

from fibext import memory


@pytest.fixture
def figures():
    import figures_memory
    return figures_memory


def synthetic_results():
    """asv's shape: parameter values as repr strings; None where a run was skipped."""
    sizes = [4096 << k for k in range(0, 17, 2)]
    cost = {s: 1.0 + math.log2(s) / 10 for s in sizes}
    return {
        "bench_fib.Fib.timeraw_call": {("'python'", "90"): 1e-6},
        "bench_memory.PointerChase.track_latency": {
            (repr(i), str(s)): cost[s] * (1.1 if i == "c" else 1) for i in ("cython", "c")
            for s in sizes},
        "bench_memory.SequentialRead.track_ns_per_element": {
            (repr(i), repr(d), str(s)): 0.2 for i in ("cython", "c", "numpy")
            for d in ("float64", "int64") for s in sizes},
        "bench_memory.StridedRead.track_ns_per_element": {
            ("'cython'", str(st), str(s)): st / 10 for st in (1, 8, 64, 512) for s in sizes},
        "bench_memory.RandomRead.track_ns_per_access": {
            (repr(i), str(s)): cost[s] if s < 1 << 20 else None
            for i in ("cython", "c", "numpy") for s in sizes},
        "bench_memory.Write.track_ns_per_element": {
            (repr(p), repr(i), str(s)): 0.3 for p in ("fill", "copy")
            for i in ("cython", "numpy") for s in sizes},
        "bench_memory.PythonLoop.track_cost": {
            (repr(p), str(s)): 25.0 for p in ("sequential", "random") for s in sizes[:5]},
    }


def test_series_parses_asv_keys(figures):
    points = figures.series(synthetic_results(), figures.RANDOM)
    assert len(points) == 3 * 4  # the sizes from 1 MiB on are None: skipped
    assert ({"impl": "cython"}, 4096, pytest.approx(2.2)) in points
    mixed = {figures.CHASE: {("'c'", "4096"): 1.5, ("'c'",): 2.0, ("c", "4096"): 3.0,
                             ("'c'", "'big'"): 4.0, ("'c'", "8192"): float("nan")}}
    assert figures.series(mixed, figures.CHASE) == [({"impl": "c"}, 4096, 1.5)]


def test_draw_writes_every_figure(figures, tmp_path):
    machine = {"machine": "ci box", "caches": {1: 32 << 10, 2: 512 << 10, 3: 32 << 20}}
    paths = figures.draw(synthetic_results(), tmp_path / "out", machine=machine)
    names = ["latency", "sequential", "random", "strided", "write", "patterns"]
    assert paths == [tmp_path / "out" / f"memory_{name}.png" for name in names]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draw_marks_the_caches(figures, tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(figures, "_plot", lambda path, title, ylabel, curves, caches, name:
                        drawn.append((path.name, title, caches, name)) or path)
    figures.draw(synthetic_results(), tmp_path, machine={"machine": "box", "caches": {1: 4096}})
    assert all(caches == {1: 4096} and name == "box" for _, _, caches, name in drawn)
    assert all("lower is better" in title for _, title, _, _ in drawn)
    assert "latency per access" in drawn[0][1] and "ns per element" in drawn[1][1]
    drawn.clear()
    figures.draw(synthetic_results(), tmp_path)  # caches of this machine by default
    assert drawn and drawn[0][2] == memory.cache_sizes()


@pytest.mark.parametrize("results", [
    {},
    {"bench_memory.PointerChase.track_latency": {}},
    {"bench_memory.PointerChase.track_latency": {("'c'", "4096"): None}},
    {"bench_memory.RandomRead.track_ns_per_access": {("'c'", "not a size"): 1.0}},
    {"bench_memory.PythonLoop.track_cost": {("'sequential'", "4096"): 20.0}},  # no main curve
])
def test_draw_without_data_draws_nothing(figures, tmp_path, results):
    assert figures.draw(results, tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_draw_only_what_is_there(figures, tmp_path):
    results = {figures.CHASE: synthetic_results()[figures.CHASE]}
    paths = figures.draw(results, tmp_path)
    assert [p.name for p in paths] == ["memory_latency.png", "memory_patterns.png"]


# ---------------------------------------------------------------------------------------------


def test_params_are_the_benchmarks_own(figures):
    assert figures.PARAMS == {
        "bench_memory.PointerChase.track_latency": ("impl", "size"),
        "bench_memory.SequentialRead.track_ns_per_element": ("impl", "dtype", "size"),
        "bench_memory.StridedRead.track_ns_per_element": ("impl", "stride", "size"),
        "bench_memory.RandomRead.track_ns_per_access": ("impl", "size"),
        "bench_memory.Write.track_ns_per_element": ("pattern", "impl", "size"),
        "bench_memory.PythonLoop.track_cost": ("pattern", "size"),
    }


def test_the_report_names_the_lines_at_the_shared_cache_with_band_and_exact_signal(figures):
    caches = {1: 32 << 10, 2: 1 << 20, 3: 32 << 20}
    assert figures.shared_cache_sizes(memory.sizes(1, caches), caches) == [
        16 << 20, 32 << 20, 64 << 20]
    assert figures.shared_cache_sizes([4096], {1: 32 << 10}) == []   # one level: no shared one
    stats = {"ci_99_a": 60e-9, "ci_99_b": 90e-9}
    lines = {
        (figures.CHASE, ("'c'", str(16 << 20))): (70e-9, stats, [70e-9]),
        (figures.CHASE, ("'c'", str(1 << 20))): (5e-9, stats, [5e-9]),      # L2: not named
        (figures.CHASE, ("'c'", str(4 << 20))): (20e-9, stats, [20e-9]),    # stays cached
        (figures.CHASE, ("'c'", str(128 << 20))): (150e-9, None, [150e-9]), # RAM: not named
        (figures.STRIDED, ("'cython'", "8", str(64 << 20))): (1e-9, None, None),
        (figures.SIMULATED_LL, ("'c'", "'chase'", str(192 << 10))): (0.0, None, None),
        (figures.SIMULATED_LL, ("'c'", "'chase'", str(4 << 20))): (1.0, None, None),
        (figures.SIMULATED_LL, ("'cython'", "'strided8'", str(4 << 20))): (0.125, None, None),
    }
    rows, total = figures.shared_cache_rows(lines, caches)
    assert total == 5
    assert rows == [
        (f"{figures.CHASE}('c', {16 << 20})", 16 << 20, pytest.approx(70),
         (pytest.approx(60), pytest.approx(90)), 1.0),
        (f"{figures.STRIDED}('cython', 8, {64 << 20})", 64 << 20, pytest.approx(1), None, 0.125)]
    anchor, title, html = figures.shared_cache_section(lines, {"caches": caches})
    assert "2 of 5 memory lines" in html and "16 MiB, 64 MiB" in html and "shared" in title
    assert "within a factor of 2" in html
    assert figures.shared_cache_section({}, {"caches": caches}) is None


def test_the_edge_stays_above_the_private_level():
    """A last level hardly larger than the level below: only the sizes above that level."""
    import figures_memory as figures
    caches = {1: 32 << 10, 2: 16 << 20, 3: 32 << 20}
    assert figures.shared_cache_sizes([8 << 20, 16 << 20, 32 << 20, 64 << 20, 128 << 20],
                                      caches) == [32 << 20, 64 << 20]


#: The hosts of docs/measurements.md ("Hosts"): {level: bytes} as each guest reports them.
HOST_CACHES = {
    "Zen 5": {1: 48 << 10, 2: 1 << 20, 3: 32 << 20},
    "Zen 3": {1: 32 << 10, 2: 512 << 10, 3: 32 << 20},
    "family 23": {1: 32 << 10, 2: 512 << 10, 3: 8 << 20},
    "Zen 4": {1: 32 << 10, 2: 1 << 20, 3: 32 << 20},
    "Intel Xeon": {1: 48 << 10, 2: 2 << 20, 3: 480 << 20},
}


@pytest.mark.parametrize("host", HOST_CACHES)
def test_the_edge_names_at_most_a_quarter_of_the_memory_lines(figures, host):
    """The report may set at most a quarter of the memory lines apart as at the shared cache
    (issue 21's rule): on every host on record, counted over bench_memory's own grids as that
    host's caches would make them."""
    caches, bench = HOST_CACHES[host], figures._bench
    named = total = 0
    for name in figures.PARAMS:
        cls = getattr(bench, name.split(".")[1])
        *others, sizes = cls.params   # the size is every memory line's last parameter
        grid = memory.sizes(1 if sizes == bench.SIZES_FINE else 2, caches)
        if sizes == bench.SIZES_PYTHON:
            grid = [s for s in grid if s <= bench.PYTHON_MAX]
        per_size = math.prod(len(values) for values in others)
        total += per_size * len(grid)
        named += per_size * len(figures.shared_cache_sizes(grid, caches))
    assert 0 < named <= total / 4, (host, named, total)


def test_a_guest_reporting_its_hosts_whole_l3_has_its_shared_cache_end_at_max_llc(figures):
    """The report names as shared-cache lines what the sizes and the sampler take as the last
    level (memory.last_level): on a guest that reports 480 MiB, around MAX_LLC, and says so."""
    caches = {1: 48 << 10, 2: 2 << 20, 3: 480 << 20}
    assert figures.shared_cache_sizes(memory.sizes(1, caches), caches) == [
        memory.MAX_LLC // 2, memory.MAX_LLC, 2 * memory.MAX_LLC]
    lines = {(figures.CHASE, ("'c'", str(size))): (size * 1e-15, None, None)
             for size in (4 << 20, memory.MAX_LLC, 2 * memory.MAX_LLC, 4 * memory.MAX_LLC)}
    rows, total = figures.shared_cache_rows(lines, caches)
    assert [row[1] for row in rows] == [memory.MAX_LLC, 2 * memory.MAX_LLC] and total == 4
    _, _, html = figures.shared_cache_section(lines, {"caches": caches})
    assert "480 MiB" in html and f"at most {memory.MAX_LLC >> 20} MiB" in html


def test_only_a_line_stored_in_seconds_is_scaled_to_ns():
    import types

    import asvresults

    chase = "bench_memory.PointerChase.track_latency"
    result = types.SimpleNamespace(benchmark_version={
        chase: "memory-chase-samples-1", "bench_memory.Write.track_ns_per_element": "memory-write-1"})
    assert asvresults.ns_scale(result, chase) == 1e9
    assert asvresults.ns_scale(result, "bench_memory.Write.track_ns_per_element") == 1  # ns
    assert asvresults.ns_scale(result, "bench_cache.MemoryCache.track_cycles") == 1
