"""Shared fixtures: every test of fib runs once per variant of the registry; the scratch clones
and published sites of the end-to-end tests (helpers.py holds the plain functions)."""

import os
import pathlib
import subprocess
import sys

import pytest

import fibext
from helpers import ONE_PYTHON, REPO, SCRATCH_MACHINE, main_job, scratch_clone, share_asv_env


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's loadgroup reads the groups
def pytest_collection_modifyitems(config, items):
    """A test that shares the session's asv environment must be marked alone (tests/run --all
    runs those one at a time).  Two at a time (-n 2 --dist loadgroup), a file's tests stay on
    one worker, so a module's fixture (a wheel, a sanitized build) is built once; a test in a
    named xdist_group (the builds in the checkout's own build/) joins its group instead."""
    grouped = config.pluginmanager.hasplugin("xdist")  # not in the other Pythons' venvs
    for item in items:
        if "asv_env" in item.fixturenames and not item.get_closest_marker("alone"):
            raise pytest.UsageError(f"{item.nodeid} uses the session's asv environment: "
                                    "mark it alone")
        if grouped and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


@pytest.fixture(params=list(fibext.VARIANTS))
def variant(request):
    """A variant's name; the test gets it from fibext.VARIANTS, the one registry."""
    return request.param


@pytest.fixture
def fib(variant):
    return fibext.VARIANTS[variant]


@pytest.fixture(params=[name for name in fibext.VARIANTS if name != "python"])
def compiled_fib(request):
    return fibext.VARIANTS[request.param]


@pytest.fixture(scope="session", autouse=True)
def own_home(tmp_path_factory):
    """The tests and the tools they drive use a HOME of their own: asv keeps its machine file
    in ~/.asv-machine.json, and no test may read or change the user's.  pip's and npm's
    download caches and ccache's compiler cache stay where they are (named explicitly), so
    nothing is fetched or compiled twice."""
    real = pathlib.Path.home()
    home = tmp_path_factory.mktemp("home")
    saved = {key: os.environ.get(key)
             for key in ("HOME", "PIP_CACHE_DIR", "npm_config_cache", "CCACHE_DIR")}
    os.environ.setdefault("PIP_CACHE_DIR", str(real / ".cache" / "pip"))
    os.environ.setdefault("npm_config_cache", str(real / ".npm"))
    os.environ.setdefault("CCACHE_DIR", str(real / ".cache" / "ccache"))
    os.environ["HOME"] = str(home)
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def asv_env(tmp_path_factory):
    """The asv environment directory every scratch clone of the session links to
    (helpers.share_asv_env): the main job's, the drill's, the gate's, the history tests'."""
    return tmp_path_factory.mktemp("asv-env")


class PublishedSite:
    """A scratch clone of this repository with three commits benchmarked and published."""

    def __init__(self, clone, machine, command, first_run):
        self.clone = clone
        self.machine = machine
        self.command = command          # the main job's command line, to run it again
        self.first_run = first_run      # its CompletedProcess
        self.html = clone / ".asv" / "html"
        self.results = clone / ".asv" / "results"


@pytest.fixture(scope="session")
def published_site(tmp_path_factory, asv_env):
    """The main job run on a scratch clone: 3 commits (2 of them docs-only), the fib and
    import benchmarks, in two sampling passes (the fewest in which samples join; the default
    four would add two more passes of every fib line and the import times, each published,
    that no test here reads).  Shared by every test of the published history."""
    clone = share_asv_env(scratch_clone(tmp_path_factory.mktemp("site"), docs_commits=2),
                          asv_env)
    args = ["--commits", "3", "--machine", SCRATCH_MACHINE, "--bench", "bench_fib|bench_import",
            "--passes", "2"]
    first = main_job(clone, *args)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-4000:]
    return PublishedSite(clone, SCRATCH_MACHINE,
                         [sys.executable, "benchmarks/history.py", *args, *ONE_PYTHON],
                         first)


class DrillSite:
    """The drill's scratch clone, kept: its published site and what the drill printed."""

    def __init__(self, run, workdir):
        self.run = run
        (self.clone,) = [p / "fibext" for p in workdir.iterdir() if (p / "fibext").is_dir()]
        self.html = self.clone / ".asv" / "html"


@pytest.fixture(scope="session")
def drill_site(tmp_path_factory, asv_env):
    """benchmarks/drill.py, run once (docs/measurements.md has its duration per host), its
    clone kept for the tests that look at what it published, its asv environment the
    session's (--asv-env)."""
    workdir = tmp_path_factory.mktemp("drill")
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "drill.py"), "--keep",
                          "--workdir", str(workdir), "--asv-env", str(asv_env)],
                         capture_output=True, text=True, timeout=1800)
    print(run.stdout[-8000:])
    return DrillSite(run, workdir)


@pytest.fixture
def make_scratch_clone(tmp_path):
    """scratch_clone() in this test's temporary directory: make_scratch_clone(docs_commits=0)."""
    return lambda docs_commits=0: scratch_clone(tmp_path, docs_commits)


@pytest.fixture
def bench_module(monkeypatch):
    """Import a module of the asv suite (benchmarks/benchmarks/) afresh, with strict imports:
    a name fibext lacks fails instead of skipping.  bench_module("bench_memory")."""
    import importlib
    monkeypatch.setenv("FIBEXT_BENCH_STRICT_IMPORTS", "1")

    def load(name):
        monkeypatch.delitem(sys.modules, f"benchmarks.{name}", raising=False)
        return importlib.import_module(f"benchmarks.{name}")
    return load
