"""Reading asv's results: one reader for every tool (gate, drill, noise report, report, figures).

A leaf: it imports no other tool.  A "line" is one parameter combination of one benchmark,
keyed (name, params) with params as asv stores them (strings: "'cython'", "90").
"""

import ast
import itertools
import json
import math
import pathlib
import sys


def is_na(value):
    """asv's marks for "not measured": None (failed) and NaN (skipped)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def param_value(text):
    """A parameter as asv stores it (its repr: "'cython'", "90") back as the Python value."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def entry_name(name, params=()):
    """The name asv gives one line: name(param, param), params as asv stores them."""
    return f"{name}({', '.join(params)})" if params else name


def decoded_lines(values, name, names):
    """[(params dict, value)] of one benchmark in values ({name: {param tuple as asv stores it:
    value}}, as values_by_benchmark() gives), its params named by names: skipped, failed,
    malformed or non-finite entries left out."""
    out = []
    for key, value in (values.get(name) or {}).items():
        if value is None or not isinstance(key, tuple) or len(key) != len(names):
            continue
        try:
            params = dict(zip(names, (ast.literal_eval(v) for v in key)))
            value = float(value)
        except (ValueError, TypeError, SyntaxError):
            continue
        if math.isfinite(value):
            out.append((params, value))
    return out


def load_benchmarks(results_dir):
    """benchmarks.json of a results directory: {name: its metadata}."""
    with open(pathlib.Path(results_dir) / "benchmarks.json") as f:
        data = json.load(f)
    data.pop("version", None)
    return data


#: Units of the lines that are counted or simulated, not timed: the same on every run.
EXACT_UNITS = ("instructions", "misses", "cycles")


def is_count(benchmark):
    """Whether a benchmark's lines are exact (counted or simulated, not timed)."""
    return benchmark.get("unit") in EXACT_UNITS


def named_params(benchmarks, name, params):
    """{param name: value} of one line, the names from benchmarks.json (asv stores them)."""
    names = benchmarks.get(name, {}).get("param_names", [])
    return dict(zip(names, (param_value(p) for p in params)))


def running_python():
    """The Python version running the tools ("3.11"): the interpreter the report, the noise
    report, the control line, the gate and the drill read results of by default (the site
    shows every Python, each line per interpreter)."""
    return "%d.%d" % sys.version_info[:2]


#: results_of(..., python=ANY): every Python's (one-environment results, such as the quick
#: loop's --python=same, where asv records the interpreter's path).
ANY = "any"


def python_of(result):
    """The Python version ("3.12") an asv Results was measured on, as asv records it (an
    environment's name says it too, but not that of --python=same's existing one)."""
    return str((result.params or {}).get("python") or "") or None


def results_of(results_dir, machine, python=None):
    """Every asv Results of machine on one Python (python, "3.12"; default: the running
    one's), newest first: by commit date, then by when it was run.  Results of different
    Pythons never mix in one line."""
    from asv import results as asv_results
    python = python or running_python()
    runs = [r for r in asv_results.iter_results_for_machine(str(results_dir), machine)
            if python == ANY or python_of(r) == python]
    return sorted(runs, key=lambda r: (r.date or 0, max(r.started_at.values(), default=0)),
                  reverse=True)


def newest_first(results_dir, machine, tip=None):
    """Machine's Results, newest first, the tip's first where it has results: commits made in
    the same second tie on date, so the branch tip is the better key.  The report and the
    noise report both start from here, so they describe the same commit."""
    runs = results_of(results_dir, machine)
    if not runs:
        raise FileNotFoundError(f"no asv results for machine {machine!r} in {results_dir}")
    at_tip = [r for r in runs if tip and r.commit_hash == tip]
    return at_tip + [r for r in runs if r not in at_tip]


def load_results(results_dir, machine, commit):
    """The asv Results of one commit on machine (the newest run where there are several)."""
    found = [r for r in results_of(results_dir, machine) if r.commit_hash == commit]
    if not found:
        raise FileNotFoundError(f"no results for {commit[:8]} on {machine} in {results_dir}")
    return found[0]


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


def interval(stats):
    """asv's 99% interval of a result's median, (lo, hi), or None where it has none: no
    statistics, or one sample's, which asv stores as (-inf, inf)."""
    ends = (stats or {}).get("ci_99_a"), (stats or {}).get("ci_99_b")
    if all(e is not None and not is_na(e) and math.isfinite(e) for e in ends):
        return ends
    return None


#: The ns-scale lines (bench_fib: fib, the no-op floor, pure C, the control; bench_memory: ns
#: per element or access), which asv stores in seconds (their samples' unit) and the tools'
#: tables and figures give in ns.
NS_LINES = ("bench_fib.", "bench_memory.")
#: What the version of such a line says once it is stored in seconds (bench_fib's and
#: bench_memory's versions carry it: tests/suite/test_sampling.py); a result of an older
#: version holds ns, and must not be scaled again.
SECONDS_MARK = "samples"


def ns_scale(result, name):
    """The factor that gives name's stored values in ns: 1e9 for an NS_LINES line stored in
    seconds, else 1."""
    if not name.startswith(NS_LINES):
        return 1
    version = getattr(result, "benchmark_version", {}).get(name)
    return 1e9 if version is None or SECONDS_MARK in version else 1


def values_by_benchmark(result):
    """{name: {params: value or None}} of one Results: the figures asv stores and publishes,
    the ns-scale lines (NS_LINES) in ns."""
    values = {}
    for (name, combo), (value, _, _) in result_lines(result).items():
        if not is_na(value):
            value = value * ns_scale(result, name)
        values.setdefault(name, {})[combo] = None if is_na(value) else value
    return values
