"""DoseResponse (continuous treatment) and the continuous-MSM bounds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from knowable.bounds import (
    ContinuousMSMBounds,
    capo_bound_from_samples,
    cmsm_alpha_prime,
)
from knowable.data import simulate_dose_response
from knowable.effects import DoseResponse, TreatmentDensity


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
    from knowable.bounds._sweep import sweep_lower, sweep_upper

    y = np.random.default_rng(1).standard_normal((4, 200))
    lam = 1.7
    dev = np.sort(y, -1) - y.mean(-1, keepdims=True)
    a = cmsm_alpha_prime(lam)
    np.testing.assert_allclose(
        capo_bound_from_samples(y, lam, "upper"), y.mean(-1) + sweep_upper(dev, a)
    )
    np.testing.assert_allclose(
        capo_bound_from_samples(y, lam, "lower"), y.mean(-1) + sweep_lower(dev, a)
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
        "dropout", n_draws=4, max_epochs=2, hidden_size=16, device="cpu", random_state=0
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
    with pytest.raises(ValueError, match="uncertainty"):
        DoseResponse("gp").fit(x, t, y)
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


# ------------------------------------------------------------------ sharp variant
def test_sharp_closed_form_gaussian():
    # notes §0.5: CMSM sharp value for N(0, 1) at Λ = 2 is 0.5454 (Overcast's is 0.5492)
    y = np.random.default_rng(0).standard_normal(20_000)
    up = capo_bound_from_samples(y, 2.0, "upper", 0.0, method="sharp")
    lo = capo_bound_from_samples(y, 2.0, "lower", 0.0, method="sharp")
    assert up == pytest.approx(0.5454, abs=0.01)
    assert lo == pytest.approx(-0.5454, abs=0.01)
    # Λ = e: 0.7756 (sharp) vs 0.7865 (overcast)
    assert capo_bound_from_samples(y, np.e, "upper", 0.0, method="sharp") == pytest.approx(
        0.7756, abs=0.012
    )


def test_sharp_exact_on_small_sample():
    # Λ = 3: τ = 3/4, top quarter of 8 draws = the 2 largest; bound = μ/3 + (2/3)·CVaR
    y = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    up = capo_bound_from_samples(y, 3.0, "upper", method="sharp")
    assert up == pytest.approx(3.5 / 3 + (2 / 3) * 6.5)
    lo = capo_bound_from_samples(y, 3.0, "lower", method="sharp")
    assert lo == pytest.approx(3.5 / 3 + (2 / 3) * 0.5)


def test_sharp_equals_binary_sharp_in_the_small_propensity_limit():
    from knowable.bounds import msm

    y = np.random.default_rng(4).normal(0.3, 1.5, (5, 300))
    lams = [1.3, 2.0, 4.0]
    np.testing.assert_allclose(
        capo_bound_from_samples(y, lams, "upper", method="sharp"),
        msm.sharp_bound_from_samples(y, 1e-12, lams, "upper"),
        atol=1e-9,
    )


def test_sharp_inside_overcast_and_collapse():
    rng = np.random.default_rng(3)
    # skewed, multimodal draws and an analytic mean different from the sample mean
    y = np.concatenate([rng.exponential(1.0, (50, 70)), rng.normal(-2, 0.3, (50, 37))], -1)
    mean = y.mean(-1) + rng.normal(0, 0.05, 50)
    lams = [1.0, 1.05, 1.5, 2.639, 10.0]
    for side, sign in (("upper", 1), ("lower", -1)):
        sharp = capo_bound_from_samples(y, lams, side, mean, method="sharp")
        over = capo_bound_from_samples(y, lams, side, mean, method="overcast")
        assert (sign * (over - sharp) >= -1e-12).all()
        np.testing.assert_array_equal(sharp[0], mean)
        np.testing.assert_array_equal(over[0], mean)
        assert (sign * np.diff(sharp, axis=0) >= -1e-12).all()
    # strictly narrower somewhere (the ratio bound is not sharp)
    assert (
        capo_bound_from_samples(y, 4.0, "upper", mean, method="overcast")
        - capo_bound_from_samples(y, 4.0, "upper", mean, method="sharp")
    ).max() > 1e-3


def test_model_sharp_and_overcast_share_draws(fitted):
    grid = np.linspace(0.1, 0.9, 4)
    x = fitted.X_fit_[:200]
    est = ContinuousMSMBounds(fitted, n_samples=60, chunk_size=64, random_state=1)
    both = est.dose_response_all(grid, [1.0, 1.6, 2.639], x)
    sharp, over = both["sharp"], both["overcast"]
    assert sharp.method == "sharp" and sharp.label == "sharp"
    assert over.label == "valid (conservative)"
    assert (sharp.member_lower >= over.member_lower - 1e-12).all()
    assert (sharp.member_upper <= over.member_upper + 1e-12).all()
    for b in (sharp, over):
        np.testing.assert_array_equal(b.lower[0], b.point)
        np.testing.assert_array_equal(b.upper[0], b.point)
        lo, hi = b.band()
        assert lo.shape == hi.shape == (3, 4)
        assert (b.lower_spread >= 0).all()
    # the public single-method entry point gives the same numbers (same seed, same draws)
    alone = ContinuousMSMBounds(
        fitted, method="sharp", n_samples=60, chunk_size=64, random_state=1
    ).dose_response(grid, [1.0, 1.6, 2.639], x)
    np.testing.assert_allclose(alone.upper, sharp.upper, rtol=1e-12)
    # the chunk size does not change the result
    other = ContinuousMSMBounds(fitted, n_samples=60, chunk_size=200, random_state=1)
    np.testing.assert_allclose(
        other.dose_response_all(grid, [1.0, 1.6, 2.639], x)["sharp"].point, sharp.point
    )
    with pytest.raises(ValueError, match="method"):
        ContinuousMSMBounds(fitted, method="kallus").dose_response(grid, 2.0)
    with pytest.raises(ValueError, match="method"):
        capo_bound_from_samples(np.zeros((2, 5)), 2.0, method="bogus")


# ------------------------------------------------------------------ treatment density
@pytest.fixture(scope="module")
def tdensity():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (1500, 1))
    t = x[:, 0] + 0.1 * rng.standard_normal(1500)
    model = TreatmentDensity(n_members=2, max_epochs=25, batch_size=128, device="cpu")
    return model.set_params(random_state=0).fit(x, t), x, t


def test_treatment_density_flags_unsupported_pairs(tdensity):
    from scipy.stats import norm

    model, x, t = tdensity
    flags = model.flag_low_support([[0.1], [0.5], [0.9]], [0.9, 0.5, 0.1])
    np.testing.assert_array_equal(flags, [True, False, True])
    # about support_quantile of the training pairs are flagged, by construction
    assert model.flag_low_support(x, t).mean() == pytest.approx(0.01, abs=0.005)
    # a proper density in t (the Jacobian of the standardisation is right) ...
    g = np.linspace(-1.0, 2.0, 601)
    dens = np.exp(model.log_density([[0.2], [0.7]], g, grid=True))
    np.testing.assert_allclose(np.trapezoid(dens, g, axis=1), 1.0, atol=1e-3)
    # ... close to the true N(x, 0.1²) density in the bulk
    xs = np.linspace(0.2, 0.8, 7)
    err = model.log_density(xs[:, None], xs) - norm.logpdf(xs, xs, 0.1)
    assert np.abs(err).max() < 0.5
    frac = model.support_fraction([0.5, 3.0], x)
    assert frac[1] == 0.0 and 0.3 < frac[0] < 0.7


def test_treatment_density_bad_input(tdensity):
    model, x, _ = tdensity
    with pytest.raises(ValueError, match="constant"):
        TreatmentDensity(max_epochs=1).fit(x, np.ones(len(x)))
    with pytest.raises(ValueError, match="support_quantile"):
        TreatmentDensity(support_quantile=1.5).fit(x, x[:, 0])
    with pytest.raises(NotImplementedError, match="due"):
        TreatmentDensity("due").fit(x, x[:, 0])
    with pytest.raises(ValueError, match="row"):
        model.log_density(x[:3], [0.1, 0.2])
    with pytest.raises(NotFittedError):
        TreatmentDensity().flag_low_support(x, 0.5)


def test_treatment_density_save_load(tmp_path, tdensity):
    model = tdensity[0]
    model.save(tmp_path / "td")
    loaded = TreatmentDensity.load(tmp_path / "td")
    assert loaded.threshold_ == model.threshold_
    np.testing.assert_array_equal(
        loaded.log_density([[0.3]], [0.25]), model.log_density([[0.3]], [0.25])
    )


def test_treatment_density_conformance():
    from knowable.testing import check_estimator

    check_estimator(
        TreatmentDensity(n_members=2, hidden_size=8, depth=1, max_epochs=2, random_state=0)
    )
