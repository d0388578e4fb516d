"""Several benchmark machines in one published history.

asv keeps results per machine (<results>/<machine>/).  Each benchmark machine runs the main
job; their results directories are then gathered into one results directory and published
together: every graph exists once per machine, and each benchmark's page offers the machines to
choose from.  Here a second machine name measures the fixture's commits in a results directory
of its own, as another host would, and both are gathered and published into a scratch site.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from asv import util as asv_util

from benchmarks import sampling

SECOND_MACHINE = "second-test-machine"
FIB = "bench_fib.Fib.track_call"

pytestmark = [pytest.mark.slow, pytest.mark.alone]


def write_config(clone, path, **paths):
    """The clone's asv.conf.json with its directories replaced by absolute paths, on the
    running Python (as the fixture's main job ran)."""
    conf = asv_util.load_json(str(clone / "asv.conf.json"), js_comments=True)
    conf.update(repo=str(clone), benchmark_dir=str(clone / "benchmarks" / "benchmarks"),
                pythons=["%d.%d" % sys.version_info[:2]],   # the fixture's one environment
                **{key: str(value) for key, value in paths.items()})
    path.write_text(json.dumps(conf, indent=2))
    return path


def asv(*args, config, env=None):
    result = subprocess.run([sys.executable, "-m", "asv", *args, "--config", str(config)],
                            cwd=config.parent, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result


def machine_of(path):
    """The machine a published graph belongs to: its machine-<name> path component."""
    return next(part[len("machine-"):] for part in path.parts if part.startswith("machine-"))


def test_two_machines_in_one_published_site(published_site, tmp_path):
    clone, first = published_site.clone, published_site.machine
    commits = sorted(json.loads(p.read_text())["commit_hash"]
                     for p in (published_site.results / first).glob("*-*.json"))
    assert len(commits) == 3

    # The second machine: its own results directory and machine file (HOME), the fixture's
    # environments and cached wheels (nothing is rebuilt), fib only, one sample per value.
    home = tmp_path / "home"
    home.mkdir()
    # the sampling processes time the fib lines alone (sampling.LINES_ENV): the no-op, pure C
    # and the control would take a third of each process for lines this run does not select
    env = {**os.environ, "HOME": str(home), sampling.LINES_ENV: r"^fib "}
    second = write_config(clone, tmp_path / "second.conf.json", env_dir=clone / ".asv" / "env",
                          results_dir=tmp_path / "second-results",
                          html_dir=tmp_path / "second-html")
    hashfile = tmp_path / "hashes.txt"
    hashfile.write_text("\n".join(commits) + "\n")
    asv("machine", "--yes", "--machine", SECOND_MACHINE, config=second, env=env)
    asv("run", f"HASHFILE:{hashfile}", "--machine", SECOND_MACHINE,
        "--bench", r"^bench_fib\.Fib\.", "--quick", "--show-stderr", config=second, env=env)

    # Gathering: every machine's directory side by side in one results directory, then publish.
    gathered = tmp_path / "gathered"
    shutil.copytree(published_site.results / first, gathered / first)
    shutil.copytree(tmp_path / "second-results" / SECOND_MACHINE, gathered / SECOND_MACHINE)
    shutil.copy2(published_site.results / "benchmarks.json", gathered / "benchmarks.json")
    html = tmp_path / "html"
    publish = write_config(clone, tmp_path / "publish.conf.json", env_dir=clone / ".asv" / "env",
                           results_dir=gathered, html_dir=html)
    asv("publish", config=publish)

    index = json.loads((html / "index.json").read_text())
    assert sorted(index["params"]["machine"]) == sorted([first, SECOND_MACHINE])
    graphs = {}
    for path in (html / "graphs").rglob(f"{FIB}.json"):
        if "summary" not in path.parts:
            graphs.setdefault(machine_of(path.relative_to(html)), []).append(path)
    assert sorted(graphs) == sorted([first, SECOND_MACHINE])
    for machine, paths in graphs.items():
        (path,) = paths  # one environment per machine
        points = json.loads(path.read_text())
        # A point for each of the three commits, with a value for every (variant, n).
        assert sorted(index["revision_to_hash"][str(rev)] for rev, _ in points) == commits
        assert all(values for _, values in points), machine  # an empty list holds no None
        assert all(value is not None for _, values in points for value in values), machine
