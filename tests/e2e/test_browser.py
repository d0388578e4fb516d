"""The published history as a user sees it: Chromium opens the offline site on 127.0.0.1.

The site of the `published_site` fixture (the main job on a scratch clone) is served by
http.server bound to 127.0.0.1, and Debian's chromium, driven headless by Playwright, opens it
with every request routed through the test: a request to any other host is refused and fails
the test, as does any console error, uncaught script error or failed load.  Each test saves
screenshots of what it looked at into tests/output/screenshots/ (test output, not committed).
"""

import colorsys
import functools
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import threading
import urllib.parse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

import annotate
import bands
import fibext
from helpers import REPO as ROOT

SCREENSHOTS = ROOT / "tests" / "output" / "screenshots"
# Debian's chromium package; Playwright downloads no browser of its own.
CHROMIUM = os.environ.get("FIBEXT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_SCHEMES = {"data", "blob", "about"}
FIB = "bench_fib.Fib.track_call"
# Cython sources that have an annotation page: every .pyx, and the .py compiled unchanged.
CYTHON_SOURCES = sorted(p.name for p in (ROOT / "fibext").glob("*.pyx")) + ["_pyfib.py"]

pytestmark = [pytest.mark.slow, pytest.mark.alone]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory):
    """(base URL, server) of directory served on 127.0.0.1 only."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/", server


@pytest.fixture(scope="module")
def site(published_site):
    """The published site's base URL, served on 127.0.0.1 only, for this module's tests."""
    url, server = serve(published_site.html)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def screenshots():
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's pictures
    SCREENSHOTS.mkdir(parents=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser():
    # Playwright gives each launch a fresh, temporary user data directory.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A browser page whose every request, console error and failed load is recorded."""

    def __init__(self, browser, site):
        self.site = site
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.requests, self.offsite, self.errors = [], [], []
        self.context.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("requestfailed", lambda request: self.errors.append(
            f"failed: {request.url} ({request.failure})"))
        self.page.on("response", lambda response: response.status >= 400 and self.errors.append(
            f"HTTP {response.status}: {response.url}"))

    def _route(self, route):
        url = route.request.url
        self.requests.append(url)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            self.offsite.append(url)
            route.abort("blockedbyclient")

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location}")

    def open(self, path):
        """Go to a page of the site and let its scripts finish loading what they ask for (leaving
        sooner would cancel those requests)."""
        self.page.goto(self.site + path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def assert_clean(self):
        """Nothing left 127.0.0.1, and nothing went wrong on the way."""
        assert self.requests, "the page made no request at all"
        assert self.offsite == [], f"requests that left 127.0.0.1: {self.offsite}"
        # A blocked off-site request also fails its load: report it once, above.
        errors = [e for e in self.errors if not any(url in e for url in self.offsite)]
        assert errors == [], "\n".join(errors)


@pytest.fixture
def visit(browser, site):
    visit = Visit(browser, site)
    yield visit
    visit.context.close()


def index_json(published_site):
    return json.loads((published_site.html / "index.json").read_text())


def test_grid_lists_every_benchmark(visit, published_site, screenshots):
    """The start page lists every benchmark of index.json, and each one's summary plot loads."""
    benchmarks = index_json(published_site)["benchmarks"]
    page = visit.open("index.html")
    tiles = page.locator("#summarygrid-display a.benchmark-container")
    tiles.nth(len(benchmarks) - 1).wait_for()
    hrefs = tiles.evaluate_all("tiles => tiles.map(t => t.getAttribute('href'))")
    assert sorted(hrefs) == sorted(f"#{name}" for name in benchmarks)
    # Plots load as they scroll into view: bring every tile into view, then every tile has one.
    for i in range(tiles.count()):
        tiles.nth(i).scroll_into_view_if_needed()
        page.wait_for_timeout(50)
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('#summarygrid-display .benchmark-plot "
            "canvas.flot-base').length === n", arg=len(benchmarks), timeout=15_000)
    except PlaywrightTimeout:
        visit.assert_clean()  # a summary graph that did not load says which
        raise
    groups = page.locator("#summarygrid-display .benchmark-group h1").all_inner_texts()
    assert sorted(groups) == sorted({name.split(".")[0] for name in benchmarks})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshots / "grid.png", full_page=True)
    visit.assert_clean()


# Plot data and where flot drew it: each series' points in canvas pixels (null values skipped).
SERIES_JS = """() => {
    const plot = $('#main-graph').data('plot');
    const x = plot.getAxes().xaxis, y = plot.getAxes().yaxis, offset = plot.getPlotOffset();
    return plot.getData().map(s => ({
        label: s.label, color: s.color, lines: s.lines.show,
        pixels: s.data.filter(p => p[1] !== null)
                      .map(p => [x.p2c(p[0]) + offset.left, y.p2c(p[1]) + offset.top]),
    }));
}"""
PAINT_JS = """([px, py]) => {
    // The strongest alpha in a 1x5 column around (px, py): flot's 1px lines are antialiased
    // and may sit a pixel off the rounded coordinate.
    const canvas = document.querySelector('#main-graph canvas.flot-base');
    const scale = canvas.width / canvas.clientWidth;
    const x = Math.round(px * scale), y = Math.round(py * scale);
    const data = canvas.getContext('2d').getImageData(x, y - 2, 1, 5).data;
    return Math.max(data[3], data[7], data[11], data[15], data[19]);
}"""


def luminance(rgb):
    """Relative luminance (WCAG 2) of an (r, g, b) in 0..255."""
    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def rgb(css):
    """(r, g, b) of a computed CSS colour 'rgb(r, g, b)' or 'rgba(r, g, b, a)'."""
    return tuple(int(float(v)) for v in css[css.index("(") + 1:-1].split(",")[:3])


def test_fib_graph_draws_a_line_per_variant_with_a_readable_legend(visit, published_site,
                                                                     screenshots):
    variants = list(fibext.VARIANTS)
    page = visit.open(f"index.html#{FIB}")
    labels = page.locator("#main-graph .legend td.legendLabel")
    labels.nth(len(variants) - 1).wait_for()

    # One series per variant (at the first n), each drawn as a line through every commit.
    commits = len(index_json(published_site)["revision_to_hash"])
    series = page.evaluate(SERIES_JS)
    assert sorted(s["label"].split("variant-")[1] for s in series) == sorted(variants), series
    assert all(s["lines"] and len(s["pixels"]) == commits >= 2 for s in series), series
    # The lines are on the canvas: the middle of every segment is painted (in some series'
    # colour where lines cross or overlap); flot leaves the rest of the canvas transparent.
    for s in series:
        for (x0, y0), (x1, y1) in zip(s["pixels"], s["pixels"][1:]):
            alpha = page.evaluate(PAINT_JS, [(x0 + x1) / 2, (y0 + y1) / 2])
            assert alpha >= 128, (s["label"], (x0 + x1) / 2, (y0 + y1) / 2, alpha)

    # The legend: one row per variant, each naming it, in a readable size and contrast, inside
    # the graph and not overlapping the next row.
    texts = labels.all_inner_texts()
    assert sorted(t.split("variant-")[1] for t in texts) == sorted(variants), texts
    graph = page.locator("#main-graph").bounding_box()
    boxes = [labels.nth(i).bounding_box() for i in range(len(texts))]
    for box in boxes:
        assert graph["x"] <= box["x"] and box["x"] + box["width"] <= graph["x"] + graph["width"]
        assert graph["y"] <= box["y"] and box["y"] + box["height"] <= graph["y"] + graph["height"]
    tops = sorted(box["y"] for box in boxes)
    assert all(b - a >= boxes[0]["height"] - 0.5 for a, b in zip(tops, tops[1:])), boxes
    style = labels.first.evaluate("e => { const s = getComputedStyle(e); "
                                  "return [parseFloat(s.fontSize), s.color]; }")
    assert style[0] >= 9, f"legend font {style[0]}px"
    text = luminance(rgb(style[1]))
    contrast = (1 + 0.05) / (text + 0.05)  # on the legend's white background
    assert contrast >= 4.5, f"legend text contrast {contrast:.1f}:1"
    swatches = page.locator("#main-graph .legend td.legendColorBox div div").evaluate_all(
        "boxes => boxes.map(b => getComputedStyle(b).borderTopColor)")
    hues = {round(colorsys.rgb_to_hls(*(c / 255 for c in rgb(s)))[0], 2) for s in swatches}
    assert len(set(swatches)) == len(variants), swatches  # a colour per variant
    assert len(hues) >= 5, swatches  # not shades of one hue

    page.screenshot(path=screenshots / "fib-graph.png")
    page.click("#log-scale")
    page.wait_for_timeout(500)
    page.screenshot(path=screenshots / "fib-graph-log.png")
    visit.assert_clean()


def test_every_sampled_line_is_drawn_with_its_band_and_a_legend_saying_what_it_is(
        visit, published_site, screenshots):
    # every point of the fib graph has asv's 99% interval around it (bands.py)
    page = visit.open(f"index.html#{FIB}")
    legend = page.locator("#main-graph .fibext-band-legend")
    legend.wait_for()
    assert legend.inner_text() == bands.LEGEND
    series = page.evaluate(SERIES_JS)
    drawn = int(legend.get_attribute("data-points"))
    assert drawn == sum(len(s["pixels"]) for s in series) > 0, (drawn, series)
    box, graph = legend.bounding_box(), page.locator("#main-graph").bounding_box()
    assert graph["y"] <= box["y"] and box["y"] + box["height"] <= graph["y"] + graph["height"]
    page.click("#log-scale")
    page.wait_for_timeout(500)
    page.screenshot(path=screenshots / "fib-graph-band.png")
    visit.assert_clean()


def test_regressions_page_lists_every_step_still_at_the_tip(browser, drill_site, screenshots):
    """The drill's site keeps two changes at its tip (capi_varargs' instructions, the strided
    read's misses): the Regressions page shows a row for each step regressions.json lists."""
    assert drill_site.run.returncode == 0, drill_site.run.stdout[-4000:]
    regressions = json.loads((drill_site.html / "regressions.json").read_text())
    steps = [(name, step) for name, _, _, _, _, _, found in regressions["regressions"]
             for step in found]
    assert steps, "the drill's site lists no regression: nothing here could be checked"
    url, server = serve(drill_site.html)
    try:
        visit = Visit(browser, url)
        page = visit.open("index.html#regressions")
        page.locator("#regressions-body .regression-div table").first.wait_for()
        assert page.locator("#title").inner_text() == "All regressions"
        assert "Loading" not in page.locator("#regressions-body").inner_text()
        # One row per step still present at the tip: an entry lists its steps.
        rows = page.locator("#regressions-body .regression-div table:not(.ignored) tbody tr")
        rows.first.wait_for()
        assert rows.count() == len(steps)
        shown = rows.all_inner_texts()
        for name, _ in steps:
            assert any(row.startswith(name) for row in shown), (name, shown)
        page.screenshot(path=screenshots / "regressions.png", full_page=True)
        visit.assert_clean()
    finally:
        server.shutdown()
        server.server_close()


def test_report_with_the_seed_table_and_plots_is_reachable(visit, published_site, screenshots):
    page = visit.open("index.html")
    page.click("#nav-li-report a")
    page.wait_for_url("**/report/index.html")
    page.wait_for_load_state("networkidle")
    visit.assert_clean()
    assert page.locator("h1").inner_text() == "fibext report"
    # a contents list linking every section
    sections = page.locator("h2[id]").evaluate_all("hs => hs.map(h => h.id)")
    links = page.locator("nav a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert links == [f"#{s}" for s in sections] and {"fib", "history", "noise"} <= set(sections)
    # the fib table is an HTML table, the same numbers as fib-table.md
    rows = page.locator("table").first.locator("tbody tr").evaluate_all(
        "rs => rs.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
    assert [r[0] for r in rows][:len(fibext.VARIANTS)] == list(fibext.VARIANTS), rows
    markdown = page.evaluate("fetch('fib-table.md').then(r => r.text())")
    for row in rows:
        assert "| " + " | ".join(row) + " |" in markdown, row
    images = page.locator("img").evaluate_all(
        "images => images.map(i => [i.getAttribute('src'), i.complete && i.naturalWidth, i.alt])")
    assert {"fib.png", "history.png"} <= {src for src, _, _ in images}, images
    assert all(width > 0 and alt.strip() for _, width, alt in images), images
    # readable at 1400 px: nothing scrolls sideways
    page.set_viewport_size({"width": 1400, "height": 900})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the report scrolls {overflow} px sideways at 1400 px"
    page.screenshot(path=screenshots / "report.png", full_page=True)
    page.click("text=the benchmark history")
    page.wait_for_url("**/index.html")
    visit.assert_clean()


def test_cython_annotations_are_reachable(visit, screenshots):
    """From the navigation bar to each source's `cython -a` page, where yellow lines unfold."""
    page = visit.open("index.html")
    page.click("#nav-li-annotate a")
    page.wait_for_url("**/annotate/index.html")
    links = page.locator("table a")
    assert sorted(links.all_inner_texts()) == sorted(CYTHON_SOURCES)
    page.screenshot(path=screenshots / "annotate-index.png", full_page=True)
    for source in CYTHON_SOURCES:
        page.click(f"table a:text-is('{source}')")
        page.wait_for_url(f"**/annotate/{pathlib.Path(source).stem}.html")
        assert page.title() == f"Cython: {source}"
        lines = page.locator("pre.cython.line")
        assert lines.count() == len((ROOT / "fibext" / source).read_text().splitlines())
        # Lines that call into the C-API are shaded yellow (red and green full, blue less).
        yellow = page.locator("pre.cython.line:not(.score-0)")
        assert yellow.count() > 0
        r, g, b = rgb(yellow.first.evaluate("e => getComputedStyle(e).backgroundColor"))
        assert r == g == 255 and b < 255
        # A click on a "+" line unfolds the C that Cython generated for it.
        code = yellow.first.locator("xpath=following-sibling::pre[1]")
        assert not code.is_visible()
        yellow.first.click()
        assert code.is_visible() and code.inner_text().strip()
        if source == "_cyfib.pyx":
            page.screenshot(path=screenshots / "annotate-_cyfib.png", full_page=True)
        page.go_back()
        page.wait_for_url("**/annotate/index.html")
    visit.assert_clean()


def test_annotation_pages_that_would_leave_this_machine_are_refused():
    """annotate.py checks every page Cython writes: one that loads from a CDN is an error."""
    page = ('<html><body class="cython"><p>Raw output: <a href="_x.c">_x.c</a></p>'
            '<pre class="cython line score-3">+<span class="">01</span>: x = 1</pre></body></html>')
    published = annotate._publishable(page, "_x.html")
    assert 'href="_x.c"' not in published and 'href="index.html"' in published
    assert annotate.line_scores(page) == [(1, 3, "x = 1")]
    for external in ('<script src="https://cdn.example.org/jquery.js"></script>',
                     '<link rel="stylesheet" href="//cdn.example.org/a.css">',
                     '<style>@import url(https://fonts.example.org/x.css);</style>'):
        with pytest.raises(annotate.AnnotateError):
            annotate._publishable(page.replace("<body", external + "<body"), "_x.html")


def test_steps_are_marked_on_the_graph_where_the_drill_put_them(browser, drill_site, screenshots):
    """On the drill's published site, fib(90)'s graph carries a marker at each step asv's fit
    finds, with its ratio: cython's at its injected change and its undo; elsewhere only where
    the drill judged the host's noise too large for a time verdict."""
    assert drill_site.run.returncode == 0, drill_site.run.stdout[-4000:]
    index = json.loads((drill_site.html / "index.json").read_text())
    hash_to_rev = {h: int(r) for r, h in index["revision_to_hash"].items()}
    log = git_log(drill_site.clone)                  # oldest first: base, then the drill's
    changed = {hash_to_rev[sha] for sha, label in log if label.startswith(("(b)", "(c)", "(e)"))}
    cython = {hash_to_rev[sha] for sha, label in log if label.startswith(("(b)", "(e)"))}
    assert cython, log  # the drill's labels name its 3x step: "cython <= revs" below needs it
    published = json.loads((drill_site.html / "steps.json").read_text())[FIB]
    url, server = serve(drill_site.html)
    try:
        visit = Visit(browser, url)
        page = visit.open(f"index.html#{FIB}?p-n=90")
        # the graph is drawn, and the 3x step's markers (always found) are on it
        page.wait_for_function("document.querySelectorAll('#main-graph .fibext-step').length >= 2")
        page.wait_for_timeout(500)
        marks = page.locator("#main-graph .fibext-step").evaluate_all(
            "ms => ms.map(m => [Number(m.dataset.rev), Number(m.dataset.ratio), m.innerText])")
        page.screenshot(path=screenshots / "fib-graph-steps.png")
        visit.assert_clean()
    finally:
        server.shutdown()
        server.server_close()
    revs = {rev for rev, _, _ in marks}
    assert revs == {m["rev"] for m in published}, (marks, published)
    # the 3x step and its undo, always, on cython's own line
    cython_marks = {m["rev"] for m in published if m["line"][0].strip("'") == "cython"}
    assert cython <= cython_marks <= changed, (published, changed)
    # a marker anywhere else is a step asv's fit found in a line's noise: it may stand only
    # where the drill itself found this host's no-op noise too large for a time verdict, and
    # said so (the drill's rule: such steps are listed, not judged)
    if revs - changed:
        assert ("no time verdict on this host now" in drill_site.run.stdout
                or "within this host's noise" in drill_site.run.stdout), (published, changed)
    for rev, ratio, text in marks:
        assert text.endswith(f"{ratio:.2f}x") and (ratio > 1) == text.startswith("\u25b2")


def git_log(clone):
    """[(sha, subject without 'drill: ')] oldest first."""
    out = subprocess.run(["git", "log", "--reverse", "--format=%H %s"], cwd=clone,
                         capture_output=True, text=True, check=True).stdout
    return [(line[:40], line[41:].removeprefix("drill: ")) for line in out.splitlines()]
