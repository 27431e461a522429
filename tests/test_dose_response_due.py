"""DoseResponse with DUE uncertainty: a deep-kernel GP on [φ(x), t]."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from knowable.bounds import ContinuousMSMBounds
from knowable.data import simulate_dose_response
from knowable.effects import DoseResponse

SMALL = {"hidden_size": 32, "n_inducing": 30, "batch_size": 64, "device": "cpu"}


@pytest.fixture(scope="module")
def data():
    # unconfounded, so the fitted curve estimates the causal one
    return simulate_dose_response(n=600, gamma_t=0.0, gamma_y=0.0, random_state=0)


@pytest.fixture(scope="module")
def due(data):
    model = DoseResponse("due", max_epochs=25, n_draws=50, random_state=0, **SMALL)
    return model.fit(data.x, data.t, data.y)


def _tiny(seed: int) -> DoseResponse:
    ds = simulate_dose_response(n=200, random_state=1)
    model = DoseResponse("due", max_epochs=3, n_draws=20, random_state=seed, **SMALL)
    return model.fit(ds.x, ds.t, ds.y)


def test_due_curve_close_to_truth(data, due):
    # measured on seeds 0-4 with these settings: ISE 0.0004-0.0026, 3-27 % of a constant's
    grid = np.linspace(0.05, 0.95, 19)
    curve = due.dose_response(grid)
    truth = data.truth["apo"](grid)
    ise = np.mean((curve.mean - truth) ** 2)
    assert ise < 0.005
    assert ise < 0.4 * np.mean((data.y.mean() - truth) ** 2)
    assert curve.samples.shape == (50, 19)
    assert (curve.lower < curve.mean).all() and (curve.mean < curve.upper).all()
    assert len(due.members_) == 1 and due.resolved_params_["extractor"] == "resnet"
    assert due.resolved_params_["spectral_coeff"] == 0.95


def test_due_band_wider_without_treatment_support(due):
    # a unit with x = 1.9 is almost never treated near t = 0 (Beta-Binomial(100, 1.9, 1));
    # measured ratio of band widths 1.7-3.9 over seeds 0-4
    lo_t = due.t_range_[0]
    _, lower, upper = due.apo([[1.9], [1.9]], [lo_t, 0.85])
    width = upper - lower
    assert width[0] > 1.4 * width[1]


def test_due_draws_are_joint_and_chunk_invariant(data, due):
    grid = [0.1, 0.5, 0.9]
    x = data.x[:250]
    curve = due.dose_response(grid, x)
    for size in (33, None):
        capo = due.apo_samples(x, grid, grid=True, batch_size=size)  # (S, n, g)
        np.testing.assert_allclose(capo.mean(1), curve.samples, rtol=0, atol=1e-6)
        again = due.dose_response(grid, x, batch_size=size or 7)
        np.testing.assert_allclose(again.samples, curve.samples, rtol=0, atol=1e-6)
    # draws differ from one another (they are not one repeated function)
    assert curve.samples.std(0).min() > 1e-3


def test_due_draws_match_the_exact_gp_posterior(data, due):
    # pathwise draws keep the conditional variance k(z, z) − AᵀA that a conditional-mean
    # draw E[f | u_s] drops (which gave 63-77 % of the exact per-unit variance)
    module = due.members_[0]
    x = data.x[:300]
    for tv in (0.02, 0.5):
        xt = due._standardise_X(np.column_stack([x, np.full(len(x), tv)]).astype(np.float32))
        with torch.no_grad():
            z = module.extractor(xt)
            chol, m_v, chol_s = module.gp._whitened_terms()
            a = module.gp._interp(chol, z)[0].double()
            k = module.gp.covar_module(z.unsqueeze(0)).to_dense()[0].double()
            s = (chol_s[0] @ chol_s[0].T).double()
            cov = (k - a.T @ a + a.T @ s @ a).numpy()
            mean = module.gp.mean_module(z.unsqueeze(0))[0].double() + a.T @ m_v[0].double()
        draws = module.gp.sample_blocks(z.unsqueeze(1), 2000, seed=11)[:, 0, :, 0].numpy()  # (S, n)
        ratio = draws.var(0).mean() / np.diag(cov).mean()
        assert 0.85 < ratio < 1.15
        curve_sd = np.sqrt(cov.mean())  # sd of the average over units
        assert draws.mean(1).std() == pytest.approx(curve_sd, rel=0.12)
        assert np.abs(draws.mean(0) - mean.numpy()).max() < 4 * np.sqrt(np.diag(cov).max() / 2000)


def test_due_same_seed_same_draws():
    a, b, c = _tiny(3), _tiny(3), _tiny(4)
    grid = [0.2, 0.6]
    np.testing.assert_array_equal(a.dose_response(grid).samples, b.dose_response(grid).samples)
    np.testing.assert_array_equal(
        a.outcome_draws([[0.5]], 0.4, 10, random_state=0),
        b.outcome_draws([[0.5]], 0.4, 10, random_state=0),
    )
    assert not np.allclose(a.dose_response(grid).samples, c.dose_response(grid).samples)


def test_due_outcome_draws_are_function_plus_noise(data, due):
    x = data.x[:40]
    draws, mean = due.outcome_draws(x, 0.5, 200, random_state=0, return_mean=True)
    assert draws.shape == (50, 40, 200) and mean.shape == (50, 40)
    np.testing.assert_allclose(mean, due.apo_samples(x, 0.5))
    resid = draws - mean[..., None]
    assert resid.std() == pytest.approx(due._due_noise_scale(), rel=0.02)
    assert abs(resid.mean()) < 0.01


def test_due_bounds_lambda_one_is_the_point_curve(due):
    grid = [0.2, 0.5, 0.8]
    curve = due.dose_response(grid)
    bounds = ContinuousMSMBounds(due, n_samples=50, random_state=0).dose_response_all(
        grid, [1.0, 2.0]
    )
    for b in bounds.values():
        np.testing.assert_array_equal(b.lower[0], b.point)
        np.testing.assert_array_equal(b.upper[0], b.point)
        np.testing.assert_allclose(b.point, curve.mean, rtol=0, atol=1e-12)
        assert (b.lower[1] < b.point).all() and (b.point < b.upper[1]).all()
        assert b.member_lower.shape == (50, 2, 3)
    assert (bounds["sharp"].upper[1] <= bounds["overcast"].upper[1] + 1e-12).all()


def test_due_save_load_round_trip(tmp_path, data, due):
    due.save(tmp_path / "due")
    loaded = DoseResponse.load(tmp_path / "due")
    grid = [0.3, 0.6]
    np.testing.assert_array_equal(
        loaded.dose_response(grid).samples, due.dose_response(grid).samples
    )
    np.testing.assert_array_equal(
        loaded.outcome_draws(data.x[:5], 0.4, 8, random_state=1),
        due.outcome_draws(data.x[:5], 0.4, 8, random_state=1),
    )
    assert loaded.t_range_ == due.t_range_
    assert loaded.n_inducing_ == due.n_inducing_


def test_due_bad_input(data):
    x, t, y = data.x[:50], data.t[:50], data.y[:50]
    with pytest.raises(ValueError, match="uncertainty"):
        DoseResponse("gp").fit(x, t, y)
    with pytest.raises(ValueError, match="kernel"):
        DoseResponse("due", kernel="linear").fit(x, t, y)
    with pytest.raises(ValueError, match="n_inducing"):
        DoseResponse("due", n_inducing=0).fit(x, t, y)
    with pytest.raises(ValueError, match="spectral_coeff"):
        DoseResponse("due", spectral_coeff=-1.0).fit(x, t, y)
    with pytest.raises(ValueError, match="tabular"):
        DoseResponse("due", extractor="cnn").fit(x, t, y)
    with pytest.raises(ValueError, match="constant"):
        DoseResponse("due").fit(x, np.full(50, 0.3), y)


def test_due_through_the_cli_steps(tmp_path, due):
    # the steps `knowable dose-response` runs after fitting (it has no --uncertainty flag yet)
    from knowable.cli._dose_response import plot_dose_response

    lo_t, hi_t = due.t_range_
    grid = np.linspace(lo_t, hi_t, 6)
    curve = due.dose_response(grid, alpha=0.1)
    bounds = ContinuousMSMBounds(due, n_samples=30, random_state=0).dose_response_all(
        grid, [1.0, 1.6], methods=("overcast", "sharp"), allow_extrapolation=True
    )
    for b in bounds.values():
        band_lo, band_hi = b.band(0.1)
        assert band_lo.shape == band_hi.shape == (2, 6)
        assert np.isfinite(band_lo).all() and (band_lo <= band_hi).all()
    fig = plot_dose_response(curve, bounds["overcast"], band_alpha=0.1, xlabel="t", ylabel="y")
    fig.savefig(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0


def test_due_save_load_with_fewer_distinct_inputs_than_inducing_points(tmp_path):
    # 30 distinct (x, t) pairs, each twice: k-means returns 30 centres, not min(100, n) = 60
    x = np.repeat([[0.1], [0.5], [0.9]], 20, axis=0)
    t = np.tile(np.linspace(0.0, 1.0, 10), 6)
    y = t + x[:, 0]
    model = DoseResponse("due", max_epochs=2, n_draws=5, random_state=0, **SMALL)
    model.set_params(n_inducing=100).fit(x, t, y)
    assert model.n_inducing_ == 30
    model.save(tmp_path / "m")
    loaded = DoseResponse.load(tmp_path / "m")
    np.testing.assert_array_equal(
        loaded.dose_response([0.5]).samples, model.dose_response([0.5]).samples
    )
