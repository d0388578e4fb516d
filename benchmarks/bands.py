"""Each line's uncertainty where people look: a band around every point of asv's graphs whose
result asv stores with statistics (every wall-time line: the sampled lines, fib, the no-op
floor, pure C, the control and memory, and asv's own time_ lines), offline.

asv stores, for a result with samples, the 99% confidence interval of its median
(stats_ci_99_a, stats_ci_99_b) and weighs its step fit by it, but ``asv publish`` leaves it
out of the graph files.  This writes <html>/bands.json ({benchmark: [{"rev", "value", "lo",
"hi"}]}: the revision, the published value and its interval) from the results, and
<html>/fibext-bands.js, a flot plugin the graph page loads: after each draw it shades, in the
line's colour, the interval around each point it finds there (matched by revision and value,
as the step markers are), and adds a legend entry saying what the band is.
"""

import json
import pathlib

import sitepages
from asvresults import ANY, interval, is_na, result_lines, results_of

SCRIPT = "fibext-bands.js"
#: The legend entry under the graph (the browser test reads it).
LEGEND = ("Shaded band around a line: asv's 99% confidence interval of each point's median "
          "(wall-time lines; exact counts have none).")
_JS = r"""/* fibext: shade each point's 99% interval (bands.json) on asv's graphs. */
(function ($) {
    var found = null;
    $.getJSON("bands.json").done(function (data) {
        found = data;
        var plot = $("#main-graph").data("plot");   // drawn before the bands arrived
        if (plot) { plot.draw(); }
    });

    function benchmark() {
        return decodeURIComponent(window.location.hash.slice(1).split("?")[0]);
    }

    function shade(plot, ctx) {
        var holder = plot.getPlaceholder();
        holder.find(".fibext-band-legend").remove();
        if (!found || holder.attr("id") !== "main-graph") { return; }
        var bands = found[benchmark()] || [];
        if (!bands.length) { return; }
        var byRev = {}, dates = ($.asv && $.asv.main_json) ? $.asv.main_json.revision_to_date : {};
        $.each(bands, function (i, b) {
            (byRev[b.rev] = byRev[b.rev] || []).push(b);
            if (dates[b.rev] !== undefined) { (byRev[dates[b.rev]] = byRev[dates[b.rev]] || []).push(b); }
        });
        var offset = plot.getPlotOffset(), drawn = 0;
        ctx.save();
        ctx.translate(offset.left, offset.top);
        $.each(plot.getData(), function (i, series) {
            var run = [];
            function close() {
                if (run.length > 1) {
                    ctx.beginPath();
                    ctx.moveTo(run[0][0], run[0][2]);
                    for (var k = 1; k < run.length; k++) { ctx.lineTo(run[k][0], run[k][2]); }
                    for (k = run.length - 1; k >= 0; k--) { ctx.lineTo(run[k][0], run[k][1]); }
                    ctx.closePath();
                    ctx.globalAlpha = 0.2;
                    ctx.fillStyle = series.color;
                    ctx.fill();
                }
                run = [];
            }
            $.each(series.data, function (j, point) {
                var match = null;
                if (point && point[1] !== null) {
                    $.each(byRev[point[0]] || [], function (k, b) {
                        if (Math.abs(point[1] - b.value) <= 1e-9 * Math.abs(b.value)) { match = b; }
                    });
                }
                if (!match) { close(); return; }
                var x = series.xaxis.p2c(point[0]);
                var lo = series.yaxis.p2c(match.lo), hi = series.yaxis.p2c(match.hi);
                run.push([x, lo, hi]);
                ctx.globalAlpha = 0.6;                  // a whisker: a lone point shows too
                ctx.strokeStyle = series.color;
                ctx.lineWidth = 1;
                ctx.beginPath();
                ctx.moveTo(x, lo);
                ctx.lineTo(x, hi);
                ctx.stroke();
                drawn += 1;
            });
            close();
        });
        ctx.restore();
        if (drawn) {
            $("<div class='fibext-band-legend'></div>").text(LEGEND_TEXT)
                .attr("data-points", drawn)
                .css({position: "absolute", top: offset.top + 4,     // the plot's top right:
                      right: holder.width() - offset.left - plot.width() + 4,   // clear of axes
                      "max-width": plot.width() / 2, font: "11px sans-serif", color: "#333",
                      "pointer-events": "none", background: "rgba(255,255,255,0.85)",
                      padding: "1px 3px", border: "1px solid #ccc"})
                .appendTo(holder);
        }
    }

    $.plot.plugins.push({
        init: function (plot) { plot.hooks.draw.push(shade); },
        name: "fibext-bands",
        version: "1"
    });
}(jQuery));
"""


def graph_bands(html_dir, results_dir):
    """{benchmark: [{"rev", "value", "lo", "hi"}]}: every result of results_dir (every machine
    and Python) that asv stores with a 99% interval, at its published revision."""
    html_dir = pathlib.Path(html_dir)
    revisions = json.loads((html_dir / "index.json").read_text())["revision_to_hash"]
    rev_of = {commit: int(rev) for rev, commit in revisions.items()}
    found = {}
    machines = [p.name for p in pathlib.Path(results_dir).iterdir()
                if (p / "machine.json").is_file()]
    for machine in machines:
        for result in results_of(results_dir, machine, ANY):
            rev = rev_of.get(result.commit_hash)
            if rev is None:
                continue
            for (name, _), (value, stats, _) in result_lines(result).items():
                band = interval(stats)   # one sample has none: no band, not a wrong one
                if is_na(value) or band is None:
                    continue
                found.setdefault(name, []).append(
                    {"rev": rev, "value": value, "lo": band[0], "hi": band[1]})
    return found


def write(html_dir, results_dir):
    """bands.json and the plugin into the site, the plugin loaded by its index page; the number
    of points given a band."""
    html_dir = pathlib.Path(html_dir)
    found = graph_bands(html_dir, results_dir)
    # strict JSON: the browser's parser rejects Infinity, and every band with it
    (html_dir / "bands.json").write_text(json.dumps(found, sort_keys=True, allow_nan=False))
    (html_dir / SCRIPT).write_text(_JS.replace("LEGEND_TEXT", json.dumps(LEGEND)))
    sitepages.load_script(html_dir, SCRIPT)
    return sum(len(v) for v in found.values())
