"""The report's section on interpreters: Table 1-1 once per Python, side by side.

For each Python the tip has results on (asv.conf.json's "pythons" as the machine had them):
every variant's fib(0) and fib(90) and their speed-up over pure Python on that interpreter;
the no-op floor (a METH_O call that does nothing); the exact instructions per call, which say
why a ratio moved (what the interpreter executes per call); a bar chart, one bar per Python;
and a paragraph drawn from these numbers.  Results of different Pythons never mix: each column
group is read from that interpreter's own results file.
"""

import html
import math
import pathlib

from asvresults import param_value, python_of, results_of, values_by_benchmark
from tables import html_table, markdown_table

FIB = "bench_fib.Fib.track_call"
NOOP = "bench_fib.FibNoop.track_call"
COUNTS = "bench_instructions.FibInstructions.track_instructions"


def pythons_at(results_dir, machine, tip):
    """{python: {benchmark: {params: value}}} of the tip's results, one per Python, in
    version order."""
    from asv import results as asv_results

    found = set()
    for result in asv_results.iter_results_for_machine(str(results_dir), machine):
        if result.commit_hash == tip and python_of(result):
            found.add(python_of(result))
    out = {}
    for python in sorted(found, key=lambda v: [int(x) for x in v.rstrip("t").split(".")]):
        (result,) = [r for r in results_of(results_dir, machine, python)
                     if r.commit_hash == tip][:1]
        out[python] = values_by_benchmark(result)
    return out


def fib_of(values, variant, n, benchmark=FIB):
    return values.get(benchmark, {}).get((repr(variant), str(n)))


def variants(per_python):
    """Every variant some Python has a fib figure of, in the registry's order."""
    names = {}
    for values in per_python.values():
        for combo in values.get(FIB, {}):
            names.setdefault(param_value(combo[0]), None)
    return list(names)


def rows(per_python):
    """[(variant, {python: (fib(0) ns, fib(90) ns, speed-up at 0, speed-up at 90)})]."""
    out = []
    for variant in variants(per_python):
        cells = {}
        for python, values in per_python.items():
            t0, t90 = fib_of(values, variant, 0), fib_of(values, variant, 90)
            p0, p90 = fib_of(values, "python", 0), fib_of(values, "python", 90)
            if None in (t0, t90):
                continue
            cells[python] = (t0, t90, _ratio(p0, t0), _ratio(p90, t90))
        out.append((variant, cells))
    return out


def _ratio(a, b):
    return a / b if a is not None and b else None


def _num(value, form):
    return "-" if value is None or not math.isfinite(value) else form.format(value)


def table(per_python):
    """(header, cells, align) of the per-Python Table 1-1, with the no-op floor and the
    instruction counts of fib(0) and fib(90) as rows of their own."""
    pythons = list(per_python)
    header = ["variant"] + [f"{label} ({p})" for p in pythons
                            for label in ("fib(0) ns", "fib(90) ns", "speed-up fib(90)")]
    cells = []
    for variant, by_python in rows(per_python):
        line = [variant]
        for p in pythons:
            t0, t90, _, s90 = by_python.get(p, (None,) * 4)
            line += [_num(t0, "{:.1f}"), _num(t90, "{:.1f}"), _num(s90, "{:.1f}x")]
        cells.append(line)
    noop = ["no-op floor (METH_O call)"]
    for p in pythons:
        value = per_python[p].get(NOOP, {}).get(())
        noop += [_num(value, "{:.1f}"), "", ""]
    cells.append(noop)
    for variant in variants(per_python):
        counts = [f"{variant}: instructions per call"]
        for p in pythons:
            c0 = fib_of(per_python[p], variant, 0, COUNTS)
            c90 = fib_of(per_python[p], variant, 90, COUNTS)
            counts += [_num(c0, "{:.0f}"), _num(c90, "{:.0f}"), ""]
        if any(c not in ("-", "") for c in counts[1:]):
            cells.append(counts)
    return header, cells, "l" + "rrr" * len(pythons)


def paragraph(per_python):
    """What changed between the interpreters, from the numbers above: pure Python's fib(90),
    the compiled variants' speed-up over it, and pure Python's instructions per call."""
    pythons = list(per_python)
    if len(pythons) < 2:
        return (f"Measured on one Python ({pythons[0] if pythons else 'none'}): add others to "
                "asv.conf.json's pythons (the machine must have them) to compare.")
    first, last = pythons[0], pythons[-1]
    said = []
    p_first = fib_of(per_python[first], "python", 90)
    p_last = fib_of(per_python[last], "python", 90)
    if p_first and p_last:
        change = p_last / p_first
        said.append(f"Pure Python's fib(90) takes {p_last:.0f} ns on {last} against "
                    f"{p_first:.0f} ns on {first} ({_moved(change)}).")
    c_first = fib_of(per_python[first], "python", 90, COUNTS)
    c_last = fib_of(per_python[last], "python", 90, COUNTS)
    if c_first and c_last:
        said.append(f"The interpreter executes {c_last:.0f} instructions for it on {last}, "
                    f"{c_first:.0f} on {first} ({_moved(c_last / c_first)}): "
                    + ("the time moved with the work the interpreter does."
                       if p_first and p_last and (c_last / c_first - 1) * (p_last / p_first - 1) > 0
                       else "the time did not follow the instruction count, so the cost per "
                       "instruction (the machine, the interpreter's branches and memory) moved."))
    for variant in ("capi", "cython"):
        s_first = _ratio(p_first, fib_of(per_python[first], variant, 90))
        s_last = _ratio(p_last, fib_of(per_python[last], variant, 90))
        if s_first and s_last:
            said.append(f"{variant}'s speed-up over pure Python at fib(90) is {s_last:.1f}x on "
                        f"{last}, {s_first:.1f}x on {first}: "
                        + ("compiling pays more on the newer interpreter." if s_last > s_first
                           * 1.05 else "compiling pays less on the newer interpreter."
                           if s_last < s_first / 1.05 else "about the same."))
    return " ".join(said) or "No variant was measured on two Pythons yet."


def _moved(ratio):
    if abs(ratio - 1) < 0.02:
        return "the same within 2%"
    return f"{(ratio - 1) * 100:+.0f}%"


def bar_chart(per_python, path):
    """fib(90) ns per call by variant, one bar per Python (log scale); the path, or None."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = variants(per_python)
    pythons = list(per_python)
    if not names or not pythons:
        return None
    fig = Figure(figsize=(10, 1.5 + 0.5 * len(names)), layout="constrained")
    ax = fig.add_subplot()
    height = 0.8 / len(pythons)
    for j, python in enumerate(pythons):
        ys = [i + j * height for i, v in enumerate(names)
              if fib_of(per_python[python], v, 90) is not None]
        xs = [fib_of(per_python[python], v, 90) for v in names
              if fib_of(per_python[python], v, 90) is not None]
        bars = ax.barh(ys, xs, height=height, label=f"Python {python}")
        ax.bar_label(bars, fmt="%.0f", fontsize="x-small", padding=2)
    ax.set_yticks([i + height * (len(pythons) - 1) / 2 for i in range(len(names))], names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ns per fib(90) call (log scale, lower is better)")
    ax.legend(fontsize="small")
    ax.set_title("fib(90) by variant, one bar per Python", fontsize="medium")
    fig.savefig(path, dpi=100)
    return path


def section(results_dir, machine, tip, out):
    """(anchor, title, html) of the report's section, written with its Markdown table and
    figure into out; None where the tip has no results."""
    per_python = pythons_at(results_dir, machine, tip)
    if not per_python:
        return None
    header, cells, align = table(per_python)
    out = pathlib.Path(out)
    (out / "pythons-table.md").write_text(markdown_table(header, cells, align) + "\n")
    chart = bar_chart(per_python, out / "pythons.png")
    text = (html_table(header, cells, align, caption=f"ns per call on machine {machine}, "
                       f"commit {tip[:8]}, each Python's own results")
            + f"<p>{html.escape(paragraph(per_python))}</p>"
            + "<p>Also as <a href='pythons-table.md'>Markdown</a>.</p>")
    if chart:
        text += ('<p><img src="pythons.png" alt="Horizontal bars, log scale: ns per fib(90) '
                 'call for each variant, one bar per Python"></p>')
    return ("pythons", "fib on each Python", text)
