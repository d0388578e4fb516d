"""benchmarks/figures_cpu.py and its place in the report: instructions, estimated cycles and
IPC per call; the book's Table 1-1 beside ours with a paragraph computed from the numbers;
the pairing figure of bench_smt.  Fed fixed fake results, as asv stores them."""

import types

import pytest

import book
import figures_cpu
import report

COUNTS = {"python": (1553, 25474), "cython": (518, 1157), "capi": (404, 1039),
          "capi_varargs": (700, 1400)}
TIMES = {"python": (68.0, 1110.0), "cython": (17.0, 50.2), "capi": (14.6, 41.6),
         "capi_varargs": (44.0, 80.0)}


def fake_values(times=TIMES, pure_c=(2.3, 47.9), counts=COUNTS):
    """asv's shape: parameter values as repr strings; None where a run was skipped."""
    values = {
        report.FIB: {(repr(v), str(n)): t[i] for v, t in times.items()
                     for i, n in enumerate((0, 90))},
        report.COUNTS: {(repr(v), str(n)): c[i] for v, c in counts.items()
                        for i, n in enumerate((0, 90))},
    }
    if pure_c:
        values[report.PURE_C] = {("0",): pure_c[0], ("90",): pure_c[1]}
    return values


def rows_of(**kwargs):
    return report.fib_rows(fake_values(**kwargs))


# --- cycles and IPC ---------------------------------------------------------------------------

def test_ipc_arithmetic():
    assert figures_cpu.cycles(10.0, 2.5) == 25.0
    assert figures_cpu.ipc(100, 10.0, 2.5) == 4.0
    assert figures_cpu.cycles(10.0, None) is None and figures_cpu.ipc(100, 10.0, None) is None
    assert figures_cpu.ipc(None, 10.0, 2.5) is None and figures_cpu.ipc(100, 0.0, 2.5) is None


def test_ipc_cells_for_every_row():
    cells = figures_cpu.ipc_cells(rows_of(), fake_values(), 2.0)
    # capi: 404 instructions in 14.6 ns at 2 GHz = 29.2 cycles: IPC 13.84
    assert cells["capi"] == ["404 / 1,039", "29 / 83", "13.84 / 12.49"]
    assert cells["python"][0] == "1,553 / 25,474"
    assert cells["pure C (latency)"] == ["- / -", "5 / 96", "- / -"]  # not counted: timed in C
    unknown = figures_cpu.ipc_cells(rows_of(), fake_values(), None)
    assert unknown["capi"] == ["404 / 1,039", "clock unknown", "clock unknown"]


def test_the_table_gets_the_columns(tmp_path):
    rows = rows_of()
    cpu = figures_cpu.ipc_cells(rows, fake_values(), 2.0)
    text = report.markdown_table_of(rows, "box", "0123456789abcdef", cpu, "the note")
    header = text.splitlines()[2]
    assert header.endswith("| instructions fib(0) / fib(90) | est. cycles fib(0) / fib(90) | "
                           "IPC fib(0) / fib(90) |")
    assert "| capi | 14.6 | 41.6 | 0.30 | 4.7x | 26.7x | 404 / 1,039 | 29 / 83 | 13.84 / 12.49 |" \
        in text
    assert text.rstrip().endswith("the note")
    # without the CPU cells (older callers) every row still has every column
    assert all(len(cells) == len(report.TABLE_HEADER) for cells in report._cells(rows))


def test_report_clock_is_this_hosts_or_unknown(monkeypatch):
    cpu = figures_cpu._cpu_module()
    monkeypatch.setattr(cpu, "stated_clock", lambda: cpu.Clock(2.6, "test"))
    assert figures_cpu.report_clock({"cpu": "AMD EPYC (x)"}, "AMD EPYC (x)").ghz == 2.6
    assert figures_cpu.report_clock({}, "AMD EPYC (x)").ghz == 2.6
    other = figures_cpu.report_clock({"cpu": "Intel Xeon (y)"}, "AMD EPYC (x)")
    assert other.ghz is None and "another host (Intel Xeon (y))" in other.source


def test_the_clock_reader_reads_proc_cpuinfo(monkeypatch):
    cpu = figures_cpu._cpu_module()
    text = "processor\t: 0\ncpu MHz\t\t: 2596.122\n\nprocessor\t: 1\ncpu MHz\t\t: 2596.122\n"
    monkeypatch.setattr(cpu, "_read", lambda path: text if path == cpu.CPUINFO else None)
    clock = cpu.stated_clock()
    assert clock.ghz == pytest.approx(2.596122) and "/proc/cpuinfo" in clock.source


def test_cycles_note_checks_pure_c_against_the_add_latency():
    clock = figures_cpu._cpu_module().Clock(2.596, "test")
    # 45.6 ns over 90 iterations = 0.507 ns: 1.32 cycles at 2.596 GHz, below the 2-cycle add
    slow = figures_cpu.cycles_note(clock, rows_of(pure_c=(2.3, 47.9)))
    assert "1.32 cycles at the stated clock: below the bound" in slow
    assert "the core ran at 3.95 GHz or more" in slow and "1.52x too low" in slow
    # 1.8 ns an iteration: 4.67 cycles, consistent
    fine = figures_cpu.cycles_note(clock, rows_of(pure_c=(2.0, 164.0)))
    assert "at or above the bound" in fine and "ran at" not in fine
    # the add chain's clock: the larger of the two lower bounds counts
    probed = figures_cpu.cycles_note(clock, rows_of(), probed=3.6)
    assert "ran at 3.60 GHz when this report was written" in probed
    assert "the core ran at 3.95 GHz or more, not 2.60" in probed
    probed = figures_cpu.cycles_note(clock, rows_of(pure_c=(2.0, 164.0)), probed=4.2)
    assert "the core ran at 4.20 GHz or more, not 2.60" in probed and "1.62x too low" in probed
    assert "turbo" in slow and "steal time" in slow
    unknown = figures_cpu.cycles_note(figures_cpu._cpu_module().Clock(None, "none"), rows_of())
    assert "the clock is unknown (none)" in unknown and "cycles at" not in unknown


# --- the book's table beside ours -------------------------------------------------------------

def test_the_book_is_written_once():
    assert book.BOOK == {"python": (597, 13637), "capi_varargs": (203, 367),
                                "cython": (88, 251), "pure C (latency)": (2, 164)}


def test_book_rows_are_ratios_side_by_side():
    table = {figure: (theirs, ours)
             for figure, theirs, ours, _ in book.book_rows(rows_of())}
    theirs, ours = table["C extension (METH_VARARGS): speed-up over pure Python, fib(90)"]
    assert theirs == pytest.approx(13637 / 367) and ours == pytest.approx(1110 / 80)
    theirs, ours = table["Cython's call / the METH_VARARGS extension's, fib(0)"]
    assert theirs == pytest.approx(88 / 203) and ours == pytest.approx(17 / 44)
    meth_o = table["Cython's call / the METH_O extension's, fib(0)"]
    assert meth_o == (None, pytest.approx(17 / 14.6))
    cells = book.book_cells(book.book_rows(rows_of()))
    assert ("pure C: speed-up over pure Python, fib(0)", "298.5x", "29.6x") in cells
    assert ("pure Python fib(90), ns", "13,637 ns", "1,110 ns") in cells
    assert ("C extension (METH_O, fibext's capi): speed-up, fib(0)", "-", "4.7x") in cells


def test_the_paragraph_follows_the_numbers():
    text = book.book_paragraph(rows_of(), python="3.11")
    assert "12.3x faster" in text and "PEP 659" in text
    assert "Every speed-up over pure Python shrank at fib(90)" in text
    assert "The book's order at fib(0) holds" in text
    assert "Cython still calls faster than the METH_VARARGS extension (0.39" in text
    assert "But a C extension taking its argument with METH_O calls faster" in text
    assert "(capi 14.6 ns, Cython 17.0 ns at fib(0))" in text
    # Cython's loop body 0.37 ns against pure C's 0.51: calls from Python overlapped
    assert "Cython's loop body from Python (0.37 ns an iteration) is shorter" in text
    # Another interpreter and other numbers: other sentences, none of them written in advance.
    times = {**TIMES, "python": (600.0, 14000.0), "cython": (50.0, 60.0),
             "capi": (60.0, 70.0), "capi_varargs": (40.0, 20.0)}
    text = book.book_paragraph(rows_of(times=times, pure_c=(1.0, 10.0)), python="2.7")
    assert "PEP 659" not in text and "1.0x slower" in text
    assert "The C extension gained at least as much" in text
    assert "No speed-up over pure Python shrank" in text
    assert "The order at fib(90) moved" in text
    assert "Cython no longer calls faster than the METH_VARARGS extension (1.25" in text
    assert "Cython calls faster even than a C extension taking its argument with METH_O" in text
    assert "overlap" not in text
    # within 5%: as fast, not faster
    times = {**TIMES, "cython": (15.2, 45.8), "capi": (15.0, 45.9), "capi_varargs": (15.5, 80)}
    text = book.book_paragraph(rows_of(times=times))
    assert "calls as fast as Cython within 5% (capi 15.0 ns, Cython 15.2 ns" in text
    assert "Cython no longer calls faster than the METH_VARARGS extension: as fast within" in text


def test_the_paragraph_says_what_is_missing():
    times = {k: v for k, v in TIMES.items() if k != "capi_varargs"}
    assert book.book_paragraph(rows_of(times=times)) == (
        "The book's table cannot be set beside ours: no results for capi_varargs.")


def test_book_section_as_markdown_and_html():
    markdown, page = report.book_section(rows_of(), python="3.11")
    assert markdown.startswith("| figure | the book (2015) | ours |")
    assert "METH_VARARGS and PyArg_ParseTuple" in markdown
    assert "<table" in page and "book-table.md" in page and "PEP 659" in page


# --- the whole report, fed fake results -------------------------------------------------------

def test_write_report_adds_the_columns_and_the_book(tmp_path, monkeypatch):
    results = tmp_path / "results"
    (results / "box").mkdir(parents=True)
    (results / "box" / "machine.json").write_text('{"machine": "box", "cpu": "elsewhere"}')
    newest = types.SimpleNamespace(commit_hash="0123456789abcdef", params={"python": "3.11"},
                                   date=1)
    values = fake_values()
    values[figures_cpu.ALONE] = {("'fp'", "1"): 0.01, ("'int'", "1"): 0.01}
    values[figures_cpu.PAIR] = {("'fp+int'", "1"): 0.0125}
    monkeypatch.setattr(report, "newest_first", lambda *a: [newest])
    monkeypatch.setattr(report, "values_by_benchmark", lambda result: values)
    monkeypatch.setattr(report, "result_lines", lambda result: {})
    monkeypatch.setattr(report, "history_figure", lambda *a, **k: False)
    monkeypatch.setattr(report.noise, "write_noise_report", lambda *a: "")
    monkeypatch.setattr(report.noise, "html_report", lambda md: "")
    monkeypatch.setattr(report.sitepages, "add_nav_link", lambda *a: None)
    monkeypatch.setattr(report.repo, "describe_host", lambda: "here")
    out = report.write_report(tmp_path / "html", results, "box")
    table = (out / "fib-table.md").read_text()
    # results from another host: its clock is unknown, and no cycles are invented
    assert "| capi | 14.6 | 41.6 | 0.30 | 4.7x | 26.7x | 404 / 1,039 | clock unknown |" in table
    assert "the clock is unknown (the results are from another host" in table
    assert "Every speed-up over pure Python shrank" in (out / "book-table.md").read_text()
    page = (out / "index.html").read_text()
    assert 'id="book"' in page and "cpu_smt_box.png" in page
    assert (out / "cpu_smt_box.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- two threads on one core ------------------------------------------------------------------

def smt_results():
    return {
        figures_cpu.ALONE: {("'fp'", "1"): 0.010, ("'int'", "1"): 0.012, ("'fp'", "8"): 0.02,
                            ("'int'", "8"): None},  # skipped
        figures_cpu.PAIR: {("'fp+fp'", "1"): 0.010, ("'fp+int'", "1"): 0.016,
                           ("'int+int'", "8"): 0.02, ("'fp+fp'", "8"): 0.04,
                           ("'bad'",): 1.0, ("'fp+fp'", "'x'"): 1.0},
    }


def test_pair_speedups_are_twice_a_alone_over_the_pair():
    # b's work is matched to a's time alone: the pair's ideal is a's time alone
    speedups = figures_cpu.pair_speedups(smt_results())
    assert speedups == {("fp+fp", 1): pytest.approx(2.0), ("fp+int", 1): pytest.approx(1.25),
                        ("fp+fp", 8): pytest.approx(1.0)}  # int 8 alone was skipped


def test_the_pairing_figure(tmp_path):
    paths = figures_cpu.draw(smt_results(), tmp_path, machine={"machine": "ci box"})
    assert paths == [tmp_path / "cpu_smt_ci-box.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figures_cpu.draw({}, tmp_path) == []
    assert "cpu_smt" in figures_cpu.ALT
