"""The figures of bench_cache: simulated misses and cycles against working-set size.

The main job's report calls draw() with asv's results for one machine and commit (the same
interface as figures_memory.draw).  The counts come from valgrind's cache simulator with the
fixed geometry of bench_cache.GEOMETRY, so the caches marked are the simulated ones (D1 48 KiB,
LL 1 MiB), whatever machine ran the benchmarks:

- cache_misses.png: D1 and LL misses per element (per access for random, chase and the strided
  reads) for every pattern, Cython solid and C dashed, against the bytes of one buffer;
- cache_cycles.png: simulated cycles per element or access (log scale), the same curves;
- cache_fib_cycles.png: simulated cycles per fib(0) and fib(90) call for every variant.
"""

import pathlib

from asvresults import decoded_lines
from benchmarks.bench_cache import GEOMETRY, PENALTY

MEMORY = "bench_cache.MemoryCache"
D1_MISSES = f"{MEMORY}.track_d1_misses"
LL_MISSES = f"{MEMORY}.track_ll_misses"
CYCLES = f"{MEMORY}.track_cycles"
FIB = "bench_cache.FibCycles.track_cycles"
#: asv benchmark name -> its parameter names, in asv's order (bench_cache's param_names).
PARAMS = {D1_MISSES: ("impl", "pattern", "size"), LL_MISSES: ("impl", "pattern", "size"),
          CYCLES: ("impl", "pattern", "size"), FIB: ("variant", "n")}

ALT = {
    "cache_misses": "Two panels against buffer size (log2 scale, simulated D1 48 KiB and LL "
                    "1 MiB marked): simulated D1 and LL misses per element or access for each "
                    "memory pattern; sequential, fill and copy step to 1/8 or 2/8 past a "
                    "level, strided reads and the pointer chase to 1, random reads rise "
                    "between them with the working set",
    "cache_cycles": "Simulated cycles per element or access (instructions plus 10 per "
                    "first-level and 100 per last-level miss) against buffer size for each "
                    "memory pattern, log scales, simulated caches marked",
    "cache_fib_cycles": "Horizontal bars, log scale: simulated cycles per fib(0) and fib(90) "
                        "call for each fib variant",
}

_STYLE = {"cython": {"linestyle": "-", "marker": "o"},
          "c": {"linestyle": "--", "marker": "x", "alpha": 0.8}}
_ORDER = ["sequential", "strided8", "strided64", "strided512", "random", "chase", "fill",
          "copy"]


def series(results, name):
    """[(params dict, value)] of one benchmark; skipped, failed or malformed entries are left
    out.  results maps a full benchmark name to {param tuple of repr strings: value}."""
    return decoded_lines(results, name, PARAMS[name])


def curves(results, name):
    """{(impl, pattern): [(size, value), ...] sorted by size} of a MemoryCache benchmark."""
    out = {}
    for params, value in series(results, name):
        try:
            size = int(params["size"])
        except (TypeError, ValueError):
            continue
        if size > 0:
            out.setdefault((str(params["impl"]), str(params["pattern"])), []).append(
                (size, value))
    return {k: sorted(v) for k, v in out.items()}


def _bytes(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def _colour(pattern):
    index = _ORDER.index(pattern) if pattern in _ORDER else len(_ORDER)
    return f"C{index % 10}"


def _panel(ax, lines, ylabel, log_y):
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    order = {p: i for i, p in enumerate(_ORDER)}
    for (impl, pattern), points in sorted(lines.items(),
                                          key=lambda kv: (order.get(kv[0][1], 99), kv[0][0])):
        style = dict(_STYLE.get(impl, {"linestyle": ":"}))
        ax.plot(*zip(*points), color=_colour(pattern), markersize=4,
                label=f"{pattern} ({impl})", **style)
    sizes = sorted({s for points in lines.values() for s, _ in points})
    ax.set_xscale("log", base=2)
    if log_y:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_bytes(s).replace(" ", "") for s in sizes], fontsize="small")
    lo, hi = sizes[0], sizes[-1]
    for level in ("D1", "LL"):
        size = GEOMETRY[level][0]
        if lo / 2 <= size <= hi * 2:
            ax.axvline(size, color="0.5", linestyle=":", linewidth=1)
            ax.annotate(f"{level} {_bytes(size)} (simulated)", (size, 1),
                        xycoords=("data", "axes fraction"), xytext=(3, -3),
                        textcoords="offset points", va="top", fontsize="small", color="0.3")
    ax.set_xlabel("bytes per buffer, log2 scale (random and copy use two buffers)")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", axis="y", color="0.92")


def _title(text, machine):
    name = machine.get("machine") if isinstance(machine, dict) else machine
    return text + (f"\n{name}" if name else "")


def _fib_cycles_figure(fib, machine):
    """Bars of the simulated cycles per fib call, {variant: {n: cycles}}."""
    from matplotlib.figure import Figure

    variants = sorted(fib, key=lambda v: max(fib[v].values()))
    ns = sorted({n for per in fib.values() for n in per})
    fig = Figure(figsize=(9, 1.5 + 0.45 * len(variants)), layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / len(ns)
    for j, n in enumerate(ns):
        ys = [i + j * height for i, v in enumerate(variants) if n in fib[v]]
        xs = [fib[v][n] for v in variants if n in fib[v]]
        bars = ax.barh(ys, xs, height=height, label=f"fib({n})")
        ax.bar_label(bars, fmt="%.0f", fontsize="x-small", padding=2)
    ax.set_yticks([i + height * (len(ns) - 1) / 2 for i in range(len(variants))], variants)
    ax.set_xscale("log")
    ax.set_xlabel("simulated cycles per call (log scale, lower is better)")
    ax.legend(fontsize="small")
    ax.set_title(_title("Simulated cycles per fib call from Python", machine),
                 fontsize="medium")
    return fig


def draw(values, outdir, machine=None):
    """Draw bench_cache's figures into outdir; the PNG paths written, [] without data.

    values: {benchmark name: {param tuple as asv stores it (repr strings): value}}.  A figure
    whose benchmarks have no value is not drawn.  machine: asv's machine info dict, a name for
    the titles, or None (the counts are the simulated machine's, whichever ran them).
    """
    from matplotlib.figure import Figure

    outdir = pathlib.Path(outdir)
    paths = []

    def save(fig, stem):
        outdir.mkdir(parents=True, exist_ok=True)
        path = outdir / f"{stem}.png"
        fig.savefig(path, dpi=100)
        paths.append(path)

    d1, ll = curves(values, D1_MISSES), curves(values, LL_MISSES)
    if d1 or ll:
        fig = Figure(figsize=(11, 8.5), layout="constrained")
        axes = fig.subplots(2, 1, sharex=False)
        for ax, lines, level in ((axes[0], d1, "D1"), (axes[1], ll, "LL")):
            if lines:
                _panel(ax, lines, f"{level} misses per element or access", log_y=False)
                ax.set_title(f"{level} ({_bytes(GEOMETRY[level][0])}, "
                             f"{GEOMETRY[level][1]}-way, {GEOMETRY[level][2]} B lines)",
                             fontsize="medium")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize="small", loc="outside right center")
        fig.suptitle(_title("Simulated cache misses (valgrind, fixed geometry): misses per "
                            "element, per access for random, chase and strided", machine),
                     fontsize="medium")
        save(fig, "cache_misses")

    cycles = curves(values, CYCLES)
    if cycles:
        fig = Figure(figsize=(11, 5.5), layout="constrained")
        ax = fig.add_subplot()
        _panel(ax, cycles, "simulated cycles (lower is better)", log_y=True)
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
        ax.set_title(_title(f"Simulated cycles per element or access: instructions + "
                            f"{PENALTY['D1']} per first-level miss + {PENALTY['LL']} per "
                            f"last-level miss", machine), fontsize="medium")
        save(fig, "cache_cycles")

    fib = {}
    for params, value in series(values, FIB):
        if value > 0:
            fib.setdefault(str(params["variant"]), {})[params["n"]] = value
    if fib:
        save(_fib_cycles_figure(fib, machine), "cache_fib_cycles")
    return paths


if __name__ == "__main__":  # draw from a pickled results dict: python figures_cache.py in out
    import os
    import pickle
    import sys

    with open(sys.argv[1], "rb") as f:
        print(*draw(pickle.load(f), sys.argv[2] if len(sys.argv) > 2 else os.curdir), sep="\n")
