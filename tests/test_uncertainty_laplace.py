"""Last-layer Laplace (``uncertainty="laplace"``): the layers it picks, its exact posterior.

The kit runs every estimator under it (tests/test_conformance.py and
tests/test_effects_conformance.py read the registry); this file checks what the
kit cannot: that the Laplace posterior is over the right parameters and equals
the closed-form Bayesian linear-regression posterior on the network's features.
"""

import numpy as np
import pytest
import torch

from knowable.effects import TARNet
from knowable.models import GaussianHead, UncertainClassifier, UncertainRegressor, get_uncertainty
from knowable.models.uncertainty.laplace import LastLayerLaplace


def _positions(module, layers):
    """Indices of the layers' parameters in the member's flattened parameter vector."""
    wanted = {id(p) for layer in layers for p in layer.parameters()}
    out, start = [], 0
    for p in module.parameters():
        if id(p) in wanted:
            out.extend(range(start, start + p.numel()))
        start += p.numel()
    return out


def test_a_missing_extra_is_named(monkeypatch):
    monkeypatch.setattr(LastLayerLaplace, "requires", ("knowable_no_such_module",))
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ImportError, match=r"knowable\[laplace\]"):
        UncertainRegressor("laplace", max_epochs=1).fit(X, X[:, 0])


needs_laplace = pytest.mark.skipif(
    not LastLayerLaplace.installed(), reason="the [laplace] extra (laplace-torch) is absent"
)

FAST = dict(hidden_size=8, depth=1, max_epochs=40, random_state=0)


def _data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 1))
    return X, np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(n)


@needs_laplace
def test_the_posterior_is_over_the_layers_that_make_the_prediction():
    X, y = _data()
    reg = UncertainRegressor("laplace", n_draws=4, **FAST).fit(X, y)
    head = reg.members_[0].head
    assert reg.laplace_indices_.tolist() == _positions(reg.members_[0], [head.mean])
    clf = UncertainClassifier("laplace", n_draws=4, **FAST).fit(X, (X[:, 0] > 0).astype(int))
    head = clf.members_[0].head
    assert clf.laplace_indices_.tolist() == _positions(clf.members_[0], [head.linear])
    t = (X[:, 0] > 0).astype(int)
    cate = TARNet("laplace", n_draws=4, arm_hidden_size=4, **FAST).fit(X, t, y)
    member = cate.members_[0]
    arms = [m.mean for m in member.head.modules() if isinstance(m, GaussianHead)]
    assert len(arms) == 2  # the two outcome arms, not the propensity or the noise layers
    assert cate.laplace_indices_.tolist() == _positions(member, arms)


@needs_laplace
def test_draws_follow_the_closed_form_linear_gaussian_posterior():
    """Homoscedastic regression: the last-layer posterior is exactly Bayesian linear regression
    on the features [phi(x), 1] with noise sigma and prior precision lambda (GGN = Hessian)."""
    X, y = _data(seed=1)
    S = 4000
    reg = UncertainRegressor("laplace", n_draws=S, heteroscedastic=False, **FAST).fit(X, y)
    member = reg.members_[0]
    with torch.no_grad():
        phi = member.extractor(reg._standardise_X(X.astype(np.float32))).double().numpy()
    design = np.column_stack([phi, np.ones(len(phi))])  # weight columns, then the bias
    sigma, lam = reg.laplace_sigma_noise_, reg.laplace_prior_precision_
    cov = np.linalg.inv(design.T @ design / sigma**2 + lam * np.eye(design.shape[1]))
    samples = reg.laplace_samples_.double().numpy()
    # Monte Carlo error of a variance from S draws: sqrt(2 / S) = 2.2 % relative; allow 10 %
    np.testing.assert_allclose(samples.var(0), np.diag(cov), rtol=0.10)
    grid = np.linspace(-3, 3, 7)[:, None]
    with torch.no_grad():
        phi_grid = member.extractor(reg._standardise_X(grid.astype(np.float32))).double().numpy()
    rows = np.column_stack([phi_grid, np.ones(len(phi_grid))])
    exact_var = np.einsum("ij,jk,ik->i", rows, cov, rows) * reg.y_scale_[0] ** 2
    draws = reg.posterior(grid).draws[..., 0]
    np.testing.assert_allclose(draws.var(0), exact_var, rtol=0.10)


@needs_laplace
def test_less_sure_far_from_the_data_and_reproducible():
    X, y = _data()
    reg = UncertainRegressor("laplace", n_draws=50, **FAST).fit(X, y)
    std = reg.posterior(np.array([[0.0], [8.0], [-8.0]])).draws[..., 0].std(0)
    assert std[1] > 5 * std[0] and std[2] > 5 * std[0]
    again = UncertainRegressor("laplace", n_draws=50, **FAST).fit(X, y)
    np.testing.assert_array_equal(reg.posterior(X).draws, again.posterior(X).draws)


@needs_laplace
def test_chunks_see_the_same_networks():
    X, y = _data()
    reg = UncertainRegressor("laplace", n_draws=10, **FAST).fit(X, y)
    whole = reg.posterior(X).draws
    # float32 matrix products differ in the last bits between batch sizes
    np.testing.assert_allclose(whole, reg.posterior(X, batch_size=7).draws, rtol=1e-5, atol=1e-7)


def test_registered_with_its_requirements():
    method = get_uncertainty("laplace")
    assert isinstance(method, LastLayerLaplace) and method.requires == ("laplace",)
    assert not method.gp_head


@needs_laplace
def test_the_noise_is_the_trained_heads_rms_scale_for_every_regression_head():
    """The Gaussian likelihood's sigma is the RMS predicted noise scale, CATE outcome heads too."""
    X, y = _data()
    t = (X[:, 0] > 0).astype(int)
    reg = UncertainRegressor("laplace", n_draws=4, **FAST).fit(X, y)
    cate = TARNet("laplace", n_draws=4, arm_hidden_size=4, **FAST).fit(X, t, y)
    with torch.no_grad():
        x = reg._standardise_X(X.astype(np.float32))
        reg_scale = reg.members_[0](x).scale.double()
        xc = cate._standardise_X(X.astype(np.float32))
        cate_scale = cate.members_[0](xc).outcome.scale.double()
    assert reg.laplace_sigma_noise_ == pytest.approx(float(reg_scale.pow(2).mean().sqrt()))
    assert cate.laplace_sigma_noise_ == pytest.approx(float(cate_scale.pow(2).mean().sqrt()))
    assert cate.laplace_sigma_noise_ != 1.0
