"""The regression gate: run before merging (CI can run it too).

    python benchmarks/gate.py [--base main] [--head HEAD] [--bench REGEX] [--machine NAME]

Runs ``asv run`` on base and head (both built and benchmarked in one asv run, their rounds
interleaved, samples recorded; asv itself prints no verdict), samples their sampled lines
(measuring.PASSED: fib, memory, profile) again in passes side by side (measuring.sample_passes),
then judges every line of the
two results with the threshold of its kind (``regressions_thresholds`` in asv.conf.json, the
numbers the published history's step detection uses).  A time is slower when head/base
exceeds 1 + threshold *and*, where asv recorded samples, asv's own significance test
(Mann-Whitney U, else 99% CI overlap) says they differ: asv compare's rule with a factor per
kind, which ``asv continuous --factor`` cannot express (its one verdict, by medians, could
contradict this one).  head/base is the ratio of the values asv stores, the ones the site
publishes: for fib, the no-op floor, pure C and memory asv's median of their samples, one a
pair of processes (benchmarks/benchmarks/sampling.py and memory_sampling.py).  When the control line sampled
with the fib lines (control.py) moved between base and head, the machine did: those lines get
no verdict (exit 2).
Instruction counts (bench_instructions.py) and simulated cache misses and cycles
(bench_cache.py) are exact: the threshold alone decides.

Base and head that are one build (builds.py: the same sources, else the same installed bytes
in every asv environment) have nothing to measure: the gate says so and exits 0 after at most
their two builds.

Prints a short table of what changed and exits 1 on a measured regression beyond its
threshold, 2 for everything else that went wrong (a bad ref, git or asv failing, a benchmark
failing: with their own message), 0 otherwise.  Results go to .asv/gate-results/, emptied at
the start of each run, never into the published history's .asv/results/.  asv builds commits,
not the working tree: commit what you want measured.

Why these thresholds: see THRESHOLDS_MEASURED.
"""

import argparse
import math
import pathlib
import re
import shutil
import sys

import builds
import control
import measuring
import pythons
import repo
from asvresults import (
    EXACT_UNITS,
    entry_name,
    is_count,
    is_na,
    load_benchmarks,
    load_results,
    result_lines,
    running_python,
)
from repo import ToolError, threshold_for
from tables import markdown_table

GATE_RESULTS = ".asv/gate-results"
#: Where the gate records the builds it identified (builds.py), apart from its results.
GATE_BUILDS = ".asv/gate-builds"
#: Where the thresholds come from (printed by --help).
THRESHOLDS_MEASURED = """\
Thresholds: asv.conf.json's "regressions_thresholds", one per kind of benchmark, each above
the largest change measured between commits or runs that changed nothing; the rule is in
docs/regressions.md, the measurements (with their hosts) in docs/measurements.md.
"""


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
        elif is_na(a) or is_na(b):
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


def withhold_if_control_moved(rows):
    """When the control line (control.py: the suite's own loop, the same code on both sides)
    moved beyond its threshold between base and head, the machine changed between their
    samples: the sampled lines' time verdicts become "unjudged".  The control's row, or None."""
    moved = next((r for r in rows if r["name"] == control.CONTROL
                  and r["verdict"] in ("slower", "faster")), None)
    if moved:
        for row in rows:
            if re.match(control.SAMPLED, row["name"]) and row["verdict"] in ("slower", "faster"):
                row["verdict"] = "unjudged"
    return moved


def _value(value, unit):
    if value is None:
        return "failed"
    if is_na(value):
        return "skipped"
    if unit == "seconds":
        for scale, suffix in ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1, "s")):
            if abs(value) < scale * 1000:
                return f"{value / scale:.4g} {suffix}"
    if unit in EXACT_UNITS:
        return f"{value:,.3f}" if value < 10 else f"{value:,.1f}"
    return f"{value:.4g} {unit}"


def table(rows, show_same=False):
    """The short table: changed lines (and, with show_same, the others)."""
    shown = [r for r in rows if show_same or r["verdict"] != "same"]
    cells = [(r["verdict"], entry_name(r["name"], r["params"]), r["kind"],
              _value(r["base"], r["unit"]), _value(r["head"], r["unit"]),
              f"{r['ratio']:.3f}x" if r["ratio"] == r["ratio"] else "n/a",
              f"{100 * r['threshold']:.1f}%") for r in shown]
    if not shown:
        cells = [("same", "(every line within its threshold)", "", "", "", "", "")]
    counts = {v: sum(r["verdict"] == v for r in rows)
              for v in ("slower", "faster", "failed", "unjudged", "same")}
    return (markdown_table(["verdict", "benchmark", "kind", "base", "head", "ratio", "threshold"],
                           cells, "llllrrr")
            + f"\n\n{len(rows)} lines compared: {counts['slower']} slower, {counts['faster']} "
              f"faster, {counts['failed']} failed, "
              + (f"{counts['unjudged']} unjudged (the control line moved), "
                 if counts["unjudged"] else "")
              + f"{counts['same']} within their thresholds.")


def gate_config(root, versions, results_dir=GATE_RESULTS):
    """A copy of root's asv config for the gate: its results apart in results_dir (emptied:
    only this run's results are judged), on the Python versions given; asv's arguments."""
    root = pathlib.Path(root).resolve()
    shutil.rmtree(root / results_dir, ignore_errors=True)
    return repo.config_copy(root / ".asv" / "gate.asv.conf.json", root, pythons=versions,
                            results_dir=root / results_dir)


def run_pair(root, base, head, machine, use_config, bench=(), quick=False):
    """asv run of the two commits with the gate's config, their rounds interleaved, samples
    recorded.  asv's exit code (0, or 2 when a benchmark failed)."""
    root = pathlib.Path(root).resolve()
    hashfile = root / ".asv" / "gate-hashes.txt"
    hashfile.write_text(f"{base}\n{head}\n")
    try:
        repo.register_machine(machine, cwd=root)
        command = [*use_config, "run", f"HASHFILE:{hashfile}", "--machine", machine,
                   "--show-stderr", "--record-samples", "--interleave-rounds"]
        for pattern in bench:
            command += ["--bench", pattern]
        if bench:  # the control line comes along: it says whether the machine moved
            command += ["--bench", "^" + re.escape(control.CONTROL)]
        if quick:
            command.append("--quick")
        status = repo.asv(*command, cwd=root, check=False).returncode
        if status not in (0, 2):
            raise ToolError(f"asv run exited {status} (see its output above)")
        return status
    finally:
        hashfile.unlink(missing_ok=True)


def sample_pair(root, base, head, machine, use_config, bench=(), quick=False):
    """The sampled lines of base and head sampled again, side by side, pass after pass
    (measuring.sample_passes: their samples joined), where the selection has any.  asv's
    worst exit code."""
    chosen = [p for p in bench if measuring.selects_sampled(p)]
    if quick or (bench and not chosen):
        return 0
    if chosen:  # the control line comes along, as in run_pair
        chosen.append("^" + re.escape(control.CONTROL))
    return measuring.sample_passes(
        [base, head], ["--machine", machine, "--show-stderr", "--record-samples"], use_config,
        root=root, bench=chosen or measuring.PASSED, hashfile="gate-passes.txt")


def one_build(root, base, head, machine, use_config):
    """The build base and head share (a line saying which), or None when they are two."""
    envs, conf = builds.environments(use_config, root=root)
    ids = builds.identify([base, head], envs, conf.build_command, pathlib.Path(root) / GATE_BUILDS,
                          machine, root=root)
    if ids[base] != ids[head]:
        return None
    return ", ".join(f"build {build[:12]} in {env}" for env, build in sorted(ids[head].items()))


def main(argv=None, root=repo.ROOT):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=THRESHOLDS_MEASURED)
    parser.add_argument("--base", default="main", help="the commit to compare against (main)")
    parser.add_argument("--head", default="HEAD", help="the commit under test (HEAD)")
    parser.add_argument("--bench", action="append", default=[],
                        help="only benchmarks matching this regex (asv --bench; repeatable)")
    parser.add_argument("--machine", default=None,
                        help="asv machine name (default: the main job's, from the CPU)")
    parser.add_argument("--all", action="store_true", help="list unchanged lines too")
    parser.add_argument("--quick", action="store_true",
                        help="one sample per benchmark: a smoke test, not a verdict")
    parser.add_argument("--all-pythons", action="store_true",
                        help="on every Python of asv.conf.json this machine has (default: the "
                             "one running the gate)")
    args = parser.parse_args(argv)
    try:
        return gate(args, pathlib.Path(root))
    except (ToolError, FileNotFoundError, ValueError) as error:
        print(f"gate: {error}", file=sys.stderr)
        return 2


def gate(args, root):
    base, head = repo.commit_of(args.base, cwd=root), repo.commit_of(args.head, cwd=root)
    if repo.git("status", "--porcelain", "--untracked-files=no", cwd=root):
        print("gate: the working tree has uncommitted changes; asv measures commits only, "
              f"so head is {head[:8]} as committed.", file=sys.stderr)
    machine = repo.check_machine_name(args.machine or repo.stable_machine_name())
    thresholds, source = repo.load_thresholds(root)
    with repo.checkout_lock("the gate (benchmarks/gate.py)", root):
        versions = pythons.provide(pythons.wanted(root) if args.all_pythons
                                   else [running_python()])
        use_config = gate_config(root, versions)
        same = one_build(root, base, head, machine, use_config)
        if same:
            print(f"gate: same build: nothing to measure ({head[:8]} and {base[:8]} install the "
                  f"same bytes: {same})")
            return 0
        status = run_pair(root, base, head, machine, use_config, args.bench, quick=args.quick)
        status = max(status, sample_pair(root, base, head, machine, use_config, args.bench,
                                         quick=args.quick))
    results_dir = root / GATE_RESULTS
    benchmarks = load_benchmarks(results_dir)
    rows = judge(result_lines(load_results(results_dir, machine, base), benchmarks),
                 result_lines(load_results(results_dir, machine, head), benchmarks),
                 benchmarks, thresholds)
    moved = withhold_if_control_moved(rows)
    print()
    print(f"Gate: {head[:8]} ({args.head}) against {base[:8]} ({args.base}) on {machine}; "
          f"thresholds from {source}.")
    print(table(rows, show_same=args.all))
    if any(r["verdict"] == "slower" for r in rows):
        print("gate: FAIL (a regression beyond its threshold)")
        return 1
    if moved:
        print(f"gate: no verdict on the sampled fib lines: the control line moved "
              f"{moved['ratio']:.3f}x between base and head, so the machine changed between "
              "their samples, not the code; run the gate again")
        return 2
    if status == 2 or any(r["verdict"] == "failed" for r in rows):
        print("gate: a benchmark failed (see asv's output above)")
        return 2
    print("gate: pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
