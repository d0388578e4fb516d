"""The main job on two Pythons: one environment, one build and one results file per
interpreter for the same commit, a python selector on the site, and the tools reading the
running Python's results."""

import json
import re

import pytest

import asvresults
import builds
import pythons
from benchmarks import sampling
from helpers import main_job, scratch_clone, share_asv_env

pytestmark = [pytest.mark.slow, pytest.mark.alone]
MACHINE = "pythons-test-machine"


def test_the_main_job_measures_each_python_apart(tmp_path, asv_env, monkeypatch):
    running = asvresults.running_python()
    others, _ = pythons.find([v for v in pythons.wanted() if v != running])
    assert others, "this machine has one Python of asv.conf.json's: the matrix needs two"
    other = sorted(others)[0]
    clone = share_asv_env(scratch_clone(tmp_path), asv_env)   # the other Python's env: new
    # the sampling processes time the lines the run selects alone (sampling.LINES_ENV; the
    # main job's inherit it): not the control and pure C, a third of each process
    monkeypatch.setenv(sampling.LINES_ENV, rf"^({sampling.NOOP_KEY}|fib .*)$")
    run = main_job(clone, "-n", "1", "--machine", MACHINE, "--python", running, "--python",
                   other, "--bench", r"bench_fib\.(Fib|FibNoop)\.", "--passes", "1")
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert f"Pythons: {running} (" in run.stdout and f", {other} (" in run.stdout
    results = clone / ".asv" / "results" / MACHINE
    files = {json.loads(p.read_text())["python"]: p
             for p in results.glob("*.json") if p.name != "machine.json"}
    assert set(files) == {running, other}
    # one build each: the same commit, other bytes on each interpreter
    records = builds.load_records(clone / ".asv" / "results", MACHINE)
    by_python = {re.search(r"-py(\d+\.\d+)-", env).group(1): r["build"]
                 for (env, _), r in records.items()}
    assert set(by_python) == {running, other} and len(set(by_python.values())) == 2
    # the site's graphs have a python selector; every line stays on its own interpreter
    index = json.loads((clone / ".asv" / "html" / "index.json").read_text())
    assert set(index["params"]["python"]) == {running, other}
    graphs = list((clone / ".asv" / "html" / "graphs").rglob("python-*"))
    assert {g.name for g in graphs} >= {f"python-{running}", f"python-{other}"}
    # the report: Table 1-1 once per Python, each from its own results, and the builds
    report = (clone / ".asv" / "html" / "report")
    table = (report / "pythons-table.md").read_text()
    assert f"fib(90) ns ({running})" in table and f"fib(90) ns ({other})" in table
    capi = [line for line in table.splitlines() if line.startswith("| capi |")]
    assert capi and capi[0].count("x |") == 2          # a speed-up on each interpreter
    page = (report / "index.html").read_text()
    assert 'id="pythons"' in page and 'id="builds"' in page and "one build of 1 commit" in page
