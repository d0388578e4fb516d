"""The figure of bench_parallel: speedup against workers, one line per kind.

The main job's report calls draw() with asv's results for one machine and commit.  Speedup is
the time per batch at 1 worker over the time at N workers, for the same kind: the batch is
fixed and split among the workers, so ideal scaling gives N up to the number of cores, and
anything held by the GIL stays at 1.
"""

import ast
import pathlib
import re

#: The benchmark drawn, by asv's full name.
BENCHMARK = "bench_parallel.Batch.time_batch"


def speedups(results):
    """{kind: [(workers, speedup), ...]} from asv results; kinds without a 1-worker time left out.

    results maps a benchmark's full name to {parameter tuple as asv stores it (repr strings,
    e.g. ("'python_threads'", "2")): seconds or None}.
    """
    times = {}
    for params, seconds in (results.get(BENCHMARK) or {}).items():
        if seconds is None or len(params) != 2:  # skipped, failed, or another layout
            continue
        try:
            kind, workers = (ast.literal_eval(value) for value in params)
            times.setdefault(kind, {})[int(workers)] = float(seconds)
        except (ValueError, TypeError, SyntaxError):  # not this benchmark's parameters
            continue
    lines = {}
    for kind, by_workers in times.items():
        base = by_workers.get(1)
        if base:
            lines[kind] = [(w, base / t) for w, t in sorted(by_workers.items()) if t > 0]
    return lines


def _describe(machine):
    """(title text, cores or None) from asv's machine info dict, a name, or None."""
    if isinstance(machine, dict):
        cores = machine.get("num_cpu")
        name = machine.get("machine") or ""
        return name, int(cores) if cores else None
    return (machine or ""), None


#: Alt text of each figure, by the start of its file name (the report's <img alt>).
ALT = {"parallel_speedup": "Speedup (time at 1 worker over time at N) against workers, one line "
                           "per kind of worker, the ideal line up to the core count"}


def draw(results, outdir, machine=None):
    """Draw speedup against workers into outdir; the PNG paths written ([] without data).

    machine: asv's machine info (a dict with "machine" and "num_cpu", which bends the ideal
    line at the core count), or just a name for the title, or None.
    """
    lines = speedups(results)
    if not lines:
        return []
    # Imported here: the suite and the report import this module without needing matplotlib
    # until a figure is drawn.  Figure() draws with Agg, without pyplot's global state.
    from matplotlib.figure import Figure

    name, cores = _describe(machine)
    workers = sorted({w for points in lines.values() for w, _ in points})
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    # ideal scaling is N up to the core count; past it there is nothing ideal to draw
    ideal = [w for w in workers if not cores or w <= cores]
    ax.plot(ideal, ideal, color="0.6", linestyle="--", label="ideal" + (
        f" (up to {cores} cores)" if cores else ""))
    ax.axhline(1.0, color="0.8", linewidth=0.8)
    for kind, points in lines.items():
        ax.plot(*zip(*points), marker="o", label=kind)
    ax.set_xticks(workers)
    ax.set_xlabel("workers (threads, processes or OpenMP threads)")
    ax.set_ylabel("speedup: time at 1 worker / time at N")
    ax.set_ylim(bottom=0)
    ax.set_title("fib(90) batch split among workers" + (f" on {name}" if name else ""))
    ax.legend(fontsize="small")
    return [save_named(fig, outdir, "parallel_speedup", name)]


def save_named(fig, outdir, stem, name):
    """Save fig as outdir/<stem>_<machine name>.png (the name made safe for a file name), or
    <stem>.png without a name; the path."""
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    path = outdir / (f"{stem}_{slug}.png" if slug else f"{stem}.png")
    fig.savefig(path, dpi=100)
    return path
