"""The CPU beside the fib table: instructions, estimated cycles and IPC per call; the book's
Table 1-1 beside ours; and the figure of two threads on one core (bench_smt).

The report (report.py) adds the three columns to its fib table, prints the book's table and
a paragraph computed from both, and calls draw() with asv's results like every figures_*
module.  Nothing here needs fibext installed: the clock comes from fibext/_cpu.py (loaded
from this checkout where fibext is not importable).

How the cycles are estimated: ns per call (the figure the history publishes) x the clock the
machine states (/proc/cpuinfo "cpu MHz", else sysfs cpufreq).  IPC = the exact instruction
count (bench_instructions, callgrind) / those cycles.  What makes the estimate wrong: a core
boosting above the stated clock (turbo; then the true cycles are more and the true IPC lower),
frequency scaling below it, a hypervisor that states the TSC's nominal rate rather than the
core's, and steal time (the vCPU not running at all while the wall clock runs).
"""

import ast
import importlib.util
import pathlib

import figures_parallel

#: No x86-64 core adds two doubles in fewer cycles (2 on the newest, with their fast adders;
#: 3-4 on most others): the least an iteration of pure C's fib loop can take, whose
#: loop-carried chain is one addsd per iteration (a = a + b; b = the old a: gcc -O3 emits
#: movapd, movapd, addsd, add, cmp, jne, and only the addsd is on the chain; the moves are
#: renamed away).
FP_ADD_MIN_CYCLES = 2
PURE_C = "pure C (latency)"
COUNTS = "bench_instructions.FibInstructions.track_instructions"
ALONE = "bench_smt.Alone.time_alone"
PAIR = "bench_smt.Pair.time_pair"
#: Where the book's claim sits on the pairing figure: "up to 30%" for FP beside integer.
BOOK_SMT_GAIN = 1.3

#: The columns the report adds to its fib table.
HEADER = ["instructions fib(0) / fib(90)", "est. cycles fib(0) / fib(90)",
          "IPC fib(0) / fib(90)"]


# ---------------------------------------------------------------------------------------------
# The clock


def _cpu_module():
    """fibext._cpu: installed, or loaded from this checkout (no compiled module needed)."""
    try:
        from fibext import _cpu
        return _cpu
    except ImportError:
        path = pathlib.Path(__file__).resolve().parent.parent / "fibext" / "_cpu.py"
        spec = importlib.util.spec_from_file_location("fibext_cpu", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def report_clock(machine=None, this_host=None):
    """The stated clock to estimate cycles with, as fibext._cpu.Clock: this machine's where
    the results were measured here (asv's machine "cpu" is this host's description, or
    unknown), else Clock(None, why): another host's clock is not this one's."""
    cpu = _cpu_module()
    recorded = machine.get("cpu") if isinstance(machine, dict) else None
    if recorded and this_host and recorded != this_host:
        return cpu.Clock(None, f"the results are from another host ({recorded}); its clock "
                               "was not recorded")
    return cpu.stated_clock()


def effective_clock():
    """GHz the core runs at now (fibext.parallel.effective_clock: dependent integer adds per
    ns), or None where fibext is not installed or has no probe."""
    try:
        from fibext.parallel import effective_clock as probe
        return probe()
    except (ImportError, AttributeError, OSError):
        return None


# ---------------------------------------------------------------------------------------------
# Instructions, cycles and IPC per call


def cycles(ns, ghz):
    """Estimated cycles of ns nanoseconds at ghz (None where either is unknown)."""
    return ns * ghz if ns is not None and ghz else None


def ipc(instructions, ns, ghz):
    """Instructions per estimated cycle (None where anything is unknown or no time passed)."""
    c = cycles(ns, ghz)
    return instructions / c if instructions is not None and c else None


def instruction_counts(values):
    """{(variant, n): instructions per call} from asv's results (bench_instructions)."""
    out = {}
    for key, value in (values.get(COUNTS) or {}).items():
        try:
            variant, n = (ast.literal_eval(k) for k in key)
            if value is not None:
                out[(variant, int(n))] = float(value)
        except (ValueError, TypeError, SyntaxError):
            continue
    return out


def _pair(a, b, fmt):
    return " / ".join("-" if v is None else fmt(v) for v in (a, b))


def ipc_cells(rows, values, ghz):
    """{row name: [instructions, est. cycles, IPC] cells} for the report's fib rows
    (name, fib(0) ns, fib(90) ns, ...): fib(0) / fib(90) in each cell; "clock unknown" where
    the clock is, "-" where the instructions were not counted (pure C is timed in C)."""
    counts = instruction_counts(values)
    out = {}
    for name, t0, t90, *_ in rows:
        i0, i90 = counts.get((name, 0)), counts.get((name, 90))
        if ghz:
            cyc = _pair(cycles(t0, ghz), cycles(t90, ghz), lambda v: f"{v:,.0f}")
            rate = _pair(ipc(i0, t0, ghz), ipc(i90, t90, ghz), lambda v: f"{v:.2f}")
        else:
            cyc = rate = "clock unknown"
        out[name] = [_pair(i0, i90, lambda v: f"{v:,.0f}"), cyc, rate]
    return out


def cycles_note(clock, rows, probed=None):
    """How the cycles were estimated, what would make them wrong, and the check against pure
    C's loop: plain text, computed from the numbers."""
    if not clock.ghz:
        return (f"Cycles and IPC: the clock is unknown ({clock.source}), so no cycles are "
                "estimated (none invented).")
    text = [f"Estimated cycles = ns per call x the clock the machine states, {clock}; IPC = the "
            "exact instruction count (callgrind, the history's count line) / those cycles.  "
            "They are wrong where the core runs at another clock than the stated one: boost "
            "(turbo) above it makes the true cycles more and the true IPC lower; frequency "
            "scaling below it the reverse; a hypervisor states the TSC's nominal rate, which "
            "the guest cannot check; and steal time (the vCPU not running while the wall clock "
            "runs) counts as cycles that never ran."]
    times = {name: (t0, t90) for name, t0, t90, *_ in rows}
    if PURE_C in times:
        t0, t90 = times[PURE_C]
        per_iter = (t90 - t0) / 90
        at_stated = per_iter * clock.ghz
        check = (f"Check: pure C's fib loop carries one floating-point add from each iteration "
                 f"to the next, and no x86-64 core adds doubles in fewer than "
                 f"{FP_ADD_MIN_CYCLES} cycles, so an iteration takes at least "
                 f"{FP_ADD_MIN_CYCLES}.  Measured: {per_iter:.3f} ns per iteration "
                 f"((fib(90) - fib(0)) / 90 of the pure C row), {at_stated:.2f} cycles at the "
                 f"stated clock: ")
        least = None
        if per_iter <= 0:
            check += "no time per iteration was measured, so nothing is checked."
        elif at_stated < FP_ADD_MIN_CYCLES:
            least = FP_ADD_MIN_CYCLES / per_iter
            check += f"below the bound, so the core ran at {least:.2f} GHz or more."
        else:
            check += (f"at or above the bound ({at_stated:.1f} cycles per add), consistent "
                      "with the stated clock (the bound cannot tell a clock a little above it).")
        text.append(check)
        if probed:
            text.append(f"A chain of dependent integer adds (one cycle each on every x86-64 "
                        f"core; fibext.parallel.effective_clock) ran at {probed:.2f} GHz when "
                        "this report was written.")
        clocks = [c for c in (least, probed) if c]
        if clocks and max(clocks) > clock.ghz:
            text.append(f"Both can only understate the clock (an interruption slows them, "
                        f"nothing speeds them up): the core ran at {max(clocks):.2f} GHz or "
                        f"more, not {clock.ghz:.2f}, so every cycle count here is at least "
                        f"{max(clocks) / clock.ghz:.2f}x too low and every IPC that much too "
                        "high.")
    return "  ".join(text)


# ---------------------------------------------------------------------------------------------
# The book's table beside ours


# ---------------------------------------------------------------------------------------------
# Two threads on one core (bench_smt)


def _by_params(results, name):
    out = {}
    for key, seconds in (results.get(name) or {}).items():
        if seconds is None or len(key) != 2:
            continue
        try:
            first, width = (ast.literal_eval(k) for k in key)
            out[(first, int(width))] = float(seconds)
        except (ValueError, TypeError, SyntaxError):
            continue
    return out


def pair_speedups(results):
    """{(pairing, width): 2 x Alone(a) / Pair} from asv's results (bench_smt): b's work is
    matched to take as long alone as a's, so this is (alone a + alone b) / pair: 2.0 is two
    whole cores, 1.0 nothing gained.  Pairings without a's alone time are left out."""
    alone, pair = _by_params(results, ALONE), _by_params(results, PAIR)
    out = {}
    for (pairing, width), seconds in pair.items():
        kernels = str(pairing).split("+")
        first = alone.get((kernels[0], width))
        if len(kernels) == 2 and first is not None and seconds > 0:
            out[(pairing, width)] = 2 * first / seconds
    return out


#: Alt text of each figure, by the start of its file name (the report's <img alt>).
ALT = {"cpu_smt": "Bars: what two threads pinned to two CPUs gain over one CPU, per pairing "
                  "(FP beside FP, integer beside integer, FP beside integer) and chain width, "
                  "with lines at 1x (nothing gained), the book's 1.3x and 2x (two whole cores)"}


def draw(results, outdir, machine=None):
    """The pairing figure into outdir; the PNG paths written ([] without bench_smt results)."""
    speedups = pair_speedups(results)
    if not speedups:
        return []
    from matplotlib.figure import Figure

    name = machine.get("machine", "") if isinstance(machine, dict) else (machine or "")
    pairings = list(dict.fromkeys(p for p, _ in speedups))
    widths = sorted({w for _, w in speedups})
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    step = 0.8 / len(widths)
    for j, width in enumerate(widths):
        xs = [i - 0.4 + step * (j + 0.5) for i in range(len(pairings))]
        ys = [speedups.get((p, width), 0) for p in pairings]
        bars = ax.bar(xs, ys, width=step * 0.9,
                      label=f"{width} chain{'s' if width > 1 else ''} per thread")
        ax.bar_label(bars, fmt="%.2fx", fontsize=8)
    for level, text, style in [(1.0, "1x: nothing gained (one core, time-sliced)", ":"),
                               (BOOK_SMT_GAIN, "the book: up to +30% on one core", "--"),
                               (2.0, "2x: two whole cores", "-")]:
        ax.axhline(level, color="0.4", linestyle=style, linewidth=1, label=text)
    ax.set_xticks(range(len(pairings)), pairings)
    ax.set_ylim(0, max(2.9, max(speedups.values()) * 1.1))  # headroom for the legend
    ax.set_ylabel("(alone a + alone b) / pair (higher: more gained)")
    ax.set_title("Two pinned threads: FP and integer chains, paired"
                 + (f" on {name}" if name else ""))
    ax.legend(fontsize="small", loc="upper center", ncol=2)
    return [figures_parallel.save_named(fig, outdir, "cpu_smt", name)]
