"""The sanitizer tier: fibext's compiled code built with gcc's AddressSanitizer and UBSan, and
the tests of what it promises (fib's contract, the memory kernels, the races, the parallel
kernels) run against that build.

The build is a copy of the sources in a temporary directory, compiled in place there (the
Cython-generated C, _capi.c, cfib.c, ctiming.c, cmem.c; OpenMP where the normal build has it),
so it never touches the checkout's build/ or the installed package.  The tests then run in a
subprocess with libasan preloaded (Python itself is not instrumented, and ASan's runtime must
come first), PYTHONMALLOC=malloc (so that ASan sees Python's own objects, not pymalloc's
arenas) and leak detection off (CPython keeps its objects alive at exit by design).  Any
report aborts the process.  By hand, from the repository root:

    mkdir /tmp/asan && cp -r setup.py pyproject.toml README.md LICENSE MANIFEST.in fibext /tmp/asan
    (cd /tmp/asan && CC="gcc -fsanitize=address,undefined -fno-omit-frame-pointer -g" \\
        python setup.py build_ext --inplace)
    PYTHONPATH=/tmp/asan LD_PRELOAD=$(gcc -print-file-name=libasan.so) PYTHONMALLOC=malloc \\
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \\
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 pytest tests/package/test_races.py

CC carries the flags, not CFLAGS: setup.py's OpenMP probe links a program with the compiler
alone, and without -fsanitize there the probe fails and prange would build serially.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import REPO

pytestmark = pytest.mark.slow

SANITIZE = "-fsanitize=address,undefined -fno-omit-frame-pointer -g"
TESTS = ["test_fib.py", "test_memory_kernels.py", "test_races.py", "test_parallel.py"]
# The figure test draws with matplotlib, whose own C++ extensions abort under a preloaded ASan
# runtime (in its import, before any fibext code runs): it tests a figure, not a kernel.
DESELECT = "not draw_writes_a_png"
# Every sanitizer's words for a finding; halt_on_error makes any of them fatal too.
REPORTS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")

# Run in the sanitized subprocess: prove the compiled modules are the sanitized build's, then
# run pytest in the same process.
RUNNER = textwrap.dedent("""
    import sys
    import pytest
    import fibext, fibext._capi, fibext._cyfib, fibext._cyfib_cpdef, fibext._cywrap
    import fibext._memory, fibext._parallel, fibext._pyfib_compiled
    build = sys.argv[1]
    for module in (fibext._capi, fibext._cyfib, fibext._cyfib_cpdef, fibext._cywrap,
                   fibext._memory, fibext._parallel, fibext._pyfib_compiled):
        assert module.__file__.startswith(build), (module.__name__, module.__file__)
        print("SANITIZED", module.__name__, module.__file__, flush=True)
    print("OPENMP", fibext._parallel.OPENMP, flush=True)
    sys.exit(pytest.main(sys.argv[2:]))
""")


def libasan():
    """gcc's ASan runtime, to preload; the test fails without it (no skip: CI runs this tier)."""
    gcc = shutil.which("gcc")
    assert gcc, "the sanitizer tier needs gcc"
    path = subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert os.path.isabs(path) and os.path.exists(path), f"gcc has no libasan.so ({path!r})"
    return path


def stream(cmd, **kwargs):
    """Run cmd, printing its output as it comes (the progress), and return (rc, output)."""
    lines = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          **kwargs) as proc:
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    return proc.returncode, "".join(lines)


@pytest.fixture(scope="module")
def sanitized(tmp_path_factory):
    """A copy of the sources built in place with ASan and UBSan: the directory to import from."""
    src = tmp_path_factory.mktemp("sanitized")
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "fibext", src / "fibext",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    env = dict(os.environ, CC=f"gcc {SANITIZE}")
    start = time.monotonic()
    rc, output = stream([sys.executable, "setup.py", "build_ext", "--inplace",
                         "-j", str(os.cpu_count() or 1)], cwd=src, env=env)
    assert rc == 0, f"the sanitized build failed:\n{output[-5000:]}"
    print(f"sanitized build: {time.monotonic() - start:.0f} s", flush=True)
    return src


def test_contract_kernels_races_and_parallel_under_asan_and_ubsan(sanitized):
    import fibext._parallel  # the installed build: the sanitized one must match its OpenMP

    env = dict(os.environ,
               PYTHONPATH=str(sanitized),
               LD_PRELOAD=libasan(),
               PYTHONMALLOC="malloc",
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    tests = [str(pathlib.Path(__file__).with_name(name)) for name in TESTS]
    start = time.monotonic()
    rc, output = stream([sys.executable, "-c", RUNNER, str(sanitized),
                         "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO),
                         "-c", str(REPO / "pyproject.toml"), "-m", "not slow", "-k", DESELECT,
                         *tests], cwd=sanitized, env=env)  # cwd first on sys.path: the build
    print(f"tests against the sanitized build: {time.monotonic() - start:.0f} s")
    found = [line for line in output.splitlines() if any(r in line for r in REPORTS)]
    assert not found, "sanitizer reports:\n" + "\n".join(found)
    assert rc == 0, f"the tests failed against the sanitized build (exit {rc}):\n{output[-5000:]}"
    assert output.count("SANITIZED ") == 7
    assert f"OPENMP {fibext._parallel.OPENMP}" in output
