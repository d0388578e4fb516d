"""The bands the site draws (benchmarks/bands.py): asv's 99% interval of every sampled result,
at the revision the graphs plot it, and a plugin the graph page loads."""

import json

from asv import results as asv_results

import bands

TIP, PARENT = "a" * 40, "b" * 40
ENV = "virtualenv-py3.11-Cython3.3.1"


def write_result(results_dir, commit, entries):
    """A results file of commit on machine m: entries {name: (value, stats or None)}."""
    asv_results.Results({"machine": "m", "python": "3.11"}, {}, commit, 1000, "3.11", ENV,
                        {}).save(str(results_dir))
    (path,) = (results_dir / "m").glob(f"{commit[:8]}-{ENV}.json")
    data = json.loads(path.read_text())
    columns = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
               "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"]
    data["result_columns"] = columns
    data["results"] = {
        name: [[value], [], "1", 0, 1.0, [stats and stats[0]], [stats and stats[1]],
               [None], [None], [None], [None]]
        for name, (value, stats) in entries.items()}
    path.write_text(json.dumps(data))


def site(tmp_path):
    html, results = tmp_path / "html", tmp_path / "results"
    html.mkdir()
    (results / "m").mkdir(parents=True)
    (results / "m" / "machine.json").write_text('{"machine": "m", "version": 1}')
    (html / "index.json").write_text(json.dumps({"revision_to_hash": {"3": PARENT, "4": TIP}}))
    (html / "index.html").write_text('<html><script src="graphdisplay.js"></script></html>')
    return html, results


def test_every_result_with_an_interval_gets_a_band_at_its_revision(tmp_path):
    html, results = site(tmp_path)
    fib, memory = "bench_fib.FibNoop.track_call", "bench_memory.Read.track_ns_per_element"
    write_result(results, TIP, {fib: (16e-9, (15e-9, 17e-9)), memory: (2.0, None)})
    write_result(results, PARENT, {fib: (float("nan"), None)})     # skipped: no band
    found = bands.graph_bands(html, results)
    assert found == {fib: [{"rev": 4, "value": 16e-9, "lo": 15e-9, "hi": 17e-9}]}


def test_the_plugin_is_written_and_loaded_once_with_its_legend(tmp_path):
    html, results = site(tmp_path)
    write_result(results, TIP, {"bench_fib.Control.track_call": (1e-6, (0.9e-6, 1.2e-6))})
    assert bands.write(html, results) == 1
    assert bands.write(html, results) == 1
    page = (html / "index.html").read_text()
    assert page.count(bands.SCRIPT) == 1
    assert page.index("graphdisplay.js") < page.index(bands.SCRIPT)   # after flot and jQuery
    script = (html / bands.SCRIPT).read_text()
    assert json.dumps(bands.LEGEND) in script and "LEGEND_TEXT" not in script
    assert json.loads((html / "bands.json").read_text())["bench_fib.Control.track_call"]


def test_a_line_of_one_sample_gets_no_band_and_the_file_stays_json(tmp_path):
    # asv stores one sample's interval as (-inf, inf): written out, it is not JSON, and the
    # browser would then draw no band at all
    html, results = site(tmp_path)
    one, two = "bench_memory.Read.track_ns_per_element", "bench_fib.FibNoop.track_call"
    write_result(results, TIP, {one: (2e-9, (float("-inf"), float("inf"))),
                                two: (16e-9, (15e-9, 17e-9))})
    assert bands.write(html, results) == 1
    assert set(json.loads((html / "bands.json").read_text())) == {two}
