"""The asv repository: its config, the suite under asv, and the main job end to end."""

import json
import os
import re
import subprocess
import sys

import pytest
from asv import config as asv_config
from asv import util as asv_util

from helpers import REPO as ROOT

pytestmark = pytest.mark.alone

CONF = asv_util.load_json(str(ROOT / "asv.conf.json"), js_comments=True)
# Keys asv reads; asv ignores any other key without a word, so a typo disables a setting.
KNOWN_KEYS = set(vars(asv_config.Config())) | {"version", "build_cache_size"}
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def asv(*args, cwd=ROOT, env=None, check=True):
    result = subprocess.run([sys.executable, "-m", "asv", *args], cwd=cwd, env=env,
                            capture_output=True, text=True)
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def test_config_names_only_keys_asv_reads():
    assert set(CONF) <= KNOWN_KEYS, set(CONF) - KNOWN_KEYS


def test_config_main_branch_one_compile_and_a_cache_for_the_history():
    assert CONF["branches"] == ["main"]
    (build,) = CONF["build_command"]
    assert build.startswith("python -m pip wheel --no-deps --no-build-isolation")
    assert CONF["build_cache_size"] >= 10  # the main job's default history rebuilds nothing
    assert CONF["benchmark_dir"] == "benchmarks/benchmarks"


def test_asv_environments_get_fibexts_dependencies():
    # asv installs each commit's wheel with --no-deps: what fibext needs must be in the matrix,
    # or the benchmarks of fibext.memory silently skip as if the module were missing.
    import tomllib
    needs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~ \[;]", need, maxsplit=1)[0].lower() for need in needs}
    assert names, "pyproject.toml names no dependency of fibext (numpy at least)"
    assert names <= {name.lower() for name in CONF["matrix"]["req"]}


def test_the_tools_environment_holds_the_pinned_asv_and_asv_runner():
    # pinned exactly in one place (benchmarks/requirements.txt); whichever release that is,
    # the environment running the tools must hold it
    pins = dict(re.findall(r"^([A-Za-z_]+)==(\S+)", (ROOT / "benchmarks/requirements.txt").read_text(), re.M))
    assert {"asv", "asv_runner"} <= set(pins)
    from importlib.metadata import version
    assert version("asv") == pins["asv"] and version("asv_runner") == pins["asv_runner"]


def test_asv_runner_is_pinned_in_the_benchmark_environments_too():
    pins = dict(re.findall(r"^([A-Za-z_]+)==(\S+)", (ROOT / "benchmarks/requirements.txt").read_text(), re.M))
    assert CONF["matrix"]["req"]["asv_runner"] == [pins["asv_runner"]]


def test_asv_check():
    asv("check", "--python=same")


@pytest.mark.slow
def test_whole_suite_runs_once_under_asv():
    env = {**os.environ, "FIBEXT_BENCH_STRICT_IMPORTS": "1"}
    # the tests' own HOME knows no machine yet: register this one there (never the user's)
    asv("machine", "--yes", "--machine", "suite-test-machine", env=env)
    result = asv("run", "--python=same", "--quick", "--dry-run", "--show-stderr",
                 "--machine", "suite-test-machine", env=env, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "failed" not in output
    assert re.search(r"bench_fib\.Fib\.track_call\s+ok", output), output[-3000:]



def result_files(clone, machine):
    return sorted((clone / ".asv" / "results" / machine).glob("*-*.json"))


@pytest.mark.slow
def test_main_job_end_to_end_on_a_scratch_clone(published_site):
    clone, machine, command = published_site.clone, published_site.machine, published_site.command
    first = published_site.first_run
    assert "127.0.0.1" in first.stdout and ".asv/html" in first.stdout
    assert "Benchmarking" in first.stdout  # asv's word for measuring: the run again must lack it

    files = result_files(clone, machine)
    assert len(files) == 3  # one results file per commit

    html = clone / ".asv" / "html"
    index = json.loads((html / "index.json").read_text())
    suite = json.loads((clone / ".asv" / "results" / "benchmarks.json").read_text())
    suite.pop("version", None)
    assert set(index["benchmarks"]) == set(suite)
    ran = [name for name in suite if name.startswith(("bench_fib.", "bench_import."))]
    assert ran
    graphs = {p.stem for p in (html / "graphs").rglob("*.json")}
    assert not [name for name in ran if name not in graphs]

    # Offline: no page, script or stylesheet of the site loads anything from elsewhere.
    pages = [page for page in html.rglob("*")
             if page.suffix in (".html", ".css") or (page.suffix == ".js" and page.parent == html)]
    assert html / "index.html" in pages, pages  # the pages were found: none is no check
    for page in pages:
        assert not EXTERNAL.search(page.read_text(errors="replace")), page
    for asset in ("jquery-3.3.1.min.js", "jquery.flot.min.js", "bootstrap.min.css"):
        assert (html / "vendor" / asset).stat().st_size > 1000

    # The report's table is the newest commit's results.
    table = (html / "report" / "fib-table.md").read_text()
    tip = subprocess.run(["git", "rev-parse", "main"], cwd=clone, check=True,
                         capture_output=True, text=True).stdout.strip()
    (newest,) = [p for p in files if json.loads(p.read_text())["commit_hash"] == tip]
    data = json.loads(newest.read_text())
    assert data["commit_hash"][:8] in table
    columns = data["result_columns"]
    fib = data["results"]["bench_fib.Fib.track_call"]
    fib += [None] * (len(columns) - len(fib))  # asv drops trailing empty columns
    variants, ns = fib[columns.index("params")]
    assert variants, fib  # the table is checked once per variant: none would check nothing
    # The report prints the figure asv stores and publishes, in ns per call (asv: seconds).
    values = dict(zip([(v, n) for v in variants for n in ns],
                      (s * 1e9 for s in fib[columns.index("result")])))
    rows = {line.split("|")[1].strip(): line.split("|")[2:4]
            for line in table.splitlines() if line.startswith("| ") and "variant" not in line}
    for variant in variants:
        name = variant.strip("'")
        # The table prints one decimal: the same rounding of the same numbers.
        assert rows[name][0].strip() == f"{values[(variant, '0')]:.1f}"
        assert rows[name][1].strip() == f"{values[(variant, '90')]:.1f}"
    assert (html / "report" / "fib.png").read_bytes()[:4] == b"\x89PNG"
    assert 'href="report/index.html"' in (html / "index.html").read_text()

    # asv_runner is the code that times: each benchmark environment holds the pinned release,
    # not the newest one asv would install unasked.
    pinned = dict(re.findall(r"^([A-Za-z_]+)==(\S+)", (ROOT / "benchmarks/requirements.txt")
                             .read_text(), re.M))["asv_runner"]
    envs = [p for p in (clone / ".asv" / "env").iterdir() if (p / "bin" / "python").exists()]
    assert envs
    for env in envs:
        held = subprocess.run([str(env / "bin" / "python"), "-c",
                               "from importlib.metadata import version; print(version('asv_runner'))"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert held == pinned, (env, held)

    # Nothing new: nothing is built or benchmarked again (how long it takes is for the notes,
    # not for a test on a shared machine).
    mtimes = [p.stat().st_mtime for p in files]
    again = subprocess.run(command, cwd=clone, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert [p.stat().st_mtime for p in result_files(clone, machine)] == mtimes
    assert "Building for" not in again.stdout and "Benchmarking" not in again.stdout
