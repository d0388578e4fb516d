"""The noise report (benchmarks/noise.py): which lines of the history to trust."""

import pytest

import noise


def test_line_noise_from_samples_pyperf_rules():
    steady = noise.line_noise(1.0, None, [1.0, 1.01, 0.99, 1.02, 0.98])
    assert steady["source"] == "samples" and not steady["unstable"]
    assert steady["range"] == pytest.approx(0.04)
    # contention: half the samples 1.9x slower
    bimodal = noise.line_noise(1.0, None, [1.0, 1.0, 1.9, 1.9, 1.0, 1.9])
    assert bimodal["unstable"] and bimodal["std"] > noise.STD_LIMIT
    # one sample far off: the range rule alone
    outlier = noise.line_noise(1.0, None, [1.0] * 9 + [1.6])
    assert outlier["unstable"]


def test_line_noise_without_samples():
    stats = {"q_25": 0.9, "q_75": 1.2, "ci_99_a": 0.8, "ci_99_b": 1.4, "repeat": 10}
    quartiles = noise.line_noise(1.0, stats, None)
    assert quartiles["source"] == "quartiles"
    assert quartiles["iqr"] == pytest.approx(0.3) and quartiles["unstable"]  # 0.3/1.35 > 10%
    counts = noise.line_noise(1124.0, None, None, history=[1124.0, 1325.0], unit="instructions")
    assert counts["source"] == "exact" and counts["std"] == 0 and not counts["unstable"]
    track = noise.line_noise(1.0, None, None, history=[1.0, 1.3, 0.9])
    assert track["source"] == "commits" and track["range"] == pytest.approx(0.4)
    assert track["unstable"]
    assert noise.line_noise(None, None, None)["source"] == "none"


class FakeResults:
    def __init__(self, commit, date, lines):
        self.commit_hash, self.date, self.started_at, self._lines = commit, date, {"x": date}, lines

    def get_all_result_keys(self):
        return list(self._lines)

    def get_result_params(self, key):
        return self._lines[key][0]

    def get_result_value(self, key, params):
        return self._lines[key][1]

    def get_result_stats(self, key, params):
        return [None] * len(self._lines[key][1])

    def get_result_samples(self, key, params):
        return self._lines[key][2]


def test_noise_report_worst_first_and_flagged(tmp_path):
    newest = FakeResults("a" * 40, 2, {
        "bench_fib.Fib.timeraw_call": ([["'capi'", "'cython'"], ["90"]], [1.0, 1.0],
                                       [[1.0, 1.01, 0.99], [1.0, 1.9, 1.0, 1.9]]),
        "bench_fib.FibNoop.timeraw_call": ([], [float("nan")], [None]),
    })
    path = noise.write_noise_report([newest], "m", tmp_path)
    text = path.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| bench_")]
    assert rows[0].startswith("| bench_fib.Fib.timeraw_call('cython', 90) | samples | 4 |")
    assert rows[0].endswith("**unstable** |") and rows[1].endswith("| ok |")
    assert len(rows) == 2  # the skipped line is left out
    assert "1 of 2 lines unstable" in text
    summary = noise.summary(path, top=1)
    assert "timeraw_call('cython', 90)" in summary and "UNSTABLE" in summary


def test_one_sample_is_no_spread_the_commits_speak_instead():
    # asv's statistics of one sample (a memory line measured once): equal quartiles, an
    # unbounded interval; reading them as a 0% spread would call any line stable
    one = {"q_25": 1.0, "q_75": 1.0, "ci_99_a": float("-inf"), "ci_99_b": float("inf"),
           "repeat": 1}
    found = noise.line_noise(1.0, one, [1.0], history=[1.0, 1.5])
    assert found["source"] == "commits" and found["range"] == pytest.approx(0.4)
    assert found["unstable"]
