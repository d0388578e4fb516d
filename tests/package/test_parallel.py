"""fibext.parallel: every kind x workers computes the serial result; failures and Ctrl-C end
promptly.  Speed is not tested here (it lives in benchmarks/benchmarks/bench_parallel.py).

Whatever could hang (a failing share, an interrupted batch, a dead worker process) runs in a
child Python with a timeout, so that a deadlock fails the test instead of freezing the run.
"""

import os
import pathlib
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import fibext
from fibext import _parallel, parallel
from fibext._pyfib import fib
from helpers import REPO

POOL_KINDS = [k for k in parallel.KINDS if parallel.KIND_SPECS[k].runner != "prange"]
WORKERS = parallel.worker_counts()
# A deadlock shows as this timeout, far above what these runs take (under 5 s).
TIMEOUT = 60


def expected(calls, n):
    """The checksum computed apart from fibext.parallel: calls x the bits of the serial fib(n)."""
    (bits,) = struct.unpack("<Q", struct.pack("<d", fib(n)))
    return calls * bits % 2**64


# Children import the fibext this process imported (installed, or an in-place build), from a
# directory other than the checkout: "python -c" puts its working directory first on sys.path,
# and the checkout's fibext/ may hold sources without compiled modules.
CHILD_ENV = {**os.environ, "PYTHONPATH": str(pathlib.Path(fibext.__file__).resolve().parent.parent)}
CHILD_CWD = tempfile.gettempdir()


def run_child(code, **kwargs):
    """Run code in a fresh Python that imports the same fibext; CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=CHILD_ENV, cwd=CHILD_CWD, capture_output=True, text=True, timeout=TIMEOUT, **kwargs,
    )


@pytest.fixture(scope="module", params=[(k, w) for k in parallel.KINDS for w in WORKERS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def pool(request):
    """A started pool per kind x workers, shared by this module's tests (processes are slow
    to start)."""
    kind, workers = request.param
    with parallel.Workers(kind, workers) as started:
        yield started


# --- the registry ----------------------------------------------------------------------------

def test_kinds_are_the_registry():
    assert parallel.KINDS == (
        "python_threads", "cython_gil_threads", "cython_nogil_threads",
        "python_processes", "cython_prange",
    )
    assert set(parallel.BATCH_CALLS) == set(parallel.KINDS)
    for kind in parallel.KINDS:
        # Shares of 10,000 calls or more at 4 workers (2 x 2 cores): milliseconds each, so
        # handing a share to a worker (~0.1 ms for a process) stays a small part of it.
        assert parallel.BATCH_CALLS[kind] >= 10_000 * 4


def test_worker_counts():
    assert parallel.worker_counts(1) == [1, 2]
    assert parallel.worker_counts(2) == [1, 2, 4]
    assert parallel.worker_counts(3) == [1, 2, 3, 6]
    assert parallel.worker_counts(6) == [1, 2, 4, 6, 12]
    assert parallel.worker_counts(64) == [1, 2, 4, 8, 16, 32, 64, 128]
    assert parallel.worker_counts() == parallel.worker_counts(os.cpu_count())
    with pytest.raises(ValueError, match="cpus must be at least 1, got 0"):
        parallel.worker_counts(0)
    # A float used to end in "'float' object has no attribute 'bit_length'".
    with pytest.raises(TypeError, match="cpus must be an int, not float"):
        parallel.worker_counts(1.5)
    assert max(parallel.worker_counts()) <= parallel.MAX_WORKERS  # every count can run


def test_split_arguments_name_themselves():
    # workers=0 used to be a ZeroDivisionError ("integer division or modulo by zero").
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        parallel.split(10, 0)
    with pytest.raises(TypeError, match="workers must be an int, not float"):
        parallel.split(10, 2.0)
    with pytest.raises(ValueError, match="calls must be non-negative, got -1"):
        parallel.split(-1, 2)


@pytest.mark.parametrize("calls, workers", [(0, 3), (2, 4), (10, 3), (10**6 + 1, 2)])
def test_split_is_near_equal_and_complete(calls, workers):
    shares = parallel.split(calls, workers)
    assert len(shares) == workers
    assert sum(shares) == calls
    assert max(shares) - min(shares) <= 1


# --- results ---------------------------------------------------------------------------------

# 1477: fib overflows to inf; 2 * chunk + 7 calls cross the kernels' chunk boundaries.
NS = [0, 1, 90, 1476, 1477]


@pytest.mark.parametrize("n", NS)
def test_serial_batch_is_the_checksum(n):
    assert parallel.serial_batch(0, n) == 0
    assert parallel.serial_batch(3, n) == expected(3, n)
    calls = 2 * parallel.PYTHON_CHUNK + 7
    assert parallel.serial_batch(calls, n) == expected(calls, n)


@pytest.mark.parametrize("kernel", ["share_gil", "share_nogil"])
@pytest.mark.parametrize("n", NS)
def test_compiled_kernels_match_serial(kernel, n):
    share = getattr(_parallel, kernel)
    for calls in (0, 1, 2 * _parallel.CHUNK + 7):
        assert share(calls, n) == expected(calls, n)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("n", NS)
def test_prange_matches_serial(threads, n):
    for calls in (0, 1, threads - 1, 1001):
        assert _parallel.batch_prange(calls, n, threads) == expected(calls, n)
    calls = 2 * _parallel.PRANGE_CHUNK + 7  # several prange regions
    assert _parallel.batch_prange(calls, 90, threads) == expected(calls, 90)


@pytest.mark.parametrize("n", [0, 90, 1477])
def test_every_kind_and_workers_matches_serial(pool, n):
    # Fewer calls than workers (empty shares) and a few chunks' worth.
    for calls in (0, 1, pool.workers - 1, 1001):
        assert pool.run(calls, n) == parallel.serial_batch(calls, n) == expected(calls, n)


def test_shares_of_several_chunks_match_serial(pool):
    # Every share crosses its kernel's chunk boundaries (where the stop flag is checked).
    chunk = parallel.PYTHON_CHUNK if pool.kind.kernel == "python" else _parallel.CHUNK
    calls = 2 * chunk * pool.workers + 3
    assert pool.run(calls) == expected(calls, parallel.N)
    if pool.workers == 2:  # and the benchmarked batch, once per kind
        assert pool.run() == expected(pool.kind.calls, parallel.N)


def test_run_batch_starts_and_stops_a_pool():
    assert parallel.run_batch("cython_nogil_threads", 2, calls=12345) == expected(12345, 90)


# --- bad arguments and exceptions from workers -----------------------------------------------

@pytest.mark.parametrize("n, exc, message", [
    (-1, ValueError, "fib() argument must be non-negative, got -1"),
    (2**31, OverflowError, "fib() argument must be at most 2147483647, got 2147483648"),
    ("90", TypeError, "'str' object cannot be interpreted as an integer"),
])
def test_a_bad_n_raises_the_contracts_exception(pool, n, exc, message):
    # Checked in the workers (shares of 0 calls too), so this is the workers' exception
    # travelling back: processes pickle it, threads hand it over.
    for calls in (0, 10):
        with pytest.raises(exc) as info:
            pool.run(calls, n)
        assert str(info.value) == message
    assert pool.run(10, 90) == expected(10, 90)  # the pool still works


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="kind must be one of python_threads, .*; got 'gpu'"):
        parallel.Workers("gpu", 1)
    with pytest.raises(ValueError, match="workers must be at least 1, got 0"):
        parallel.Workers("python_threads", 0)
    with pytest.raises(TypeError, match="workers must be an int, not float"):
        parallel.Workers("python_threads", 2.0)
    with pytest.raises(ValueError, match=rf"workers must be at most {parallel.MAX_WORKERS} "
                                         r"\(4 x os.cpu_count\(\)\), got 1000"):
        parallel.Workers("python_threads", 1000)
    with pytest.raises(ValueError, match="workers must be at most"):
        parallel.Workers("python_processes", parallel.MAX_WORKERS + 1)
    with pytest.raises(ValueError, match="calls must be non-negative, got -1"):
        parallel.serial_batch(-1)
    with pytest.raises(ValueError, match="calls must be non-negative, got -1"):
        _parallel.share_nogil(-1, 90)
    with pytest.raises(ValueError, match="num_threads must be at least 1, got 0"):
        _parallel.batch_prange(10, 90, 0)


@pytest.mark.parametrize("kind", POOL_KINDS)
def test_a_failing_share_stops_the_others(kind):
    # One share fails at once while the other has 10**12 calls (hours) to do: run_shares must
    # raise the failure promptly, having stopped the long share, and the pool must still work.
    result = run_child(f"""
        from fibext import parallel
        with parallel.Workers({kind!r}, 2) as pool:
            try:
                pool.run_shares([(10**12, 90), (5, -1)])
            except ValueError as exc:
                print("raised:", exc)
            print("after:", pool.run(1000) == parallel.serial_batch(1000))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "raised: fib() argument must be non-negative, got -1",
        "after: True",
    ]


@pytest.mark.parametrize("kind", ["python_threads", "cython_nogil_threads"])
def test_a_thread_that_cannot_start_fails_fast(kind):
    # The second thread of three cannot start (as when a ulimit on threads is reached): the
    # first one, already waiting for the others, used to keep the pool's close() waiting out
    # the 120 s start timeout.
    result = run_child(f"""
        import threading, time
        from fibext import parallel
        real_start = threading.Thread.start
        def start(thread):
            if thread.name.startswith("fibext-") and start.count:
                raise RuntimeError("can't start new thread")
            start.count += thread.name.startswith("fibext-")
            real_start(thread)
        start.count = 0
        threading.Thread.start = start
        began = time.monotonic()
        try:
            parallel.Workers({kind!r}, 3)
        except RuntimeError as exc:
            print("raised:", exc)
        print("fast:", time.monotonic() - began < 10)
        threading.Thread.start = real_start
        print("alive:", [t.name for t in threading.enumerate() if t.name.startswith("fibext-")])
        with parallel.Workers({kind!r}, 2) as pool:
            print("after:", pool.run(1000) == parallel.serial_batch(1000))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"raised: Workers({kind!r}, 3): could not start worker 2 of 3: can't start new thread",
        "fast: True",
        "alive: []",
        "after: True",
    ]


def test_a_dead_worker_process_breaks_the_pool_without_hanging():
    result = run_child("""
        import os
        from concurrent.futures.process import BrokenProcessPool
        from fibext import parallel
        pool = parallel.Workers("python_processes", 2)
        # A worker dying outright (a crash, the OOM killer) rather than raising.
        os.kill(next(iter(pool._executor._processes)), 9)
        try:
            pool.run(10**9)
        except BrokenProcessPool:
            print("broken")
        pool.close()
        print("closed")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["broken", "closed"]


@pytest.mark.parametrize("kind", parallel.KINDS)
def test_ctrl_c_ends_a_long_batch_promptly(kind):
    # SIGINT to a child in the middle of a batch of 10**12 calls: KeyboardInterrupt must reach
    # the caller and the process must exit, not wait for the workers to finish the batch.
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            from fibext import parallel
            pool = parallel.Workers({kind!r}, 2)
            print("ready", flush=True)
            pool.run(10**12)
        """)],
        env=CHILD_ENV, cwd=CHILD_CWD,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell's background job ignores SIGINT, and Python keeps an inherited SIG_IGN:
        # the child gets the default, as a terminal's foreground process has
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert child.stdout.readline() == "ready\n"
        time.sleep(0.5)  # well inside the batch
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=TIMEOUT)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGINT, stderr
    assert "KeyboardInterrupt" in stderr


# --- OpenMP ----------------------------------------------------------------------------------

def test_openmp_flag_says_what_prange_does():
    assert type(parallel.OPENMP) is bool
    assert parallel.OPENMP == _parallel.OPENMP == (parallel.OPENMP_VERSION != 0)
    if parallel.OPENMP:
        assert parallel.OPENMP_VERSION >= 200505  # OpenMP 2.5, the oldest Cython supports
        assert [parallel.prange_threads(k) for k in (1, 2, 3)] == [1, 2, 3]
    else:
        assert [parallel.prange_threads(k) for k in (1, 2, 3)] == [1, 1, 1]


def _compiler_has_openmp():
    """Whether the compiler setuptools uses builds and links an OpenMP program: asked here
    apart from setup.py's own check, to catch a check that wrongly says no."""
    import tempfile
    from distutils.ccompiler import new_compiler
    from distutils.errors import CCompilerError
    from distutils.sysconfig import customize_compiler

    from setuptools import Distribution  # noqa: F401  (makes distutils setuptools' copy)

    compiler = new_compiler()
    customize_compiler(compiler)
    flags = ["/openmp"] if compiler.compiler_type == "msvc" else ["-fopenmp"]
    with tempfile.TemporaryDirectory() as tmp:
        source = pathlib.Path(tmp, "omp.c")
        source.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            objects = compiler.compile([str(source)], output_dir=tmp, extra_postargs=flags)
            compiler.link_executable(objects, "omp", output_dir=tmp, extra_postargs=flags)
        except CCompilerError:
            return False
    return True


def test_the_build_used_openmp_where_the_compiler_has_it():
    assert parallel.OPENMP == _compiler_has_openmp()


@pytest.mark.slow
def test_a_build_without_openmp_reports_it_and_still_computes(tmp_path):
    # FIBEXT_OPENMP=0 takes setup.py's fallback: the module must build, say OPENMP False,
    # run prange on one thread, and give the same checksums.
    for name in ("setup.py", "pyproject.toml", "fibext"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name,
                            ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.html"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "FIBEXT_OPENMP": "0"}
    build = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stderr
    assert "fibext: no OpenMP, prange builds serially" in build.stdout + build.stderr
    check = subprocess.run(
        [sys.executable, "-c",
         "from fibext import parallel as p; "
         "print(p.OPENMP, p.OPENMP_VERSION, p.prange_threads(2), p.run_batch('cython_prange', 2, 1001))"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["False", "0", "1", str(expected(1001, 90))]


# --- the command line ------------------------------------------------------------------------

@pytest.mark.parametrize("argv, message", [
    (["--workers", "0"],
     f"argument --workers: workers must be in [1, {parallel.MAX_WORKERS}], got 0"),
    (["--workers", "2", "1000"], "workers must be in [1, "),
    (["--workers", "two"], "argument --workers: workers must be an int, got 'two'"),
    (["--repeat", "0"], "argument --repeat: repeat must be in [1, 1000], got 0"),
    (["--kinds", "gpu"], "argument --kinds: invalid choice: 'gpu'"),
])
def test_bad_command_lines_are_usage_errors(argv, message, capsys):
    # --workers 0 used to end in a traceback, --repeat 0 in "min() arg is an empty sequence".
    with pytest.raises(SystemExit) as info:
        parallel.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m fibext.parallel") and message in err


def test_python_m_fibext_parallel_runs_and_says_usage():
    done = subprocess.run([sys.executable, "-m", "fibext.parallel", "--workers", "0"],
                          env=CHILD_ENV, cwd=CHILD_CWD, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "error: argument --workers: workers must be in" in done.stderr
    done = subprocess.run([sys.executable, "-m", "fibext.parallel", "--kinds",
                           "cython_nogil_threads", "--workers", "2", "--repeat", "1"],
                          env=CHILD_ENV, cwd=CHILD_CWD, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[:3] for row in rows] == [["cython_nogil_threads", "2000000", "1"],
                                         ["cython_nogil_threads", "2000000", "2"]]


def test_measure_refuses_zero_repeats():
    with pytest.raises(ValueError, match="repeat must be at least 1, got 0"):
        parallel._measure("cython_nogil_threads", 1, 0)


# --- the benchmarks and their figure ---------------------------------------------------------

@pytest.fixture
def bench_parallel(bench_module):
    return bench_module("bench_parallel")


def test_benchmark_covers_every_kind_and_worker_count(bench_parallel):
    assert bench_parallel.Batch.params == [list(parallel.KINDS), WORKERS]
    assert bench_parallel.Batch.param_names == ["kind", "workers"]


def test_benchmark_runs_a_batch(bench_parallel):
    bench = bench_parallel.Batch()
    bench.setup("cython_nogil_threads", 2)
    try:
        bench.time_batch("cython_nogil_threads", 2)
    finally:
        bench.teardown("cython_nogil_threads", 2)
    assert bench.pool._executor is None  # teardown stopped the pool


def test_benchmark_skips_prange_without_openmp(bench_parallel, monkeypatch):
    monkeypatch.setattr(parallel, "OPENMP", False)
    with pytest.raises(NotImplementedError, match="built without OpenMP"):
        bench_parallel.Batch().setup("cython_prange", 2)


@pytest.fixture
def figures():
    import figures_parallel
    return figures_parallel


def synthetic_results():
    # asv's shape: parameter values as repr strings; None where a run was skipped or failed.
    seconds = {
        "python_threads": {1: 1.0, 2: 1.0, 4: 1.1},
        "cython_nogil_threads": {1: 0.2, 2: 0.1, 4: 0.1},
        "cython_prange": {1: None, 2: None, 4: None},  # built without OpenMP: skipped
    }
    return {
        "bench_fib.Fib.timeraw_call": {("'python'", "90"): 1e-6},
        "bench_parallel.Batch.time_batch": {
            (repr(kind), str(w)): t for kind, by_w in seconds.items() for w, t in by_w.items()
        },
    }


def test_speedups_are_time_at_one_over_time_at_n(figures):
    assert figures.speedups(synthetic_results()) == {
        "python_threads": [(1, 1.0), (2, 1.0), (4, 1.0 / 1.1)],
        "cython_nogil_threads": [(1, 1.0), (2, 2.0), (4, 2.0)],
    }


def test_draw_writes_a_png(figures, tmp_path):
    paths = figures.draw(synthetic_results(), tmp_path / "out", machine={"machine": "ci box",
                                                                          "num_cpu": "2"})
    assert paths == [tmp_path / "out" / "parallel_speedup_ci-box.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("results", [
    {},
    {"bench_parallel.Batch.time_batch": {}},
    {"bench_parallel.Batch.time_batch": {("'python_threads'", "1"): None}},
    {"bench_parallel.Batch.time_batch": {("'python_threads'", "2"): 0.5}},  # no 1-worker time
    {"bench_parallel.Batch.time_batch": {("not python", "1"): 0.5}},
])
def test_draw_without_data_draws_nothing(figures, tmp_path, results):
    assert figures.draw(results, tmp_path) == []
    assert list(tmp_path.iterdir()) == []
