"""The synthetic aerosol-cloud simulator (continuous treatment with a known Λ*)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special

from knowable.data import AEROSOL_COVARIATES, simulate_aerosol_cloud
from knowable.data._aerosol import _MEAN, _SD, _SIGMA_T, _log_aod_mean, _re


@pytest.fixture(scope="module")
def data():
    return simulate_aerosol_cloud(2000, random_state=0)


def test_layout_and_labelling(data):
    assert data.x.shape == (2000, 7) and data.t.shape == data.y.shape == (2000,)
    assert data.feature_names == list(AEROSOL_COVARIATES)
    assert data.meta["synthetic"] is True and "SYNTHETIC" in data.meta["note"]
    assert data.meta["treatment_name"] == "tot_aod" and data.meta["outcome_name"] == "l_re"
    assert data.t.min() >= 0.07 and data.t.max() <= 1.0  # the pipeline's AOD window
    again = simulate_aerosol_cloud(2000, random_state=0)
    np.testing.assert_array_equal(again.y, data.y)


def test_true_curve_is_the_sample_average_of_potential_outcomes(data):
    z = (data.x - _MEAN) / _SD
    grid = np.array([0.08, 0.15, 0.3, 0.9])
    brute = np.array([_re(z, np.full(len(z), tv), data.truth["u"], 3.0).mean() for tv in grid])
    np.testing.assert_allclose(data.truth["apo"](grid), brute, rtol=1e-12)
    assert (np.diff(data.truth["apo"](grid)) < 0).all()  # Twomey: r_e falls with AOD
    np.testing.assert_allclose(data.truth["mu"], _re(z, data.t, data.truth["u"], 3.0), rtol=1e-12)
    sub = data.subset(np.arange(10))
    np.testing.assert_allclose(
        sub.truth["apo"](grid),
        [_re(z[:10], np.full(10, tv), data.truth["u"][:10], 3.0).mean() for tv in grid],
    )


def test_density_ratio_has_unit_mean_over_the_confounder(data):
    # E[p(t | x, U) / p(t | x) | x] = 1 with U ~ p(u | x) ∝ Z(a + γ u) in the kept population;
    # checked by adaptive quadrature, independently of the simulator's trapezoidal rule.
    from knowable.data._aerosol import _density_ratio

    gamma = 0.15
    lo, hi = np.log(0.07), np.log(1.0)

    def mass(m):
        return special.ndtr((hi - m) / _SIGMA_T) - special.ndtr((lo - m) / _SIGMA_T)

    z = (data.x[:3] - _MEAN) / _SD
    for a in _log_aod_mean(z):
        for log_t in (lo + 0.1, np.log(0.2), hi - 0.05):
            norm = integrate.quad(lambda u, a=a: mass(a + gamma * u), -1, 1)[0]
            val = integrate.quad(
                lambda u, a=a, log_t=log_t: (
                    mass(a + gamma * u)
                    / _density_ratio(np.array(a), np.array(log_t), np.array(u), gamma)
                ),
                -1,
                1,
            )[0]
            assert val / norm == pytest.approx(1.0, abs=1e-4)


def test_lambda_star(data):
    cl = data.truth["conditional_lambda"]
    worst = np.maximum(cl, 1 / cl).max()
    assert 1.0 < worst <= data.truth["lambda_star"] * 1.02
    assert 2.0 < data.truth["lambda_star"] < 4.0
    none = simulate_aerosol_cloud(200, gamma_t=0.0, random_state=1)
    assert none.truth["lambda_star"] == 1.0
    np.testing.assert_allclose(none.truth["conditional_lambda"], 1.0, rtol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="n"):
        simulate_aerosol_cloud(0)
    with pytest.raises(ValueError, match="gamma_t"):
        simulate_aerosol_cloud(10, gamma_t=-0.1)
    with pytest.raises(ValueError, match="sigma_y"):
        simulate_aerosol_cloud(10, sigma_y=-1.0)
    with pytest.raises(ValueError, match="> 0"):
        simulate_aerosol_cloud(10, random_state=0).truth["apo"]([0.0, 0.5])
