"""BatchGFN: exact GP joint MI, trajectory balance against the enumerable target."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from knowable.acquire import (
    BatchGFN,
    batchbald,
    batchgfn,
    enumerate_batches,
    gp_posterior_covariance,
    joint_mutual_information,
    target_distribution,
)
from knowable.models import GaussianNoise, Posterior


def _pool(n, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 1, n))
    cov = gp_posterior_covariance([0.2, 0.5, 0.8], x, lengthscale=0.15, noise_var=0.1)
    return x, cov


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_jmi_matches_logdet(seed, b):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T
    noise = rng.uniform(0.1, 2.0, size=6)
    batches = enumerate_batches(6, b)
    got = joint_mutual_information(cov, noise, batches)
    for row, g in zip(batches, got, strict=True):
        d = np.diag(1 / np.sqrt(noise[row]))
        want = 0.5 * np.linalg.slogdet(np.eye(b) + d @ cov[np.ix_(row, row)] @ d)[1]
        assert g == pytest.approx(want, rel=1e-10, abs=1e-12)
    # one point: BALD for regression; independent points add up
    assert joint_mutual_information(np.diag([2.0, 3.0]), 0.5, [[0]])[0] == pytest.approx(
        0.5 * np.log(5.0)
    )
    assert joint_mutual_information(np.diag([2.0, 3.0]), 0.5, [[0, 1]])[0] == pytest.approx(
        0.5 * np.log(5.0) + 0.5 * np.log(7.0)
    )


def test_gp_covariance_matches_sklearn():
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel

    xt = np.array([0.1, 0.4, 0.9])
    xp = np.linspace(0, 1, 7)
    kern = ConstantKernel(1.7, "fixed") * RBF(0.3, "fixed")
    gpr = GaussianProcessRegressor(kern, alpha=0.2, optimizer=None)
    gpr.fit(xt[:, None], np.zeros(3))
    _, want = gpr.predict(xp[:, None], return_cov=True)
    got = gp_posterior_covariance(xt, xp, lengthscale=0.3, outputscale=1.7, noise_var=0.2)
    np.testing.assert_allclose(got, want, atol=1e-10)


def test_enumeration_and_target():
    batches = enumerate_batches(20, 3)
    assert batches.shape == (1140, 3) and math.comb(20, 3) == 1140
    assert np.all(np.diff(batches, axis=1) > 0)
    assert len({tuple(r) for r in batches}) == 1140
    p = target_distribution(np.array([0.0, 0.2, 0.4]), 0.2)
    np.testing.assert_allclose(p, np.exp([0, 1, 2]) / np.exp([0, 1, 2]).sum())


def test_untrained_policy_is_normalised_and_equivariant():
    x, cov = _pool(8)
    kw = dict(n_iterations=1, learning_rate=1e-12, logz_learning_rate=1e-12, random_state=3)
    g = BatchGFN(3, **kw).fit_gp(cov, 0.1, point_features=x)
    batches = enumerate_batches(8, 3)
    q = np.exp(g.batch_log_prob(batches))
    assert q.sum() == pytest.approx(1.0, abs=1e-5)
    # relabel the pool: the policy is permutation-equivariant over pool points
    perm = np.random.default_rng(1).permutation(8)
    gp = BatchGFN(3, **kw).fit_gp(cov[np.ix_(perm, perm)], 0.1, point_features=x[perm])
    inv = np.argsort(perm)
    qp = np.exp(gp.batch_log_prob(np.sort(inv[batches], axis=1)))
    np.testing.assert_allclose(qp, q, atol=1e-5)


def test_trained_sampler_matches_exact_target_small_pool():
    # 10 points, batches of 3: 120 batches, enumerable
    x, cov = _pool(10, seed=1)
    batches = enumerate_batches(10, 3)
    p = target_distribution(joint_mutual_information(cov, 0.1, batches), 0.2)
    g = BatchGFN(3, 0.2, hidden_size=32, n_iterations=600, random_state=0).fit_gp(
        cov, 0.1, point_features=x
    )
    q = np.exp(g.batch_log_prob(batches))
    tv = 0.5 * np.abs(q - p).sum()
    assert tv < 0.1
    true_log_z = float(np.log(np.exp(joint_mutual_information(cov, 0.1, batches) / 0.2).sum()))
    assert g.log_z_ == pytest.approx(true_log_z, abs=0.25)
    # sample() follows batch_log_prob (chi-square goodness of fit over the likelier batches)
    draws = g.sample(20_000, random_state=1)
    code = {tuple(r): i for i, r in enumerate(batches)}
    counts = np.bincount([code[tuple(r)] for r in draws], minlength=len(batches))
    keep = q * 20_000 >= 5
    obs = np.append(counts[keep], counts[~keep].sum())
    exp = np.append(q[keep], q[~keep].sum()) * 20_000
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_reproducible_and_leaves_global_rng_alone():
    x, cov = _pool(8)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    g1 = BatchGFN(3, n_iterations=20, random_state=7).fit_gp(cov, 0.1, point_features=x)
    after = torch.rand(1)
    assert torch.equal(before, after)
    g2 = BatchGFN(3, n_iterations=20, random_state=7).fit_gp(cov, 0.1, point_features=x)
    assert g1.log_z_ == g2.log_z_
    np.testing.assert_array_equal(g1.sample(50, 0), g2.sample(50, 0))
    with pytest.raises(RuntimeError, match="not fitted"):
        BatchGFN(3).sample(1)
    with pytest.raises(ValueError, match="exceeds"):
        BatchGFN(9, n_iterations=1).fit_gp(cov, 0.1)


def _posterior_with_covariance(n):
    """A Posterior over ``_pool(n)`` whose draws' empirical covariance is the GP's exactly."""
    x, cov = _pool(n)
    chol = np.linalg.cholesky(cov + 1e-9 * np.eye(len(x)))
    # 2n antithetic draws whose empirical covariance is exactly cov + 1e-9 I
    f = np.concatenate([chol.T, -chol.T]) * np.sqrt(len(x))
    return Posterior(f[:, :, None], GaussianNoise(np.sqrt(0.1))), cov


def test_batchgfn_from_posterior_beats_random_and_matches_exact_draw_covariance():
    post, cov = _posterior_with_covariance(12)
    n = post.n_inputs
    res = batchgfn(post, 3, n_iterations=300, hidden_size=32, random_state=0)
    assert res.indices.shape == (3,) and len(set(res.indices)) == 3
    assert res.scores[-1] == pytest.approx(
        joint_mutual_information(cov, 0.1, res.indices[None])[0], abs=1e-6
    )
    all_jmi = joint_mutual_information(cov, 0.1, enumerate_batches(n, 3))
    greedy = batchbald(post, 3).scores[-1]
    assert res.scores[-1] > all_jmi.mean()
    assert greedy == pytest.approx(res.scores[-1], abs=0.3)


def test_a_batch_of_the_whole_pool_needs_no_training():
    """With b = n there is one batch, so the target is a point mass: no sampler is trained."""
    post, cov = _posterior_with_covariance(12)
    n = post.n_inputs
    res = batchgfn(post, n, random_state=0)
    np.testing.assert_array_equal(res.indices, np.arange(n))
    assert res.scores[-1] == pytest.approx(
        joint_mutual_information(cov, 0.1, np.arange(n)[None])[0], abs=1e-6
    )
    assert np.all(np.diff(res.scores) >= -1e-12)  # JMI grows along the batch
