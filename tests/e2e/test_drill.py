"""The regression drills (benchmarks/drill.py): the injections still apply to fibext's sources,
the detection finds steps where they are and nowhere else, and the whole drill, run on a
scratch clone, reports every injected change at its own commit and no no-op commit."""

import json
import random
import shutil
import subprocess
import sys
import sysconfig

import pytest

import drill
import drill_changes
import drill_detect
import steps
from helpers import REPO

pytestmark = pytest.mark.alone


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def sources(tmp_path):
    """A git repository holding a copy of the files the drill edits."""
    shutil.copytree(REPO / "fibext", tmp_path / "fibext",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    _git("init", "-q", cwd=tmp_path)
    _git("add", ".", cwd=tmp_path)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base", cwd=tmp_path)
    return tmp_path


def test_every_commit_edits_something_and_the_tip_keeps_one_change(sources):
    """Each drill commit changes the sources (an anchor that vanished would raise here); the
    undo restores everything but the change left for the tip."""
    def snapshot():
        return {p: p.read_bytes() for p in (sources / "fibext").rglob("*") if p.is_file()}

    base_sha = _git("rev-parse", "HEAD", cwd=sources)
    base = snapshot()
    for step in drill_changes.COMMITS:
        before = snapshot()
        step.edit(sources, base_sha)
        assert snapshot() != before or "README" in step.label, step.label
    changed = {p.name for p, data in snapshot().items() if base.get(p) != data}
    # (d) stays in _capi.c, (f) in the sequential kernels; the comments stay too
    assert changed == {"_capi.c", "_cyfib_cpdef.pyx", "cmem.c", "_memory.pyx"}
    text = (sources / "fibext" / "_capi.c").read_text()
    assert f".rept {drill_changes.NOPS}" in text and "fibext_drill_fib" not in text


def test_the_tip_must_list_exactly_the_change_left_in_place(tmp_path):
    def site(names):
        (tmp_path / "regressions.json").write_text(json.dumps(
            {"regressions": [[name, "graph", {}, 0, 1.0, 1.0, [[None, 1, 1.0, 1.0]]]
                             for name in names]}))
        (tmp_path / "regressions.xml").write_text("".join(f"<title>{n}</title>" for n in names))
    good = [f"{drill.COUNTS}('capi_varargs', 0)", f"{drill.COUNTS}('capi_varargs', 90)",
            "bench_cache.MemoryCache.track_d1_misses('c', 'sequential', 196608)"]
    site(good)
    assert drill_detect.check_tip(tmp_path, drill_changes.COMMITS) == (good, [])
    site(good[:2])
    assert "does not list sequential" in drill_detect.check_tip(tmp_path, drill_changes.COMMITS)[1][0]
    site(good + [f"{drill.FIB}('capi', 90)"])
    assert "which no change left at the tip" in drill_detect.check_tip(
        tmp_path, drill_changes.COMMITS)[1][0]


NOMINAL = drill_detect.nominal_steps(drill_changes.COMMITS)


def test_a_time_step_is_asserted_only_where_the_noise_leaves_room():
    assert drill_detect.supported(NOMINAL.get("cython"), 0.15, 0.05)        # 2.8x: always
    assert drill_detect.supported(NOMINAL.get("capi"), 0.10, 0.02)          # 1.2x over 10% + 2 x 2%
    assert not drill_detect.supported(NOMINAL.get("capi"), 0.15, 0.04)      # 1.2x under 15% + 2 x 4%
    assert not drill_detect.supported(NOMINAL.get("ctypes"), 0.15, 0.0)     # no time step injected


def _line(levels, weights=None):
    """A fib line of the drill's ten commits, in seconds, with asv's weights."""
    return {"value": [None if level is None else level * 50e-9 for level in levels],
            "weight": weights or [1.0] * 10}


#: A quiet host's line: each commit within half a percent of its level.
QUIET = [1.0, 1.0, 1.004, 0.997, 1.002, 0.998, 1.003, 0.999, 1.0, 1.0]


def test_the_drill_changes_capi_twice():
    assert drill_detect.time_changes(drill_changes.COMMITS, "capi") == [(4, "slower"),
                                                                       (7, "faster")]
    assert drill_detect.time_changes(drill_changes.COMMITS, "capi_varargs") == []


@pytest.mark.parametrize("nominal", [1.2, 1.5])
def test_a_time_step_is_asserted_only_where_asv_fit_would_find_it(nominal):
    """asv's fit finds a nominal step on a quiet line; with one commit of the plateau 6% off
    its level (code placement: the nops added to capi_varargs moved capi, before functions
    and loop tops were aligned), not a 20% step, though it still finds a 50% one."""
    changes = drill_detect.time_changes(drill_changes.COMMITS, "capi")
    assert drill_detect.fit_finds(_line(QUIET), changes, nominal, 0.15)
    assert not drill_detect.fit_finds(_line(QUIET), changes, 1.1, 0.15)   # under the threshold
    placed = QUIET[:6] + [0.94] + QUIET[7:]
    assert drill_detect.fit_finds(_line(placed), changes, nominal, 0.15) == (nominal > 1.3)
    assert not drill_detect.fit_finds(_line(QUIET), [], nominal, 0.15)
    assert not drill_detect.fit_finds(_line([None] * 4 + QUIET[4:]), changes, nominal, 0.15)


def test_the_nominal_line_keeps_the_noise_and_moves_the_levels():
    line = drill_detect.nominal_line([2.0, 2.2, 5.0, 5.5, 4.5, 2.0], [(2, "slower"), (5, "faster")],
                                     3.0)
    assert line == pytest.approx([2.0 / 2.1, 2.2 / 2.1, 3.0, 3.3, 2.7, 1.0])


def test_workdir_keeps_what_was_there(tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("x")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "drill.py"),
                           "--workdir", str(tmp_path), "--source", str(tmp_path / "missing")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "not a git repository" in done.stderr
    assert keep.read_text() == "x" and sorted(tmp_path.iterdir()) == [keep]
    path, cleanup = drill.scratch_dir(tmp_path)
    assert path.parent == tmp_path
    cleanup()
    assert sorted(tmp_path.iterdir()) == [keep]


def _compile(path, tmp_path):
    include = sysconfig.get_paths()["include"]
    return subprocess.run(["cc", "-fsyntax-only", "-Wall", "-Werror", f"-I{include}",
                           f"-I{path.parent}", str(path)], capture_output=True, text=True)


def test_injected_c_compiles(sources, tmp_path):
    drill_changes.slow_capi(sources)
    drill_changes.nops_capi_varargs(sources)
    done = _compile(sources / "fibext" / "_capi.c", tmp_path)
    assert done.returncode == 0, done.stderr
    text = (sources / "fibext" / "_capi.c").read_text()
    assert f"fibext_drill_fib(n, 1, {drill_changes.CAPI_EVERY})" in text
    assert f".rept {drill_changes.NOPS}" in text


def test_injected_cython_compiles(sources, tmp_path):
    drill_changes.slow_cython(sources)
    pyx = sources / "fibext" / "_cyfib.pyx"
    done = subprocess.run([sys.executable, "-m", "cython", "-3", "-I", str(sources),
                           str(pyx), "-o", str(tmp_path / "_cyfib.c")],
                          capture_output=True, text=True, cwd=sources)
    assert done.returncode == 0, done.stderr
    c = (tmp_path / "_cyfib.c").read_text()
    assert "fibext_drill_fib(int n, int extra, int every)" in c
    assert f"fibext_drill_fib(__pyx_v_k, {drill_changes.CYTHON_EXTRA}, 1)" in c


def test_count_steps_exact():
    values = [1124.0, 1124.0, None, 1124.0, 1139.0, 1139.0, 1124.0]
    assert steps.count_steps(values, 0.005) == [(4, 1124.0, 1139.0), (6, 1139.0, 1124.0)]
    assert steps.count_steps([489.0, 490.0, 489.0], 0.005) == []  # 0.2%: below the threshold


def test_time_steps_find_big_steps_at_their_commit_and_ignore_noise():
    rng = random.Random(1)
    level = [100.0] * 3 + [280.0] * 3 + [100.0] * 3
    values = [v * rng.uniform(0.97, 1.03) for v in level]
    weights = [2 / (0.04 * v) for v in values]
    found = steps.time_steps(values, weights, 0.10)
    assert [i for i, _, _ in found] == [3, 6]
    flat = [100.0 * rng.uniform(0.97, 1.03) for _ in range(9)]
    assert steps.time_steps(flat, [2 / 4.0] * 9, 0.10) == []


def _report(index, mechanism, variant, before, after, n="'90'"):
    name = drill.COUNTS if mechanism == "counts" else drill.FIB
    return drill_detect.Report(index, mechanism, name, (f"'{variant}'", n), before, after)


def test_check_passes_the_expected_reports_and_names_the_others():
    commits = [(f"{i:040x}", "base" if i == 0 else drill_changes.COMMITS[i - 1].label)
               for i in range(len(drill_changes.COMMITS) + 1)]
    expected = []
    for i, step in enumerate(drill_changes.COMMITS, start=1):
        for variant, (direction, mechanisms) in step.expect.items():
            before, after = (1.0, 2.0) if direction == "slower" else (2.0, 1.0)
            expected += [_report(i, m, variant, before, after) for m in mechanisms]
    rows, failures = drill_detect.check(expected, commits, drill_changes.COMMITS)
    assert failures == []
    assert len(rows) == len(drill_changes.COMMITS)
    assert "own commit" in rows[2][4] and rows[0][4] == "-"

    # a no-op commit reported, and an injected change found one commit late
    capi = next(i for i, step in enumerate(drill_changes.COMMITS, start=1) if "capi" in step.expect)
    late = [r for r in expected if not (r.index == capi and r.mechanism == "time")]
    late.append(_report(capi + 1, "time", "capi", 1.0, 1.2))
    late.append(_report(1, "time", "ctypes", 1.0, 1.3))
    rows, failures = drill_detect.check(late, commits, drill_changes.COMMITS)
    assert any("commit 1" in f and "ctypes" in f for f in failures)
    assert any(f"commit {capi} " in f and "capi slower not reported by time" in f
               and f"[{capi + 1}]" in f
               for f in failures)
    assert any(f"commit {capi + 1} " in f and "unexpected time report" in f for f in failures)
    table = drill_detect.drill_table(rows)
    assert table.startswith("| # | commit | change | expected | found where | by what |")


@pytest.mark.slow
def test_drill(drill_site):
    """The drill itself, end to end (about 5 minutes here): every injected change at its own
    commit, by the expected mechanisms; nothing at a no-op commit; the tip's regression listed."""
    done = drill_site.run
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
    assert "drill: pass" in done.stdout
    table = done.stdout[done.stdout.index("| # | commit |"):]
    for step in drill_changes.COMMITS:
        assert step.label in table
    assert "The 5 noisiest lines:" in done.stdout
    assert "regressions.json (regressions still present at the tip) lists" in done.stdout
    # the 3x step is asserted wherever the host's no-op noise stays under the threshold; a
    # busier host gets no time verdict, and says so
    assert ("Time steps asserted: cython (2.80x)" in done.stdout
            or "no time verdict on this host now" in done.stdout), done.stdout[-3000:]


def test_injected_strided_read_compiles(sources, tmp_path):
    drill_changes.strided_sequential(sources)
    done = _compile(sources / "fibext" / "cmem.c", tmp_path)
    assert done.returncode == 0, done.stderr
    pyx = sources / "fibext" / "_memory.pyx"
    done = subprocess.run([sys.executable, "-m", "cython", "-3", "-I", str(sources), str(pyx),
                           "-o", str(tmp_path / "_memory.c")], capture_output=True, text=True,
                          cwd=sources)
    assert done.returncode == 0, done.stderr
    assert "a[FIBEXT_DRILL_STRIDED(i + 7, n)]" in (sources / "fibext" / "cmem.c").read_text()
    assert "a[_drill_strided(i + 7, n)]" in pyx.read_text()


def test_a_host_noisier_than_the_threshold_gets_no_time_verdict():
    commits = [(f"{i:040x}", "base" if i == 0 else drill_changes.COMMITS[i - 1].label)
               for i in range(len(drill_changes.COMMITS) + 1)]
    noise_step = [_report(1, "time", "ctypes", 1.0, 1.19)]       # a no-op commit, 19%
    count_step = [_report(1, "counts", "ctypes", 1.0, 1.02)]
    _, failures = drill_detect.check(noise_step, commits, drill_changes.COMMITS, time_verdicts=False,
                              time_supported=lambda v: False)
    assert not [f for f in failures if "unexpected" in f]        # listed, not failed
    _, failures = drill_detect.check(count_step, commits, drill_changes.COMMITS, time_verdicts=False,
                              time_supported=lambda v: False)
    assert any("unexpected counts report" in f for f in failures)   # exact ones stay strict
    _, failures = drill_detect.check(noise_step, commits, drill_changes.COMMITS)
    assert any("unexpected time report" in f for f in failures)     # a quiet host: a failure


def _asv_compare(clone, base, head):
    """{line: asv compare's mark} between two commits of the drill's kept history (asv's
    default factor, its significance test where the results have samples)."""
    done = subprocess.run([sys.executable, "-m", "asv", "compare", "--config",
                           str(clone / ".asv" / "drill.asv.conf.json"), "--machine",
                           drill.MACHINE, base, head], cwd=clone, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    marks = {}
    for line in done.stdout.splitlines():   # its table: | Change | Before | After | Ratio | name |
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[4].startswith("bench_"):
            marks[cells[4]] = cells[0] or " "
    return marks, done.stdout


@pytest.mark.slow
def test_asv_compare_tells_the_truth_on_the_drills_history(drill_site):
    """asv compare, the command every asv user types, on the drill's history: between a build
    that differs from its parent in bytes but not in code that runs (a comment in a .c file)
    it marks no wall-time line changed; at the cython slowdown it marks cython's line."""
    clone = drill_site.clone
    log = _git("log", "--first-parent", "--format=%H %s", f"-n{len(drill_changes.COMMITS) + 1}",
               cwd=clone).splitlines()[::-1]
    shas = [line.split()[0] for line in log]
    labels = ["base"] + [step.label for step in drill_changes.COMMITS]

    def pair(prefix):
        k = next(i for i, label in enumerate(labels) if label.startswith(prefix))
        return shas[k - 1], shas[k]

    marks, out = _asv_compare(clone, *pair("(a) comment in _capi.c"))
    timed = {line: m for line, m in marks.items() if line.startswith("bench_fib.")}
    assert timed and all(m == " " for m in timed.values()), out
    marks, out = _asv_compare(clone, *pair("(b)"))
    assert marks["bench_fib.Fib.track_call('cython', 90)"] == "+", out
    print(out)   # the closing note shows it
