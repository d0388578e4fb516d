"""Lint, in the fast tier: ruff (pyflakes and the import rules, configured in pyproject.toml)
over the Python of the whole checkout."""

import shutil
import subprocess

from helpers import REPO


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    assert ruff, "ruff missing: tests/run installs the test extra (pyproject.toml)"
    done = subprocess.run([ruff, "check", "--no-cache", "."], cwd=REPO, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
