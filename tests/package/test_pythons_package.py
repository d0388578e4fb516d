"""The package on every CPython of asv.conf.json's "pythons" this machine has: the metadata
names exactly those versions, the wheel builds for each, and the contract and kernel tests pass
on each (the fast tier runs them on the default interpreter only)."""

import json
import re
import subprocess
import sys
import tomllib

import pytest

import pythons
from helpers import REPO

# Builds in the checkout itself (its build/, its egg-info): one at a time under xdist.
pytestmark = pytest.mark.xdist_group("checkout")

#: The contract (every variant against the reference) and the kernels.
TESTS = ["tests/package/test_fib.py", "tests/package/test_memory_kernels.py"]
WANTED = pythons.wanted(REPO)


def test_metadata_names_exactly_the_pythons_benchmarked():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    classified = sorted(c.rsplit(" :: ", 1)[1] for c in project["classifiers"]
                        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert classified == sorted(WANTED)
    low, high = min(WANTED, key=_key), max(WANTED, key=_key)
    major, minor = high.split(".")
    assert project["requires-python"] == f">={low},<{major}.{int(minor) + 1}"


def _key(version):
    return tuple(int(x) for x in version.split("."))


def run(argv, **kwargs):
    done = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{argv}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.mark.slow
@pytest.mark.parametrize("version", [v for v in WANTED if v != "%d.%d" % sys.version_info[:2]])
def test_wheel_builds_and_the_contract_holds_on(version, tmp_path):
    found, skipped = pythons.find([version])
    assert version in found, f"Python {version} is not on this machine: {skipped}"
    venv = tmp_path / "venv"
    run([found[version], "-m", "venv", str(venv)])
    python = str(venv / "bin" / "python")
    build = tomllib.loads((REPO / "pyproject.toml").read_text())
    requirements = build["build-system"]["requires"] + ["numpy", "pytest", "hypothesis",
                                                         "psutil", "wheel"]
    run([python, "-m", "pip", "install", "-q", *requirements])
    run([python, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
         str(tmp_path / "wheels"), str(REPO)])
    (wheel,) = (tmp_path / "wheels").glob("fibext-*.whl")
    assert f"-cp{version.replace('.', '')}-" in wheel.name
    run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)])
    where = run([python, "-c", "import fibext, json, sys; print(json.dumps("
                 "[fibext.__file__, '%d.%d' % sys.version_info[:2]]))"], cwd=tmp_path).stdout
    module, running = json.loads(where)
    assert module.startswith(str(venv)) and running == version
    # the checkout's tests against the installed wheel (pytest from outside the checkout's
    # sources: its rootdir is the checkout, its fibext the venv's)
    done = run([str(venv / "bin" / "pytest"), "-q", "-p", "no:cacheprovider", "-m",
                "not slow", *TESTS], cwd=REPO)
    passed = re.search(r"(\d+) passed", done.stdout)
    print(f"Python {version}: {passed.group(0) if passed else done.stdout[-200:]}")
    assert passed and int(passed.group(1)) > 100 and " failed" not in done.stdout
