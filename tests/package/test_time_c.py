"""fibext.time_c: the pure-C row, timed inside C."""

import subprocess
import sys
import timeit
import tracemalloc

import pytest

import fibext
from fibext import _capi, _ctiming


def test_returns_positive_named_figures():
    timing = fibext.time_c(90, loops=10_000, repeat=3)
    assert isinstance(timing, fibext.CTiming)
    assert timing._fields == ("throughput_ns", "latency_ns")
    assert timing.throughput_ns > 0
    assert timing.latency_ns > 0


def test_grows_about_linearly_with_n():
    # If the compiler had hoisted or folded the calls, time would not grow with n at all.
    # the best of 25 runs each: a busy neighbour only adds time, and one quiet run is enough
    short = fibext.time_c(250, loops=20_000, repeat=25)
    long = fibext.time_c(2000, loops=2_500, repeat=25)
    for field in ("throughput_ns", "latency_ns"):
        ratio = getattr(long, field) / getattr(short, field)
        assert 4 < ratio < 16, f"{field}: 8x the work took {ratio:.1f}x the time"


def test_latency_is_below_a_call_from_python():
    # At n=10 the loop is a few ns and a call from Python through METH_O is tens of ns.
    latency = fibext.time_c(10, loops=100_000, repeat=5).latency_ns
    capi = min(timeit.repeat("fib(10)", globals={"fib": _capi.fib}, number=100_000, repeat=5))
    assert latency < capi / 100_000 * 1e9


@pytest.mark.parametrize("args, error, message", [
    ((-1, 10), ValueError, "non-negative, got -1"),
    ((2**31, 10), OverflowError, "at most 2147483647"),
    ((1.5, 10), TypeError, "'float' object cannot be interpreted as an integer"),
    ((10, 0), ValueError, "loops must be at least 1, got 0"),
    ((10, -5), ValueError, "loops must be at least 1, got -5"),
    ((10, 2**31), OverflowError, "loops must be at most 2147483647"),
    ((10, 2**70), OverflowError, "loops must be at most 2147483647, got 1180591620717411303424"),
    ((10, -(2**70)), ValueError, "loops must be at least 1"),
    ((10, 1.5), TypeError, "loops must be an int: 'float' object cannot be interpreted"),
    ((10, "x"), TypeError, "loops must be an int: 'str' object cannot be interpreted"),
])
def test_bad_arguments(args, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        fibext.time_c(*args, repeat=1)


def test_bad_repeat_and_arity():
    with pytest.raises(ValueError, match="repeat must be at least 1, got 0"):
        fibext.time_c(10, 10, repeat=0)
    with pytest.raises(TypeError, match="time_c\\(\\) repeat must be an int: 'float' object"):
        fibext.time_c(10, 10, repeat=2.0)
    with pytest.raises(TypeError):
        _capi.time_c(10)
    with pytest.raises(TypeError, match="exactly 2 arguments"):
        _capi.time_c(10, 10, 10)


@pytest.mark.parametrize("repeat", [3 * 10**6, 2**63, 10**400])
def test_absurd_repeat_is_refused_at_once(repeat):
    # 3 x 10**6 runs used to be kept in a list (+704 MiB); the cap is far above any use.
    with pytest.raises(OverflowError, match=f"time_c\\(\\) repeat must be at most "
                                            f"{_ctiming.MAX_REPEAT}, got"):
        fibext.time_c(0, 1, repeat)


def test_memory_does_not_grow_with_repeat():
    # Only the running minima are kept: 20 000 runs allocate what 2 do (a list of every run's
    # three floats grew by megabytes).
    fibext.time_c(0, 1, 2)  # warm: first-call allocations are not the runs'
    peaks = []
    for repeat in (2, 20_000):
        tracemalloc.start()
        try:
            fibext.time_c(0, 1, repeat)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < peaks[0] + 4096, peaks


def test_python_m_fibext_prints_every_variant_and_pure_c(tmp_path):
    # From another directory: "python -m" puts the working directory first on sys.path, and the
    # checkout's fibext/ holds sources, not the installed compiled modules.
    out = subprocess.run([sys.executable, "-m", "fibext", "--quick"], check=True, cwd=tmp_path,
                         capture_output=True, text=True).stdout
    rows = {line.split()[0] for line in out.splitlines()[3:] if line.strip()}
    assert set(fibext.VARIANTS) <= rows
    assert "pure C latency" in out and "pure C throughput" in out
    python_row = next(line for line in out.splitlines() if line.startswith("python "))
    assert python_row.split()[3:5] == ["1.0", "1.0"]  # python's speedup over itself
