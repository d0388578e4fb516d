"""The samples asv stores for the ns-scale timings (benchmarks/benchmarks/sampling.py)."""

import inspect
import random
import statistics

import pytest

import asvresults
import benchmarks.bench_fib as bench_fib  # benchmarks/benchmarks/, through pytest's pythonpath
import benchmarks.sampling as sampling
import measuring
import repo


def _spread(values):
    return max(values) / min(values) - 1


def _samples(processes, group=sampling.GROUP):
    """The samples asv gets from one commit's processes (each a list of rounds)."""
    return sampling.samples_of([sampling.process_figure(rounds) for rounds in processes], group)


def _published(processes, group=sampling.GROUP):
    """The figure asv stores from one commit's processes: the median of their samples."""
    return statistics.median(_samples(processes, group))


def test_a_process_gives_a_low_quantile_of_its_rounds():
    # below 10 rounds the fastest; from 10 on the (n // 10 + 1)-th fastest
    assert sampling.process_figure([5, 1, 4, 2, 3]) == 1
    assert sampling.process_figure([3.0]) == 3.0
    assert sampling.process_figure([2.0, None, float("nan"), 1.5]) == 1.5
    assert sampling.process_figure([]) is None
    assert sampling.process_figure([None, float("inf")]) is None
    assert sampling.process_figure(list(range(40, 0, -1))) == 5
    assert sampling.process_figure([1.0] + [None] * 30 + list(range(2, 21))) == 3
    assert sampling.process_figure([2.0] * 8 + [1.0]) == 1.0  # 9 rounds: the fastest


def test_a_sample_is_the_fastest_of_a_group_of_processes():
    assert sampling.GROUP == 4
    assert sampling.samples_of([3.0, 2.0, 5.0, 7.0, 9.0, 8.0, 6.0, 8.5]) == [2.0, 6.0]
    assert sampling.samples_of([None, 2.0, None, None, None, None, None, None]) == [2.0, None]
    assert sampling.samples_of([float("nan"), 4.0, 6.0, 5.0]) == [4.0]
    assert sampling.samples_of([3.0, 2.0, 5.0, 7.0], group=2) == [2.0, 5.0]
    assert sampling.samples_of([3.0, 1.0, 2.0], group=1) == [3.0, 1.0, 2.0]
    for figures in ([1.0, 2.0, 3.0], [1.0] * 6, []):
        with pytest.raises(ValueError, match="whole groups of 4"):
            sampling.samples_of(figures)
    refused = r"positive multiple of 4 \(a sample is the fastest of 4"
    for processes in (3, 6, 0):
        with pytest.raises(ValueError, match=refused):
            sampling.measure([0], processes=processes)


PROCESSES = sampling.PROCESSES * sampling.PASSES


def _busy_neighbour(rng, slow_share):
    # stretches in which every round is 1.8x slower, as measured on one host class
    return [[(170 if rng.random() < slow_share else 95) * rng.lognormvariate(0, 0.01)
             for _ in range(sampling.ROUNDS)] for _ in range(PROCESSES)]


def _fast_tail(rng):
    # a quiet host with a rare fast tail (4% of rounds 16% faster), as on another
    return [[(121 if rng.random() < 0.04 else 144) * rng.lognormvariate(0, 0.008)
             for _ in range(sampling.ROUNDS)] for _ in range(PROCESSES)]


def _per_process(rng, slow_share=0.25, spread=0.0):
    # a pure-Python loop whose speed depends on the process (its hash seed): slow_share of the
    # processes on the slow level, each process at a speed of its own within it (spread)
    out = []
    for _ in range(PROCESSES):
        level = 1700 if rng.random() < slow_share else 1130
        if spread:
            level *= rng.lognormvariate(0, spread)
        out.append([level * rng.lognormvariate(0, 0.01) for _ in range(sampling.ROUNDS)])
    return out


def _slow_processes(rng):
    # processes fall on a slow level (1.3-1.6x: a slow hash seed, a neighbour's stretch that
    # covers the whole process) in a share that changes from build to build with the host
    # (Zen 4, 2026-12-03: 0 to 9 of a build's 16 processes), and within a level each process
    # runs at a speed of its own (the fast processes of one build 1610-1850 ns)
    return _per_process(rng, slow_share=rng.uniform(0.0, 0.5), spread=0.03)


def test_groups_keep_the_median_off_how_many_processes_fell_slow():
    # 20 histories of 10 builds that change nothing, each build's range over them: with one
    # sample a process (as many samples: the first SAMPLES processes) a build's median moves
    # with the share of its processes that fell slow, with the fastest of each group only
    # where all of many groups did
    rng = random.Random(20261203)
    ranges = {"groups": [], "single": []}
    for _ in range(20):
        commits = [_slow_processes(rng) for _ in range(10)]
        ranges["groups"].append(_spread([_published(c) for c in commits]))
        ranges["single"].append(_spread([_published(c[:sampling.SAMPLES], 1) for c in commits]))
    typical = {how: statistics.median(spreads) for how, spreads in ranges.items()}
    assert typical["groups"] < 0.05 and typical["single"] > 0.15, typical


def _slow_start(rng):
    # a compiled call that starts every process on a slow level and reaches its fast one
    # (12% less time) at a round of its own, or never in the process's life (cython_cpdef
    # fib(90), Zen 5, docs/measurements.md): about half the processes reach it, one in five
    # in a stretch of the host (tens of seconds) that covers a pass now and then
    out = []
    for _ in range(sampling.PASSES):
        reach = 0.2 if rng.random() < 0.3 else 0.55
        for _ in range(sampling.PROCESSES):
            start = (rng.randrange(1, sampling.ROUNDS) if rng.random() < reach
                     else sampling.ROUNDS)
            out.append([(37.0 if r >= start else 42.0) * rng.lognormvariate(0, 0.005)
                        for r in range(sampling.ROUNDS)])
    return out


def _ranges_by_group(draw, rng, groups=(4, 2)):
    """{group: each of 20 histories' range over its 10 builds}, every build's processes drawn
    once and published in groups of each size."""
    ranges = {group: [] for group in groups}
    for _ in range(20):
        commits = [draw(rng) for _ in range(10)]
        for group in groups:
            ranges[group].append(_spread([_published(c, group) for c in commits]))
    return ranges


def test_groups_of_four_find_the_fast_level_a_process_reaches_late_or_never():
    # 20 histories of 10 builds: the faster of a pair left a build's median between the
    # levels, the fastest of four keeps it on the fast one
    ranges = _ranges_by_group(_slow_start, random.Random(20261204))
    typical = {group: statistics.median(spreads) for group, spreads in ranges.items()}
    assert typical[4] < 0.02 and typical[2] > 0.05, typical


def _fast_process(rng):
    # a compiled call that about one process in eight runs ~10% faster, for its whole life
    # (fib(0), Zen 5, docs/measurements.md "A fast process")
    out = []
    for _ in range(PROCESSES):
        level = 13.0 if rng.random() < 1 / 8 else 14.5
        out.append([level * rng.lognormvariate(0, 0.01) for _ in range(sampling.ROUNDS)])
    return out


def test_a_fast_process_keeps_a_compiled_call_within_its_threshold_not_within_pairs_spread():
    # The cost of the fastest of four: it carries a fast process into four samples in ten
    # (pairs: one in four), and a build's median onto the fast level in about a third of the
    # builds.  The lines where this is seen (compiled fib(0) and fib(10)) are judged by their
    # own threshold, which the published figure stays inside; pairs held them closer.
    thresholds, _ = repo.load_thresholds()
    threshold = repo.threshold_for(thresholds, "bench_fib.Fib.track_call('capi', 0)")
    ranges = _ranges_by_group(_fast_process, random.Random(20261130))
    assert max(ranges[4]) < threshold, (threshold, ranges[4])
    assert statistics.median(ranges[2]) < statistics.median(ranges[4]), ranges


def _two_levels(rng, calls_per_round=1):
    # a host whose neighbour leaves the core fast only in windows of a few ms (Zen 4,
    # docs/measurements.md): most processes see such windows in a share of their rounds that
    # varies from process to process; one in seven falls in a slow stretch and sees none.  A
    # round longer than a window averages the levels (calls_per_round short rounds in one).
    out = []
    for _ in range(PROCESSES):
        share = 0.0 if rng.random() < 0.15 else rng.uniform(0.1, 0.4)
        short = [(72 if rng.random() < share else 125) * rng.lognormvariate(0, 0.01)
                 for _ in range(sampling.ROUNDS)]
        out.append([statistics.fmean(short[i:i + calls_per_round])
                    for i in range(0, len(short), calls_per_round)])
    return out


def test_short_rounds_catch_the_fast_windows_of_a_two_level_host():
    rng = random.Random(20261203)
    published = _spread([_published(_two_levels(rng)) for _ in range(10)])
    assert published < 0.03, published
    # the same calls in 8x longer rounds (as before 2026-12-03: 5 rounds of 20,000 calls; here
    # 4 rounds of 20,000 or fewer) average the windows away, and the figure follows each
    # build's share of them
    longer = _spread([_published(_two_levels(rng, calls_per_round=8)) for _ in range(10)])
    assert longer > 0.05, longer


def test_a_process_takes_turns_on_every_cpu_it_may_use():
    assert sampling.round_cpus({1, 0}, 5) == [0, 1, 0, 1, 0]
    assert sampling.round_cpus([2, 5, 3], 4) == [2, 3, 5, 2]
    # one CPU, or a platform that cannot say: the rounds stay where the process runs
    assert sampling.round_cpus({3}, 2) == [None, None]
    assert sampling.round_cpus(set(), 1) == [None]
    # an even number of rounds on two CPUs: as many on each
    on = sampling.round_cpus({0, 1}, sampling.ROUNDS)
    assert on.count(0) == on.count(1) == sampling.ROUNDS // 2


def _slow_vcpu(rng, take_turns):
    """A build's processes on a guest of two vCPUs where, a pass at a time, one vCPU (or, now
    and then, both) runs a compiled loop slowly, as measured on Zen 5 (docs/measurements.md,
    "A slow vCPU"). A child starts where its parent waits and mostly stays there unless it
    takes turns; on a slow vCPU some of its rounds still run fast."""
    out = []
    for _ in range(sampling.PASSES):
        state = rng.random()
        slow = {0, 1} if state < 0.1 else {rng.choice([0, 1])} if state < 0.8 else set()
        parent_cpu = rng.choice([0, 1])
        for _ in range(sampling.PROCESSES):
            start = parent_cpu if rng.random() < 0.95 else 1 - parent_cpu
            on = sampling.round_cpus({0, 1} if take_turns else {start}, sampling.ROUNDS)
            fast_share = rng.uniform(0.0, 0.1)
            out.append([(40.0 if (start if cpu is None else cpu) in slow
                         and rng.random() > fast_share else 35.0) * rng.lognormvariate(0, 0.005)
                        for cpu in on])
    return out


def test_rounds_that_take_turns_on_the_vcpus_keep_off_a_slow_one():
    # 20 histories of 10 builds that change nothing: processes that stay where they started
    # publish the slow level for a build whose passes mostly started there; taking turns, a
    # build does so only where both vCPUs were slow for most of its passes
    rng = random.Random(20261205)
    ranges = {True: [], False: []}
    for _ in range(20):
        for take_turns in ranges:
            commits = [_slow_vcpu(rng, take_turns) for _ in range(10)]
            ranges[take_turns].append(_spread([_published(c) for c in commits]))
    over = {turns: sum(r > 0.05 for r in spreads) for turns, spreads in ranges.items()}
    assert statistics.median(ranges[True]) < 0.02, ranges
    assert over[True] <= 2 and over[False] >= 8, over


def test_the_child_times_its_rounds_on_each_cpu_in_turn_and_gives_the_mask_back(monkeypatch):
    moves = []
    # raising=False: a platform without them (macOS) is modelled too
    monkeypatch.setattr(sampling.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(sampling.os, "sched_setaffinity", lambda pid, cpus: moves.append(cpus),
                        raising=False)
    spec = {"ns": [10], "rounds": 3, "number": 5, "lines": "^control$"}
    assert len(sampling._sample(spec)["control"]) == 3
    assert moves == [{0}, {1}, {0}, {0, 1}]

    # a system that refuses some moves: every round is still timed, the mask given back
    moves.clear()

    def refuse_cpu_1(pid, cpus):
        if cpus == {1}:
            raise OSError(22, "Invalid argument")
        moves.append(cpus)

    monkeypatch.setattr(sampling.os, "sched_setaffinity", refuse_cpu_1)
    assert len(sampling._sample(spec)["control"]) == 3
    assert moves == [{0}, {0}, {0, 1}]

    # one that cannot say where the process may run: no moves at all
    moves.clear()
    monkeypatch.delattr(sampling.os, "sched_getaffinity")
    monkeypatch.setattr(sampling.os, "sched_setaffinity", lambda pid, cpus: moves.append(cpus))
    assert len(sampling._sample(spec)["control"]) == 3
    assert moves == []


@pytest.mark.parametrize("model", ["busy neighbour", "fast tail", "per process"])
def test_the_published_figure_is_steady_where_all_samples_median_or_minimum_is_not(model):
    rng = random.Random(20261130)
    # how busy the neighbour is changes from commit to commit
    draw = {"busy neighbour": lambda: _busy_neighbour(rng, rng.uniform(0.3, 0.7)),
            "fast tail": lambda: _fast_tail(rng), "per process": lambda: _per_process(rng)}[model]
    commits = [draw() for _ in range(10)]  # ten commits that change nothing
    published = _spread([_published(c) for c in commits])
    assert published < 0.03, published
    flat = [[r for rounds in c for r in rounds] for c in commits]
    median, fastest = (_spread([f(c) for c in flat]) for f in (statistics.median, min))
    # the estimators of every sample alike fail on at least one of these hosts: the median
    # follows the neighbour, the fastest reports the tail (16% below what most rounds ran at)
    if model == "busy neighbour":
        assert median > 0.3
    if model == "fast tail":
        assert fastest > 0.1 or max(map(min, flat)) < 0.9 * min(map(_published, commits))


def _drifting_machine(minutes):
    """A host whose interpreter-bound code slows by 20% over the minutes of a run (the fourth
    behaviour), sampled by pass: each (pass, build) slot takes a minute."""
    return lambda slot: 1130 * (1 + 0.2 * slot / minutes)


def test_builds_sampled_side_by_side_see_the_same_drift():
    # two identical builds; one after the other, the second is measured on a slower machine
    passes, builds = sampling.PASSES, ["parent", "child"]
    speed = _drifting_machine(passes * len(builds))
    rng = random.Random(7)

    def processes(slots):
        return [[speed(slot) * rng.lognormvariate(0, 0.01) for _ in range(sampling.ROUNDS)]
                for slot in slots for _ in range(sampling.PROCESSES)]

    # one after another: every pass of the parent, then every pass of the child
    apart = {b: processes(range(k * passes, (k + 1) * passes)) for k, b in enumerate(builds)}
    # side by side, as measuring.sample_passes orders them
    slots = _slots(builds, passes)
    side = {b: processes(slots[b]) for b in builds}
    ratio = {how: _published(runs["child"]) / _published(runs["parent"])
             for how, runs in (("apart", apart), ("side by side", side))}
    assert ratio["apart"] > 1.08
    assert abs(ratio["side by side"] - 1) < 0.02, ratio


def _slots(builds, passes):
    """Each build's slots (a build's turn in a pass, numbered in time) in the order
    measuring.sample_passes takes them."""
    slots, t = {b: [] for b in builds}, 0
    for order in measuring.pass_orders(builds, passes):
        for b in order:
            slots[b].append(t)
            t += 1
    return slots


def test_a_slow_stretch_at_a_turn_of_the_passes_takes_one_pass_of_a_build():
    # ten identical builds; the machine runs 1.8x slower for two consecutive slots (a minute
    # or so where a pass of the fib lines takes 12 s a build), wherever they fall: a build whose
    # two passes it took (the last of one pass, the first of the next) moved by a third
    builds, passes = [f"build{k}" for k in range(10)], sampling.PASSES
    slots = _slots(builds, passes)
    rng = random.Random(5)
    for slow in range(len(builds) * passes - 1):
        published = {b: _published([[1130 * (1.8 if t in (slow, slow + 1) else 1)
                                     * rng.lognormvariate(0, 0.005)
                                     for _ in range(sampling.ROUNDS)]
                                    for t in slots[b] for _ in range(sampling.PROCESSES)])
                     for b in builds}
        assert _spread(published.values()) < 0.05, (slow, published)


def test_one_sample_a_group_of_processes_keeps_asvs_test_from_overconfidence():
    # Two identical builds on a host where each process runs at a level of its own (its hash
    # seed, where it was placed): asv's Mann-Whitney test on every round as a sample finds
    # "significant" differences between them; on one sample a group of processes it does not.
    from asv._stats import is_different
    rng = random.Random(11)

    def build():
        levels = [1130 * rng.lognormvariate(0, 0.02) for _ in range(PROCESSES)]
        return [[level * rng.lognormvariate(0, 0.005) for _ in range(sampling.ROUNDS)]
                for level in levels]

    flagged = {"rounds": 0, "processes": 0}
    for _ in range(40):
        a, b = build(), build()
        flat_a, flat_b = ([r for rounds in x for r in rounds] for x in (a, b))
        flagged["rounds"] += is_different(flat_a, flat_b, None, None)
        one_a, one_b = (_samples(x) for x in (a, b))
        flagged["processes"] += is_different(one_a, one_b, None, None)
    assert flagged["processes"] <= 1, flagged
    assert flagged["rounds"] >= 4, flagged


@pytest.mark.alone  # fib(90) against fib(0) in two rounds of 200 calls
def test_measure_samples_every_line_of_the_installed_fibext():
    import fibext
    samples = sampling.measure([0, 90], processes=8, rounds=2, number=200)
    for name in fibext.VARIANTS:
        for n in (0, 90):
            values = samples[sampling.fib_key(name, n)]
            assert len(values) == 2 and all(v > 0 for v in values)  # one a group of processes
    assert len(samples[sampling.NOOP_KEY]) == 2
    assert len(samples[sampling.pure_c_key("latency", 90)]) == 2
    assert all(v > 0 for v in samples[sampling.pure_c_key("latency", 90)])
    assert not [key for key in samples if key.startswith((sampling.PURE_C_SERIAL,
                                                          sampling.PURE_C_FENCE))]
    assert len(samples[sampling.CONTROL_KEY]) == 2
    # fib(90) loops 90 times: slower than fib(0) for every variant whose call is not most of
    # its time (ctypes: 225 against 260 ns, closer than 4 samples of 200 calls can tell apart
    # on a busy machine).  Compared within each group (its processes' rounds interleave the
    # lines): across groups a neighbour's load of seconds can put one's fib(0) above another's
    # fib(90) (Zen 4, docs/measurements.md: two levels, seconds long).
    for name in set(fibext.VARIANTS) - {"ctypes"}:
        for slow, fast in zip(samples[sampling.fib_key(name, 90)],
                              samples[sampling.fib_key(name, 0)]):
            assert slow > fast, name


def test_the_environment_can_narrow_the_lines_sampled(monkeypatch):
    # the drill times six lines; its processes sample those and nothing else
    monkeypatch.setenv(sampling.LINES_ENV, r"^(control|fib capi 90|pure-c latency 90)$")
    samples = sampling.measure([0, 90], processes=1, rounds=2, number=100, group=1)
    assert set(samples) == {"control", "fib capi 90", "pure-c latency 90",
                            "pure-c throughput 90"}
    monkeypatch.setenv(sampling.LINES_ENV, "^noop$")
    assert set(sampling.measure([90], processes=1, rounds=1, number=10, group=1)) == {"noop"}


def test_the_control_is_fibs_loop_in_the_suite_itself():
    # the same work as the pure-Python variant (bit for bit), in code no commit of fibext holds
    import fibext
    for n in (0, 1, 10, 90):
        assert sampling.control(n) == fibext.VARIANTS["python"](n)
    assert sampling.control(90) == 2.880067194370816e+18
    assert "fibext" not in sampling.control.__module__


def test_a_failing_sampling_process_is_an_error_not_an_empty_result(monkeypatch):
    monkeypatch.setattr(sampling.sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="sampling process failed"):
        sampling.measure([0], processes=4, rounds=1, number=1)


def test_each_line_says_what_its_number_is():
    # asv shows the benchmark's source on the site: the docstring must match the sampling.
    rank = sampling.ROUNDS // 10 + 1  # process_figure's rank, as the docstrings word it
    fastest = {1: "fastest", 2: "second fastest", 3: "third fastest", 4: "fourth fastest",
               5: "fifth fastest"}[rank]
    group = {3: "three", 4: "four", 5: "five"}[sampling.GROUP]
    how = (f"{sampling.SAMPLES} samples (each the fastest of {group} processes, a process's "
           f"figure the {fastest} of its {sampling.ROUNDS} rounds of {sampling.NUMBER:,} "
           f"calls; {sampling.PROCESSES} processes a pass, {sampling.PASSES} passes)")
    for method in (bench_fib.Fib.track_call, bench_fib.FibNoop.track_call,
                   bench_fib.PureC.track_latency, bench_fib.PureC.track_throughput,
                   bench_fib.Control.track_call):
        doc = " ".join(inspect.getdoc(method).split())
        assert doc.startswith("Time per") and how in doc, doc


def test_each_line_hands_asv_its_samples_in_seconds():
    cache = {sampling.fib_key("capi", 90): [40.0, None, 42.0]}
    out = bench_fib.Fib().track_call(cache, "capi", 90)
    assert out == {"samples": [pytest.approx(40e-9), pytest.approx(42e-9)],
                   "number": sampling.NUMBER}
    assert bench_fib.Fib.unit == "seconds"


def test_every_sampled_line_says_in_its_version_that_it_is_in_seconds():
    # asvresults reads a line of an older version as ns, one whose version says so as seconds
    for cls in (bench_fib.Fib, bench_fib.FibNoop, bench_fib.Control, bench_fib.PureC):
        assert asvresults.SECONDS_MARK in cls.version, cls
    assert asvresults.SECONDS_MARK in bench_fib.PureC.track_latency.version


def test_a_pure_c_latency_is_its_serial_figure_less_its_fence_figure():
    """Process by process, best against best; a missing part leaves no figure."""
    serial, fence = sampling.pure_c_key("serial", 90), sampling.pure_c_key("fence", 90)
    figures = {serial: [7.9, 8.4, None, 5.0], fence: [5.2, 5.1, 5.2, 5.3],
               sampling.pure_c_key("throughput", 90): [1.0, 1.0, 1.0, 1.0]}
    out = sampling.latency_of_parts(figures)
    assert set(out) == {sampling.pure_c_key("latency", 90), sampling.pure_c_key("throughput", 90)}
    assert out[sampling.pure_c_key("latency", 90)] == pytest.approx([2.7, 3.3, None, 0.0])
    with pytest.raises(ValueError, match="4 figures, 3 of its fence"):
        sampling.latency_of_parts({serial: [1.0] * 4, fence: [1.0] * 3})


def test_a_process_figure_of_the_parts_is_not_pulled_low_by_a_slow_fence():
    """The rounds' own differences: a round whose fence ran slow looks fast, and a low
    quantile picks it; the parts' low quantiles do not."""
    rounds = 40
    serial = [7.9] * rounds
    fence = [5.2] * (rounds - 6) + [7.0] * 6      # six rounds with a disturbed fence
    per_round = sampling.process_figure([s - f for s, f in zip(serial, fence)])
    parts = sampling.process_figure(serial) - sampling.process_figure(fence)
    assert per_round == pytest.approx(0.9) and parts == pytest.approx(2.7)
