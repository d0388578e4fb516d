"""The main job's estimate of what is left (benchmarks/measuring.py's Estimate): builds,
measurements and the further sampling passes over the builds measured."""

import pytest

import measuring


def test_nothing_to_say_before_a_measurement():
    assert measuring.Estimate(3, passes=4).left() is None


def test_the_passes_cost_what_a_builds_sampled_lines_took():
    estimate = measuring.Estimate(3, passes=4)
    estimate.built(10)
    estimate.measured(100, sampled=20)
    # two builds and measurements left, then 3 more passes over all three builds
    assert estimate.left() == pytest.approx(2 * 10 + 2 * 100 + 3 * 3 * 20)
    one_pass = measuring.Estimate(3, passes=1)
    one_pass.built(10)
    one_pass.measured(100, sampled=20)
    assert one_pass.left() == pytest.approx(2 * 10 + 2 * 100)
