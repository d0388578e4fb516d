"""The interpreters the main job benchmarks on (benchmarks/pythons.py): found on the PATH or in
pyenv's versions, a shim that does not answer skipped, a missing one said and never fatal; and
results of different Pythons kept apart (asvresults.results_of)."""

import os
import stat

import asvresults
import pythons


def script(path, body):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_running_python_is_found():
    version = asvresults.running_python()
    found, skipped = pythons.find([version])
    assert version in found and not skipped


def test_a_shim_that_does_not_answer_gives_way_to_pyenvs_version(tmp_path, monkeypatch):
    shims = tmp_path / "shims"
    script(shims / "python3.97", 'echo "pyenv: python3.97: command not found" >&2; exit 127')
    real = script(tmp_path / "pyenv" / "versions" / "3.97.1" / "bin" / "python3.97",
                  'echo "3.97 True"')
    script(tmp_path / "pyenv" / "versions" / "3.96.0" / "bin" / "python3.96", 'echo "3.96 False"')
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    found, skipped = pythons.find(["3.97", "3.96", "3.95"])
    assert found == {"3.97": str(real)}
    assert "has no headers" in skipped["3.96"]
    assert "not on the PATH nor in pyenv's versions" in skipped["3.95"]


def test_provide_links_what_it_found_says_what_it_skips_and_never_fails(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setenv("PATH", os.environ["PATH"])      # restored after provide() prepends
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    version = asvresults.running_python()
    assert pythons.provide([version, "3.95"], root=tmp_path) == [version]
    line = capsys.readouterr().out
    assert line.startswith(f"Pythons: {version} (") and "skipped: 3.95 (" in line
    link = tmp_path / ".asv" / "pythons" / f"python{version}"
    assert link.is_symlink() and os.environ["PATH"].startswith(str(link.parent))
    assert pythons.provide(["3.95"], root=tmp_path) == []   # nothing found: said, not raised


def test_results_of_different_pythons_never_mix(tmp_path):
    from asv import results as asv_results
    for python in ("3.11", "3.12"):
        env = f"virtualenv-py{python}-Cython3.3.1"
        result = asv_results.Results({"machine": "m", "python": python}, {}, "a" * 40, 1000,
                                     python, env, {})
        result.save(str(tmp_path))
    (tmp_path / "m" / "machine.json").write_text('{"machine": "m", "version": 1}')
    for python in ("3.11", "3.12"):
        (only,) = asvresults.results_of(tmp_path, "m", python)
        assert asvresults.python_of(only) == python
