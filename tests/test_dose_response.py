"""DoseResponse (continuous treatment) and the continuous-MSM bounds."""

from __future__ import annotations

import numpy as np
import pytest

from knowable.bounds import (
    ContinuousMSMBounds,
    capo_bound_from_samples,
    cmsm_alpha_prime,
)
from knowable.data import simulate_dose_response
from knowable.effects import DoseResponse


@pytest.fixture(scope="module")
def data():
    return simulate_dose_response(n=1000, random_state=0)


@pytest.fixture(scope="module")
def fitted(data):
    model = DoseResponse(n_members=3, max_epochs=15, device="cpu", random_state=0)
    return model.fit(data.x, data.t, data.y)


# ------------------------------------------------------------------ numerics
def test_alpha_prime():
    assert cmsm_alpha_prime(1.0) == np.inf
    assert cmsm_alpha_prime(2.0) == pytest.approx(1 / 3)
    np.testing.assert_allclose(cmsm_alpha_prime([1.0, 3.0]), [np.inf, 1 / 8])
    with pytest.raises(ValueError, match=">= 1"):
        cmsm_alpha_prime(0.9)


def test_closed_form_gaussian_lambda_2():
    # notes §0.5: N(0, 1), Λ = 2 (α' = 1/3) -> μ⁺ = 0.5492
    y = np.random.default_rng(0).standard_normal(10_000)
    assert capo_bound_from_samples(y, 2.0, "upper", 0.0) == pytest.approx(0.5492, abs=0.01)
    assert capo_bound_from_samples(y, 2.0, "lower", 0.0) == pytest.approx(-0.5492, abs=0.01)


def test_same_numerics_as_binary_sweep():
    # the CMSM bound is the binary sorting estimator's sweep with α' = 1/(Λ²−1)
    from knowable.bounds.msm import _sweep_lower, _sweep_upper

    y = np.random.default_rng(1).standard_normal((4, 200))
    lam = 1.7
    dev = np.sort(y, -1) - y.mean(-1, keepdims=True)
    a = cmsm_alpha_prime(lam)
    np.testing.assert_allclose(
        capo_bound_from_samples(y, lam, "upper"), y.mean(-1) + _sweep_upper(dev, a)
    )
    np.testing.assert_allclose(
        capo_bound_from_samples(y, lam, "lower"), y.mean(-1) + _sweep_lower(dev, a)
    )


def test_lambda_one_is_mean_and_monotone():
    y = np.random.default_rng(2).normal(1.0, 2.0, (3, 500))
    lams = [1.0, 1.2, 1.5, 2.0, 4.0]
    up = capo_bound_from_samples(y, lams, "upper")
    lo = capo_bound_from_samples(y, lams, "lower")
    np.testing.assert_array_equal(up[0], y.mean(-1))
    np.testing.assert_array_equal(lo[0], y.mean(-1))
    assert (np.diff(up, axis=0) >= 0).all() and (np.diff(lo, axis=0) <= 0).all()


# ------------------------------------------------------------------ model
def test_curve_beats_constant(data, fitted):
    grid = np.linspace(0.05, 0.95, 30)
    curve = fitted.dose_response(grid)
    truth = data.truth["apo"](grid)
    ise = np.mean((curve.mean - truth) ** 2)
    ise_const = np.mean((data.y.mean() - truth) ** 2)
    assert ise < ise_const
    assert curve.samples.shape == (3, 30)
    assert (curve.lower <= curve.mean).all() and (curve.mean <= curve.upper).all()


def test_apo_shapes(data, fitted):
    x = data.x[:7]
    mean, lower, upper = fitted.apo(x, 0.5)
    assert mean.shape == lower.shape == upper.shape == (7,)
    assert fitted.apo_samples(x, data.t[:7]).shape == (3, 7)
    mean_g, _, _ = fitted.apo(x, [0.2, 0.4, 0.6], grid=True)
    assert mean_g.shape == (7, 3)
    np.testing.assert_allclose(mean_g[:, 0], fitted.apo(x, 0.2)[0])
    draws, mu = fitted.outcome_draws(x, 0.5, n_samples=50, random_state=0, return_mean=True)
    assert draws.shape == (3, 7, 50) and mu.shape == (3, 7)
    again = fitted.outcome_draws(x, 0.5, n_samples=50, random_state=0)
    np.testing.assert_array_equal(draws, again)


def test_dropout_runs(data):
    model = DoseResponse(
        "dropout", n_samples=4, max_epochs=2, hidden_size=16, device="cpu", random_state=0
    ).fit(data.x[:200], data.t[:200], data.y[:200])
    assert model.dose_response([0.3, 0.6]).samples.shape == (4, 2)


def test_bounds_lambda_one_and_widen(fitted):
    grid = np.linspace(0.1, 0.9, 5)
    b = ContinuousMSMBounds(fitted, n_samples=50, random_state=0).dose_response(
        grid, [1.0, 1.2, 2.0], fitted.X_fit_[:300]
    )
    np.testing.assert_array_equal(b.lower[0], b.point)
    np.testing.assert_array_equal(b.upper[0], b.point)
    point = fitted.dose_response(grid, fitted.X_fit_[:300]).mean
    np.testing.assert_allclose(b.point, point, rtol=1e-10, atol=1e-10)
    width = b.upper - b.lower
    assert (np.diff(width, axis=0) > 0).all()
    assert b.member_lower.shape == (3, 3, 5)
    lo, hi = b.band()
    assert (lo <= b.lower + 1e-12).all() and (hi >= b.upper - 1e-12).all()
    clo, chi = ContinuousMSMBounds(fitted, n_samples=20).capo(fitted.X_fit_[:4], 0.5, [1.0, 2.0])
    assert clo.shape == chi.shape == (3, 2, 4)


# ------------------------------------------------------------------ bad input
def test_bad_inputs(data, fitted):
    x, t, y = data.x[:50], data.t[:50], data.y[:50]
    model = DoseResponse(n_members=1, max_epochs=1, device="cpu")
    with pytest.raises(ValueError, match="constant"):
        model.fit(x, np.full(50, 0.3), y)
    t_nan = t.copy()
    t_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(x, t_nan, y)
    with pytest.raises(ValueError, match="Inconsistent numbers of rows"):
        model.fit(x, t[:40], y)
    with pytest.raises(TypeError, match="must hold numbers"):
        model.fit(x, np.array(["a"] * 50), y)
    with pytest.raises(NotImplementedError, match="due"):
        DoseResponse("due").fit(x, t, y)
    with pytest.raises(ValueError, match="allow_extrapolation"):
        fitted.dose_response([0.5, 1.5])
    with pytest.warns(UserWarning, match="extrapolating"):
        fitted.dose_response([0.5, 1.5], allow_extrapolation=True)
    with pytest.raises(ValueError, match="allow_extrapolation"):
        ContinuousMSMBounds(fitted).dose_response([-0.5], 2.0)
    with pytest.raises(ValueError, match=">= 1"):
        ContinuousMSMBounds(fitted).dose_response([0.5], 0.5)
    with pytest.raises(ValueError, match="column"):
        fitted.apo(np.ones((3, 2)), 0.5)


def test_save_load_round_trip(tmp_path, fitted):
    fitted.save(tmp_path / "dr")
    loaded = DoseResponse.load(tmp_path / "dr")
    grid = [0.3, 0.6]
    np.testing.assert_array_equal(loaded.dose_response(grid).mean, fitted.dose_response(grid).mean)
    assert loaded.t_range_ == fitted.t_range_
