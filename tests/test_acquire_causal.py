"""Causal-BALD scores against hand computations, and the acquisition conformance kit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from knowable.acquire import (
    CAUSAL_STRATEGIES,
    arm_moments,
    causal_log_weights,
    select_causal,
    sundin_information,
)
from knowable.models import GaussianNoise, Posterior
from knowable.testing import AcquisitionCheckData, acquisition_checks

EPS = 1e-7
T = 0.25


def gaussian_posterior(cov: np.ndarray, mean: np.ndarray | None = None, seed: int = 0) -> Posterior:
    """Draws from N(mean, cov) per unit plus the exact covariance, as DUE supplies it."""
    n = cov.shape[0]
    mean = np.zeros((n, 2)) if mean is None else mean
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(cov + 1e-12 * np.eye(2))
    draws = mean + np.einsum("nij,snj->sni", chol, rng.standard_normal((200, n, 2)))
    return Posterior(
        draws, GaussianNoise(np.array(1.0)), covariance=cov, output_names=["mu0", "mu1"]
    )


def covariances() -> np.ndarray:
    # unit 0: independent arms; unit 1: strongly positively correlated arms;
    # unit 2: negatively correlated; unit 3: a well-known control arm
    return np.array(
        [
            [[1.0, 0.0], [0.0, 2.0]],
            [[1.0, 0.9], [0.9, 1.0]],
            [[0.5, -0.3], [-0.3, 0.4]],
            [[0.01, 0.0], [0.0, 3.0]],
        ]
    )


def by_hand(cov: np.ndarray, t: np.ndarray, pi: np.ndarray) -> dict[str, np.ndarray]:
    v0, v1, c01 = cov[:, 0, 0], cov[:, 1, 1], cov[:, 0, 1]
    v_tau = v0 + v1 - 2 * c01
    v_fact = np.where(t == 1, v1, v0)
    v_cf = np.where(t == 1, v0, v1)
    p_cf = np.where(t == 1, 1 - pi, pi)
    return {
        "random": np.zeros(len(t)),
        "mu-bald": np.log(v_fact + EPS) / T,
        "tau-bald": np.log(v_tau + EPS) / T,
        "rho-bald": (np.log(v_tau + EPS) - np.log(v_cf + EPS)) / T,
        "mu-rho-bald": (np.log(v_fact + EPS) + np.log(v_tau + EPS) - np.log(v_cf + EPS)) / T,
        "pi-bald": np.log(p_cf + EPS),
        "mu-pi-bald": np.log(v_fact + EPS) / T + np.log(p_cf + EPS),
    }


@pytest.mark.parametrize("strategy", [s for s in CAUSAL_STRATEGIES if s != "sundin"])
def test_scores_match_hand_formulas_with_exact_covariance(strategy):
    cov = covariances()
    t = np.array([0.0, 1.0, 1.0, 1.0])
    pi = np.array([0.2, 0.5, 0.9, 0.7])
    got = causal_log_weights(gaussian_posterior(cov), t, strategy, propensity=pi, temperature=T)
    np.testing.assert_allclose(got, by_hand(cov, t, pi)[strategy], rtol=1e-12, atol=1e-12)


def test_cross_covariance_enters_var_tau():
    cov = covariances()
    _, _, v_tau = arm_moments(gaussian_posterior(cov))
    # unit 1: Var mu0 = Var mu1 = 1, Cov = 0.9 -> Var tau = 0.2, not 2
    np.testing.assert_allclose(v_tau, [3.0, 0.2, 1.5, 3.01])


def test_scores_from_draws_use_the_draws_covariance():
    rng = np.random.default_rng(3)
    draws = rng.normal(size=(7, 5, 2)) * [1.0, 2.0]
    draws[..., 1] += 0.5 * draws[..., 0]
    post = Posterior(draws, output_names=["mu0", "mu1"])
    t = np.array([0, 1, 0, 1, 1])
    tau = draws[..., 1] - draws[..., 0]
    v_fact = np.where(t == 1, draws[..., 1].var(0), draws[..., 0].var(0))
    v_cf = np.where(t == 1, draws[..., 0].var(0), draws[..., 1].var(0))
    expected = (np.log(v_fact + EPS) + np.log(tau.var(0) + EPS) - np.log(v_cf + EPS)) / T
    got = causal_log_weights(post, t, "mu-rho-bald", temperature=T)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_rho_with_a_known_counterfactual_arm_is_one_over_t_log_one_over_eps():
    # mu0 constant over draws, Var mu1 = 1, t = 1 -> Var tau = 1 and rho = (1/T)[log(1+eps) - log eps]
    draws = np.zeros((2, 1, 2))
    draws[:, 0, 1] = [-1.0, 1.0]  # ddof = 0 variance 1
    post = Posterior(draws, output_names=["mu0", "mu1"])
    rho = causal_log_weights(post, [1], "rho-bald", temperature=T)[0]
    assert rho == pytest.approx((np.log(1 + EPS) - np.log(EPS)) / T, rel=1e-12)
    assert rho == pytest.approx(64.47, abs=0.01)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    temperature=st.floats(0.05, 5.0),
)
def test_mu_rho_is_mu_plus_tau_minus_counterfactual_mu(seed, temperature):
    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(6, 9, 2)) * rng.uniform(0.01, 3.0, size=(1, 9, 2))
    post = Posterior(draws, output_names=["mu0", "mu1"])
    t = rng.integers(0, 2, 9).astype(float)
    w = {s: causal_log_weights(post, t, s, temperature=temperature) for s in CAUSAL_STRATEGIES[1:5]}
    mu_cf = causal_log_weights(post, 1 - t, "mu-bald", temperature=temperature)
    np.testing.assert_allclose(w["mu-rho-bald"], w["mu-bald"] + w["tau-bald"] - mu_cf, atol=1e-9)
    np.testing.assert_allclose(w["rho-bald"], w["tau-bald"] - mu_cf, atol=1e-9)


def test_rho_prefers_units_whose_counterfactual_arm_is_well_covered():
    # both treated units have the same factual variance and the same Var tau;
    # unit 0's control arm is pinned down (overlap), unit 1's is not.
    cov = np.array([[[0.05, 0.0], [0.0, 1.0]], [[1.0, 0.475], [0.475, 1.0]]])
    _, _, v_tau = arm_moments(gaussian_posterior(cov))
    assert v_tau[0] == pytest.approx(v_tau[1])
    post, t = gaussian_posterior(cov), np.array([1.0, 1.0])
    rho = causal_log_weights(post, t, "rho-bald", temperature=T)
    assert rho[0] > rho[1]
    tau = causal_log_weights(post, t, "tau-bald", temperature=T)
    assert tau[0] == pytest.approx(tau[1])  # tau-BALD cannot tell them apart
    picks = [select_causal(post, t, 1, "rho-bald", random_state=s).indices[0] for s in range(200)]
    assert np.mean(np.array(picks) == 0) > 0.99  # weight ratio (1 / 0.05)^4 = 160,000


def test_pi_bald_uses_the_counterfactual_propensity():
    post = gaussian_posterior(covariances()[:2])
    w = causal_log_weights(post, [1, 0], "pi-bald", propensity=[0.8, 0.8])
    np.testing.assert_allclose(np.exp(w), [0.2, 0.8], rtol=1e-5)


def test_sundin_information_matches_the_bernoulli_formula():
    tau = np.array([[0.1, 3.0, -2.0], [-0.2, 3.1, 2.0], [0.3, 2.9, -2.0]])
    gamma = np.clip(stats.norm.cdf(-np.abs(tau) / np.sqrt(2.0)), EPS, 1 - EPS)

    def h(p):
        return -(p * np.log(p) + (1 - p) * np.log(1 - p))

    expected = h(gamma.mean(0)) - h(gamma).mean(0)
    np.testing.assert_allclose(sundin_information(tau), expected, rtol=1e-12)
    assert np.all(sundin_information(tau) <= np.log(2))
    # the same draws twice as large with noise_scale 2 give the same information
    np.testing.assert_allclose(sundin_information(2 * tau, noise_scale=2.0), expected)
    post = Posterior(np.stack([np.zeros_like(tau), tau], axis=-1), output_names=["mu0", "mu1"])
    np.testing.assert_allclose(causal_log_weights(post, [0, 1, 0], "sundin"), expected)


def test_sundin_is_zero_when_draws_agree():
    tau = np.full((5, 3), 1.3)
    np.testing.assert_allclose(sundin_information(tau), 0.0, atol=1e-12)


def test_first_pick_frequencies_follow_the_power_weights():
    cov = covariances()
    post, t = gaussian_posterior(cov), np.array([0.0, 1.0, 1.0, 0.0])
    w = np.exp(causal_log_weights(post, t, "mu-bald", temperature=1.0))
    p = w / w.sum()
    rng = np.random.default_rng(0)
    n = 20_000
    firsts = [
        select_causal(post, t, 1, "mu-bald", temperature=1.0, random_state=rng).indices[0]
        for _ in range(n)
    ]
    counts = np.bincount(firsts, minlength=4)
    assert stats.chisquare(counts, n * p).pvalue > 1e-3


def test_temperature_zero_is_top_k():
    cov = covariances()
    post, t = gaussian_posterior(cov), np.array([0.0, 1.0, 1.0, 1.0])
    w = causal_log_weights(post, t, "mu-rho-bald", temperature=0.0)
    batch = select_causal(post, t, 2, "mu-rho-bald", temperature=0.0)
    np.testing.assert_array_equal(batch.indices, np.argsort(-w)[:2])
    np.testing.assert_allclose(batch.scores, w[batch.indices])


# ---------------------------------------------------------------- conformance kit
def _check_data() -> tuple[AcquisitionCheckData, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 40
    draws = rng.normal(size=(8, n, 2)) * rng.uniform(0.1, 2.0, size=(1, n, 2))
    post = Posterior(draws, GaussianNoise(np.array(0.3)), output_names=["mu0", "mu1"])
    return (
        AcquisitionCheckData(post, rng.normal(size=(n, 2))),
        rng.integers(0, 2, n),
        rng.uniform(0.05, 0.95, n),
    )


DATA, T_POOL, PI_POOL = _check_data()


def _as_strategy(name):
    def strategy(posterior, batch_size, random_state=None):
        n = posterior.n_inputs if hasattr(posterior, "n_inputs") else len(T_POOL)
        return select_causal(
            posterior,
            T_POOL[:n],
            batch_size,
            name,
            propensity=PI_POOL[:n],
            random_state=random_state,
        ).indices

    return strategy


@pytest.mark.parametrize("name", CAUSAL_STRATEGIES)
@pytest.mark.parametrize("check", acquisition_checks(), ids=lambda c: c.__name__)
def test_causal_strategies_pass_the_acquisition_kit(name, check):
    check(_as_strategy(name), DATA)


# ---------------------------------------------------------------- bad input
def test_bad_inputs_give_clear_errors():
    post = DATA.posterior
    t = T_POOL
    with pytest.raises(ValueError, match="strategy"):
        causal_log_weights(post, t, "hyper-bald")
    with pytest.raises(ValueError, match="two outputs"):
        causal_log_weights(Posterior(np.zeros((3, 4, 1))), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="mu0"):
        causal_log_weights(Posterior(np.zeros((3, 4, 2)), output_names=["a", "b"]), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="shape"):
        causal_log_weights(post, t[:5])
    with pytest.raises(ValueError, match=r"0 or 1|binary"):
        causal_log_weights(post, np.full(len(t), 2.0))
    with pytest.raises(ValueError, match="propensity"):
        causal_log_weights(post, t, "pi-bald")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        causal_log_weights(post, t, "mu-pi-bald", propensity=np.full(len(t), 1.5))
    # a saturated propensity is allowed: the eps guard keeps the log weight finite
    w = causal_log_weights(post, t, "pi-bald", propensity=np.ones(len(t)))
    np.testing.assert_allclose(w[t == 1], np.log(EPS))
    with pytest.raises(ValueError, match="temperature"):
        causal_log_weights(post, t, temperature=-1.0)
    with pytest.raises(ValueError, match=r"NaN|finite"):
        causal_log_weights(post, np.where(np.arange(len(t)) == 0, np.nan, t))
    with pytest.raises(ValueError, match="noise_scale"):
        sundin_information(np.ones((2, 3)), noise_scale=0.0)
    with pytest.raises(TypeError, match="Posterior"):
        arm_moments(post.draws)
    # one draw and no exact covariance: no spread to score, so not silently random
    one_draw = Posterior(post.draws[:1], output_names=["mu0", "mu1"])
    for strategy in ("mu-bald", "tau-bald", "rho-bald", "mu-rho-bald", "mu-pi-bald", "sundin"):
        with pytest.raises(ValueError, match="one draw"):
            causal_log_weights(one_draw, t, strategy, propensity=np.full(len(t), 0.5))
    assert np.all(causal_log_weights(one_draw, t, "pi-bald", propensity=np.full(len(t), 0.5)) < 0)
    exact = Posterior(post.draws[:1], covariance=post.cov(), output_names=["mu0", "mu1"])
    assert np.isfinite(causal_log_weights(exact, t, "mu-rho-bald")).all()
