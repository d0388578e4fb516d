"""The regression gate: run before merging (CI can run it too).

    python benchmarks/gate.py [--base main] [--head HEAD] [--bench REGEX] [--machine NAME]

Runs ``asv continuous base head`` (both commits built and benchmarked in one asv run, their
rounds interleaved, samples recorded), then judges every benchmark line of the two results
with the threshold of its kind (``regressions_thresholds`` in asv.conf.json, the same
numbers the published history's step detection uses).  A time is slower when head/base
exceeds 1 + threshold *and*, where asv recorded samples, asv's own significance test
(Mann-Whitney U, else 99% CI overlap) says they differ: asv compare's rule, applied with a
factor per kind, which ``asv continuous --factor`` cannot express.  head/base is the ratio of
the values asv stores, the ones the site publishes: for fib, the no-op floor and pure C a
robust figure of 80 samples from 16 processes (benchmarks/benchmarks/sampling.py).
Instruction counts (unit "instructions", bench_instructions.py) are exact: the threshold alone
decides.

Prints a short table of what changed and exits 1 on any regression beyond its threshold,
2 when a benchmark failed or asv could not run, 0 otherwise.  Results go to
.asv/gate-results/, never into the published history's .asv/results/.  asv builds commits,
not the working tree: commit what you want measured.

Why these thresholds (measured on this machine class, a noisy 2-vCPU KVM guest): see
THRESHOLDS_MEASURED.
"""

import argparse
import itertools
import json
import math
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
GATE_RESULTS = ".asv/gate-results"
#: Where the thresholds come from (printed by --help).
THRESHOLDS_MEASURED = """\
Thresholds: asv.conf.json's "regressions_thresholds", one per kind of benchmark, each above
the largest change measured between runs of identical binaries on the 2-vCPU KVM guest; the
measurements are tabled in README.md, "Regressions you can trust".
"""


def load_conf(root=ROOT):
    from asv import util as asv_util
    return asv_util.load_json(str(pathlib.Path(root) / "asv.conf.json"), js_comments=True)


def load_thresholds(root=ROOT):
    """(thresholds, where from): asv.conf.json's regressions_thresholds, the one place they
    are set (asv publish reads them too)."""
    thresholds = load_conf(root).get("regressions_thresholds")
    if not thresholds:
        raise SystemExit(f"gate: {pathlib.Path(root) / 'asv.conf.json'} sets no "
                         "regressions_thresholds; the gate judges by them")
    return dict(thresholds), "asv.conf.json regressions_thresholds"


def threshold_for(thresholds, entry_name, default=0.05):
    """asv's rule (plugins/regressions.py): the largest threshold whose regex re.match()es
    the entry name; asv's 5% where none does."""
    matching = [float(t) for regex, t in thresholds.items() if re.match(regex, entry_name)]
    return max(matching) if matching else default


def entry_name(name, params=()):
    """The name asv gives one line of a benchmark: name(param, param) (params as asv stores
    them, e.g. 'cython' with its quotes)."""
    return f"{name}({', '.join(params)})" if params else name


def is_count(benchmark):
    return benchmark.get("unit") == "instructions"


def result_lines(result, benchmarks=None):
    """{(name, params): (value, stats, samples)} of one asv Results, every parameter combination:
    of the benchmarks in benchmarks (benchmarks.json's, at their current version), or of every
    benchmark the Results holds."""
    lines = {}
    names = result.get_result_keys(benchmarks) if benchmarks else result.get_all_result_keys()
    for name in names:
        params = result.get_result_params(name)
        values = result.get_result_value(name, params)
        stats = result.get_result_stats(name, params)
        samples = result.get_result_samples(name, params)
        combos = list(itertools.product(*params)) if params else [()]
        for combo, value, stat, sample in zip(combos, values, stats, samples):
            lines[(name, combo)] = (value, stat, sample)
    return lines


def _na(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def judge(base_lines, head_lines, benchmarks, thresholds):
    """Every line measured on both sides, judged: a list of dicts with name, params, kind
    ("counts" or "time"), base, head, ratio, threshold, verdict ("slower", "faster", "same"
    or "failed"), sorted worst first."""
    from asv.commands.compare import _is_result_better

    rows = []
    for key in sorted(set(base_lines) & set(head_lines)):
        name, combo = key
        benchmark = benchmarks.get(name, {})
        (a, a_stats, a_samples), (b, b_stats, b_samples) = base_lines[key], head_lines[key]
        threshold = threshold_for(thresholds, entry_name(name, combo))
        kind = "counts" if is_count(benchmark) else "time"
        row = {"name": name, "params": combo, "kind": kind, "base": a, "head": b,
               "threshold": threshold, "unit": benchmark.get("unit", "seconds")}
        if b is None:
            row.update(ratio=math.nan, verdict="failed")  # head failed where it ran
        elif _na(a) or _na(b):
            row.update(ratio=math.nan, verdict="same")  # failed or skipped at base: no judgement
        else:
            factor = 1 + threshold
            ss_a = (a_stats, a_samples) if kind == "time" else None
            ss_b = (b_stats, b_samples) if kind == "time" else None
            ratio = b / a if a else math.inf
            if _is_result_better(a, b, ss_a, ss_b, factor):
                verdict = "slower"
            elif _is_result_better(b, a, ss_b, ss_a, factor):
                verdict = "faster"
            else:
                verdict = "same"
            row.update(ratio=ratio, verdict=verdict)
        rows.append(row)
    order = {"slower": 0, "failed": 1, "faster": 2, "same": 3}
    rows.sort(key=lambda r: (order[r["verdict"]], -(r["ratio"] if r["ratio"] == r["ratio"] else 0)))
    return rows


def _value(value, unit):
    if value is None:
        return "failed"
    if isinstance(value, float) and math.isnan(value):
        return "skipped"
    if unit == "seconds":
        for scale, suffix in ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1, "s")):
            if abs(value) < scale * 1000:
                return f"{value / scale:.4g} {suffix}"
    if unit == "instructions":
        return f"{value:,.1f}"
    return f"{value:.4g} {unit}"


def table(rows, show_same=False):
    """The short table: changed lines (and, with show_same, the others)."""
    shown = [r for r in rows if show_same or r["verdict"] != "same"]
    lines = ["| verdict | benchmark | kind | base | head | ratio | threshold |",
             "|---|---|---|---:|---:|---:|---:|"]
    for r in shown:
        ratio = f"{r['ratio']:.3f}x" if r["ratio"] == r["ratio"] else "n/a"
        lines.append(f"| {r['verdict']} | {entry_name(r['name'], r['params'])} | {r['kind']} | "
                     f"{_value(r['base'], r['unit'])} | {_value(r['head'], r['unit'])} | {ratio} | "
                     f"{100 * r['threshold']:.1f}% |")
    if not shown:
        lines.append("| same | (every line within its threshold) | | | | | |")
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("slower", "faster", "failed", "same")}
    lines.append("")
    lines.append(f"{len(rows)} lines compared: {counts['slower']} slower, {counts['faster']} faster, "
                 f"{counts['failed']} failed, {counts['same']} within their thresholds.")
    return "\n".join(lines)


def git(*args, cwd=ROOT):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def load_results(results_dir, machine, commit):
    """The asv Results of one commit on machine (the newest file if there are several)."""
    from asv import results as asv_results
    found = [r for r in asv_results.iter_results_for_machine(str(results_dir), machine)
             if r.commit_hash == commit]
    if not found:
        raise FileNotFoundError(f"no results for {commit[:8]} on {machine} in {results_dir}")
    return max(found, key=lambda r: r.date or 0)


def load_benchmarks(results_dir):
    with open(pathlib.Path(results_dir) / "benchmarks.json") as f:
        data = json.load(f)
    data.pop("version", None)
    return data


def default_machine():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from history import stable_machine_name
    finally:
        sys.path.pop(0)
    return stable_machine_name()


def run_continuous(root, base, head, machine, factor, bench=(), results_dir=GATE_RESULTS,
                   quick=False):
    """asv continuous base head with this repository's config, results kept apart: asv's
    exit code (0, 1 slower beyond factor, 2 failed)."""
    root = pathlib.Path(root).resolve()
    conf = load_conf(root)
    # Absolute paths: asv reads some relative to the config file, some to the directory it
    # runs in.  Same repository, environments and suite; results kept apart.
    conf["repo"] = str(root)
    for key in ("env_dir", "html_dir", "benchmark_dir"):
        conf[key] = str(root / conf[key])
    conf["results_dir"] = str(root / results_dir)
    conf.pop("regressions_thresholds", None)  # not read by continuous
    config = root / ".asv" / "gate.asv.conf.json"  # .asv/ is ignored by git
    config.parent.mkdir(exist_ok=True)
    config.write_text(json.dumps(conf, indent=1))
    try:
        asv = [sys.executable, "-m", "asv"]
        subprocess.run([*asv, "machine", "--yes", "--machine", machine], cwd=root, check=True,
                       stdout=subprocess.DEVNULL)
        command = [*asv, "--config", str(config), "continuous", "--factor", f"{factor:.4f}",
                   "--machine", machine, "--show-stderr", "--record-samples",
                   "--launch-method", "spawn"]
        for pattern in bench:
            command += ["--bench", pattern]
        if quick:
            command.append("--quick")
        print("+ asv continuous", " ".join(command[command.index("continuous") + 1:]),
              base[:8], head[:8], flush=True)
        return subprocess.run([*command, base, head], cwd=root).returncode
    finally:
        config.unlink(missing_ok=True)


def main(argv=None, root=ROOT):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=THRESHOLDS_MEASURED)
    parser.add_argument("--base", default="main", help="the commit to compare against (main)")
    parser.add_argument("--head", default="HEAD", help="the commit under test (HEAD)")
    parser.add_argument("--bench", action="append", default=[],
                        help="only benchmarks matching this regex (asv --bench; repeatable)")
    parser.add_argument("--machine", default=None,
                        help="asv machine name (default: the main job's, from the CPU model)")
    parser.add_argument("--all", action="store_true", help="list unchanged lines too")
    parser.add_argument("--quick", action="store_true",
                        help="one sample per benchmark: a smoke test, not a verdict")
    args = parser.parse_args(argv)
    root = pathlib.Path(root)

    base, head = git("rev-parse", args.base, cwd=root), git("rev-parse", args.head, cwd=root)
    if git("status", "--porcelain", "--untracked-files=no", cwd=root):
        print("gate: the working tree has uncommitted changes; asv measures commits only, "
              f"so head is {head[:8]} as committed.", file=sys.stderr)
    machine = args.machine or os.environ.get("FIBEXT_MACHINE") or default_machine()
    thresholds, source = load_thresholds(root)
    # asv continuous's one factor: the smallest time threshold (its own verdict is printed
    # with it); the gate's verdict then applies each line's threshold.
    wall = [float(t) for regex, t in thresholds.items() if not regex.startswith("bench_instructions")]
    factor = 1 + min(wall + [0.05])
    status = run_continuous(root, base, head, machine, factor, args.bench, quick=args.quick)
    if status not in (0, 1, 2):
        print(f"gate: asv continuous could not run (exit {status})", file=sys.stderr)
        return 2

    results_dir = root / GATE_RESULTS
    benchmarks = load_benchmarks(results_dir)
    rows = judge(result_lines(load_results(results_dir, machine, base), benchmarks),
                 result_lines(load_results(results_dir, machine, head), benchmarks),
                 benchmarks, thresholds)
    print()
    print(f"Gate: {head[:8]} ({args.head}) against {base[:8]} ({args.base}) on {machine}; "
          f"thresholds from {source}.")
    print(table(rows, show_same=args.all))
    if any(r["verdict"] == "slower" for r in rows):
        print("gate: FAIL (a regression beyond its threshold)")
        return 1
    if status == 2 or any(r["verdict"] == "failed" for r in rows):
        print("gate: a benchmark failed (see asv's output above)")
        return 2
    print("gate: pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
