"""Lint, in the fast tier: ruff (pyflakes and the import rules) over the Python of the whole
checkout, cython-lint over fibext's .pyx and .pxd files (both configured in pyproject.toml)."""

import shutil
import subprocess

from helpers import REPO


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    assert ruff, "ruff missing: tests/run installs the test extra (pyproject.toml)"
    done = subprocess.run([ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_cython_lint_finds_nothing():
    cython_lint = shutil.which("cython-lint")
    assert cython_lint, "cython-lint missing: tests/run installs the test extra (pyproject.toml)"
    sources = sorted(str(p) for p in (REPO / "fibext").glob("*.p[yx][xd]"))
    assert any(s.endswith(".pyx") for s in sources) and any(s.endswith(".pxd") for s in sources)
    done = subprocess.run([cython_lint, *sources], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
