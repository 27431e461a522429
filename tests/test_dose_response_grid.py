"""The vectorised grid paths of DoseResponse and ContinuousMSMBounds equal the per-value paths.

``dose_response``/``apo_samples(grid=True)`` evaluate the network once per block
of (unit, grid value) rows (an ensemble reuses one extractor pass per unit), and
``ContinuousMSMBounds.dose_response_all`` samples from cached member features
and sweeps all methods, sides and Λ from one cumulative sum. These tests compare
them with the straightforward computation: one treatment value at a time
through the uncertainty method, and the public ``capo_bound_from_samples``.
"""

from __future__ import annotations

import numpy as np
import pytest

from knowable.bounds import ContinuousMSMBounds, capo_bound_from_samples
from knowable.bounds._continuous import _OFFSETS, _chunk_offsets
from knowable.bounds._sweep import sorted_deviations
from knowable.data import simulate_dose_response
from knowable.effects import DoseResponse
from knowable.effects import _dose_response as dr

GRID = np.array([0.1, 0.25, 0.3, 0.45, 0.5, 0.7, 0.85])
LAMS = np.array([1.0, 1.3, 2.0, 7.5, 1e20])


@pytest.fixture(scope="module")
def data():
    return simulate_dose_response(n=230, random_state=3)


@pytest.fixture(scope="module")
def ensemble(data):
    model = DoseResponse(n_members=2, max_epochs=3, device="cpu", random_state=1)
    return model.fit(data.x, data.t, data.y)


@pytest.fixture(scope="module")
def dropout(data):
    model = DoseResponse(
        "dropout", n_draws=3, dropout=0.3, max_epochs=3, device="cpu", random_state=2
    )
    return model.fit(data.x, data.t, data.y)


def _per_value(model, x):
    """(S, n, g) CAPO draws, one grid value at a time through the uncertainty method."""
    return np.stack([model.apo_samples(x, tv) for tv in GRID], -1)


@pytest.mark.parametrize("name", ["ensemble", "dropout"])
@pytest.mark.parametrize("rows", [dr.GRID_ROWS, 50])  # 50: one grid value per pass
def test_grid_curve_equals_per_value_path(request, monkeypatch, data, name, rows):
    model = request.getfixturevalue(name)
    monkeypatch.setattr(dr, "GRID_ROWS", rows)
    reference = _per_value(model, data.x)
    on_grid = model.apo_samples(data.x, GRID, grid=True, batch_size=37)
    assert on_grid.shape == reference.shape
    np.testing.assert_allclose(on_grid, reference, rtol=1e-5, atol=1e-6)
    curve = model.dose_response(GRID, batch_size=37)
    np.testing.assert_allclose(curve.samples, reference.mean(1), rtol=1e-5, atol=1e-6)
    # a different model or grid would not match: the comparison has power
    assert np.abs(curve.samples[:, 0] - curve.samples[:, -1]).max() > 1e-3


def test_ensemble_features_are_the_extractor_once_per_unit(data, ensemble):
    feats = ensemble._member_features(data.x, 64)
    assert feats is not None and len(feats) == 2
    t = np.full(data.x.shape[0], 0.4)
    w, loc, scale = ensemble._feature_mixtures(feats, ensemble._t_standardised(t))
    w_ref, loc_ref, scale_ref = ensemble._mixtures(data.x, t)
    for got, ref in ((w, w_ref), (loc, loc_ref), (scale, scale_ref)):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)


def test_dropout_has_no_cached_features(data, dropout):
    assert dropout._member_features(data.x, 64) is None


@pytest.mark.parametrize("name", ["ensemble", "dropout"])
def test_bounds_equal_the_per_chunk_reference(request, data, name):
    model = request.getfixturevalue(name)
    m, chunk = 20, 64  # 230 units: three full chunks and a ragged one
    got = ContinuousMSMBounds(
        model, n_samples=m, chunk_size=chunk, random_state=5
    ).dose_response_all(GRID, LAMS)
    rng = np.random.default_rng(5)
    n = data.x.shape[0]
    n_draws = model.apo_samples(data.x[:2], 0.5).shape[0]
    ref = {meth: np.zeros((2, n_draws, LAMS.size, GRID.size)) for meth in _OFFSETS}
    for j, tv in enumerate(GRID):
        for i in range(0, n, chunk):
            y, mu = model.outcome_draws(data.x[i : i + chunk], tv, m, rng, return_mean=True)
            for meth in _OFFSETS:
                for k, side in enumerate(("lower", "upper")):
                    b = capo_bound_from_samples(y, LAMS, side, mu, method=meth)  # (L, S, c)
                    ref[meth][k][:, :, j] += b.sum(-1).T / n
    for meth in _OFFSETS:
        lo, hi = got[meth].member_lower, got[meth].member_upper
        np.testing.assert_allclose(lo, ref[meth][0], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(hi, ref[meth][1], rtol=1e-6, atol=1e-9)
        assert (hi[:, -1] - lo[:, -1]).min() > 0.1  # the huge-Λ bound is wide


def test_chunk_offsets_equal_the_sweeps():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 17, 40)) * rng.random((3, 17, 1)) + rng.random((3, 17, 1))
    mu = y.mean(-1) + 0.05 * rng.standard_normal((3, 17))
    got = _chunk_offsets(y, mu, LAMS, ("overcast", "sharp"))
    dev = sorted_deviations(y, mu)
    lam_b = LAMS.reshape(-1, 1, 1)
    for meth, fn in _OFFSETS.items():
        for k, side in enumerate(("lower", "upper")):
            np.testing.assert_allclose(got[meth][k], fn(dev, None, lam_b, side), rtol=1e-12, atol=0)
    assert (got["overcast"][0][0] == 0).all() and (got["sharp"][1][0] == 0).all()  # Λ = 1
