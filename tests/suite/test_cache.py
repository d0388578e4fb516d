"""Simulated cache misses and cycles (benchmarks/benchmarks/bench_cache.py): the counts are
what memory-hierarchy theory predicts for the fixed simulated geometry, and they repeat exactly.

The theory, for LRU caches of 64-byte lines with no prefetcher (valgrind's simulator):
a sequential float64 read misses once per line (1/8 per element) once the buffer exceeds the
level, and never inside it; a stride of a line or more misses on every access beyond the
level; the pointer chase (one node per line, a random cycle) misses on every access beyond the
level and almost never inside it; a random gather misses on a growing share of its accesses
as the working set grows past the level.
"""

import pathlib
import shutil

import pytest

import benchmarks.bench_cache as bench

D1, LL = bench.GEOMETRY["D1"][0], bench.GEOMETRY["LL"][0]
INSIDE, BETWEEN, BEYOND = bench.SIZES  # 16 KiB, 192 KiB, 4 MiB
#: Extra working sets of the random gather, for the curve between the levels.
RANDOM_SIZES = [64 << 10, 512 << 10, 2 << 20]
#: Misses per element the interpreter may add between two calls (bench_cache.DECIMALS).
EPS = 2e-3
#: benchmarks/env.sh installs valgrind (tests/run sources it): without it the set-up is broken,
#: which fails these tests rather than skipping them (as test_instructions.py does).
NO_VALGRIND = "valgrind missing: run tests/run (benchmarks/env.sh) as root"


def keys():
    default = [(i, c, s) for i in bench.IMPLS for c in bench.CASES for s in bench.SIZES]
    return default + [(i, "random", s) for i in bench.IMPLS for s in RANDOM_SIZES]


@pytest.fixture(scope="module")
def counts():
    """One valgrind process: every case of MemoryCache plus the random gather at three more
    sizes (about 15 s of CPU here)."""
    assert shutil.which("valgrind"), NO_VALGRIND
    return bench.memory_counts(keys())


def test_geometry_is_stated():
    assert bench.GEOMETRY == {"I1": (32768, 8, 64), "D1": (49152, 12, 64),
                              "LL": (1048576, 16, 64)}
    assert bench.PENALTY == {"D1": 10, "LL": 100}
    # the sizes straddle both levels, with room for copy's and random's second buffer
    assert 2 * INSIDE < D1 < BETWEEN and 2 * BETWEEN < LL < BEYOND
    for level in ("I1", "D1", "LL"):
        size, ways, line = bench.GEOMETRY[level]
        sets = size // (ways * line)
        assert sets & (sets - 1) == 0, f"{level}: valgrind needs a power-of-two set count"


@pytest.mark.parametrize("impl", bench.IMPLS)
def test_sequential_misses_once_per_line(counts, impl):
    inside, between, beyond = (counts[(impl, "sequential", s)] for s in bench.SIZES)
    assert inside["d1"] == pytest.approx(0, abs=EPS)
    assert between["d1"] == pytest.approx(1 / 8, abs=EPS)
    assert between["ll"] == pytest.approx(0, abs=EPS)
    assert beyond["d1"] == pytest.approx(1 / 8, abs=EPS)
    assert beyond["ll"] == pytest.approx(1 / 8, abs=EPS)


@pytest.mark.parametrize("impl", bench.IMPLS)
@pytest.mark.parametrize("stride", [8, 64, 512])
def test_a_stride_of_a_line_or_more_misses_every_access(counts, impl, stride):
    inside, between, beyond = (counts[(impl, f"strided{stride}", s)] for s in bench.SIZES)
    assert inside["d1"] == pytest.approx(0, abs=EPS)
    assert between["d1"] == pytest.approx(1, abs=0.02)
    assert between["ll"] == pytest.approx(0, abs=0.02)
    assert beyond["d1"] == pytest.approx(1, abs=EPS)
    assert beyond["ll"] == pytest.approx(1, abs=EPS)


@pytest.mark.parametrize("impl", bench.IMPLS)
def test_pointer_chase_misses_every_access_beyond_the_level_only(counts, impl):
    inside, between, beyond = (counts[(impl, "chase", s)] for s in bench.SIZES)
    assert inside["d1"] == pytest.approx(0, abs=EPS)
    assert between["d1"] == pytest.approx(1, abs=EPS)
    assert between["ll"] == pytest.approx(0, abs=EPS)
    assert beyond["d1"] == pytest.approx(1, abs=EPS)
    assert beyond["ll"] == pytest.approx(1, abs=EPS)


@pytest.mark.parametrize("impl", bench.IMPLS)
def test_random_reads_fall_in_between_by_working_set(counts, impl):
    sizes = sorted({s for i, c, s in keys() if c == "random"})
    d1 = [counts[(impl, "random", s)]["d1"] for s in sizes]
    ll = [counts[(impl, "random", s)]["ll"] for s in sizes]
    # the index streams in order (1/8 per access beyond a level); the data is gathered at
    # random: a share of about 1 - C/W of its accesses misses, W the working set
    assert d1[0] == pytest.approx(0, abs=EPS)
    # non-decreasing, but for the interpreter's own lines at the edge of a level (512 KiB:
    # data and index fill LL exactly; measured -0.002)
    assert all(b >= a - 0.005 for a, b in zip(d1, d1[1:])), d1
    assert all(b >= a - 0.005 for a, b in zip(ll, ll[1:])), ll
    at_64k = counts[(impl, "random", 64 << 10)]
    assert 0.2 < at_64k["d1"] < 0.9 and at_64k["ll"] == pytest.approx(0, abs=EPS)
    # sequential < random < sequential + chase at every size past D1
    for size in sizes[1:]:
        here = counts[(impl, "random", size)]
        assert 1 / 8 < here["d1"] < 1 + 1 / 8 + EPS
    # data + index fit in LL up to 512 KiB each (measured 0.000); at 2 MiB the data is
    # twice LL (measured 0.735), at 4 MiB four times (0.930)
    assert counts[(impl, "random", 512 << 10)]["ll"] == pytest.approx(0, abs=0.005)
    assert 0.5 < counts[(impl, "random", 2 << 20)]["ll"] < 0.9
    assert 0.8 < counts[(impl, "random", BEYOND)]["ll"] < 1 + 1 / 8 + EPS


@pytest.mark.parametrize("impl", bench.IMPLS)
def test_writes_allocate_a_line_per_eight_elements(counts, impl):
    for pattern, per_element in (("fill", 1 / 8), ("copy", 2 / 8)):
        inside, between, beyond = (counts[(impl, pattern, s)] for s in bench.SIZES)
        assert inside["d1"] == pytest.approx(0, abs=EPS)
        assert between["d1"] == pytest.approx(per_element, abs=EPS)
        assert beyond["ll"] == pytest.approx(per_element, abs=EPS)


def test_cython_misses_as_c_does(counts):
    # the loops are the same, line for line: so are the addresses they touch
    compared = 0
    for impl, case, size in keys():
        if impl == "cython":
            for metric in ("d1", "ll"):
                assert counts[(impl, case, size)][metric] == pytest.approx(
                    counts[("c", case, size)][metric], abs=EPS), (case, size, metric)
            compared += 1
    assert compared, f"no cython case among bench.IMPLS {bench.IMPLS}: nothing was compared"


def test_simulated_cycles_add_the_stated_penalties(counts):
    for key, c in counts.items():
        expected = c["ir"] + 10 * (c["d1"] + c["i1"]) + 100 * (c["ll"] + c["il"])
        assert c["cycles"] == pytest.approx(expected, rel=1e-12), key
    for impl in bench.IMPLS:
        chase = [counts[(impl, "chase", s)]["cycles"] for s in bench.SIZES]
        # 8 instructions a load (the load, the check that keeps it inside the buffer whatever
        # another thread writes, the loop); +10 for a D1 miss; +110 for an LL miss
        assert chase == pytest.approx([8, 18, 118], abs=0.1)


@pytest.mark.slow  # a second valgrind process of every case: ~15 s of CPU
def test_counts_repeat_exactly(counts):
    assert bench.memory_counts(keys()) == counts


def test_fib_cycles():
    assert shutil.which("valgrind"), NO_VALGRIND
    cycles = bench.fib_counts(variants=["python", "capi", "cython"])
    for key, c in cycles.items():
        # fib touches a few lines the loop keeps warm: cycles are the instructions, nearly
        assert c["cycles"] == pytest.approx(c["ir"], rel=0.01), key
        assert c["d1"] == pytest.approx(0, abs=0.05) and c["ll"] == pytest.approx(0, abs=0.01)
    assert cycles[("python", 90)]["cycles"] > 10 * cycles[("capi", 90)]["cycles"]
    assert cycles[("cython", 90)]["cycles"] > cycles[("cython", 0)]["cycles"]


def test_summarise_and_parts(tmp_path):
    delta = dict.fromkeys(bench.EVENTS, 0) | {"Ir": 1000, "D1mr": 10, "D1mw": 6, "DLmr": 2,
                                               "I1mr": 4, "ILmr": 1, "Dr": 200, "Dw": 100}
    s = bench.summarise(delta, 100)
    assert s["d1"] == 0.16 and s["ll"] == 0.02 and s["accesses"] == 3.0
    assert s["cycles"] == (1000 + 10 * (16 + 4) + 100 * (2 + 1)) / 100
    # callgrind leaves trailing zero counts out of a totals line
    part = pathlib.Path(tmp_path, "callgrind.out.1")
    part.write_text("events: " + " ".join(bench.EVENTS) + "\ntotals: 5 4 3\n")
    assert bench._part_events(part) == {**dict.fromkeys(bench.EVENTS, 0),
                                        "Ir": 5, "Dr": 4, "Dw": 3}
    part.write_text("events: Ir\ntotals: 5\n")
    with pytest.raises(RuntimeError, match="cache simulation"):
        bench._part_events(part)


def test_cases_and_passes():
    assert bench.split("strided64") == ("strided", 64)
    assert bench.split("chase") == ("chase", None)
    assert bench.per_pass("chase", 4096) == 64
    assert bench.per_pass("strided512", 16 << 10) == 4
    assert bench.per_pass("sequential", 16 << 10) == 2048
    # every pass count covers MIN_ELEMENTS at least
    for case in bench.CASES:
        for size in bench.SIZES:
            assert bench.passes(case, size) * bench.per_pass(case, size) >= bench.MIN_ELEMENTS


def synthetic_values():
    """asv's shape (parameter values as repr strings, None where skipped), from the theory."""
    theory = {"sequential": 1 / 8, "strided8": 1, "strided64": 1, "strided512": 1,
              "random": 0.9, "chase": 1, "fill": 1 / 8, "copy": 2 / 8}
    d1, ll, cycles = {}, {}, {}
    for impl in bench.IMPLS:
        for case, rate in theory.items():
            for size in bench.SIZES:
                key = (repr(impl), repr(case), repr(size))
                d1[key] = 0.0 if size < D1 else rate
                ll[key] = 0.0 if size < LL else rate
                cycles[key] = 2 + 10 * d1[key] + 100 * ll[key]
    d1[("'c'", "'copy'", "4194304")] = None  # a skipped combination
    ll[("'c'", "'copy'",)] = 1.0  # malformed: left out
    return {"bench_cache.MemoryCache.track_d1_misses": d1,
            "bench_cache.MemoryCache.track_ll_misses": ll,
            "bench_cache.MemoryCache.track_cycles": cycles,
            "bench_cache.FibCycles.track_cycles": {
                (repr(v), repr(n)): 300.0 + 10 * n for v in ("capi", "python") for n in (0, 90)},
            "bench_fib.Fib.timeraw_call": {("'python'", "90"): 1e-6}}


def test_figures_from_synthetic_values(tmp_path):
    import figures_cache

    paths = figures_cache.draw(synthetic_values(), tmp_path, machine={"machine": "m"})
    assert [pathlib.Path(p).name for p in paths] == [
        "cache_misses.png", "cache_cycles.png", "cache_fib_cycles.png"]
    for path in paths:
        assert pathlib.Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert pathlib.Path(path).stem in figures_cache.ALT
    lines = figures_cache.curves(synthetic_values(), figures_cache.D1_MISSES)
    assert lines[("c", "copy")] == [(16384, 0.0), (196608, 0.25)]  # the None left out
    assert lines[("cython", "chase")] == [(16384, 0.0), (196608, 1), (4194304, 1)]


def test_figures_without_values_draw_nothing(tmp_path):
    import figures_cache

    assert figures_cache.draw({}, tmp_path) == []
    assert figures_cache.draw({"bench_cache.MemoryCache.track_cycles": {("x",): 1}},
                              tmp_path / "none") == []
    assert not (tmp_path / "none").exists()


def test_a_published_figure_is_rounded_and_never_below_zero():
    # asv compare marks two equal negative values as a change (its factor on a negative)
    assert bench.published(-0.0004, "misses") == 0.0
    assert bench.published(-0.001, "misses") == 0.0
    assert bench.published(1.23456, "misses") == 1.235
    assert bench.published(7.891, "cycles") == 7.89
