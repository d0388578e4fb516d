"""python -m fibext.memory: bad arguments are usage errors (exit 2, a message, no traceback)."""

import subprocess
import sys

import pytest

from fibext.memory import __main__ as _memory_cli


@pytest.mark.parametrize("argv, message", [
    (["abc"], "argument rounds: rounds must be an int, got 'abc'"),
    (["0"], "argument rounds: rounds must be at least 1, got 0"),
    (["-3"], "rounds must be at least 1, got -3"),
    (["2", "3"], "unrecognized arguments: 3"),
])
def test_bad_arguments_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        _memory_cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m fibext.memory") and message in err


def test_python_m_fibext_memory_says_usage(tmp_path):
    # From another directory: the checkout's fibext/ holds sources, not the compiled modules.
    done = subprocess.run([sys.executable, "-m", "fibext.memory", "abc"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "error: argument rounds: rounds must be an int, got 'abc'" in done.stderr
    done = subprocess.run([sys.executable, "-m", "fibext.memory", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "rounds" in done.stdout


def test_report_runs(monkeypatch, capsys):
    # The tables' plumbing, on two tiny sizes and a made-up machine (the real run takes minutes).
    caches = {1: 1024, 2: 2048, 3: 4096}  # reads at 16 KiB and 4 and 8 x the "last level"
    monkeypatch.setattr(_memory_cli.memory, "cache_sizes", lambda: caches)
    monkeypatch.setattr(_memory_cli.memory, "sizes", lambda step: [4096, 8192, 16384])
    monkeypatch.setattr(_memory_cli, "CHASE_TARGET_NS", 20_000)
    monkeypatch.setattr(_memory_cli, "READ_TARGET_NS", 20_000)
    assert _memory_cli.main(["1"]) == 0
    out = capsys.readouterr().out
    assert "caches: {'L1': 1024, 'L2': 2048, 'L3': 4096}" in out
    assert "RAM      16384 ..      16384 B" in out
    assert "pointer chase, ns per access (best of 1 interleaved rounds)" in out
    assert "sequential {'dtype': 'int64'}: ns per element" in out
    assert "random : ns per access" in out


def test_units_table_is_an_option_with_usage_errors(tmp_path):
    from fibext.memory import __main__ as _memory_cli
    with pytest.raises(SystemExit) as exit_info:
        _memory_cli.main(["--units", str(tmp_path / "missing")])
    assert exit_info.value.code == 2
    assert list(tmp_path.iterdir()) == []          # nothing left behind


def test_units_table_lists_every_unit(tmp_path, capsys, monkeypatch):
    from fibext import units
    # the memory levels are fibext.memory's kernels (tested there): a short table here
    monkeypatch.setattr(units, "measure_memory", lambda caches=None: [])
    assert _memory_cli.main(["--units", str(tmp_path), "--units-size", "4"]) == 0
    out = capsys.readouterr().out
    assert "| storage |" in out and ("O_DIRECT" in out or "page cache" in out)
    assert list(tmp_path.iterdir()) == []
