"""Effect metrics against hand computation."""

import numpy as np
import pytest

from knowable.effects.metrics import (
    ate_error,
    pehe,
    policy_risk,
    recommendation_error_rate,
    sqrt_pehe,
)

EST = np.array([1.0, -2.0, 0.5, 3.0])
TRUE = np.array([2.0, -1.0, -0.5, 3.0])


def test_pehe_and_sqrt_pehe_by_hand():
    # errors -1, -1, 1, 0 -> mean square 3/4
    assert pehe(EST, TRUE) == pytest.approx(0.75)
    assert sqrt_pehe(EST, TRUE) == pytest.approx(np.sqrt(0.75))


def test_sqrt_pehe_on_kept_units_divides_by_kept():
    keep = np.array([True, False, False, True])  # errors -1, 0 -> 1/2
    assert sqrt_pehe(EST, TRUE, keep) == pytest.approx(np.sqrt(0.5))
    assert np.isnan(sqrt_pehe(EST, TRUE, np.zeros(4, dtype=bool)))


def test_ate_error_by_hand():
    assert ate_error(EST, TRUE) == pytest.approx(abs(2.5 / 4 - 3.5 / 4))


def test_recommendation_error_rate_denominator_is_all_units():
    # unit 2 has the wrong sign (0.5 vs -0.5); only one of 4 units is wrong
    assert recommendation_error_rate(EST, TRUE) == pytest.approx(1 / 4)
    keep = np.array([True, True, True, False])
    assert recommendation_error_rate(EST, TRUE, keep) == pytest.approx(1 / 4)  # still / 4
    keep = np.array([True, True, False, True])  # the wrong unit deferred
    assert recommendation_error_rate(EST, TRUE, keep) == 0.0
    assert recommendation_error_rate(EST, TRUE, np.zeros(4, dtype=bool)) == 0.0


def test_policy_risk_by_hand():
    est = np.array([1.0, 1.0, -1.0, -1.0, 1.0])  # policy treats units 0, 1, 4
    t = np.array([1, 0, 0, 1, 1])
    y = np.array([3.0, 9.0, 2.0, 9.0, 5.0])
    # treated & policy-treat: units 0, 4 -> mean 4; control & policy-control: unit 2 -> 2
    expected = 1 - (4.0 * 3 / 5 + 2.0 * 2 / 5)
    assert policy_risk(est, t, y) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: sqrt_pehe(EST, TRUE[:3]), ValueError),
        (lambda: sqrt_pehe(EST, np.array([1, np.nan, 0, 0])), ValueError),
        (lambda: sqrt_pehe(EST.astype(str), TRUE), TypeError),
        (lambda: sqrt_pehe(EST, TRUE, keep=np.ones(4)), ValueError),
        (lambda: policy_risk(EST, np.array([0, 1, 2, 1]), TRUE), ValueError),
    ],
)
def test_bad_inputs(call, error):
    with pytest.raises(error):
        call()
