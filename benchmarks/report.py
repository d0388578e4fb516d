"""The report published beside the asv history, regenerated from the results.

    python benchmarks/report.py [--machine NAME] [--html .asv/html] [--results .asv/results]

For one machine: the tip's fib table in the form of the 2015 Cython book's Table 1-1 (fib(0)
ns, fib(90) ns, loop body ns, speedups over Python; instructions, estimated cycles and IPC per
call) with a log-scale bar chart, and the book's own figures beside ours; the history of
every fib variant's published figure and of its instruction counts across all commits, steps
marked; the figures of the other areas (figures_*.py); and the noise report.  Written to
<html>/report/ as a page in the site's look, linked from its navigation bar.
"""

import argparse
import html
import importlib
import json
import math
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

import book  # noqa: E402
import builds  # noqa: E402
import control  # noqa: E402
import figures_cpu  # noqa: E402
import figures_memory  # noqa: E402
import noise  # noqa: E402
import repo  # noqa: E402
import report_pythons  # noqa: E402
import sitepages  # noqa: E402
import steps  # noqa: E402
from asvresults import (  # noqa: E402
    newest_first,
    ns_scale,
    param_value,
    result_lines,
    values_by_benchmark,
)
from tables import html_table, markdown_table  # noqa: E402

FIB = "bench_fib.Fib.track_call"
PURE_C = "bench_fib.PureC.track_latency"
NOOP = "bench_fib.FibNoop.track_call"
COUNTS = "bench_instructions.FibInstructions.track_instructions"
# Areas that draw their own figures: benchmarks/figures_<area>.py with draw(results, outdir, machine).
FIGURE_MODULES = ["figures_memory", "figures_cache", "figures_parallel", "figures_cpu"]
TABLE_HEADER = ["variant", "fib(0) ns", "fib(90) ns", "loop body ns", "speedup fib(0)",
                "speedup fib(90)", *figures_cpu.HEADER]
TABLE_ALIGN = "lrrrrr" + "r" * len(figures_cpu.HEADER)


def latest_results(results_dir, machine, tip=None):
    """(asv Results, {benchmark: {param tuple: value}}) of the branch tip (else the newest
    commit) on machine: the figures asv stores and publishes."""
    newest = newest_first(results_dir, machine, tip)[0]
    return newest, values_by_benchmark(newest)


def fib_rows(values):
    """Rows of the fib table (the book's Table 1-1): (name, fib(0) ns, fib(90) ns, loop ns, speedup 0, speedup 90)."""
    fib = values.get(FIB, {})
    times = {}
    for name in dict.fromkeys(param_value(combo[0]) for combo in fib):
        t0, t90 = fib.get((repr(name), "0")), fib.get((repr(name), "90"))
        if t0 is not None and t90 is not None:
            times[name] = (t0, t90)
    pure_c = values.get(PURE_C, {})
    if pure_c.get(("0",)) is not None and pure_c.get(("90",)) is not None:
        times["pure C (latency)"] = (pure_c[("0",)], pure_c[("90",)])
    if "python" not in times:
        return []
    p0, p90 = times["python"]
    return [(name, t0, t90, (t90 - t0) / 90, p0 / t0 if t0 > 0 else math.inf, p90 / t90)
            for name, (t0, t90) in times.items()]


def _cells(rows, cpu=None):
    """The table's cells; cpu: {name: the instructions, cycles and IPC cells}
    (figures_cpu.ipc_cells), "-" where a row has none."""
    cpu = cpu or {}
    return [(name, f"{t0:.1f}", f"{t90:.1f}", f"{loop:.2f}", f"{s0:.1f}x", f"{s90:.1f}x",
             *cpu.get(name, ["-"] * len(figures_cpu.HEADER)))
            for name, t0, t90, loop, s0, s90 in rows]


def _caption(machine, commit):
    return (f"fib, ns per call (lower is better; the figure the history publishes) on machine "
            f"{machine}, commit {commit[:8]}")


NOTES = ("Loop body = (fib(90) - fib(0)) / 90: the cost of one iteration, call excluded.  "
         "Pure C is timed inside C (fibext.time_c), each call waiting for the last.")


def markdown_table_of(rows, machine, commit, cpu=None, cycles_note=""):
    """The table as Markdown (fib-table.md, for pasting elsewhere)."""
    return (f"{_caption(machine, commit)}:\n\n"
            + markdown_table(TABLE_HEADER, _cells(rows, cpu), TABLE_ALIGN)
            + f"\n\n{NOTES}\n" + (f"\n{cycles_note}\n" if cycles_note else ""))


def book_section(rows, python=None):
    """(Markdown, HTML) of the book's Table 1-1 beside ours: the ratios side by side and the
    paragraph figures_cpu computes from them."""
    cells = book.book_cells(book.book_rows(rows))
    text = book.book_paragraph(rows, python=python)
    source = ("The book: the 2015 O'Reilly \"Cython\", chapter 1, Table 1-1 (fib.csv of its "
              "companion repository): its C extension used METH_VARARGS and PyArg_ParseTuple, "
              "as fibext's capi_varargs does; its pure C is set beside our pure C latency.")
    markdown = (markdown_table(book.BOOK_HEADER, cells, "lrr")
                + f"\n\n{source}\n\n{text}\n")
    page = (html_table(book.BOOK_HEADER, cells, "lrr",
                       caption="The book's Table 1-1 beside ours: ratios")
            + f"<p>{html.escape(source)} Also as <a href='book-table.md'>Markdown</a>.</p>"
            + f"<p>{html.escape(text)}</p>")
    return markdown, page


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


def history_series(by_commit, order, benchmark, n):
    """{variant: [value or None per commit of order]} of one benchmark's fib(n) lines;
    by_commit: {commit: values_by_benchmark() of its results}."""
    lines = {}
    for i, commit in enumerate(order):
        for combo, value in by_commit[commit].get(benchmark, {}).items():
            if len(combo) == 2 and param_value(combo[1]) == n:
                lines.setdefault(param_value(combo[0]), [None] * len(order))[i] = value
    return lines


def history_figure(results, path, machine, thresholds, commits=None, n=90):
    """Every fib variant's published fib(n) per commit (log scale) above its instruction
    counts per commit, each step asv's fit finds marked with its ratio.  False without data."""
    by_commit = {r.commit_hash: values_by_benchmark(r) for r in results}   # read once
    order = [c for c in commits if c in by_commit] if commits else [
        r.commit_hash for r in sorted(results, key=lambda r: r.date or 0)]
    times = history_series(by_commit, order, FIB, n)
    counts = history_series(by_commit, order, COUNTS, n)
    if not any(v is not None for line in times.values() for v in line):
        return False
    has_counts = any(v is not None for line in counts.values() for v in line)
    fig, axes = plt.subplots(2 if has_counts else 1, 1, figsize=(10, 8 if has_counts else 4.5),
                             dpi=100, sharex=True, squeeze=False)
    top, bottom = axes[0][0], axes[-1][0]
    panels = [(top, times, FIB, "ns per fib(90) call (log scale)", steps.time_steps)]
    if has_counts:
        panels.append((bottom, counts, COUNTS, "instructions per fib(90) call (log scale)", None))
    for ax, lines, benchmark, label, finder in panels:
        for variant, values in lines.items():
            x = [i for i, v in enumerate(values) if v is not None]
            drawn = ax.plot(x, [values[i] for i in x], marker="o", markersize=3, label=variant)
            threshold = repo.threshold_for(thresholds, f"{benchmark}('{variant}', {n})")
            found = (finder(values, None, threshold) if finder
                     else steps.count_steps(values, threshold))
            for i, before, after in found:
                ax.annotate(f"{after / before:.2f}x", (i, values[i]), textcoords="offset points",
                            xytext=(4, 6), fontsize=8, color=drawn[0].get_color())
                ax.axvline(i - 0.5, color=drawn[0].get_color(), alpha=0.3, linewidth=1)
        if ax is top:
            _draw_control(ax, [by_commit[c].get(control.CONTROL, {}).get(()) for c in order],
                          repo.threshold_for(thresholds, control.CONTROL))
        ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.grid(which="both", alpha=0.3)
    # the legend above the lines, in headroom of its own, where it hides none of them
    low, high = top.get_ylim()
    top.set_ylim(low, high * 4)
    top.legend(fontsize="small", ncol=5, loc="upper center")
    top.set_title(f"fib(90) across the history on {machine}: steps marked with their ratio")
    bottom.set_xticks(range(len(order)), [c[:8] for c in order], rotation=60, fontsize=7)
    bottom.set_xlabel("commit (oldest first)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def _draw_control(ax, values, threshold):
    """The control line (control.py), black and dashed: flat where the machine was the same."""
    x = [i for i, v in enumerate(values) if v is not None]
    if not x:
        return
    ax.plot(x, [values[i] for i in x], color="black", linestyle="--", linewidth=1,
            label="control: the suite's own python loop")
    for i, before, after in steps.time_steps(values, None, threshold):
        ax.annotate(f"machine {after / before:.2f}x", (i, values[i]), textcoords="offset points",
                    xytext=(4, 6), fontsize=8, color="0.3")


def write_report(html_dir, results_dir, machine, tip=None, commits=None):
    """Write <html_dir>/report/ for machine and link it from the site; the report directory.
    commits: the branch's commits oldest first (the history figure's order)."""
    html_dir = pathlib.Path(html_dir)
    out = html_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    results = newest_first(results_dir, machine, tip)
    newest, values = results[0], values_by_benchmark(results[0])
    # asv's record of the machine (name, num_cpu, ...), which the figures annotate.
    machine_info = json.loads((pathlib.Path(results_dir) / machine / "machine.json").read_text())
    thresholds = repo.load_thresholds()[0]
    sections = _fib_sections(out, values, newest, machine, machine_info)  # (anchor, title, html)
    per_python = report_pythons.section(results_dir, machine, newest.commit_hash, out)
    if per_python:
        sections.append(per_python)
    if history_figure(results, out / "history.png", machine, thresholds, commits):
        sections.append(("history", "fib across the history", HISTORY_TEXT
                         + _img("history.png", "Two panels across the commits: ns per fib(90) "
                                "call per variant with the control line, and instructions per "
                                "call, steps marked")))
    sections += _figure_sections(values, out, machine_info)
    shared = figures_memory.shared_cache_section(result_lines(newest), machine_info,
                                                 lambda name: ns_scale(newest, name))
    if shared:
        sections.append(shared)
    sections.append(_builds_section(results, results_dir, machine))
    # Which lines of the history to trust: from the same results, newest first.
    noise_md = noise.write_noise_report(results, machine, out)
    sections.append(("noise", "noise: which lines to trust", noise.html_report(noise_md)
                     + "<p>The whole table: <a href='noise.md'>noise.md</a>.</p>"))
    (out / "index.html").write_text(_index_page(sections, machine, newest.commit_hash))
    sitepages.add_nav_link(html_dir, "report", "report/index.html", "Report")
    return out


HISTORY_TEXT = ("<p>Each variant's published fib(90) figure per commit, and its exact "
                "instruction count per commit; a step that asv's own step detection finds "
                "beyond the line's threshold is marked with its ratio.  The black dashed line "
                "is the control: fib's loop in pure Python from the benchmark suite itself, the "
                "same code at every commit, flat unless the machine changed.</p>")


def _fib_sections(out, values, newest, machine, machine_info):
    """The tip's Table 1-1 with its IPC columns and chart, and the book's table beside it."""
    rows = fib_rows(values)
    if not rows:
        return []
    clock = figures_cpu.report_clock(machine_info, repo.describe_host())
    cpu = figures_cpu.ipc_cells(rows, values, clock.ghz)
    probed = figures_cpu.effective_clock() if clock.ghz else None
    cycles_note = figures_cpu.cycles_note(clock, rows, probed)
    (out / "fib-table.md").write_text(markdown_table_of(rows, machine, newest.commit_hash,
                                                        cpu, cycles_note))
    bar_chart(rows, out / "fib.png", machine)
    fib = ("fib", "fib: every way to extend Python, measured",
           html_table(TABLE_HEADER, _cells(rows, cpu), TABLE_ALIGN,
                      caption=_caption(machine, newest.commit_hash))
           + f"<p>{html.escape(NOTES)} Also as <a href='fib-table.md'>Markdown</a>."
           f"</p><p>{html.escape(cycles_note)}</p>"
           + _img("fib.png", "Bar chart, log scale: ns per fib(0) and fib(90) call for each "
                  "variant"))
    book_md, book_html = book_section(rows, (newest.params or {}).get("python"))
    (out / "book-table.md").write_text(book_md)
    return [fib, ("book", "the book's table beside ours", book_html)]


def _figure_sections(values, out, machine_info):
    """A section per area that draws its own figures (FIGURE_MODULES)."""
    sections = []
    for module_name in FIGURE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        pictures = module.draw(values, out, machine=machine_info) or []
        area = module_name.replace("figures_", "")
        if pictures:
            sections.append((area, f"{area} figures", "".join(
                _img(pathlib.Path(p).name, _alt(module, pathlib.Path(p).stem, area))
                for p in pictures)))
    return sections


def _builds_section(results, results_dir, machine):
    """Which commits share a build (builds.py), so that nobody reads a shared figure as
    several measurements."""
    commits = list(dict.fromkeys(r.commit_hash for r in results))   # newest first
    lines = builds.history_lines(results_dir, machine, commits)
    return ("builds", "builds: which commits share one measurement",
            "<p>Commits whose wheels install the same bytes (on the same Python and pinned "
            "requirements) are one build: asv measured one commit of it, and every other "
            "commit shows that commit's results.</p><ul>"
            + "".join(f"<li>{html.escape(line[2:])}</li>" for line in lines) + "</ul>")


def _alt(module, stem, area):
    """The figure module's ALT text for a picture (its keys start the file names)."""
    texts = getattr(module, "ALT", {})
    keys = sorted((k for k in texts if stem.startswith(k)), key=len)
    return texts[keys[-1]] if keys else f"{area} figure: {stem}"


def _img(name, alt):
    return f'<p><img src="{name}" alt="{html.escape(alt)}"></p>'


def _index_page(sections, machine, commit):
    contents = "".join(f'<li><a href="#{anchor}">{html.escape(title)}</a></li>'
                       for anchor, title, _ in sections)
    body = [f"<h1>fibext report</h1><p>Machine <code>{html.escape(machine)}</code>, commit "
            f"<code>{commit[:8]}</code> (the branch tip's results).</p>",
            f"<nav><h2>Contents</h2><ul>{contents}</ul></nav>"]
    body += [f'<h2 id="{anchor}">{html.escape(title)}</h2>\n{text}'
             for anchor, title, text in sections]
    return sitepages.page("fibext report", "\n".join(body))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machine", default=None, help="default: this machine's name")
    parser.add_argument("--html", default=str(repo.HTML), help="the published site (.asv/html)")
    parser.add_argument("--results", default=str(repo.RESULTS))
    parser.add_argument("--branch", default="main", help="whose tip the table describes")
    args = parser.parse_args(argv)
    try:
        machine = repo.check_machine_name(args.machine or repo.stable_machine_name())
        commits = repo.git("rev-list", "--first-parent", "--reverse",
                           repo.commit_of(args.branch)).split()
        out = write_report(args.html, args.results, machine, commits[-1], commits)
    except (FileNotFoundError, ValueError, repo.ToolError) as error:
        print(f"report: {error}", file=sys.stderr)
        return 2
    print(f"report: {out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
