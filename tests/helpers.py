"""What the tests share besides fixtures (conftest.py): the checkout, git, scratch clones and the
main job as its user runs it.  Importable from every test folder (pyproject's pythonpath)."""

import pathlib
import subprocess
import sys

#: The checkout under test.
REPO = pathlib.Path(__file__).resolve().parent.parent
#: The machine name the end-to-end tests keep their results under.
SCRATCH_MACHINE = "scratch-test-machine"
#: The end-to-end runs of the main job measure on the Python running the tests; one test
#: (tests/e2e/test_pythons_e2e.py) measures on two.
ONE_PYTHON = ["--python", "%d.%d" % sys.version_info[:2]]


class Index:
    """An object usable as an index, whose __index__ returns or raises what it is given."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value

    def __repr__(self):
        return f"Index({self.value!r})"


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def commit_all(clone, message):
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", message, cwd=clone)


def scratch_clone(directory, docs_commits=0):
    """A clone of this repository's main in directory/fibext, with docs_commits commits on
    top that change nothing measurable (a README line each)."""
    clone = pathlib.Path(directory) / "fibext"
    git("clone", "--quiet", "--branch", "main", str(REPO), str(clone), cwd=directory)
    for i in range(docs_commits):
        with open(clone / "README.md", "a") as readme:
            readme.write(f"\nA line for a test of the history, {i}.\n")
        commit_all(clone, f"docs {i}")
    return clone


def share_asv_env(clone, env):
    """clone's asv environment directory (.asv/env) made a link to env, the one directory of
    asv environments the session's scratch clones share (conftest.py's asv_env): asv keys an
    environment by its matrix and Python and a cached wheel by its commit, and the clones are
    of one repository, so each environment is made once a session and main's tip built once,
    where every clone made its own (~20-30 s each) and built the tip again."""
    (clone / ".asv").mkdir(exist_ok=True)
    (clone / ".asv" / "env").symlink_to(env)
    return clone


def main_job(clone, *args):
    """The main job (benchmarks/history.py) on a clone, as its user runs it (on the running
    Python only, unless args name --python)."""
    args = list(args) if "--python" in args or "--working-tree" in args else [*args, *ONE_PYTHON]
    return subprocess.run([sys.executable, "benchmarks/history.py", *args], cwd=clone,
                          capture_output=True, text=True)
