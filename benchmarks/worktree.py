"""The quick loop, for someone editing fibext: benchmark the working tree (uncommitted changes
included) in this checkout's own environment and print each line beside main's latest
published figure.  Nothing goes into the history."""

import shutil
import subprocess
import sys

import repo
from asvresults import ANY, entry_name, newest_first, results_of, values_by_benchmark
from repo import RESULTS, ROOT, ToolError
from tables import markdown_table


def working_tree(settings):
    """Measure the working tree (settings.bench selects); 0, or 1 when a benchmark failed."""
    tree = ROOT / ".asv" / "working-tree"
    print("+ pip install . (the working tree, into this checkout's environment)", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--force-reinstall", str(ROOT)], check=True)
    shutil.rmtree(tree / "results", ignore_errors=True)
    use_config = repo.config_copy(tree / "asv.conf.json", results_dir=tree / "results",
                                  html_dir=tree / "html", env_dir=tree / "env")
    head = repo.commit_of("HEAD")
    run = [*use_config, "run", "--python=same", "--set-commit-hash", head,
           "--machine", settings.machine, "--show-stderr"]
    for pattern in settings.bench:
        run += ["--bench", pattern]
    repo.register_machine(settings.machine)
    code = repo.asv(*run, check=False).returncode
    if code not in (0, 2):
        raise ToolError(f"asv run exited {code}")
    mine = values_by_benchmark(results_of(tree / "results", settings.machine, ANY)[0])
    try:
        base = newest_first(RESULTS, settings.machine, repo.commit_of(settings.branch))[0]
        theirs, label = values_by_benchmark(base), f"{settings.branch} {base.commit_hash[:8]}"
    except (FileNotFoundError, ToolError):
        theirs, label = {}, f"{settings.branch}: no results on {settings.machine}"
    rows = []
    for name, lines in sorted(mine.items()):
        for combo, value in lines.items():
            before = theirs.get(name, {}).get(combo)
            ratio = f"{value / before:.3f}x" if value is not None and before else ""
            rows.append((entry_name(name, combo), _figure(before), _figure(value), ratio))
    print()
    print(markdown_table(["benchmark", label, "working tree", "ratio"], rows, "lrrr"))
    print("\nRatios of one run on a shared machine: read steps beyond the thresholds of "
          "asv.conf.json, and confirm them with benchmarks/gate.py once committed.")
    return 1 if code == 2 else 0


def _figure(value):
    return "" if value is None else f"{value:.4g}"
