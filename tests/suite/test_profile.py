"""Profiling fib as the 2015 Cython book does (cProfile, snakeviz): asv profile, and the profiled Cython build.

`asv profile` runs bench_profile's loop under cProfile (bench_fib's samples are taken in child
processes, which a profile of the benchmark process does not see).  cProfile records calls of builtins and Python functions, so a plain build shows
each compiled fib as one opaque call; FIBEXT_CYTHON_PROFILE=1 (setup.py) builds the Cython
modules with profile=True, and their functions then appear with their .pyx file, as the
book's profiling of the Cython version does.
"""

import json
import os
import pathlib
import pstats
import subprocess
import sys
import zipfile

import pytest

import fibext
from fibext import VARIANT_SPECS
from helpers import REPO as ROOT

CALLS = 10_000  # bench_profile.CALLS: calls of fib per profiled loop
# The Cython-compiled variants and the source each one's profiled fib is reported from.
CYTHON_SOURCES = {
    "cython_untyped": "fibext/_pyfib.py",
    "cython": "fibext/_cyfib.pyx",
    "cython_cpdef": "fibext/_cyfib_cpdef.pyx",
    "cython_wrap_c": "fibext/_cywrap.pyx",
}
# Cython 3 compiles _pyfib.py's fib into a cyfunction, which cProfile does not see at all
# in a plain build (only the calls it makes): its own entry needs the profiled build.
INVISIBLE_UNPROFILED = {"cython_untyped"}


def entries(stats):
    """{(file, function): calls} of a pstats.Stats."""
    return {(filename, function): calls
            for (filename, _, function), (_, calls, *_) in stats.stats.items()}


def own_entry(found, spec):
    """Calls of the variant's own callable: a Python function, or a builtin ("~" file)."""
    source = spec.module.replace(".", "/") + ".py"
    return [calls for (filename, function), calls in found.items()
            if (filename.endswith(source) and function == spec.attr)
            or (filename == "~" and f"{spec.module}.{spec.attr}" in function)]


@pytest.mark.parametrize("spec", [spec for spec in VARIANT_SPECS
                                  if spec.name not in INVISIBLE_UNPROFILED], ids=lambda s: s.name)
def test_asv_profile_sees_every_fib_call(spec, tmp_path):
    """asv profile on bench_profile writes a cProfile file in which fib was called CALLS times."""
    output = tmp_path / f"{spec.name}.prof"
    # The name is a regular expression to asv: the brackets of the parameter are escaped.
    name = rf"bench_profile.FibProfile.time_loop\('{spec.name}'\)"
    result = subprocess.run([sys.executable, "-m", "asv", "profile", "--python=same", name,
                             "-o", str(output)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    found = entries(pstats.Stats(str(output)))
    loops = [calls for (filename, function), calls in found.items()
             if filename.endswith("bench_profile.py") and function == "time_loop"]
    assert loops == [1], found
    assert own_entry(found, spec) == [CALLS], found


PROFILE_SCRIPT = """
import cProfile, json, pstats, sys
import fibext
names = sys.argv[1:]
seen = {}
for name in names:
    fib = fibext.VARIANTS[name]
    profile = cProfile.Profile()
    profile.runcall(lambda: [fib(90) for _ in range(1000)])
    seen[name] = [[file, function, calls] for (file, _, function), (_, calls, *_)
                  in pstats.Stats(profile).stats.items()]
print(json.dumps({"module": fibext.__file__, "seen": seen}))
"""


def profile_variants(names, cwd, pythonpath=None):
    """{variant: [[file, function, calls]]} for 1000 fib(90) calls of each, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    # cwd is a directory with no fibext/ in it: the checkout's sources must not shadow the build.
    done = subprocess.run([sys.executable, "-c", PROFILE_SCRIPT, *names], cwd=cwd, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def cython_entries(seen, name):
    return [(file, function, calls) for file, function, calls in seen[name]
            if file == CYTHON_SOURCES[name]]


def test_installed_build_is_not_profiled(tmp_path):
    """The default build has no profiling hooks: no Cython function shows up in cProfile."""
    result = profile_variants(list(CYTHON_SOURCES), tmp_path)
    assert pathlib.Path(result["module"]).parent == pathlib.Path(fibext.__file__).parent
    for name in CYTHON_SOURCES:
        # cProfile saw the loop itself: an empty profile would have no Cython entry either
        assert result["seen"][name], f"{name}: the profile recorded nothing"
        assert cython_entries(result["seen"], name) == [], (name, result["seen"][name])


def build_wheel(source, out, profile):
    env = {**os.environ, "FIBEXT_CYTHON_PROFILE": "1" if profile else "0"}
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--no-build-isolation", "-w", str(out), str(source)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = pathlib.Path(out).glob("fibext-*.whl")
    unpacked = pathlib.Path(out) / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    return unpacked


@pytest.mark.slow
def test_cython_profile_build_option(tmp_path):
    """FIBEXT_CYTHON_PROFILE=1 builds Cython functions cProfile sees, and the next plain build
    in the same tree has none of it (the two builds share no objects)."""
    source = tmp_path / "src"
    files = subprocess.run(["git", "ls-files", "fibext", "setup.py", "pyproject.toml",
                            "README.md", "MANIFEST.in"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    for name in files:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((ROOT / name).read_bytes())
    work = tmp_path / "work"
    work.mkdir()

    profiled = build_wheel(source, tmp_path / "profiled", profile=True)
    result = profile_variants(list(CYTHON_SOURCES), work, pythonpath=profiled)
    assert result["module"].startswith(str(profiled))
    for name, file in CYTHON_SOURCES.items():
        assert cython_entries(result["seen"], name) == [(file, "fib", 1000)], result["seen"][name]

    plain = build_wheel(source, tmp_path / "plain", profile=False)
    result = profile_variants(list(CYTHON_SOURCES), work, pythonpath=plain)
    assert result["module"].startswith(str(plain))
    for name in CYTHON_SOURCES:
        assert result["seen"][name], f"{name}: the profile recorded nothing"
        assert cython_entries(result["seen"], name) == [], result["seen"][name]
