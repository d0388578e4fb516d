"""Steps drawn where people look: a marker on each benchmark graph of the published site at each
step asv's step fit finds in the published series, with its ratio.

Writes <html>/steps.json ({benchmark: [{"rev", "value", "ratio", "line"}]}: the revision and the
published value a step lands on, the line's parameters) from the graph files ``asv publish`` wrote, and
<html>/fibext-steps.js, a flot plugin the graph page loads: after each draw it places a marker
on every point of the plot that is a step's landing point (matched by revision and value, so
only the line that stepped gets it).  Offline like the rest of the site.
"""

import itertools
import json
import pathlib

import repo
import sitepages
import steps
from asvresults import entry_name, is_count

SCRIPT = "fibext-steps.js"
_JS = r"""/* fibext: mark the steps of each line (steps.json) on asv's graphs, with their ratio. */
(function ($) {
    var found = null;
    $.getJSON("steps.json").done(function (data) {
        found = data;
        var plot = $("#main-graph").data("plot");   // drawn before the steps arrived
        if (plot) { mark(plot); }
    });

    function benchmark() {
        return decodeURIComponent(window.location.hash.slice(1).split("?")[0]);
    }

    function mark(plot) {
        var holder = plot.getPlaceholder();
        holder.find(".fibext-step").remove();
        if (!found || holder.attr("id") !== "main-graph") { return; }
        var marks = found[benchmark()] || [];
        if (!marks.length) { return; }
        var dates = ($.asv && $.asv.main_json) ? $.asv.main_json.revision_to_date : {};
        $.each(plot.getData(), function (i, series) {
            $.each(series.data, function (j, point) {
                if (!point || point[1] === null) { return; }
                $.each(marks, function (k, m) {
                    var x = m.rev, same = point[0] === x || point[0] === dates[x];
                    if (!same || Math.abs(point[1] - m.value) > 1e-9 * Math.abs(m.value)) { return; }
                    var at = plot.pointOffset({x: point[0], y: point[1],
                                               xaxis: series.xaxis, yaxis: series.yaxis});
                    var slower = m.ratio > 1;
                    $("<div class='fibext-step'></div>")
                        .text((slower ? "\u25B2 " : "\u25BC ") + m.ratio.toFixed(2) + "x")
                        .attr({"data-rev": m.rev, "data-ratio": m.ratio,
                               "title": "step at this commit: " + m.ratio.toFixed(3) + "x"})
                        .css({position: "absolute", left: at.left - 6, top: at.top - 24,
                              font: "bold 11px sans-serif", padding: "1px 3px",
                              background: "rgba(255,255,255,0.85)", "border-radius": "3px",
                              color: slower ? "#b00" : "#070", "pointer-events": "none"})
                        .appendTo(holder);
                });
            });
        });
    }

    $.plot.plugins.push({
        init: function (plot) { plot.hooks.draw.push(function (plot) { mark(plot); }); },
        name: "fibext-steps",
        version: "1"
    });
}(jQuery));
"""


def graph_steps(html_dir, thresholds):
    """{benchmark: [{"rev", "value", "ratio", "line"}]} of every published graph file of every
    machine: each column of the graph (one parameter combination) fitted as asv publish fits
    it (exact counts compared commit to commit)."""
    html_dir = pathlib.Path(html_dir)
    index = json.loads((html_dir / "index.json").read_text())
    found = {}
    for path in sorted((html_dir / "graphs").rglob("*.json")):
        if path.parent.name == "summary" or path.stem not in index["benchmarks"]:
            continue
        benchmark = index["benchmarks"][path.stem]
        data = json.loads(path.read_text())
        if not data:
            continue
        combos = list(itertools.product(*benchmark["params"])) if benchmark["params"] else [()]
        for column, combo in enumerate(combos):
            revs, values = [], []
            for rev, value in data:
                value = value[column] if isinstance(value, list) else value
                revs.append(rev)
                values.append(value if isinstance(value, (int, float)) else None)
            threshold = repo.threshold_for(thresholds, entry_name(path.stem, combo))
            if is_count(benchmark):
                line = steps.count_steps(values, threshold)
            else:
                line = steps.time_steps(values, None, threshold)
            found.setdefault(path.stem, []).extend(
                {"rev": revs[i], "value": values[i], "ratio": after / before, "line": list(combo)}
                for i, before, after in line if before)
    return found


def write(html_dir, thresholds):
    """steps.json and the plugin into the site, the plugin loaded by its index page; the
    number of steps marked."""
    html_dir = pathlib.Path(html_dir)
    found = graph_steps(html_dir, thresholds)
    (html_dir / "steps.json").write_text(json.dumps(found, indent=1, sort_keys=True))
    (html_dir / SCRIPT).write_text(_JS)
    sitepages.load_script(html_dir, SCRIPT)
    return sum(len(v) for v in found.values())
