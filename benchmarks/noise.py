"""Noise report: how far each benchmark line's samples spread around their median, in the
newest commit's results, with the unstable lines flagged, so a reader of the history knows
which lines to trust.

    python benchmarks/noise.py [--results .asv/results] [--machine NAME] [--out DIR]

The spread of one line, from the best data its results hold:

- ``samples`` (asv run --record-samples; the main job records them): pyperf check's figures,
  the standard deviation and the range (max - min), both relative to the median;
- else asv's quartiles (stored for every timed benchmark): the interquartile range relative
  to the median, and the 99% confidence interval of the median;
- else (track_ benchmarks return one figure per run, with no samples): the line's values over
  the newest commits that have it, which also contains any real change between them (said so
  in the "from" column);
- instruction counts are exact: spread 0 ("exact").

Unstable, as pyperf check warns: a standard deviation over 10% of the median, or a sample
more than 50% away from it.  Without samples the IQR stands in for the deviation (IQR / 1.35
estimates a normal distribution's standard deviation); without either, the range across
commits over 20%.
"""

import argparse
import json
import pathlib
import statistics
import sys

import repo
from asvresults import EXACT_UNITS, interval, load_benchmarks, newest_first, result_lines
from asvresults import is_na as _na
from tables import html_table, markdown_table

#: pyperf check's thresholds: std dev / mean above 10%, min or max 50% away from the mean.
STD_LIMIT = 0.10
RANGE_LIMIT = 0.50
#: For a line with one value per run: the range over the newest commits above this.
COMMITS_LIMIT = 0.20
#: How many of the newest commits the across-commits spread looks at.
COMMITS = 5


def line_noise(value, stats, samples, history=(), unit=None):
    """The spread of one line: a dict with median, n, std (relative), range (relative),
    iqr (relative), source ("samples", "quartiles", "commits", "exact" or "none") and
    unstable (bool)."""
    out = {"median": value, "n": None, "std": None, "range": None, "iqr": None,
           "source": "none", "unstable": False}
    if _na(value):
        return out
    samples = [s for s in (samples or []) if not _na(s)]
    if len(samples) >= 2:
        median = statistics.median(samples)
        if median:
            q = statistics.quantiles(samples, n=4, method="inclusive")
            out.update(median=median, n=len(samples), source="samples",
                       std=statistics.stdev(samples) / median,
                       range=(max(samples) - min(samples)) / median,
                       iqr=(q[2] - q[0]) / median)
            far = max(abs(max(samples) - median), abs(median - min(samples))) / median
            out["unstable"] = out["std"] > STD_LIMIT or far > RANGE_LIMIT
            return out
    # quartiles of one sample say nothing (asv stores them equal): the commits speak instead
    if (stats and not _na(stats.get("q_25")) and not _na(stats.get("q_75")) and value
            and (stats.get("repeat") or 0) >= 2):
        out.update(source="quartiles", n=stats.get("repeat"),
                   iqr=(stats["q_75"] - stats["q_25"]) / value)
        band = interval(stats)
        if band:
            out["range"] = (band[1] - band[0]) / value  # the 99% CI of the median, the nearest to a range
        out["unstable"] = out["iqr"] / 1.35 > STD_LIMIT
        return out
    if unit in EXACT_UNITS:
        # Counted, not sampled: the same on every run (tests/suite/test_instructions.py), so the
        # spread is 0; a difference between commits is a change, not noise.
        out.update(source="exact", n=1, std=0.0, range=0.0)
        return out
    values = [v for v in history if not _na(v)]
    if len(values) >= 2:
        median = statistics.median(values)
        if median:
            out.update(source="commits", n=len(values),
                       range=(max(values) - min(values)) / median)
            out["unstable"] = out["range"] > COMMITS_LIMIT
    return out


def noise_table(results, machine=None, benchmarks=None, commits=COMMITS):
    """Rows (name(params), noise dict) of the newest of results (asv Results, newest first),
    worst first; a line's spread over commits is over the newest `commits` measurements."""
    benchmarks = benchmarks or {}
    # one measurement a build: the commits of one build carry copies of its results (the same
    # start times), which would read as a line that never moves
    measured = list({tuple(sorted(r.started_at.items())): r for r in reversed(results)}.values())
    measured.reverse()
    newest = result_lines(measured[0])
    older = [result_lines(r) for r in measured[1:commits]]
    rows = []
    for (name, combo), (value, stats, samples) in newest.items():
        if _na(value):
            continue  # not run (or failed) at this commit: nothing to say
        history = [value] + [lines[(name, combo)][0] for lines in older if (name, combo) in lines]
        unit = benchmarks.get(name, {}).get("unit")
        noise = line_noise(value, stats, samples, history, unit)
        label = f"{name}({', '.join(combo)})" if combo else name
        rows.append((label, noise))
    rows.sort(key=lambda row: -_score(row[1]))
    return rows


def _score(noise):
    """Sort key: the relative deviation, or what stands in for it."""
    if noise["std"] is not None:
        return noise["std"]
    if noise["iqr"] is not None:
        return noise["iqr"] / 1.35
    if noise["range"] is not None:
        return noise["range"] / 2
    return -1.0


def _pct(x):
    return "" if x is None else f"{100 * x:.1f}%"


def markdown(rows, machine, commit):
    unstable = [label for label, noise in rows if noise["unstable"]]
    lines = [
        f"Noise of each benchmark line on machine `{machine}`, commit `{commit[:8]}` "
        "(worst first).  std and range are relative to the median; **unstable**: std over "
        f"{100 * STD_LIMIT:.0f}% of the median or a sample more than {100 * RANGE_LIMIT:.0f}% "
        "away from it (pyperf check's rules; without samples IQR/1.35 stands for std, and "
        f"for one-figure lines the range over the newest {COMMITS} commits over "
        f"{100 * COMMITS_LIMIT:.0f}%).",
        "",
        f"{len(unstable)} of {len(rows)} lines unstable.",
        "",
        markdown_table(HEADER, _cells(rows, "**unstable**"), "llrrrrl"),
    ]
    return "\n".join(lines) + "\n"


HEADER = ["line", "from", "n", "std", "range", "IQR", "verdict"]


def _cells(rows, unstable_mark):
    return [(label, noise["source"], noise["n"] or "", _pct(noise["std"]), _pct(noise["range"]),
             _pct(noise["iqr"]),
             unstable_mark if noise["unstable"] else ("-" if noise["source"] == "none" else "ok"))
            for label, noise in rows]


def html_report(noise_md, top=10):
    """The noise report as HTML for the report page: the summary, and the `top` noisiest
    lines as a table (the whole table: noise.md)."""
    data = json.loads((pathlib.Path(noise_md).parent / "noise.json").read_text())
    rows = [(line["line"], line) for line in data["lines"]]
    unstable = sum(noise["unstable"] for _, noise in rows)
    return (f"<p>{unstable} of {len(rows)} lines unstable (std over {100 * STD_LIMIT:.0f}% of "
            f"the median, or a sample {100 * RANGE_LIMIT:.0f}% away from it): do not read small "
            f"steps in them as changes.  The {top} noisiest, worst first:</p>"
            + html_table(HEADER, _cells(rows[:top], "unstable"), "llrrrrl"))


def write_noise_report(source, machine, outdir):
    """Write <outdir>/noise.md and noise.json for machine's newest results; return noise.md.

    source: the results directory (.asv/results), or a list of asv Results, newest first (or
    one Results alone).
    """
    benchmarks = {}
    if isinstance(source, (str, pathlib.Path)):
        if (pathlib.Path(source) / "benchmarks.json").exists():
            benchmarks = load_benchmarks(source)
        results = newest_first(source, machine)
    else:
        results = list(source) if isinstance(source, (list, tuple)) else [source]
    rows = noise_table(results, machine, benchmarks)
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    path = outdir / "noise.md"
    path.write_text(markdown(rows, machine, results[0].commit_hash))
    (outdir / "noise.json").write_text(json.dumps(
        {"machine": machine, "commit": results[0].commit_hash,
         "lines": [{"line": label, **noise} for label, noise in rows]}, indent=1))
    return path


def summary(noise_md, top=5):
    """A few lines for the report page: how many lines are unstable, which, and the `top`
    noisiest, read from the noise.json written beside noise_md."""
    data = json.loads((pathlib.Path(noise_md).parent / "noise.json").read_text())
    lines = data["lines"]
    unstable = [line["line"] for line in lines if line["unstable"]]
    out = [f"{len(unstable)} of {len(lines)} lines unstable (std over {100 * STD_LIMIT:.0f}% of "
           f"the median, or a sample {100 * RANGE_LIMIT:.0f}% away from it): do not read "
           "small steps in them as changes.", "", f"The {top} noisiest lines:"]
    for line in lines[:top]:
        spread = ", ".join(f"{key} {_pct(line[key])}" for key in ("std", "range", "iqr")
                           if line[key] is not None)
        flag = "  UNSTABLE" if line["unstable"] else ""
        out.append(f"  {line['line']}: {spread or 'n/a'} ({line['source']}){flag}")
    if unstable:
        out += ["", "Unstable: " + ", ".join(unstable)]
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(repo.RESULTS))
    parser.add_argument("--machine", default=None, help="default: the main job's machine name")
    parser.add_argument("--out", default=str(repo.HTML / "report"))
    parser.add_argument("--top", type=int, default=10, help="print this many worst lines")
    args = parser.parse_args(argv)
    args.machine = args.machine or repo.stable_machine_name()
    path = write_noise_report(args.results, args.machine, args.out)
    text = path.read_text().splitlines()
    header = text.index("| " + " | ".join(HEADER) + " |")
    print("\n".join(text[:header + 2 + args.top]))
    print(f"... full report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
