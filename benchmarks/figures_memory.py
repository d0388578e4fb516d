"""The figures of bench_memory: cost against working-set size, with the caches marked.

The main job's report calls draw() with asv's results for one machine and commit.  Two kinds of
picture, as lmbench and Drepper's "What every programmer should know about memory" draw them:

- memory_latency.png: pointer-chase latency per access against working-set size, one plateau
  per cache level and one for RAM;
- memory_<pattern>.png and memory_patterns.png: ns per element for each access pattern.

Both axes are logarithmic (sizes in powers of two; costs span 0.1 to 100+ ns), and every figure
marks the L1/L2/L3 sizes of the machine with labelled vertical lines.
"""

import functools
import math
import os
import pathlib

from asvresults import decoded_lines, entry_name, interval, param_value

# The benchmarks themselves say their names and parameters; their module imports without
# fibext installed (it then only skips), so the report's tools can read them anywhere.
from benchmarks import bench_memory as _bench
from benchmarks.memory_sampling import EDGE
from tables import html_table


def _entry(cls):
    track = next(name for name in vars(cls) if name.startswith("track_"))
    return f"bench_memory.{cls.__name__}.{track}", tuple(cls.param_names)


#: asv benchmark name -> its parameter names, in asv's order (bench_memory's param_names).
PARAMS = dict(_entry(cls) for cls in (_bench.PointerChase, _bench.SequentialRead,
                                      _bench.StridedRead, _bench.RandomRead, _bench.Write,
                                      _bench.PythonLoop))
CHASE, SEQUENTIAL, STRIDED, RANDOM, WRITE, PYTHON = PARAMS


def series(results, name):
    """[(params dict, size, value)] of one benchmark; skipped, failed or malformed entries are
    left out.  results maps a full benchmark name to {param tuple of repr strings: value}."""
    names = PARAMS[name]
    out = []
    for params, value in decoded_lines(results, name, names):
        try:
            size = int(params.pop("size"))
        except (KeyError, ValueError, TypeError):
            continue
        if value > 0 and size > 0:
            out.append((params, size, value))
    return out


def lines(points, label):
    """{label(params): [(size, value), ...] sorted by size} from series() output."""
    out = {}
    for params, size, value in points:
        out.setdefault(label(params), []).append((size, value))
    return {k: sorted(v) for k, v in out.items()}


@functools.lru_cache(maxsize=None)
def _caches_module():
    """fibext._caches: installed, else loaded from this checkout (the report's tools need no
    fibext installed: the module is pure Python).  Loaded once: shared_cache_sizes asks
    for it once a line."""
    try:
        from fibext import _caches as module
    except ImportError:
        import importlib.util
        path = pathlib.Path(__file__).resolve().parent.parent / "fibext" / "_caches.py"
        spec = importlib.util.spec_from_file_location("fibext_caches", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _caches(machine):
    """{level: bytes} from machine["caches"], else this machine's (the report runs where the
    benchmarks ran)."""
    if isinstance(machine, dict) and isinstance(machine.get("caches"), dict):
        return {int(k): int(v) for k, v in machine["caches"].items()}
    return _caches_module().cache_sizes()


def _name(machine):
    if isinstance(machine, dict):
        return str(machine.get("machine") or "")
    return str(machine or "")


def _bytes(n):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def _tick(n):
    return _bytes(n).replace(" ", "").replace("iB", "")


def _plot(path, title, ylabel, curves, caches, name):
    """One log-log figure: a line per curve, the caches as labelled vertical lines."""
    # Imported here: the report imports this module without needing matplotlib until a figure
    # is drawn.  Figure() draws with Agg, without pyplot's global state.
    from matplotlib.figure import Figure
    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogLocator,
        NullFormatter,
        NullLocator,
    )

    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.add_subplot()
    for label, points, style in curves:
        ax.plot(*zip(*points), marker="o", markersize=3.5, label=label, **style)
    sizes = sorted({s for _, points, _ in curves for s, _ in points})
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    # 1-2-5 labels in plain numbers: costs span two or three decades, often less than one
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ticks = [s for s in sizes if math.log2(s) % 2 == 0] or sizes
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_tick(s) for s in ticks], fontsize="small")
    lo, hi = sizes[0], sizes[-1]
    for level, size in sorted(caches.items()):
        if lo / 2 <= size <= hi * 2:
            ax.axvline(size, color="0.5", linestyle=":", linewidth=1)
            ax.annotate(f"L{level} {_bytes(size)}", (size, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", va="top", fontsize="small",
                        color="0.3")
    ax.set_xlabel("working set (bytes, log2 scale)")
    ax.set_ylabel(ylabel)
    ax.set_title(title + (f"\n{name}" if name else ""), fontsize="medium")
    ax.grid(True, which="major", axis="y", color="0.92")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))  # off the data
    fig.savefig(path, dpi=100)
    return path


_IMPL_STYLE = {
    "cython": {"color": "tab:blue"},
    "c": {"color": "tab:orange", "linestyle": "--"},
    "numpy": {"color": "tab:green"},
    "python": {"color": "tab:red"},
}


def _by_impl(named_lines, extra=None):
    """curves in a stable order, styled by the implementation named first in the label."""
    out = []
    for label, points in sorted(named_lines.items()):
        style = dict(_IMPL_STYLE.get(label.split()[0], {}))
        if extra:
            style.update(extra(label))
        out.append((label, points, style))
    return out


#: Alt text of each figure, by file name (the report's <img alt>).
ALT = {
    "memory_latency": "Pointer-chase latency per access (ns) against working-set size, log "
                      "scales, one line per implementation, cache sizes marked",
    "memory_sequential": "Sequential read, ns per element against working-set size, Cython, "
                         "C and numpy, cache sizes marked",
    "memory_random": "Random read through a shuffled index, ns per access against "
                     "working-set size, cache sizes marked",
    "memory_strided": "Strided read, ns per element read against working-set size, one line "
                      "per stride, cache sizes marked",
    "memory_write": "Fill and copy, ns per element against working-set size, cache sizes marked",
    "memory_patterns": "Every access pattern of the Cython kernels, ns per element or access "
                       "against working-set size, cache sizes marked",
}


def _cython_overview(sequential, strided, random, write, chase):
    """Drepper's comparison: {pattern: [(size, ns)]} of every pattern of the Cython kernels,
    for one chart."""
    overview = {}
    for params, size, value in sequential:
        if params["impl"] == "cython" and params["dtype"] == "float64":
            overview.setdefault("sequential", []).append((size, value))
    for params, size, value in strided:
        if params["impl"] == "cython" and params["stride"] != 1:
            overview.setdefault(f"stride {params['stride']}", []).append((size, value))
    for params, size, value in random:
        if params["impl"] == "cython":
            overview.setdefault("random", []).append((size, value))
    for params, size, value in write:
        if params["impl"] == "cython":
            overview.setdefault(params["pattern"], []).append((size, value))
    for params, size, value in chase:
        if params["impl"] == "cython":
            overview.setdefault("pointer chase", []).append((size, value))
    return overview


def draw(results, outdir, machine=None):
    """Draw bench_memory's figures into outdir; the PNG paths written, [] without data.

    A figure whose benchmark has no value is not drawn.  machine: asv's machine info dict
    ("machine" names it; "caches", {level: bytes}, overrides the caches read from this
    machine), or just a name for the titles, or None.
    """
    caches, name = _caches(machine), _name(machine)
    outdir = pathlib.Path(outdir)
    paths = []

    def save(stem, title, ylabel, curves):
        curves = [c for c in curves if c[1]]
        if curves:
            outdir.mkdir(parents=True, exist_ok=True)
            paths.append(_plot(outdir / f"{stem}.png", title, ylabel, curves, caches, name))

    python = series(results, PYTHON)
    py_lines = {p["pattern"]: [(s, v) for q, s, v in python if q == p]
                for p, _, _ in python}
    per_element = "ns per element (lower is better)"

    chase = series(results, CHASE)
    save("memory_latency", "Pointer chase (lmbench lat_mem_rd): latency per access, ns, "
         "lower is better", "ns per access (lower is better)",
         _by_impl(lines(chase, lambda p: p["impl"])))

    sequential = series(results, SEQUENTIAL)
    if sequential:
        curves = lines(sequential, lambda p: f"{p['impl']} {p['dtype']}")
        if "sequential" in py_lines:
            curves["python float64 list"] = sorted(py_lines["sequential"])
        save("memory_sequential", "Sequential read (sum): ns per element, lower is better",
             per_element, _by_impl(curves, lambda label: {"linestyle": "-."}
                                   if "int64" in label else {}))

    random = series(results, RANDOM)
    if random:
        curves = lines(random, lambda p: p["impl"])
        if "random" in py_lines:
            curves["python list"] = sorted(py_lines["random"])
        save("memory_random", "Random read (gather through a shuffled index): ns per access, "
             "lower is better", "ns per access (lower is better)", _by_impl(curves))

    strided = series(results, STRIDED)
    save("memory_strided", "Strided read (every stride-th float64): ns per element read, "
         "lower is better", "ns per element read (lower is better)",
         [(label, points, {}) for label, points in sorted(
             lines(strided, lambda p: f"{p['impl']} stride {p['stride']:>3}").items(),
             key=lambda item: (item[0].split()[0], int(item[0].split()[-1])))])

    write = series(results, WRITE)
    save("memory_write", "Write (fill) and copy: ns per element, lower is better", per_element,
         _by_impl(lines(write, lambda p: f"{p['impl']} {p['pattern']}"),
                  lambda label: {"linestyle": ":"} if "copy" in label else {}))

    overview = _cython_overview(sequential, strided, random, write, chase)
    save("memory_patterns", "Every access pattern, Cython kernels: ns per element (per access "
         "for random and chase), lower is better", "ns (lower is better)",
         [(label, sorted(points), {}) for label, points in overview.items()])
    return paths


def shared_cache_sizes(sizes, caches):
    """The sizes at the edge of the last-level cache: within a factor of EDGE of the last level
    as fibext takes it (fibext._caches.last_level: a guest that reports its host's whole L3 gets
    at most MAX_LLC of it), and above the level below it (private to a core).  A VM shares that
    cache with other guests, and a working set about its size stays cached as far as the
    neighbours let it, so there a wall-time figure can be no steadier than they allow.  Well
    below the edge the set stays cached whatever they hold, well above it is in RAM either way
    (docs/memory.md says what the records show)."""
    levels = sorted(caches)
    if len(levels) < 2:
        return []
    below, last = caches[levels[-2]], _caches_module().last_level(caches)
    return [s for s in sizes if below < s and last / EDGE <= s <= last * EDGE]


#: The simulated cache (bench_cache), the exact signal for a line at the shared cache: the same
#: kernel's last-level misses per element, beyond its simulated LL.
SIMULATED_LL = "bench_cache.MemoryCache.track_ll_misses"


def shared_cache_rows(lines, caches, scale=lambda name: 1e9):
    """[(line, size, figure ns, (99% interval ns) or None, simulated LL misses or None)] of the
    memory lines at a shared-cache size, and how many memory lines there are in all.  lines: {(name,
    params as asv stores them): (value, stats, samples)} (asvresults.result_lines), the value
    and interval in ns once multiplied by scale(name) (asvresults.ns_scale)."""
    simulated = {}   # (impl, case): (size, misses) at the largest simulated size
    for (name, combo), (value, _, _) in lines.items():
        if name == SIMULATED_LL and len(combo) == 3 and value is not None:
            impl, pattern, size = (param_value(v) for v in combo)
            if size >= simulated.get((impl, pattern), (0,))[0]:
                simulated[(impl, pattern)] = (size, value)
    rows, total = [], 0
    for (name, combo), (value, stats, _) in lines.items():
        if name not in PARAMS or value is None or not math.isfinite(value):
            continue
        total += 1
        params = dict(zip(PARAMS[name], (param_value(v) for v in combo)))
        if not shared_cache_sizes([params.get("size")], caches):
            continue
        band = interval(stats)
        pattern = params.get("pattern") or _PATTERN_OF.get(name)
        if name == STRIDED:
            pattern = f"strided{params.get('stride')}"
        exact = simulated.get((params.get("impl"), pattern), (None, None))[1]
        rows.append((entry_name(name, combo), params["size"], value * scale(name),
                     band and (band[0] * scale(name), band[1] * scale(name)), exact))
    # by benchmark, then its other parameters, then size: a curve's points in order
    rows.sort(key=lambda row: (row[0].rsplit(", ", 1)[0], row[1]))
    return rows, total


_PATTERN_OF = {SEQUENTIAL: "sequential", RANDOM: "random", CHASE: "chase"}


def shared_cache_section(lines, machine=None, scale=lambda name: 1e9):
    """(anchor, title, html) for the report: which memory lines sit at the shared cache, each
    with its figure, its band and the simulated misses; None without such lines."""
    caches = _caches(machine)
    rows, total = shared_cache_rows(lines, caches, scale)
    if not rows:
        return None
    levels = sorted(caches)
    sizes = sorted({row[1] for row in rows})
    last, taken = caches[levels[-1]], _caches_module().last_level(caches)
    share = "" if taken == last else (
        f", of which a guest's share is taken as at most {_bytes(taken)} (fibext.memory."
        "MAX_LLC: above it, the sizes are timed as RAM)")
    text = (f"<p>{len(rows)} of {total} memory lines run over a working set at the edge of "
            f"the L{levels[-1]} ({_bytes(last)}{share}), within a factor of {EDGE} of it and "
            f"above the L{levels[-2]} ({_bytes(caches[levels[-2]])}, private to a core): "
            f"sizes {', '.join(_bytes(s) for s in sizes)}.  That last-level cache is shared "
            "with the machine's other guests, and how much of a working set about its size "
            "stays cached is theirs to decide: these lines cannot be steadier than the "
            "neighbours allow.  Read each one's figure with its band (asv's 99% interval), and "
            "the simulated misses (bench_cache, exact, the same kernel beyond its simulated "
            "last-level cache) as the signal of a change in the code.</p>")
    cells = [(label, f"{ns:.3g}", f"{band[0]:.3g} to {band[1]:.3g}" if band else "",
              "" if exact is None else f"{exact:g}") for label, _, ns, band, exact in rows]
    return ("shared-cache", "memory lines at the shared cache",
            text + html_table(["line", "ns", "99% interval (ns)", "simulated LL misses"],
                              cells, "lrrr"))


if __name__ == "__main__":  # draw from a pickled results dict: python figures_memory.py in out
    import pickle
    import sys

    with open(sys.argv[1], "rb") as f:
        print(*draw(pickle.load(f), sys.argv[2] if len(sys.argv) > 2 else os.curdir), sep="\n")
