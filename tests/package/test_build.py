"""Builds: sdist and wheel, the wheel in a fresh venv, pyximport, and what git must ignore."""

import importlib
import importlib.machinery
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile

import pytest

import fibext
from helpers import REPO

# Builds in the checkout itself (its build/, its egg-info): one at a time under xdist.
pytestmark = pytest.mark.xdist_group("checkout")

SOURCES = ["_cyfib.pyx", "_cyfib_cpdef.pyx", "_cywrap.pyx", "_pyfib.py", "cfib.pxd", "fibarg.pxd",
           "cfib.c", "cfib.h", "fibarg.h", "ctiming.c", "ctiming.h", "_capi.c"]
# C that Cython generates from each .pyx (and from _pyfib.py): never in git nor the sdist.
GENERATED_C = [path.with_suffix(".c").name for path in (REPO / "fibext").glob("*.pyx")] + ["_pyfib.c"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """sdist and wheel from `python -m build` (the wheel is built from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
                   check=True, capture_output=True, text=True)
    (sdist,) = out.glob("fibext-*.tar.gz")
    (wheel,) = out.glob("fibext-*.whl")
    return sdist, wheel


@pytest.mark.slow
def test_sdist_has_sources_and_no_generated_c(dist):
    sdist, _ = dist
    with tarfile.open(sdist) as tar:
        names = {pathlib.PurePosixPath(*pathlib.PurePosixPath(n).parts[1:]).as_posix()
                 for n in tar.getnames()}
    for source in SOURCES:
        assert f"fibext/{source}" in names
    for generated in GENERATED_C:
        assert f"fibext/{generated}" not in names
    assert not [n for n in names if n.endswith((".so", ".pyd", ".o")) or n.startswith("build/")]
    assert "LICENSE" in names


@pytest.mark.slow
def test_wheel_has_every_compiled_module_and_no_sources(dist):
    _, wheel = dist
    names = zipfile.ZipFile(wheel).namelist()
    # COMPILED_MODULES holds what the running fibext has compiled: none would check nothing
    assert fibext.COMPILED_MODULES, "fibext.COMPILED_MODULES is empty"
    for module in fibext.COMPILED_MODULES:
        stem = module.replace(".", "/")
        assert [n for n in names if n.startswith(stem + ".") and n.endswith((".so", ".pyd"))], module
    assert not [n for n in names if n.endswith((".pyx", ".pxd", ".c", ".h"))]
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert "License-Expression: BSD-3-Clause" in zipfile.ZipFile(wheel).read(metadata).decode()
    assert [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]


@pytest.mark.slow
def test_wheel_works_in_a_fresh_venv_without_the_source_tree(dist, tmp_path):
    _, wheel = dist
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], env=environ, check=True)
    check = (
        "import fibext, sys\n"
        "assert fibext.__file__.startswith(sys.prefix), fibext.__file__\n"
        "for name, fib in fibext.VARIANTS.items():\n"
        "    assert fib(90) == 2.880067194370816e18, name\n"
        "    assert fib(0) == 0.0, name\n"
        "assert fibext.time_c(90, 1000, 1).latency_ns > 0\n"
        "import fibext.memory, fibext.parallel  # their dependencies came with the wheel\n"
        "print(len(fibext.VARIANTS))\n"
    )
    out = subprocess.run([python, "-c", check], cwd=tmp_path, env=environ, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == str(len(fibext.VARIANTS))
    table = subprocess.run([python, "-m", "fibext", "--quick"], cwd=tmp_path, env=environ,
                           check=True, capture_output=True, text=True).stdout
    assert "capi_varargs" in table


@pytest.mark.slow
def test_pyx_sources_compile_at_import_through_pyximport(tmp_path):
    # A copy of the package's sources with no compiled module in it: only pyximport can
    # provide the .pyx modules.  pyximport honours each .pyx's "# distutils: sources" line but
    # not its include_dirs, which come through setup_args as pyximport's documentation shows.
    package = tmp_path / "fibext"
    package.mkdir()
    for path in (REPO / "fibext").iterdir():
        if path.suffix in (".py", ".pyx", ".pxd", ".c", ".h") and path.name not in GENERATED_C:
            shutil.copy(path, package / path.name)
    check = (
        "import sys, pyximport\n"
        f"pyximport.install(build_dir={str(tmp_path / 'pyxbld')!r}, language_level=3,\n"
        f"                  setup_args={{'include_dirs': [{str(package)!r}]}})\n"
        "import fibext._cyfib, fibext._cyfib_cpdef, fibext._cywrap\n"
        "for m in (fibext._cyfib, fibext._cyfib_cpdef, fibext._cywrap):\n"
        "    assert m.__file__.startswith(sys.argv[1]), m.__file__\n"
        "    assert m.fib(90) == 2.880067194370816e18\n"
        "    try:\n"
        "        m.fib(-1)\n"
        "    except ValueError:\n"
        "        pass\n"
        "    else:\n"
        "        raise AssertionError('fib(-1) did not raise')\n"
        "print('ok')\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", check, str(tmp_path / "pyxbld")],
                            cwd=tmp_path, env=environ, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


# fibext's own functions as nm names them: Cython's (def/cpdef wrappers and bodies, cdef
# functions) and the C files' (fib, the C-API module's, the memory kernels').  gcc's ".cold"
# parts (out-of-line error paths) and ".part" clones may sit in .text.unlikely: not checked.
OWN_FUNCTION = re.compile(r"(__pyx_(pw|pf|f)_6fibext_\w+|c?fib\w*|cmem_\w+|capi_\w+|noop|time_c"
                          r"|fence_ns)(\.(isra|constprop)\.\d+)*$")
# Declared __attribute__((cold)) (cmem.h): gcc optimizes it for size, and does not align it.
COLD = {"cmem_set_fault"}


def test_every_hot_function_of_fibext_starts_on_a_64_byte_boundary():
    """setup.py's LAYOUT: a change to one function (the drill's nops in capi_varargs) must
    not move the next one's loop across a line, as it moved capi's fib(90) with no change to
    its code (docs/measuring.md, "Code placement")."""
    extensions = extension_files()
    assert len(extensions) > len(fibext.COMPILED_MODULES), extensions  # memory, parallel, ...
    for path in extensions:
        symbols = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                                 check=True).stdout
        own = {fields[2]: int(fields[0], 16) for fields in map(str.split, symbols.splitlines())
               if len(fields) == 3 and fields[1] in "tT" and OWN_FUNCTION.match(fields[2])
               and fields[2] not in COLD}
        assert own, f"{path.name}: no function of fibext's own in nm's list"
        misplaced = {f: hex(address) for f, address in own.items() if address % 64}
        assert not misplaced, f"{path.name}: functions not 64-byte aligned: {misplaced}"


def extension_files():
    """Every compiled module of the installed fibext."""
    package = pathlib.Path(fibext.__file__).parent
    return sorted(path for suffix in importlib.machinery.EXTENSION_SUFFIXES
                  for path in package.rglob("*" + suffix))


# The typed fib loops: cfib (in _capi and _cywrap), pure C's timing loops, typed Cython's (in
# the def's wrapper, or its body, or the cpdef's C function, wherever gcc inlined it).
FIB_LOOP_FUNCTION = re.compile(
    r"cfib(_throughput_ns|_serial_ns)?|__pyx_(pw|pf|f)_6fibext_\d+_cyfib(_cpdef)?_1?fib")
INSTRUCTION = re.compile(r"\s*([0-9a-f]+):\s+(\S+)\s*(?:([0-9a-f]+) <)?")


def test_every_typed_fib_loop_lies_within_one_64_byte_line():
    """setup.py's -falign-jumps=64 puts the top of a loop gcc enters at its test on a line of
    its own: fib's loop straddling two lines ran slower (docs/measuring.md, "Code placement").
    A loop is a conditional branch back into its function and the code it jumps back over;
    one longer than a line (the argument parsing's) cannot fit one."""
    looped = set()
    for name in fibext.COMPILED_MODULES:
        path = importlib.import_module(name).__file__
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path],
                                 capture_output=True, text=True, check=True).stdout
        for body in re.split(r"\n(?=[0-9a-f]+ <)", listing):
            head = re.match(r"([0-9a-f]+) <([^>]+)>:", body)
            if not head or not FIB_LOOP_FUNCTION.fullmatch(head.group(2)):
                continue
            start = int(head.group(1), 16)
            code = [m.groups() for m in map(INSTRUCTION.match, body.splitlines()[1:]) if m]
            for (address, op, target), (end, _, _) in zip(code, code[1:]):
                first, last = int(target or address, 16), int(end, 16) - 1
                backward = start <= first < int(address, 16)
                if op.startswith("j") and op != "jmp" and backward and last - first < 64:
                    looped.add(name)
                    assert first // 64 == last // 64, (
                        f"{name}: {head.group(2)}'s loop {first:#x}-{last:#x} straddles a line")
    # every compiled variant but the pure-Python loop Cython compiles (no typed loop in it)
    assert looped == set(fibext.COMPILED_MODULES) - {"fibext._pyfib_compiled"}, looped


def test_git_ignores_build_products():
    # No generated C among them: setup.py writes it under build/ (tests/package/test_wheel.py checks
    # that an in-place build leaves none beside the sources).
    if not (REPO / ".git").exists():
        pytest.fail("the tests run from a git checkout")
    candidates = ["fibext/_capi.cpython-311-x86_64-linux-gnu.so", "build/cython/fibext/_cyfib.c",
                  "build/lib/x.o", "dist/fibext-0.1.0.tar.gz", "wheelhouse/fibext-0.1.0.whl",
                  ".asv/results/x.json", "fibext/_cyfib.html", "fibext.egg-info/PKG-INFO"]
    ignored = subprocess.run(["git", "check-ignore", *candidates], cwd=REPO,
                             capture_output=True, text=True).stdout.split()
    assert sorted(ignored) == sorted(candidates)
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.split()
    assert not [f for f in tracked if f.endswith((".so", ".o", ".pyd"))
                or f.split("/")[0] in ("build", "dist", ".asv")]


@pytest.mark.slow
def test_a_wheel_compiled_through_ccache_is_the_same_build(tmp_path):
    """env.sh puts ccache's compiler names first on the PATH (tests/run installs it): a wheel
    built through it, its cache cold or warm, installs the same bytes as one built without,
    so a build's identity (builds.py) does not depend on the machine having ccache."""
    import builds
    masquerade = pathlib.Path("/usr/lib/ccache")
    assert (masquerade / "gcc").exists(), "tests/run installs ccache"
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()
    for name in tracked:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, src / name)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != str(masquerade)]
    cache = {**os.environ, "CCACHE_DIR": str(tmp_path / "ccache")}

    def wheel(name, through_ccache):
        """asv.conf.json's build command, in the one directory asv builds every commit in."""
        shutil.rmtree(src / "build", ignore_errors=True)
        env = {**cache, "PATH": os.pathsep.join([str(masquerade)] * through_ccache + path)}
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", "-w", str(tmp_path / name), str(src)],
                       env=env, check=True, capture_output=True, text=True)
        (built,) = (tmp_path / name).glob("fibext-*.whl")
        return builds.wheel_members(built)

    def hits():
        stats = subprocess.run(["ccache", "--print-stats"], env=cache, capture_output=True,
                               text=True, check=True).stdout
        counts = dict(line.split("\t") for line in stats.splitlines() if "\t" in line)
        return int(counts["direct_cache_hit"]) + int(counts["preprocessed_cache_hit"])

    plain = wheel("plain", False)
    assert any(name.endswith(".so") for name in plain)
    assert wheel("cold", True) == plain
    before = hits()
    assert wheel("warm", True) == plain
    assert hits() > before   # compiled from the cache, not again
