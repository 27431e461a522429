"""Uncertain models: numbers that pin behaviour (closed forms, known densities, exact GP maths)."""

import numpy as np
import pytest
import torch
from scipy import stats

from knowable.models import (
    GaussianMixture,
    SeededDropout,
    SpectralLinear,
    UncertainClassifier,
    UncertainRegressor,
)
from knowable.models._gp import VariationalGP

# ---------------------------------------------------------------- 1-D sine task
INSIDE = np.linspace(-1.5, 1.5, 31)[:, None]
FAR = np.concatenate([np.linspace(-7, -5, 11), np.linspace(5, 7, 11)])[:, None]


@pytest.fixture(scope="module")
def sine():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, 200)
    return x[:, None], np.sin(2 * x) + 0.1 * rng.standard_normal(200)


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [("ensemble", {"n_members": 5}), ("dropout", {"dropout": 0.1}), ("due", {})],
)
def test_epistemic_std_grows_far_from_the_data(sine, method, kwargs):
    """Training inputs lie in [-2, 2]; |x| in [5, 7] is far. Std ratio >= 3 (measured 3.7-16)."""
    X, y = sine
    model = UncertainRegressor(
        method, hidden_size=64, depth=3, max_epochs=200, random_state=0, **kwargs
    ).fit(X, y)
    inside, far = model.posterior(INSIDE).std().mean(), model.posterior(FAR).std().mean()
    assert far >= 3 * inside, f"{method}: far std {far:.3f} vs inside {inside:.3f}"
    rmse = np.sqrt(np.mean((model.predict(INSIDE) - np.sin(2 * INSIDE[:, 0])) ** 2))
    assert rmse < 0.15, f"{method} does not fit the sine inside the data (RMSE {rmse:.3f})"


# ------------------------------------------------------- mixture-density head
def test_mixture_density_recovers_a_bimodal_conditional_density():
    """y|x = 0.5 N(2x + 1.5, 0.3²) + 0.5 N(-1.5, 0.3²): KL < 0.05 nats, tail quantiles within 0.1."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 2000)
    y = np.where(rng.random(2000) < 0.5, 2 * x + 1.5, -1.5) + 0.3 * rng.standard_normal(2000)
    model = UncertainRegressor(
        likelihood="mixture",
        n_components=3,
        n_members=1,
        hidden_size=64,
        depth=2,
        max_epochs=200,
        batch_size=128,
        random_state=0,
    ).fit(x[:, None], y)
    xs = np.array([-0.5, 0.0, 0.5])
    fitted = model.posterior(xs[:, None]).observation
    loc = np.stack([2 * xs + 1.5, np.full(3, -1.5)], -1)[None, :, None, :]
    truth = GaussianMixture(np.zeros((1, 3, 1, 2)), loc, np.full((1, 3, 1, 2), 0.3))
    for q in (0.1, 0.25, 0.75, 0.9):
        err = np.abs(fitted.quantile(q) - truth.quantile(q)).max()
        assert err < 0.1, f"quantile {q}: error {err:.3f}"
    samples = truth.sample(None, 20000, np.random.default_rng(1))[0]  # (m, 3, 1)
    for i in range(3):
        yy = samples[:, i, :]
        log_true = np.log(
            0.5 * stats.norm.pdf(yy, loc[0, i, 0, 0], 0.3) + 0.5 * stats.norm.pdf(yy, -1.5, 0.3)
        )[:, 0]
        one = fitted.take([i], None)
        log_fit = np.array(
            [one.log_prob(None, yy[j : j + 1])[0, 0, 0] for j in range(0, 20000, 10)]
        )
        kl = np.mean(log_true[::10] - log_fit)
        assert kl < 0.05, f"x={xs[i]}: KL {kl:.4f}"
    # the mean of the draws is the analytic mixture mean
    np.testing.assert_allclose(model.posterior(xs[:, None]).draws, fitted.mean())


# ------------------------------------------------------------ reproducibility
@pytest.mark.parametrize("method", ["ensemble", "dropout", "due"])
def test_same_seed_is_bit_identical_and_chunking_is_invisible(sine, method):
    X, y = sine
    kw = dict(
        n_members=3,
        n_draws=20,
        hidden_size=32,
        depth=2,
        max_epochs=15,
        n_inducing=10,
        random_state=3,
    )
    a = UncertainRegressor(method, **kw).fit(X, y)
    b = UncertainRegressor(method, **kw).fit(X, y)
    grid = np.linspace(-3, 3, 50)[:, None]
    np.testing.assert_array_equal(a.posterior(grid).draws, b.posterior(grid).draws)
    for ma, mb in zip(a.members_, b.members_, strict=True):
        for (ka, va), (kb, vb) in zip(
            ma.state_dict().items(), mb.state_dict().items(), strict=True
        ):
            assert ka == kb and torch.equal(va, vb), ka
    whole, chunked = a.posterior(grid), a.posterior(grid, batch_size=7)
    if method == "due":  # exact moments are chunk-free; residual noise is seeded per chunk
        np.testing.assert_allclose(whole.var(), chunked.var(), rtol=1e-4, atol=1e-7)
    else:  # ensemble members / shared dropout masks: the same draw for every input
        # (equal up to float32 rounding: BLAS kernels differ with the number of rows)
        np.testing.assert_allclose(whole.draws, chunked.draws, rtol=1e-5, atol=1e-6)


def test_mc_dropout_mask_is_shared_across_rows():
    layer = SeededDropout(0.5)
    layer.eval()
    layer.mc = True
    layer.generator = torch.Generator().manual_seed(0)
    out = layer(torch.ones(6, 20))
    assert torch.equal(out, out[:1].expand(6, -1)) and (out == 0).any()
    layer.train()
    layer.mc = False
    out = layer(torch.ones(6, 20))
    assert not torch.equal(out, out[:1].expand(6, -1))


# ---------------------------------------------------------- spectral normalisation
def test_soft_spectral_norm_caps_only_large_weights():
    gen = torch.Generator().manual_seed(0)
    layer = SpectralLinear(8, 8, coeff=0.9)
    layer.reset_power_iteration(gen)
    with torch.no_grad():
        layer.weight.copy_(3 * torch.randn(8, 8, generator=gen))
    layer.train()
    for _ in range(50):  # power iteration converges
        layer.normalised_weight()
    layer.eval()
    sigma = float(torch.linalg.matrix_norm(layer.normalised_weight().detach(), ord=2))
    assert sigma == pytest.approx(0.9, rel=1e-3)
    with torch.no_grad():
        layer.weight.mul_(0.01)
    layer.train()
    for _ in range(50):
        layer.normalised_weight()
    assert torch.allclose(layer.normalised_weight(), layer.weight)


@pytest.mark.parametrize(("n_in", "n_out"), [(1, 100), (64, 64)])
def test_spectral_cap_holds_on_a_freshly_initialised_layer_in_eval_mode(n_in, n_out):
    """Before any training step the cap must already hold in evaluation mode.

    DUE measures its initial length-scale and inducing points on the untrained
    extractor in evaluation mode; an uncapped stem (spectral norm ~5.8 for a 1-D
    input) made them ~6x too large for the features it is then trained on.
    """
    from knowable.models._layers import init_parameters

    layer = SpectralLinear(n_in, n_out, coeff=0.95)
    init_parameters(layer, torch.Generator().manual_seed(0))
    assert float(torch.linalg.matrix_norm(layer.weight.detach(), ord=2)) > 1.0  # cap is active
    layer.eval()
    sigma = float(torch.linalg.matrix_norm(layer.normalised_weight().detach(), ord=2))
    assert sigma == pytest.approx(0.95, rel=1e-2)


def test_due_initial_lengthscale_is_measured_on_capped_features():
    """The initial length-scale equals the mean pairwise distance of the features the GP trains on."""
    from knowable.models._base import UncertainModel

    x = torch.randn(300, 1, generator=torch.Generator().manual_seed(1))
    model = UncertainRegressor("due", hidden_size=100, depth=3, n_inducing=20, random_state=0)
    model.resolved_params_ = model._resolved()
    model.input_shape_ = (1,)
    model.n_inducing_ = 20
    model.n_outputs_ = 1
    module = UncertainModel._build_gp_member(model, torch.Generator().manual_seed(0), x)
    module.extractor.train()  # training mode runs the power iteration
    with torch.no_grad():
        for _ in range(50):
            feats = module.extractor(x)
    ls = float(module.gp.covar_module.base_kernel.lengthscale.detach().mean())
    assert ls == pytest.approx(float(torch.pdist(feats.double()).mean()), rel=0.02)


# ----------------------------------------------------------------- DUE GP maths
def _trained_gp(seed=0, distinct_latents=False):
    gen = torch.Generator().manual_seed(seed)
    gp = VariationalGP(
        torch.randn(12, 3, generator=gen, dtype=torch.float64).float(),
        n_latent=2,
        kernel="matern32",
        lengthscale=1.3,
    )
    gp = gp.double()
    with torch.no_grad():
        gp.variational_strategy._variational_distribution.variational_mean.copy_(
            torch.randn(2, 12, generator=gen)
        )
        chol = torch.randn(2, 12, 12, generator=gen).tril() * 0.3 + torch.eye(12) * 0.5
        gp.variational_strategy._variational_distribution.chol_variational_covar.copy_(chol)
        gp.mean_module.constant.fill_(0.4)
        if distinct_latents:  # per-latent hyperparameters must reach every latent's maths
            gp.covar_module.outputscale = torch.tensor([0.5, 2.0], dtype=torch.float64)
            gp.covar_module.base_kernel.lengthscale = torch.tensor(
                [[[0.7]], [[2.0]]], dtype=torch.float64
            )
        gp.variational_strategy.variational_params_initialized.fill_(1)  # keep these values
    gp.eval()
    return gp, gen


def test_gp_predictive_moments_equal_gpytorch():
    gp, gen = _trained_gp()
    z = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    mean, cov = gp.predict_blocks(z.unsqueeze(1))
    with torch.no_grad():
        ref = gp(z.unsqueeze(0).expand(2, -1, -1))
    np.testing.assert_allclose(mean[..., 0].numpy(), ref.mean.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cov[..., 0, 0].numpy(), ref.variance.numpy(), rtol=1e-5, atol=1e-8)


def test_gp_block_covariance_equals_gpytorch_joint_and_draws_match_it():
    gp, gen = _trained_gp(1)
    blocks = torch.randn(4, 2, 3, generator=gen, dtype=torch.float64)  # 4 units, 2 points each
    mean, cov = gp.predict_blocks(blocks)
    for i in range(4):
        with torch.no_grad():
            ref = gp(blocks[i].unsqueeze(0).expand(2, -1, -1), diag=False)
        np.testing.assert_allclose(
            cov[:, i].numpy(), ref.covariance_matrix.numpy(), rtol=1e-5, atol=1e-7
        )
    draws = gp.sample_blocks(blocks, 40000, seed=0)  # (S, C, n, b)
    np.testing.assert_allclose(draws.mean(0).numpy(), mean.numpy(), atol=0.03)
    centred = draws - draws.mean(0)
    emp = torch.einsum("scni,scnj->cnij", centred, centred) / draws.shape[0]
    np.testing.assert_allclose(emp.numpy(), cov.numpy(), atol=0.05 * float(cov.abs().max()))
    # var of the difference keeps the cross-covariance: Var(f1 - f0) = V1 + V0 - 2C
    diff = (draws[..., 1] - draws[..., 0]).var(0)
    exact = cov[..., 0, 0] + cov[..., 1, 1] - 2 * cov[..., 0, 1]
    np.testing.assert_allclose(diff.numpy(), exact.numpy(), rtol=0.05)


def test_gp_draws_are_functions_consistent_across_units_and_chunks():
    gp, gen = _trained_gp(4)
    z = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    z[7] = z[2]  # two copies of one input
    whole = gp.sample_blocks(z.unsqueeze(1), 50, seed=5)
    parts = torch.cat(
        [gp.sample_blocks(z[i : i + 3].unsqueeze(1), 50, seed=5) for i in range(0, 10, 3)], dim=2
    )
    np.testing.assert_allclose(parts.numpy(), whole.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(whole[:, :, 7].numpy(), whole[:, :, 2].numpy(), rtol=1e-10)
    assert not torch.equal(whole, gp.sample_blocks(z.unsqueeze(1), 50, seed=6))


@pytest.mark.parametrize("b", [1, 2])
def test_gp_draws_match_the_joint_posterior_between_units(b):
    """Within a unit exact (recoloured); between units the random-feature residual, O(k/sqrt(D))."""
    gp, gen = _trained_gp(5, distinct_latents=True)
    blocks = torch.randn(6, b, 3, generator=gen, dtype=torch.float64) * 0.3
    flat = blocks.reshape(6 * b, 3)
    with torch.no_grad():
        ref = gp(flat.unsqueeze(0).expand(2, -1, -1), diag=False)
    draws = gp.sample_blocks(blocks, 40000, seed=0).reshape(40000, 2, 6 * b)
    centred = draws - draws.mean(0)
    emp = torch.einsum("sci,scj->cij", centred, centred) / 40000
    exact = ref.covariance_matrix.double()
    scale = float(exact.diagonal(dim1=-2, dim2=-1).max())
    np.testing.assert_allclose(emp.numpy(), exact.numpy(), atol=0.08 * scale)
    for c in range(2):  # every unit's own block is exact up to sampling error
        for i in range(6):
            sl = slice(i * b, (i + 1) * b)
            np.testing.assert_allclose(
                emp[c, sl, sl].numpy(), exact[c, sl, sl].numpy(), rtol=0.05, atol=0.01 * scale
            )


def test_gp_weighted_sum_moments_equal_gpytorch_joint():
    gp, gen = _trained_gp(3)
    z = torch.randn(23, 3, generator=gen, dtype=torch.float64)
    w = torch.randn(23, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        ref = gp(z.unsqueeze(0).expand(2, -1, -1), diag=False)
    exact_mean = ref.mean.numpy() @ w.numpy()
    exact_var = np.einsum("i,cij,j->c", w.numpy(), ref.covariance_matrix.numpy(), w.numpy())
    for chunk in (23, 5, 1):  # one block, uneven blocks, one input per block
        mean, var = gp.weighted_sum_moments(z.unsqueeze(1), w.unsqueeze(1), chunk_size=chunk)
        np.testing.assert_allclose(mean.numpy(), exact_mean, rtol=1e-8)
        np.testing.assert_allclose(var.numpy(), exact_var, rtol=1e-5)
    # units of two inputs each (the ATE's [f(x, 0), f(x, 1)] blocks): the same sum
    for chunk in (23, 4, 1):
        mean, var = gp.weighted_sum_moments(
            z[:22].reshape(11, 2, 3), w[:22].reshape(11, 2), chunk_size=chunk
        )
        ref_var = np.einsum(
            "i,cij,j->c", w[:22].numpy(), ref.covariance_matrix[:, :22, :22].numpy(), w[:22].numpy()
        )
        np.testing.assert_allclose(
            mean.numpy(), ref.mean[:, :22].numpy() @ w[:22].numpy(), rtol=1e-8
        )
        np.testing.assert_allclose(var.numpy(), ref_var, rtol=1e-5)


def test_gp_weighted_sum_variance_subsample_is_unbiased():
    """Above max_exact_units the between-unit term is a U-statistic: exact on average over seeds."""
    gp, gen = _trained_gp(3)
    n = 30
    blocks = torch.randn(n, 2, 3, generator=gen, dtype=torch.float64) * 0.5
    w = torch.tensor([[-1.0, 1.0]], dtype=torch.float64).expand(n, 2) / n
    mean, exact = gp.weighted_sum_moments(blocks, w)
    with torch.no_grad():
        ref = gp(blocks.reshape(1, 2 * n, 3).expand(2, -1, -1), diag=False)
    ref_var = np.einsum(
        "i,cij,j->c", w.reshape(-1).numpy(), ref.covariance_matrix.numpy(), w.reshape(-1).numpy()
    )
    np.testing.assert_allclose(exact.numpy(), ref_var, rtol=1e-5)
    draws = []
    for seed in range(400):
        m, v = gp.weighted_sum_moments(blocks, w, max_exact_units=10, seed=seed)
        np.testing.assert_allclose(m.numpy(), mean.numpy(), rtol=1e-10)  # the mean stays exact
        draws.append(v.numpy())
    draws = np.array(draws)  # (400, C)
    sem = draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - exact.numpy()) < 4 * sem + 1e-12)
    assert np.all(draws.std(0) > 0), "a subsample of 10 of 30 units should vary with the seed"
    same = gp.weighted_sum_moments(blocks, w, max_exact_units=10, seed=3)[1]
    np.testing.assert_array_equal(same.numpy(), draws[3])  # seeded
    # at n <= max_exact_units the seed plays no part
    np.testing.assert_array_equal(
        gp.weighted_sum_moments(blocks, w, max_exact_units=n, seed=1)[1].numpy(), exact.numpy()
    )
    with pytest.raises(ValueError, match="max_exact_units"):
        gp.weighted_sum_moments(blocks, w, max_exact_units=1)


def test_gp_between_units_estimate_averages_to_the_exact_sum_over_all_subsets():
    """Every 2-of-4 subset, enumerated: the U-statistic's mean is the exact between-unit sum.

    With n = 4 and m = 2 the right scale n(n-1)/(m(m-1)) = 6 and the naive n²/m² = 4
    differ by half, so a wrong scale fails here by far.
    """
    from itertools import combinations

    gp, gen = _trained_gp(5, distinct_latents=True)
    blocks = torch.randn(4, 2, 3, generator=gen, dtype=torch.float64) * 0.7
    w = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        chol = gp._whitened_terms()[0]
        _, a_w, within = gp._unit_terms(blocks, w, chol, 2048)
        exact = gp._kernel_quadratic(blocks, w, 2048) - (a_w * a_w).sum(-1) - within
        estimates = [
            gp._between_units_estimate(blocks, w, chol, torch.tensor(sub), 2048)
            for sub in combinations(range(4), 2)
        ]
    mean = torch.stack(estimates).mean(0)
    np.testing.assert_allclose(mean.numpy(), exact.numpy(), rtol=1e-10, atol=1e-12)
    assert torch.stack(estimates).std(0).min() > 1e-3 * exact.abs().max(), "subsets differ"
    # one subset of all units is the exact sum itself
    with torch.no_grad():
        whole = gp._between_units_estimate(blocks, w, chol, torch.arange(4), 2048)
    np.testing.assert_allclose(whole.numpy(), exact.numpy(), rtol=1e-12, atol=1e-14)


def test_gp_training_marginals_kl_and_gradients_equal_gpytorch():
    gp, gen = _trained_gp(2)
    gp.train()
    z = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    mean, var = gp.marginals(z)
    ref = gp(z.unsqueeze(0).expand(2, -1, -1))
    np.testing.assert_allclose(
        mean.detach().numpy(), ref.mean.detach().numpy(), rtol=1e-6, atol=1e-8
    )
    np.testing.assert_allclose(
        var.detach().numpy(), ref.variance.detach().numpy(), rtol=1e-5, atol=1e-8
    )
    kl_ref = gp.variational_strategy.kl_divergence().sum()
    assert gp.kl().item() == pytest.approx(kl_ref.item(), rel=1e-6)
    params = [p for p in gp.parameters() if p.requires_grad]
    ours = torch.autograd.grad((mean.sum() + var.sum() + gp.kl()), params, allow_unused=True)
    theirs = torch.autograd.grad(
        (ref.mean.sum() + ref.variance.sum() + kl_ref), params, allow_unused=True
    )
    for g_ours, g_ref in zip(ours, theirs, strict=True):
        if g_ref is None:
            continue
        np.testing.assert_allclose(g_ours.numpy(), g_ref.numpy(), rtol=1e-4, atol=1e-7)


def test_due_init_lengthscale_is_mean_pairwise_feature_distance():
    from knowable.models._gp import init_inducing_points

    feats = torch.randn(200, 4, generator=torch.Generator().manual_seed(0))
    centres, ls = init_inducing_points(feats, 10, seed=0)
    assert centres.shape == (10, 4)
    assert ls == pytest.approx(float(torch.pdist(feats.double()).mean()))


# ---------------------------------------------------------------- classifiers
@pytest.mark.parametrize("method", ["ensemble", "dropout", "due"])
def test_classifier_learns_and_is_less_sure_far_away(method):
    """Epistemic uncertainty (BALD, the mutual information of label and draw) far from the
    data versus on the training inputs. Training x ~ N(0, I), label 1{x0 + x1 > 0}.
    Along the boundary at distance 5-8 (where no data pin it down) BALD is >= 5x its
    training mean (measured 14x DUE, 48x dropout, 400x ensemble); on the radius-8 ring in
    every direction >= 2x (measured 3.8x dropout, 17x DUE, 33x ensemble)."""
    from knowable.acquire import bald_from_probs

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = UncertainClassifier(method, hidden_size=32, depth=2, max_epochs=100, random_state=0).fit(
        X, y
    )
    assert (clf.predict(X) == y).mean() > 0.9
    post = clf.posterior(X[:50])
    np.testing.assert_allclose(post.draws.sum(-1), 1.0, atol=1e-6)
    assert clf.predict_proba(X[:5]).shape == (5, 2)
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = 8 * np.column_stack([np.cos(angles), np.sin(angles)])
    steps = np.linspace(5, 8, 6)
    along = np.concatenate([np.column_stack([steps, -steps]), np.column_stack([-steps, steps])])
    inside = bald_from_probs(clf.posterior(X).draws).mean()
    assert inside < 0.05, f"{method}: BALD on the training inputs {inside:.4f}"
    far_along = bald_from_probs(clf.posterior(along).draws).mean()
    far_ring = bald_from_probs(clf.posterior(ring).draws).mean()
    assert far_along >= 5 * inside, f"{method}: along {far_along:.4f} vs inside {inside:.4f}"
    assert far_ring >= 2 * inside, f"{method}: ring {far_ring:.4f} vs inside {inside:.4f}"


def test_classifier_rejects_single_class_and_non_integer_labels():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="single class"):
        UncertainClassifier(max_epochs=1).fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="integer"):
        UncertainClassifier(max_epochs=1).fit(X, np.linspace(0, 1, 20))


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"uncertainty": "bootstrap"}, "uncertainty"),
        ({"uncertainty": "dropout", "dropout": 0.0}, "dropout > 0"),
        ({"uncertainty": "due", "likelihood": "mixture"}, "gaussian"),
        ({"n_members": 0}, "n_members"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"extractor": "transformer"}, "extractor"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_bad_parameters_fail_at_fit_with_a_clear_message(sine, params, match):
    X, y = sine
    with pytest.raises(ValueError, match=match):
        UncertainRegressor(max_epochs=1, **params).fit(X, y)


def test_bad_parameter_types(sine):
    X, y = sine
    with pytest.raises(TypeError, match="n_members"):
        UncertainRegressor(n_members=2.5, max_epochs=1).fit(X, y)


def test_multi_output_regression_shapes(sine):
    X, y = sine
    Y = np.stack([y, -y], 1)
    model = UncertainRegressor(
        n_members=2, hidden_size=16, depth=1, max_epochs=3, random_state=0
    ).fit(X, Y)
    assert model.posterior(X[:4]).shape == (2, 4, 2)
    mean, std = model.predict(X[:4], return_std=True)
    assert mean.shape == std.shape == (4, 2)
    due = UncertainRegressor(
        "due", n_draws=5, hidden_size=16, depth=1, max_epochs=3, n_inducing=5, random_state=0
    ).fit(X, Y)
    assert due.posterior(X[:4]).cov().shape == (4, 2, 2)


def test_load_refuses_foreign_folders(tmp_path):
    with pytest.raises(FileNotFoundError):
        UncertainRegressor.load(tmp_path)
    (tmp_path / "config.json").write_text('{"library": "other"}')
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="knowable"):
        UncertainRegressor.load(tmp_path)


def test_loading_a_classifier_as_regressor_is_refused(tmp_path):
    X = np.random.default_rng(0).normal(size=(30, 2))
    UncertainClassifier(n_members=1, hidden_size=8, depth=1, max_epochs=1, random_state=0).fit(
        X, (X[:, 0] > 0).astype(int)
    ).save(tmp_path)
    with pytest.raises(TypeError, match="UncertainClassifier"):
        UncertainRegressor.load(tmp_path)


def test_separate_validation_set_trains_on_every_row_and_keeps_its_best_epoch():
    """With ``validation`` given: all rows are trained on (the split fraction is ignored) and the
    kept weights are the ones whose validation loss is the recorded minimum."""
    from knowable.models import TrainingConfig, train_module

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(40, 3, generator=gen)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(40, generator=gen)
    xv = torch.randn(25, 3, generator=gen)
    yv = xv @ torch.tensor([1.0, -2.0, 0.5])
    module = torch.nn.Linear(3, 1)
    seen: set[float] = set()

    def loss_fn(m, batch):
        if m.training:
            seen.update(batch["x"][:, 0].tolist())
        return ((m(batch["x"])[:, 0] - batch["y"]) ** 2).mean()

    config = TrainingConfig(max_epochs=15, batch_size=8, validation_fraction=0.5, patience=100)
    history = train_module(
        module, loss_fn, {"x": x, "y": y}, config, seed=0, validation={"x": xv, "y": yv}
    )
    assert seen == set(x[:, 0].tolist())
    with torch.no_grad():
        kept = float(loss_fn(module, {"x": xv, "y": yv}))
    assert kept == pytest.approx(min(history.valid_loss), rel=1e-5)
    assert history.valid_loss[history.best_epoch] == min(history.valid_loss)
    with pytest.raises(ValueError, match="keys"):
        train_module(module, loss_fn, {"x": x, "y": y}, config, seed=0, validation={"x": xv})


@pytest.mark.parametrize("method", ["ensemble", "dropout", "due"])
def test_fit_leaves_the_global_torch_stream_alone(method):
    from knowable.effects import TARNet

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    t = (rng.random(60) < 0.5).astype(float)
    y = x[:, 0] + t
    torch.manual_seed(123)
    expected = torch.rand(3)
    for seed_before in (123, 7):
        torch.manual_seed(seed_before)
        est = TARNet(method, n_members=1, hidden_size=8, depth=1, max_epochs=1, random_state=0)
        effect = est.fit(x, t, y).effect(x[:5])
        if seed_before == 123:
            np.testing.assert_array_equal(torch.rand(3), expected)  # stream untouched
            reference = effect
        else:
            np.testing.assert_array_equal(effect, reference)  # and results do not use it


def test_n_samples_is_a_deprecated_name_of_n_draws():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = X[:, 0] + 0.1 * rng.normal(size=60)
    kw = dict(hidden_size=8, depth=1, max_epochs=2, random_state=0)
    new = UncertainRegressor("dropout", n_draws=7, **kw).fit(X, y)
    with pytest.warns(FutureWarning, match="n_samples is renamed n_draws"):
        old = UncertainRegressor("dropout", n_samples=7, **kw).fit(X, y)
    np.testing.assert_array_equal(new.posterior(X).draws, old.posterior(X).draws)
    assert new.posterior(X).draws.shape[0] == 7
    # state saved before the rename: constructor n_samples=7, resolved parameters "n_samples"
    meta, tensors = new._fitted_state()
    meta["resolved_params"] = {
        ("n_samples" if k == "n_draws" else k): v for k, v in meta["resolved_params"].items()
    }
    restored = UncertainRegressor("dropout", n_samples=7, **kw)
    with pytest.warns(FutureWarning, match="n_samples is renamed n_draws"):
        restored._restore_fitted(meta, tensors)
    np.testing.assert_array_equal(restored.posterior(X).draws, new.posterior(X).draws)


def test_ensemble_members_trained_as_parallel_jobs_are_the_same():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    kw = dict(n_members=3, hidden_size=8, depth=1, max_epochs=4, random_state=2)
    serial = UncertainRegressor(**kw).fit(X, y)
    parallel = UncertainRegressor(**kw).fit(X, y, workers=2)
    np.testing.assert_array_equal(serial.posterior(X).draws, parallel.posterior(X).draws)
    assert [h.train_loss for h in serial.history_] == [h.train_loss for h in parallel.history_]
    with pytest.raises(ValueError, match="backend"):
        UncertainRegressor(**kw).fit(X, y, backend="spark")


def test_parallel_members_are_the_same_from_spawned_workers(monkeypatch):
    """Where CUDA exists the pool spawns its workers (forked ones cannot run autograd
    there); spawned workers train the same members."""
    import multiprocessing

    import knowable.parallel as parallel

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert parallel._start_context() is multiprocessing.get_context("spawn")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    kw = dict(n_members=2, hidden_size=8, depth=1, max_epochs=3, random_state=2, device="cpu")
    serial = UncertainRegressor(**kw).fit(X, y)
    spawned = UncertainRegressor(**kw).fit(X, y, workers=2)
    np.testing.assert_array_equal(serial.posterior(X).draws, spawned.posterior(X).draws)
    with pytest.raises(ValueError, match="workers"):
        UncertainRegressor(**kw).fit(X, y, workers=0)


@pytest.mark.parametrize("b", [1, 2])
def test_gp_predict_and_sample_blocks_equal_the_two_calls(b):
    """The shared Cholesky factor and solve change no number, and match GPyTorch's joint."""
    gp, gen = _trained_gp(4)
    blocks = torch.randn(17, b, 3, generator=gen, dtype=torch.float64)
    mean, cov, draws = gp.predict_and_sample_blocks(blocks, 30, seed=2, n_features=64)
    for i in range(17):  # an independent reference for the shared path
        with torch.no_grad():
            ref = gp(blocks[i].unsqueeze(0).expand(2, -1, -1), diag=False)
        np.testing.assert_allclose(mean[:, i].numpy(), ref.mean.numpy(), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(
            cov[:, i].numpy(), ref.covariance_matrix.numpy(), rtol=1e-5, atol=1e-7
        )
    ref_mean, ref_cov = gp.predict_blocks(blocks)
    assert torch.equal(mean, ref_mean) and torch.equal(cov, ref_cov)
    assert torch.equal(draws, gp.sample_blocks(blocks, 30, seed=2, n_features=64))
    assert draws.shape == (30, 2, 17, b)
