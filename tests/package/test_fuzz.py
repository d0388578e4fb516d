"""The fuzzing tier: short atheris runs of tests/fuzz/'s harnesses (see tests/fuzz/README.md).

Each run starts from the committed seed corpus, writes what it finds into a scratch corpus
(never into the seeds) and must end without a finding: every fib variant gives the
reference's outcome, every kernel numpy's answer or the contract's exception.  The first runs
use the installed fibext (atheris sees the Python code's coverage); where clang and its
libFuzzer runtime are installed, the harnesses run again against a copy of fibext built with
-fsanitize=fuzzer-no-link, so that the C code's coverage guides the fuzzer too.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from helpers import REPO

pytestmark = pytest.mark.slow

FUZZ = REPO / "tests" / "fuzz"
# (harness, seed corpus, runs): a few seconds each.
HARNESSES = [("fuzz_fib.py", "fib", 20_000), ("fuzz_kernels.py", "kernels", 20_000)]
# The extensions each harness imports: the fib variants' five; fibext._memory.
C_MODULES = {"fuzz_fib.py": 5, "fuzz_kernels.py": 1}


def fuzz(tmp_path, harness, corpus, runs, env=None):
    """Run a harness for `runs` inputs; returns libFuzzer's output (its final stats)."""
    scratch = tmp_path / f"corpus-{corpus}"
    scratch.mkdir()
    # cwd: libFuzzer writes a crash-<hash> file where it runs.
    proc = subprocess.run(
        [sys.executable, str(FUZZ / harness), f"-runs={runs}", "-print_final_stats=1",
         str(scratch), str(FUZZ / "corpus" / corpus)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    stats = [line for line in output.splitlines()
             if line.startswith(("stat::", "INFO: Loaded")) or "\tDONE " in line]
    print(harness, *stats, sep="\n")
    assert proc.returncode == 0, f"{harness} found something:\n{output[-6000:]}"
    assert f"stat::number_of_executed_units: {runs}" in output
    return output


@pytest.mark.parametrize(("harness", "corpus", "runs"), HARNESSES)
def test_short_fuzz_run_finds_nothing(tmp_path, harness, corpus, runs):
    fuzz(tmp_path, harness, corpus, runs)


def clang_fuzzer_runtime():
    """(clang, libFuzzer's no-main archive), or None where clang or the archive is missing."""
    clang = shutil.which("clang")
    if not clang:
        return None
    runtime = subprocess.run([clang, "--print-runtime-dir"], capture_output=True, text=True)
    archive = os.path.join(runtime.stdout.strip(), "libclang_rt.fuzzer_no_main-x86_64.a")
    return (clang, archive) if os.path.exists(archive) else None


def test_short_fuzz_run_with_c_coverage(tmp_path):
    found = clang_fuzzer_runtime()
    # tests/run installs them (Debian's clang and libclang-rt-14-dev): missing is a failure
    assert found, "no clang with libFuzzer's runtime: run tests/run as root (apt-get install " \
                  "clang libclang-rt-14-dev)"
    clang, archive = found
    build = tmp_path / "build"
    build.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        shutil.copy2(REPO / name, build / name)
    shutil.copytree(REPO / "fibext", build / "fibext",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace",
                    "-j", str(os.cpu_count() or 1)], cwd=build, check=True,
                   env=dict(os.environ, CC=f"{clang} -fsanitize=fuzzer-no-link"))
    # The atheris wheel keeps its libFuzzer private: the instrumented modules need one whose
    # hooks every module sees, preloaded.
    libfuzzer = tmp_path / "libfuzzer.so"
    subprocess.run([shutil.which("clang++") or f"{clang}++", "-shared", "-o", str(libfuzzer),
                    "-Wl,--whole-archive", archive, "-Wl,--no-whole-archive"], check=True)
    env = dict(os.environ, PYTHONPATH=str(build), LD_PRELOAD=str(libfuzzer))
    for harness, corpus, runs in HARNESSES:
        scratch = tmp_path / harness
        scratch.mkdir()
        output = fuzz(scratch, harness, corpus, runs, env)
        # libFuzzer counts the instrumented modules it found: the extensions the harness uses.
        modules = re.search(r"INFO: Loaded (\d+) modules", output)
        assert modules and int(modules.group(1)) == C_MODULES[harness], output[-3000:]
