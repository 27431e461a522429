"""Acquisition scores against closed forms and brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowable.acquire import bald_from_draws, epig, score, select
from knowable.models import Categorical, GaussianMixture, GaussianNoise, Posterior


def _brute_mi(probs: np.ndarray) -> np.ndarray:
    """I[y; w] from the joint p(w=k, y=c) = p_kc / K, by the definition sum p log p/(p p)."""
    S, n, C = probs.shape
    out = np.zeros(n)
    for i in range(n):
        py = probs[:, i].mean(0)
        for k, c in itertools.product(range(S), range(C)):
            joint = probs[k, i, c] / S
            if joint > 0:
                out[i] += joint * np.log(joint / ((1 / S) * py[c]))
    return out


@settings(max_examples=40, deadline=None)
@given(
    s=st.integers(1, 5),
    n=st.integers(1, 4),
    c=st.integers(2, 4),
    seed=st.integers(0, 2**16),
    conc=st.sampled_from([0.05, 0.5, 5.0]),
)
def test_bald_equals_brute_force_mutual_information(s, n, c, seed, conc):
    probs = np.random.default_rng(seed).dirichlet(np.full(c, conc), size=(s, n))
    probs = probs / probs.sum(-1, keepdims=True)
    got = score(Posterior(probs, Categorical()), "bald")
    np.testing.assert_allclose(got, _brute_mi(probs), atol=1e-10)


def test_bald_known_cases():
    same = np.tile([[[0.2, 0.8]]], (4, 1, 1))
    assert score(Posterior(same, Categorical()), "bald")[0] == pytest.approx(0.0, abs=1e-12)
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert score(Posterior(split, Categorical()), "bald")[0] == pytest.approx(np.log(2))


def test_regression_bald_closed_form():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(200, 30, 1)) * rng.uniform(0.1, 3, size=(1, 30, 1))
    sigma = 0.7
    got = score(Posterior(f, GaussianNoise(np.array(sigma))), "bald")
    np.testing.assert_allclose(got, 0.5 * np.log1p(f.var(0)[:, 0] / sigma**2), rtol=1e-12)
    np.testing.assert_allclose(bald_from_draws(f, sigma**2), got, rtol=1e-12)


def test_regression_bald_epistemic_aleatoric_split():
    """Entropy = BALD + expected entropy through the observation model (homoscedastic noise)."""
    rng = np.random.default_rng(1)
    f = rng.normal(size=(50, 10, 1))
    post = Posterior(f, GaussianNoise(np.array(0.4)))
    h = score(post, "entropy")
    np.testing.assert_allclose(h - score(post, "bald"), post.expected_entropy()[:, 0], rtol=1e-10)


def test_multi_output_regression_bald_is_log_det():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(100, 4, 2)) @ np.array([[1.0, 0.6], [0.0, 0.8]])
    noise = np.array([0.5, 0.2])
    got = score(Posterior(f, GaussianNoise(noise)), "bald")
    for i in range(4):
        cov = np.cov(f[:, i].T, ddof=0)
        want = 0.5 * np.linalg.slogdet(np.eye(2) + np.diag(1 / noise**2) @ cov)[1]
        assert got[i] == pytest.approx(want, rel=1e-10)


def test_other_scores_on_a_hand_example():
    probs = np.array([[[0.7, 0.2, 0.1]], [[0.5, 0.4, 0.1]]])
    post = Posterior(probs, Categorical())
    mean = probs.mean(0)[0]
    assert score(post, "entropy")[0] == pytest.approx(-(mean * np.log(mean)).sum())
    assert score(post, "margin")[0] == pytest.approx(1 - (0.6 - 0.3))
    assert score(post, "variation-ratio")[0] == pytest.approx(0.4)
    assert score(post, "variance")[0] == pytest.approx(probs.var(0).mean())


@pytest.mark.parametrize("method", ["bald", "entropy", "margin", "variance", "variation-ratio"])
def test_chunked_equals_whole_and_streamed(method):
    probs = np.random.default_rng(3).dirichlet(np.ones(4), size=(6, 103))
    post = Posterior(probs, Categorical())
    whole = score(post, method, chunk_size=1000)
    np.testing.assert_allclose(score(post, method, chunk_size=7), whole, rtol=1e-12)
    stream = (post[np.arange(i, min(i + 10, 103))] for i in range(0, 103, 10))
    np.testing.assert_allclose(score(stream, method, chunk_size=4), whole, rtol=1e-12)


def test_epig_equals_brute_force():
    rng = np.random.default_rng(4)
    K, C = 5, 3
    pool = rng.dirichlet(np.ones(C), size=(K, 4))
    target = rng.dirichlet(np.ones(C), size=(K, 3))
    got = epig(Posterior(pool, Categorical()), Posterior(target, Categorical()), chunk_size=2)
    for i in range(4):
        mis = []
        for t in range(3):
            joint = np.einsum("kc,kd->cd", pool[:, i], target[:, t]) / K
            indep = np.outer(joint.sum(1), joint.sum(0))
            mis.append((joint * np.log(joint / indep)).sum())
        assert got[i] == pytest.approx(np.mean(mis), abs=1e-12)


def test_bad_inputs_raise_clearly():
    probs = np.random.default_rng(5).dirichlet(np.ones(3), size=(4, 10))
    post = Posterior(probs, Categorical())
    with pytest.raises(ValueError, match="method"):
        score(post, "nope")
    with pytest.raises(TypeError, match="Posterior"):
        score(probs, "bald")
    with pytest.raises(ValueError, match="observation model"):
        score(Posterior(probs), "bald")
    mix = GaussianMixture(np.zeros((4, 10, 3, 2)), np.zeros((4, 10, 3, 2)), np.ones((4, 10, 3, 2)))
    with pytest.raises(ValueError, match="Categorical or GaussianNoise"):
        score(Posterior(probs, mix), "bald")
    with pytest.raises(ValueError, match="classification"):
        score(Posterior(probs, GaussianNoise(np.array(1.0))), "margin")
    with pytest.raises(ValueError, match="empty"):
        score(iter([]), "bald")
    with pytest.raises(ValueError, match=r"no draws|S = 0"):
        Posterior(np.zeros((0, 3, 2)), Categorical())
    hollow = Posterior.__new__(Posterior)  # a Posterior whose draws were never set
    with pytest.raises(ValueError, match="no epistemic draws"):
        select(hollow, 1, "bald")
