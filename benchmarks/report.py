"""The report published beside the asv history: the seed's table, regenerated from results.

From the latest results of the newest commit on one machine: a Markdown table in the form of
the 2015 Cython book's Table 1-1 (fib(0) ns, fib(90) ns, loop body ns, speedups over Python)
and a log-scale bar chart, plus the figures of the other areas (figures_*.py), all written to
<html>/report/ with an index page the site's navigation bar links to.
"""

import html
import importlib
import json
import math
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)
from asv import results as asv_results  # noqa: E402

import gate  # noqa: E402  (benchmarks/gate.py)
import noise  # noqa: E402  (benchmarks/noise.py)

FIB = "bench_fib.Fib.track_call"
PURE_C = "bench_fib.PureC.track_latency"
NOOP = "bench_fib.FibNoop.track_call"
# Areas that draw their own figures: benchmarks/figures_<area>.py with draw(results, outdir, machine).
FIGURE_MODULES = ["figures_memory", "figures_parallel"]


def latest_results(results_dir, machine, tip=None):
    """(asv Results, {benchmark: {param tuple: value}}) of the branch tip, for machine.

    tip: the branch's newest commit; without it, or without results for it, the commit with
    the latest date (commits made in the same second tie, so the tip is the better key).
    """
    runs = list(asv_results.iter_results_for_machine(results_dir, machine))
    if not runs:
        raise FileNotFoundError(f"no asv results for machine {machine!r} in {results_dir}")
    at_tip = [run for run in runs if tip and run.commit_hash == tip]
    newest = at_tip[0] if at_tip else max(runs, key=lambda run: run.date)
    values = {}
    # The values asv stores and publishes (for fib a robust figure: bench_fib, sampling.py)
    for (key, combo), (value, _, _samples) in gate.result_lines(newest).items():
        values.setdefault(key, {})[combo] = _number(value)
    return newest, values


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def fib_rows(values):
    """Rows of the seed table: (name, fib(0) ns, fib(90) ns, loop ns, speedup 0, speedup 90)."""
    fib = values.get(FIB, {})
    names = list(dict.fromkeys(combo[0].strip("'") for combo in fib))
    times = {}
    for name in names:
        t0, t90 = fib.get((repr(name), "0")), fib.get((repr(name), "90"))
        if t0 is not None and t90 is not None:
            times[name] = (t0, t90)  # ns
    pure_c = values.get(PURE_C, {})
    if pure_c.get(("0",)) is not None and pure_c.get(("90",)) is not None:
        times["pure C (latency)"] = (pure_c[("0",)], pure_c[("90",)])
    if "python" not in times:
        return []
    p0, p90 = times["python"]
    return [(name, t0, t90, (t90 - t0) / 90, p0 / t0 if t0 > 0 else math.inf, p90 / t90)
            for name, (t0, t90) in times.items()]


def markdown_table(rows, machine, commit):
    lines = [
        f"fib, ns per call (lower is better; the figure the history publishes) on machine "
        f"`{machine}`, commit `{commit[:8]}`:",
        "",
        "| variant | fib(0) ns | fib(90) ns | loop body ns | speedup fib(0) | speedup fib(90) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t0, t90, loop, s0, s90 in rows:
        lines.append(f"| {name} | {t0:.1f} | {t90:.1f} | {loop:.2f} | {s0:.1f}x | {s90:.1f}x |")
    lines += ["", "Loop body = (fib(90) - fib(0)) / 90: the cost of one iteration, call excluded.",
              "Pure C is timed inside C (fibext.time_c), each call waiting for the last."]
    return "\n".join(lines) + "\n"


def bar_chart(rows, path, machine):
    names = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    x = range(len(rows))
    ax.bar([i - 0.2 for i in x], [r[1] for r in rows], width=0.4, label="fib(0)")
    ax.bar([i + 0.2 for i in x], [r[2] for r in rows], width=0.4, label="fib(90)")
    ax.set_yscale("log")
    ax.set_ylabel("ns per call (log scale, lower is better)")
    ax.set_xticks(list(x), names, rotation=30, ha="right")
    ax.set_title(f"fib: every way to extend Python ({machine})")
    ax.legend()
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_report(html_dir, results_dir, machine, tip=None):
    """Write <html_dir>/report/ for the tip's results and link it from the site; return the
    report directory."""
    html_dir = pathlib.Path(html_dir)
    out = html_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    newest, values = latest_results(results_dir, machine, tip)
    # asv's record of the machine (name, num_cpu, ...), which the figures annotate.
    machine_info = json.loads((pathlib.Path(results_dir) / machine / "machine.json").read_text())
    rows = fib_rows(values)
    sections = []
    if rows:
        table = markdown_table(rows, machine, newest.commit_hash)
        (out / "fib-table.md").write_text(table)
        bar_chart(rows, out / "fib.png", machine)
        sections.append(("fib: the seed's table", table, ["fib.png"], "fib-table.md"))
    for module_name in FIGURE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        pictures = module.draw(values, out, machine=machine_info) or []
        if pictures:
            sections.append((module_name.replace("figures_", "") + " figures", "",
                             [pathlib.Path(p).name for p in pictures], None))
    # Which lines of the history to trust: the spread of each line's samples, unstable ones
    # flagged (benchmarks/noise.py).
    noise_md = noise.write_noise_report(results_dir, machine, out)
    sections.append(("noise: which lines to trust", noise.summary(noise_md), [], noise_md.name))
    (out / "index.html").write_text(_index_page(sections, machine, newest.commit_hash))
    add_nav_link(html_dir, "report", "report/index.html", "Report")
    return out


def _index_page(sections, machine, commit):
    body = [f"<h1>fibext report</h1><p>Machine <code>{html.escape(machine)}</code>, "
            f"commit <code>{commit[:8]}</code> (the newest with results). "
            f'<a href="../index.html">Back to the benchmark history</a>.</p>']
    for title, text, pictures, link in sections:
        body.append(f"<h2>{html.escape(title)}</h2>")
        if text:
            body.append(f"<pre>{html.escape(text)}</pre>")
        if link:
            body.append(f'<p><a href="{link}">{link}</a></p>')
        body += [f'<p><img src="{p}" alt="{p}" style="max-width:100%"></p>' for p in pictures]
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>fibext report</title>"
            "</head><body>" + "\n".join(body) + "</body></html>\n")


def add_nav_link(html_dir, nav_id, href, label):
    """Add an item to the navigation bar of the site's index page (once)."""
    index = pathlib.Path(html_dir) / "index.html"
    page = index.read_text()
    link = f'<li id="nav-li-{nav_id}"><a href="{href}">{label}</a></li>'
    if link not in page:
        anchor = '<li id="nav-li-regressions">'
        if anchor not in page:
            raise ValueError(f"{index} has no navigation bar to add {label!r} to")
        page = page.replace(anchor, link + "\n\t" + anchor, 1)
        index.write_text(page)
