"""The report's per-Python Table 1-1 (benchmarks/report_pythons.py): one column group per
interpreter, each read from that Python's own results, and a paragraph drawn from the numbers."""

import json

from asv import results as asv_results

import report_pythons

VARIANTS = ["'python'", "'capi'", "'cython'"]
TIP = "a" * 40


def write(results_dir, python, fib, counts, noop):
    """A results file of the tip on python: fib[variant] = (fib(0), fib(90)) ns, stored in
    seconds as asv stores the sampled lines."""
    env = f"virtualenv-py{python}-Cython3.3.1"
    asv_results.Results({"machine": "m", "python": python}, {}, TIP, 1000, python, env,
                        {}).save(str(results_dir))
    (path,) = (results_dir / "m").glob(f"aaaaaaaa-{env}.json")
    data = json.loads(path.read_text())
    data["results"] = {
        report_pythons.FIB: [[v * 1e-9 for name in VARIANTS for v in fib[name.strip("'")]],
                             [VARIANTS, ["0", "90"]], None, 1000],
        report_pythons.COUNTS: [[v for name in VARIANTS for v in counts[name.strip("'")]],
                                [VARIANTS, ["0", "90"]], None, 1000],
        report_pythons.NOOP: [[noop * 1e-9], [], None, 1000],
    }
    path.write_text(json.dumps(data))


def test_each_python_its_own_columns_speedups_and_paragraph(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "machine.json").write_text('{"machine": "m", "version": 1}')
    write(tmp_path, "3.11", {"python": (60, 1200), "capi": (15, 40), "cython": (17, 50)},
          {"python": (1500, 25000), "capi": (400, 1040), "cython": (520, 1160)}, 9.0)
    write(tmp_path, "3.12", {"python": (66, 1500), "capi": (15, 40), "cython": (17, 50)},
          {"python": (1700, 30000), "capi": (400, 1040), "cython": (520, 1160)}, 9.5)
    per = report_pythons.pythons_at(tmp_path, "m", TIP)
    assert list(per) == ["3.11", "3.12"]
    header, cells, _ = report_pythons.table(per)
    assert header[1:4] == ["fib(0) ns (3.11)", "fib(90) ns (3.11)", "speed-up fib(90) (3.11)"]
    rows = {row[0]: row for row in cells}
    assert rows["capi"][1:] == ["15.0", "40.0", "30.0x", "15.0", "40.0", "37.5x"]
    assert rows["no-op floor (METH_O call)"][1] == "9.0" and rows["no-op floor (METH_O call)"][4] == "9.5"
    assert rows["python: instructions per call"][1:] == ["1500", "25000", "", "1700", "30000", ""]
    text = report_pythons.paragraph(per)
    assert "1500 ns on 3.12 against 1200 ns on 3.11 (+25%)" in text
    assert "the time moved with the work the interpreter does" in text
    assert "capi's speed-up over pure Python at fib(90) is 37.5x on 3.12, 30.0x on 3.11: " \
           "compiling pays more on the newer interpreter" in text
    section = report_pythons.section(tmp_path, "m", TIP, tmp_path)
    assert section[0] == "pythons" and (tmp_path / "pythons.png").read_bytes()[:4] == b"\x89PNG"
    assert "| capi | 15.0 | 40.0 | 30.0x |" in (tmp_path / "pythons-table.md").read_text()


def test_one_python_says_how_to_compare():
    per = {"3.11": {report_pythons.FIB: {("'python'", "0"): 60.0, ("'python'", "90"): 1200.0}}}
    assert "add others to asv.conf.json's pythons" in report_pythons.paragraph(per)
