"""Deferral under ignorance: defer where the Λ-bounds straddle zero."""

from __future__ import annotations

import numpy as np
import pytest

from knowable.bounds import msm, robustness_from_grid
from knowable.decide import (
    IgnoranceCurve,
    deferral_curve,
    error_rate_vs_lambda,
    ignorance_defer_mask,
    ignorance_recommendation,
    ignorance_scores,
)

# Hand-made bounds on the grid Λ = 1, 2, 4 for four units; truth signs + + − −.
LAM = np.array([1.0, 2.0, 4.0])
LOWER = np.array(
    [
        [1.0, 0.5, -0.2, -1.0],
        [0.6, -0.1, -0.6, -1.5],
        [0.2, -0.5, -1.0, -2.0],
    ]
)
UPPER = np.array(
    [
        [1.0, 0.5, -0.2, -1.0],
        [1.4, 1.1, 0.2, -0.5],
        [1.8, 1.5, 0.6, -0.1],
    ]
)
TRUTH = np.array([2.0, 0.3, 0.1, -1.0])  # unit 2's point estimate (-0.2) has the wrong sign


def test_defer_mask_and_recommendation_by_hand() -> None:
    mask = ignorance_defer_mask(LOWER, UPPER)
    expected = np.array(
        [[False, False, False, False], [False, True, True, False], [False, True, True, False]]
    )
    np.testing.assert_array_equal(mask, expected)
    rec = ignorance_recommendation(LOWER, UPPER)
    np.testing.assert_array_equal(rec[0], [1, 1, -1, -1])
    np.testing.assert_array_equal(rec[2], [1, 0, 0, -1])
    # zero on the boundary counts as straddling
    assert ignorance_defer_mask(np.array([0.0]), np.array([1.0]))[0]


def test_widening_by_spread() -> None:
    spread = np.full_like(LOWER, 0.15)
    wide = ignorance_defer_mask(LOWER, UPPER, lower_spread=spread, upper_spread=spread, k=2.0)
    # at Λ = 4 unit 0's lower 0.2 - 0.3 < 0 and unit 3's upper -0.1 + 0.3 > 0
    np.testing.assert_array_equal(wide[2], [True, True, True, True])
    np.testing.assert_array_equal(wide[0], [False, False, True, False])  # -0.2 + 0.3 > 0
    same = ignorance_defer_mask(LOWER, UPPER, lower_spread=spread, upper_spread=spread, k=0.0)
    np.testing.assert_array_equal(same, ignorance_defer_mask(LOWER, UPPER))


def test_error_rate_vs_lambda_by_hand() -> None:
    curve = error_rate_vs_lambda(LOWER, UPPER, LAM, TRUTH)
    assert isinstance(curve, IgnoranceCurve)
    # Λ=1: all kept, unit 2 wrong -> 1/4. Λ=2,4: units 1, 2 deferred, 0 and 3 right -> 0.
    np.testing.assert_allclose(curve.error_rate, [0.25, 0.0, 0.0])
    np.testing.assert_allclose(curve.deferred_fraction, [0.0, 0.5, 0.5])
    assert curve.n_total == 4
    assert curve.to_dict()["lam"] == [1.0, 2.0, 4.0]


def test_scores_order_units_by_flip_lambda() -> None:
    s = ignorance_scores(LOWER, UPPER, LAM)
    # units 1 and 2 first flip at Λ = 2 (score 1.5); 0 and 3 never (margins 0.2, 0.1)
    np.testing.assert_allclose(s, [1 / 1.2, 1.5, 1.5, 1 / 1.1])
    order = np.argsort(-s, kind="stable")
    np.testing.assert_array_equal(order, [1, 2, 3, 0])
    # consistent with the robustness values (first grid Λ containing zero)
    rob = robustness_from_grid(LOWER, UPPER, LAM)
    assert np.isinf(rob[0]) and np.isinf(rob[3]) and (rob[1:3] <= 2.0).all()
    # deferral curve with these scores: deferring 2 of 4 removes the wrong unit
    curve = deferral_curve(LOWER[0], TRUTH, s, [0.0, 0.5])
    np.testing.assert_allclose(curve.error_rate, [0.25, 0.0])


def test_gaussian_closed_form_flip_lambda() -> None:
    """Homoskedastic Gaussian arms: sharp bounds τ ± c(Λ); a unit defers once c(Λ) ≥ |τ|."""
    lam = np.array([1.0, np.exp(0.5), 2.0, np.e, np.exp(2.0)])
    tau = np.array([0.3, 0.5, 1.0, 2.0])
    mu1, mu0 = tau, np.zeros_like(tau)
    e = np.full_like(tau, 0.4)
    up1 = msm.sharp_bound_gaussian(mu1, 1.0, e, lam, "upper", arm=1)
    lo1 = msm.sharp_bound_gaussian(mu1, 1.0, e, lam, "lower", arm=1)
    up0 = msm.sharp_bound_gaussian(mu0, 1.0, e, lam, "upper", arm=0)
    lo0 = msm.sharp_bound_gaussian(mu0, 1.0, e, lam, "lower", arm=0)
    lower, upper = msm.cate_bounds(up1, lo1, up0, lo0)
    # c(Λ) = 0, 0.3960, 0.5454, 0.7756, 1.4442 (notes §0.4)
    mask = ignorance_defer_mask(lower, upper)
    expected = np.array(
        [
            [False, False, False, False],
            [True, False, False, False],
            [True, True, False, False],
            [True, True, False, False],
            [True, True, True, False],
        ]
    )
    np.testing.assert_array_equal(mask, expected)
    curve = error_rate_vs_lambda(lower, upper, lam, tau)
    np.testing.assert_allclose(curve.error_rate, 0.0)
    np.testing.assert_allclose(curve.deferred_fraction, [0, 0.25, 0.5, 0.5, 0.75])


def test_crossed_bounds_use_the_hull() -> None:
    # a separately fitted lower above the upper (B-Learner, finite sample) straddles zero
    assert ignorance_defer_mask(np.array([0.2]), np.array([-0.1]))[0]
    # and robustness_from_grid agrees: the unit flips where its crossed bounds straddle zero
    lam = np.array([1.0, 2.0])
    rob = robustness_from_grid(np.array([[0.3], [0.1]]), np.array([[0.4], [-0.05]]), lam)
    assert 1.0 < rob[0] <= 2.0
    score = ignorance_scores(np.array([[0.3], [0.1]]), np.array([[0.4], [-0.05]]), lam)
    assert score[0] == 1.0 + 1.0 / 2.0  # flips at the grid value 2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ignorance_defer_mask(LOWER, UPPER[:, :2]), "share one shape"),
        (lambda: ignorance_defer_mask(LOWER, UPPER, k=1.0), "give lower_spread"),
        (lambda: ignorance_defer_mask(LOWER, UPPER, lower_spread=LOWER), "both"),
        (
            lambda: ignorance_defer_mask(
                LOWER, UPPER, lower_spread=-np.ones_like(LOWER), upper_spread=np.ones_like(LOWER)
            ),
            "non-negative",
        ),
        (
            lambda: ignorance_defer_mask(
                LOWER, UPPER, lower_spread=LOWER[0], upper_spread=LOWER[0]
            ),
            "shape",
        ),
        (lambda: ignorance_defer_mask(np.array([np.nan]), np.array([1.0])), "NaN|finite"),
        (lambda: ignorance_scores(LOWER, UPPER, [1.0, 2.0]), "shape"),
        (lambda: ignorance_scores(LOWER, UPPER, [1.0, 4.0, 2.0]), "increasing"),
        (lambda: ignorance_scores(LOWER, UPPER, [0.5, 2.0, 4.0]), ">= 1"),
        (lambda: ignorance_scores(LOWER[0], UPPER[0], LAM), "dimension|ndim|2"),
        (lambda: error_rate_vs_lambda(LOWER, UPPER, LAM, TRUTH[:3]), "units"),
        (lambda: ignorance_defer_mask(LOWER, UPPER, k=-1.0), "k"),
    ],
)
def test_bad_input(call, match) -> None:
    with pytest.raises(ValueError, match=match):
        call()
