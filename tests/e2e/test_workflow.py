"""The CI workflows (.github/workflows/): they cannot run here, so they are checked statically.

actionlint (with its .github/actionlint.yaml, and ShellCheck on the ``run:`` scripts where it is
installed) finds nothing; every job's commands run this repository's scripts, which exist
(and are executable where called directly); and every option given to a script is one the
script accepts (its ``--help``; for a shell wrapper such as benchmarks/run, the ``--help`` of
the Python script it hands its arguments to).
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from helpers import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
BIN = pathlib.Path(sys.executable).parent  # this venv's tools: actionlint (the test extra)
# A path into the repository's own tools, as a run: command names it.
SCRIPT = re.compile(r"(?<![\w./$-])(?:\./)?((?:benchmarks|tests|\.ci|\.github)/[\w./-]*\w)")
# A shell wrapper that hands its arguments to a Python script: `exec python x.py "$@"`.
HANDS_TO = re.compile(r'^exec python3? (\S+\.py) "\$@"$', re.M)


def steps_that_run():
    """(workflow file name, job id, the step's run: text) for every run: step."""
    for path in WORKFLOWS:
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    yield path.name, job_id, step["run"]


def command_lines(text):
    """The script's lines that are commands: no comments, continuation lines joined."""
    text = text.replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_there_is_a_workflow():
    assert [p.name for p in WORKFLOWS] == ["benchmarks.yml"]


def test_actionlint_finds_nothing():
    actionlint = shutil.which("actionlint", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if actionlint is None:
        pytest.fail("actionlint not found: install the test extra (pip install -e '.[test]')")
    done = subprocess.run([actionlint, "-no-color", *WORKFLOWS], cwd=REPO,
                          capture_output=True, text=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_every_job_runs_scripts_of_this_repository_that_exist():
    named = {}
    for workflow, job, text in steps_that_run():
        for line in command_lines(text):
            for script in SCRIPT.findall(line):
                path = REPO / script
                assert path.is_file(), f"{workflow} {job}: {script} does not exist"
                if line.split()[0] in (script, f"./{script}"):  # called directly: needs +x
                    assert os.access(path, os.X_OK), f"{workflow} {job}: {script} is not executable"
                named.setdefault((workflow, job), set()).add(script)
    jobs = {(p.name, job) for p in WORKFLOWS for job in yaml.safe_load(p.read_text())["jobs"]}
    assert jobs, f"no workflow job found in {WORKFLOWS}: nothing was checked"
    assert set(named) == jobs, f"jobs that run no script of this repository: {jobs - set(named)}"


def python_script_for(script):
    """The Python script whose --help lists script's options, or None."""
    path = REPO / script
    if path.suffix == ".py":
        return path
    handed = HANDS_TO.findall(path.read_text())
    return REPO / handed[0] if handed else None


def test_every_option_given_to_a_script_is_one_it_accepts():
    checked = 0
    for workflow, job, text in steps_that_run():
        for line in command_lines(text):
            words = line.split()
            for i, word in enumerate(words):
                if not SCRIPT.fullmatch(word) or word.endswith(".sh"):
                    continue
                # Its options: the words up to the end of this command (a pipe, a list, a
                # redirection).
                options = []
                for arg in words[i + 1:]:
                    if arg in ("|", "||", "&&", ";") or arg.startswith(("2>", ">", "|")):
                        break
                    if arg.startswith("--"):
                        options.append(arg.split("=")[0])
                if not options:
                    continue
                target = python_script_for(word.removeprefix("./"))
                assert target is not None, f"{workflow} {job}: cannot tell what {word} accepts"
                help_text = subprocess.run([sys.executable, target, "--help"], cwd=REPO,
                                           capture_output=True, text=True, check=True).stdout
                for option in options:
                    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), \
                        f"{workflow} {job}: {word} does not accept {option}"
                    checked += 1
    assert checked  # the gate's --base/--head and the main job's options were seen
