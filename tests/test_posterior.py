"""The Posterior contract: exact values against numpy, closed forms and brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from knowable.models import Categorical, GaussianMixture, GaussianNoise, Posterior


def _draws(s=7, n=5, k=2, seed=0):
    return np.random.default_rng(seed).normal(size=(s, n, k))


def test_moments_match_numpy():
    d = _draws()
    post = Posterior(d, GaussianNoise(np.array(0.3)))
    np.testing.assert_array_equal(post.mean(), d.mean(0))
    np.testing.assert_array_equal(post.var(), d.var(0))
    np.testing.assert_allclose(post.std(), d.std(0))
    np.testing.assert_allclose(post.quantile(0.3), np.quantile(d, 0.3, axis=0))
    lo, hi = post.interval(0.1)
    np.testing.assert_allclose(lo, np.quantile(d, 0.05, axis=0))
    np.testing.assert_allclose(hi, np.quantile(d, 0.95, axis=0))
    assert post.shape == (7, 5, 2) and len(post) == 5
    assert (post.n_draws, post.n_inputs, post.n_outputs) == (7, 5, 2)


def test_covariance_from_draws_matches_numpy():
    d = _draws(s=50, n=3, k=2)
    cov = Posterior(d).cov()
    for i in range(3):
        np.testing.assert_allclose(cov[i], np.cov(d[:, i, :].T, ddof=0), atol=1e-12)


def test_exact_covariance_is_used_when_given():
    d = _draws(n=3)
    exact = np.stack([np.array([[2.0, 0.5], [0.5, 1.0]])] * 3)
    post = Posterior(d, covariance=exact)
    np.testing.assert_array_equal(post.cov(), exact)
    np.testing.assert_array_equal(post.var(), np.array([[2.0, 1.0]] * 3))


def test_gaussian_predictive_variance_and_entropy_closed_form():
    d = _draws(s=20, n=4, k=1)
    sigma = 0.7
    post = Posterior(d, GaussianNoise(np.array(sigma)))
    np.testing.assert_allclose(post.predictive_var(), d.var(0) + sigma**2)
    np.testing.assert_allclose(
        post.expected_entropy(), 0.5 * np.log(2 * np.pi * np.e * sigma**2) * np.ones((4, 1))
    )
    # regression BALD with shared noise: 0.5 log(1 + Var f / sigma^2)
    np.testing.assert_allclose(post.mutual_information(), 0.5 * np.log1p(d.var(0) / sigma**2))


def test_gaussian_log_likelihood_single_draw_is_normal_logpdf():
    d = _draws(s=1, n=6, k=1)
    y = np.linspace(-1, 1, 6)
    post = Posterior(d, GaussianNoise(np.array(0.5)))
    np.testing.assert_allclose(post.log_likelihood(y)[:, 0], stats.norm.logpdf(y, d[0, :, 0], 0.5))


def test_heteroscedastic_noise_slices_with_inputs():
    d = _draws(s=3, n=4, k=1)
    scale = np.arange(1, 13, dtype=float).reshape(3, 4, 1)
    post = Posterior(d, GaussianNoise(scale))
    sub = post[[1, 3]]
    np.testing.assert_array_equal(sub.observation.scale, scale[:, [1, 3]])
    np.testing.assert_allclose(sub.aleatoric_var(), (scale[:, [1, 3]] ** 2).mean(0))


def _brute_force_mi(probs):
    """I(y; omega) with omega uniform over the S draws, by enumerating the joint."""
    s, n, _ = probs.shape
    out = np.zeros(n)
    for i in range(n):
        joint = probs[:, i, :] / s  # p(omega, y)
        p_y = joint.sum(0)
        mask = joint > 0
        out[i] = (joint[mask] * np.log(joint[mask] / (p_y[None, :].repeat(s, 0)[mask] / s))).sum()
    return out


prob_draws = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 4), st.integers(2, 5)),
    elements=st.floats(0.01, 1.0),
)


@settings(max_examples=60, deadline=None)
@given(prob_draws)
def test_categorical_bald_equals_brute_force_mutual_information(raw):
    probs = raw / raw.sum(-1, keepdims=True)
    post = Posterior(probs, Categorical())
    np.testing.assert_allclose(post.mutual_information(), _brute_force_mi(probs), atol=1e-10)
    p_bar = probs.mean(0)
    np.testing.assert_allclose(post.entropy(), -(p_bar * np.log(p_bar)).sum(-1), atol=1e-12)
    assert (post.mutual_information() >= 0).all()


def test_categorical_entropy_handles_zero_probabilities():
    probs = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    post = Posterior(probs, Categorical())
    np.testing.assert_allclose(post.expected_entropy(), [0.0])
    np.testing.assert_allclose(post.entropy(), [np.log(2)])
    np.testing.assert_allclose(post.mutual_information(), [np.log(2)])


def test_categorical_samples_follow_probabilities():
    probs = np.array([[[0.2, 0.5, 0.3]]])
    labels = Posterior(probs, Categorical()).sample_observations(20000, random_state=0)
    freq = np.bincount(labels.ravel(), minlength=3) / labels.size
    np.testing.assert_allclose(freq, [0.2, 0.5, 0.3], atol=0.015)


def _mixture(seed=0, s=2, n=3, k=1, c=3):
    rng = np.random.default_rng(seed)
    return GaussianMixture(
        rng.normal(size=(s, n, k, c)),
        rng.normal(size=(s, n, k, c)) * 2,
        rng.uniform(0.2, 1.0, size=(s, n, k, c)),
    )


def test_mixture_moments_quantiles_and_density():
    mix = _mixture()
    post = Posterior(mix.mean(), mix)
    w = mix.weights
    np.testing.assert_allclose(post.draws, (w * mix.loc).sum(-1))
    samples = post.sample_observations(200_000, random_state=1)  # (S, m, n, k)
    np.testing.assert_allclose(samples.mean(1), mix.mean(), atol=0.02)
    np.testing.assert_allclose(samples.var(1), mix.variance(), rtol=0.02)
    q = mix.quantile(0.3)
    np.testing.assert_allclose(mix.cdf(q), 0.3, atol=1e-9)
    y = np.array([[0.1], [-0.4], [1.3]])
    manual = np.log((w * stats.norm.pdf(y[None, :, :, None], mix.loc, mix.scale)).sum(-1))
    np.testing.assert_allclose(mix.log_prob(None, y), manual)


def test_concatenate_restores_the_whole():
    d = _draws(s=4, n=10, k=1)
    scale = np.random.default_rng(3).uniform(0.1, 1, size=(4, 10, 1))
    whole = Posterior(d, GaussianNoise(scale))
    joined = Posterior.concatenate([whole[np.arange(0, 6)], whole[np.arange(6, 10)]])
    np.testing.assert_array_equal(joined.draws, d)
    np.testing.assert_array_equal(np.broadcast_to(joined.observation.scale, d.shape), scale)
    shared = Posterior.concatenate(
        [
            Posterior(d[:, :3], GaussianNoise(np.array(0.5))),
            Posterior(d[:, 3:], GaussianNoise(np.array(0.5))),
        ]
    )
    assert np.ndim(shared.observation.scale) == 0
    mix = _mixture(n=4)
    mp = Posterior(mix.mean(), mix)
    np.testing.assert_array_equal(
        Posterior.concatenate([mp[[0, 1]], mp[[2, 3]]]).observation.loc, mix.loc
    )


@pytest.mark.parametrize(
    ("draws", "observation", "error"),
    [
        (np.zeros((3, 4)), None, ValueError),
        (np.zeros((0, 4, 1)), None, ValueError),
        (np.full((2, 3, 1), np.nan), None, ValueError),
        (np.array([[["a"]]]), None, TypeError),
        (np.full((2, 3, 2), 0.3), Categorical(), ValueError),
    ],
)
def test_bad_draws_rejected(draws, observation, error):
    with pytest.raises(error):
        Posterior(draws, observation)


def test_bad_arguments_rejected():
    post = Posterior(_draws())
    with pytest.raises(ValueError, match="observation model"):
        post.entropy()
    with pytest.raises(ValueError, match="alpha"):
        post.interval(1.5)
    with pytest.raises(ValueError, match="quantile"):
        post.quantile(2.0)
    with pytest.raises(ValueError, match="covariance"):
        Posterior(_draws(n=3), covariance=np.zeros((2, 2, 2)))
    bad_cov = np.ones((3, 2, 2))
    bad_cov[1] = np.nan
    with pytest.raises(ValueError, match="covariance contains NaN"):
        Posterior(_draws(n=3), covariance=bad_cov)
    with pytest.raises(ValueError, match="mean contains NaN"):
        Posterior(_draws(n=3), mean=np.full((3, 2), np.inf))
    assert Posterior(_draws(n=3), covariance=np.ones((3, 2, 2))).has_exact_cov
    assert not Posterior(_draws(n=3)).has_exact_cov
    with pytest.raises(ValueError, match="output_names"):
        Posterior(_draws(k=2), output_names=["a"])
    with pytest.raises(ValueError, match="positive"):
        GaussianNoise(np.array(0.0))
    with pytest.raises(ValueError, match="at least one"):
        Posterior.concatenate([])


def test_exact_mean_is_used_and_sliced_when_given():
    d = _draws(n=4)
    exact = np.arange(8.0).reshape(4, 2)
    post = Posterior(d, mean=exact)
    np.testing.assert_array_equal(post.mean(), exact)
    np.testing.assert_array_equal(post[[1, 3]].mean(), exact[[1, 3]])
    np.testing.assert_array_equal(Posterior.concatenate([post[[0, 1]], post[[2, 3]]]).mean(), exact)
    with pytest.raises(ValueError, match="mean"):
        Posterior(d, mean=np.zeros((3, 2)))
