"""Shared fixtures: every test of fib runs once per variant of the registry."""

import pathlib
import subprocess
import sys

import pytest

import fibext

REPO = pathlib.Path(__file__).resolve().parent.parent


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


SCRATCH_MACHINE = "scratch-test-machine"


class PublishedSite:
    """A scratch clone of this repository with three commits benchmarked and published."""

    def __init__(self, clone, machine, command, first_run):
        self.clone = clone
        self.machine = machine
        self.command = command          # the main job's command line, to run it again
        self.first_run = first_run      # its CompletedProcess
        self.html = clone / ".asv" / "html"
        self.results = clone / ".asv" / "results"


def _git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def published_site(tmp_path_factory):
    """The main job run on a scratch clone: 3 commits (2 of them docs-only), fib and import
    benchmarks in --quick mode.  Shared by every test of the published history."""
    clone = tmp_path_factory.mktemp("site") / "fibext"
    _git("clone", "--quiet", "--branch", "main", str(REPO), str(clone), cwd=clone.parent)
    for i in range(2):  # commits that change nothing measurable
        with open(clone / "README.md", "a") as readme:
            readme.write(f"\nA line for the history test, {i}.\n")
        _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", f"docs {i}", cwd=clone)
    command = [sys.executable, "benchmarks/history.py", "--commits", "3", "--machine",
               SCRATCH_MACHINE, "--bench", "bench_fib|bench_import", "--quick"]
    first = subprocess.run(command, cwd=clone, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-4000:]
    return PublishedSite(clone, SCRATCH_MACHINE, command, first)
