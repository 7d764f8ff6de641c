"""Metrics: mode coverage on real and collapsed samples, the two-sample test, MMD."""

import math

import numpy as np
import pytest

import tinygan
from tinygan import datasets, metrics
from tinygan.metrics.mmd import mmd_rbf
from tinygan.metrics.two_sample import binomial_tail, classifier_two_sample_test


@pytest.mark.parametrize("make", [datasets.ring8, datasets.grid25])
def test_real_samples_score_the_protocols_ceiling(make):
    tinygan.manual_seed(0)
    data = make()
    result = metrics.mode_coverage(data.sample(metrics.PROTOCOL_SAMPLES), data.means, data.std)
    assert result.modes_captured == len(data.means)
    # P(|x - mu| <= 3 s) for a 2-D Gaussian is 1 - exp(-9/2) = 98.89%; 2500 samples: +-0.3%
    assert result.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.007)
    assert result.reverse_kl < 0.02


def test_a_collapsed_generator_captures_one_mode():
    tinygan.manual_seed(0)
    ring = datasets.ring8()
    collapsed = ring.means[3] + ring.std * np.random.default_rng(0).standard_normal((2500, 2))
    result = metrics.mode_coverage(collapsed, ring.means, ring.std)
    assert result.modes_captured == 1
    assert result.counts.argmax() == 3
    assert result.reverse_kl == pytest.approx(math.log(8), rel=1e-12)


def test_samples_between_modes_are_low_quality():
    ring = datasets.ring8()
    between = np.zeros((10, 2))  # the ring's centre: 1 away from every mean
    result = metrics.mode_coverage(between, ring.means, ring.std)
    assert result.high_quality == 0.0 and result.modes_captured == 0
    assert result.reverse_kl == math.inf


def test_reverse_kl_by_hand():
    # q = (1/2, 1/2, 0, 0): KL(q || uniform over 4) = 2 * 1/2 * log(1/2 * 4) = log 2
    assert metrics.reverse_kl_to_uniform([5, 5, 0, 0]) == pytest.approx(math.log(2))


def test_mode_coverage_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"samples \(n, d\) and means \(K, d\)"):
        metrics.mode_coverage(np.zeros((4, 3)), np.zeros((8, 2)), 0.1)


def test_two_sample_test_sits_at_chance_for_one_distribution_and_not_for_two():
    tinygan.manual_seed(0)
    rng = np.random.default_rng(0)
    same = classifier_two_sample_test(rng.standard_normal((400, 2)),
                                      rng.standard_normal((400, 2)), steps=200)
    differ = classifier_two_sample_test(rng.standard_normal((400, 2)),
                                        rng.standard_normal((400, 2)) + [2.0, 0.0], steps=200)
    assert abs(same.accuracy - 0.5) < 0.08 and same.p_value > 0.01
    # Bayes accuracy for a shift of 2 standard deviations: Phi(1) = 0.84
    assert differ.accuracy > 0.72 and differ.p_value < 1e-6


def test_binomial_tail_by_hand():
    assert binomial_tail(0, 10) == 1.0
    assert binomial_tail(10, 10) == pytest.approx(2.0 ** -10)
    assert binomial_tail(9, 10) == pytest.approx(11 * 2.0 ** -10)
    assert binomial_tail(11, 10) == 0.0


def test_mmd_is_near_zero_for_one_distribution_and_positive_for_two():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((300, 2)), rng.standard_normal((300, 2))
    assert abs(mmd_rbf(x, y)) < 0.01
    assert mmd_rbf(x, y + 2.0) > 0.3


def test_mmd_by_hand_on_two_points_each():
    # bandwidth 1: k = exp(-d^2 / 2). x = {0, 1}, y = {3, 4} on a line.
    x, y = np.array([[0.0], [1.0]]), np.array([[3.0], [4.0]])
    k = lambda d: math.exp(-d * d / 2)  # noqa: E731
    expected = k(1) + k(1) - 2 * (k(3) + k(4) + k(2) + k(3)) / 4
    assert mmd_rbf(x, y, bandwidth=1.0) == pytest.approx(expected)
