"""Deferral policies and the error-versus-deferral curve."""

import numpy as np
import pytest
from scipy import stats

from knowable.decide import (
    defer_mask,
    deferral_curve,
    deferral_ranking,
    overlap_scores,
    random_defer_mask,
    sign_scores,
    variance_scores,
)


def test_variance_scores_from_draws_and_moments():
    draws = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 0.0]])
    np.testing.assert_allclose(variance_scores(draws), [1.0, 0.0])
    np.testing.assert_allclose(variance_scores(effect_var=[2.0, 1.0]), [2.0, 1.0])
    with pytest.raises(ValueError):
        variance_scores()
    with pytest.raises(ValueError):
        variance_scores(effect_var=[-1.0])


def test_sign_scores_from_draws_and_normal_approximation():
    draws = np.array([[1.0, -1.0], [2.0, -2.0], [-1.0, -3.0], [3.0, 1.0]])
    np.testing.assert_allclose(sign_scores(draws), [0.25, 0.25])
    # a zero mean recommends "do not treat": the draws above zero are the wrong side
    np.testing.assert_allclose(sign_scores(np.array([[1.0], [-1.0]])), [0.5])
    # draws skewed against their mean: the recommendation is wrong more often than not
    np.testing.assert_allclose(sign_scores(np.array([[-10.0], [1.0], [1.0], [1.0]])), [0.75])
    got = sign_scores(effect_mean=[1.0, -2.0, 0.0], effect_var=[1.0, 4.0, 0.0])
    np.testing.assert_allclose(got, [stats.norm.cdf(-1.0), stats.norm.cdf(-1.0), 0.0])


def test_overlap_scores_defer_extreme_propensities_first():
    p = np.array([0.5, 0.05, 0.9, 0.3])
    np.testing.assert_allclose(overlap_scores(p), [0.0, 0.45, 0.4, 0.2])
    np.testing.assert_array_equal(deferral_ranking(overlap_scores(p)), [1, 2, 3, 0])
    with pytest.raises(ValueError):
        overlap_scores([1.2])


def test_defer_mask_top_k_and_training_quantile():
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.3])
    np.testing.assert_array_equal(defer_mask(scores, 0.4), [False, True, False, True, False])
    train = np.arange(100) / 100.0  # 0.9 quantile = 0.891
    np.testing.assert_array_equal(
        defer_mask(scores, 0.1, train_scores=train), [False, True, False, False, False]
    )
    assert not defer_mask(scores, 0.0, train_scores=train).any()
    assert defer_mask(scores, 1.0, train_scores=train).all()
    with pytest.raises(ValueError):
        defer_mask(scores, 1.5)


def test_random_defer_mask_is_without_replacement():
    for seed in range(20):
        mask = random_defer_mask(75, 0.1, random_state=seed)
        assert mask.sum() == 8  # round(7.5) = 8 distinct units, exactly
    np.testing.assert_array_equal(
        random_defer_mask(50, 0.3, random_state=3), random_defer_mask(50, 0.3, random_state=3)
    )


def test_deferral_curve_by_hand_with_all_units_denominator():
    est = np.array([1.0, -1.0, 2.0, 0.5])
    true = np.array([1.0, 1.0, 2.0, -0.5])  # units 1 and 3 have the wrong sign
    scores = np.array([0.0, 3.0, 1.0, 2.0])  # defer unit 1 first, then unit 3
    curve = deferral_curve(est, true, scores, [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(curve.deferred_fraction, [0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(curve.error_rate, [2 / 4, 1 / 4, 0 / 4, 0.0])
    np.testing.assert_allclose(curve.sqrt_pehe[:3], [np.sqrt(5 / 4), np.sqrt(1 / 3), 0.0])
    assert np.isnan(curve.sqrt_pehe[3]) and curve.n_total == 4


def test_deferral_curve_random_is_nested_and_uses_training_thresholds():
    rng = np.random.default_rng(0)
    est, true = rng.normal(size=40), rng.normal(size=40)
    curve = deferral_curve(est, true, "random", [0.0, 0.1, 0.5], random_state=1)
    np.testing.assert_allclose(curve.deferred_fraction, [0.0, 0.1, 0.5])
    # nested: every unit deferred at one rate stays deferred at higher rates, so the
    # wrong recommendations kept (error_rate, over all units) can only fall
    half_wrong = np.where(np.arange(40) < 20, est, -est)
    rates = np.linspace(0.0, 0.95, 20)
    nested = deferral_curve(est, half_wrong, "random", rates, random_state=2)
    assert np.all(np.diff(nested.error_rate) <= 0)
    assert nested.error_rate[0] == 0.5
    train = np.linspace(0, 1, 11)
    curve = deferral_curve(est, true, np.full(40, 0.95), [0.5], train_scores=train)
    assert curve.deferred_fraction[0] == 1.0  # all test scores exceed the training median
    with pytest.raises(ValueError):
        deferral_curve(est, true, "sorted", [0.1])
    with pytest.raises(ValueError):
        deferral_curve(est, true[:5], "random", [0.1])
