"""Top-k and stochastic (Gumbel-top-k) batch selection."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from knowable.acquire import gumbel_top_k, log_weights, stochastic_batch, top_k

ALPHA = 1e-3  # fixed significance level; the draws are seeded, so the outcome is fixed too


def test_top_k_order_and_ties():
    np.testing.assert_array_equal(top_k([0.1, 0.9, 0.5, 0.9], 3), [1, 3, 2])
    np.testing.assert_array_equal(top_k(np.ones(5), 2), [0, 1])


@pytest.mark.parametrize("mode", ["softmax", "power", "softrank"])
def test_plackett_luce_pair_frequencies_chi_square(mode):
    """Ordered (first, second) picks of a batch of 2 follow p_i p_j / (1 - p_i)."""
    scores = np.array([0.9, 0.5, 0.3, 0.1])
    w = np.exp(log_weights(scores, mode, temperature=0.5))
    p = w / w.sum()
    pairs = list(itertools.permutations(range(4), 2))
    expected = np.array([p[i] * p[j] / (1 - p[i]) for i, j in pairs])
    rng = np.random.default_rng(2024)
    n_draws = 20_000
    counts = dict.fromkeys(pairs, 0)
    for _ in range(n_draws):
        i, j = stochastic_batch(scores, 2, mode, temperature=0.5, random_state=rng)
        counts[(int(i), int(j))] += 1
    observed = np.array([counts[q] for q in pairs])
    assert stats.chisquare(observed, expected * n_draws).pvalue > ALPHA


def test_first_pick_frequencies_chi_square():
    log_w = np.log([5.0, 3.0, 1.0, 1.0, 0.5])
    p = np.exp(log_w) / np.exp(log_w).sum()
    rng = np.random.default_rng(7)
    firsts = np.array([gumbel_top_k(log_w, 1, rng)[0] for _ in range(20_000)])
    observed = np.bincount(firsts, minlength=5)
    assert stats.chisquare(observed, p * len(firsts)).pvalue > ALPHA


def test_power_is_softmax_of_log_scores():
    s = np.random.default_rng(0).uniform(0.01, 2, size=50)
    a = stochastic_batch(s, 10, "power", 0.7, random_state=3)
    b = stochastic_batch(np.log(s), 10, "softmax", 0.7, random_state=3)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), temperature=st.floats(0.1, 5.0))
def test_softrank_invariant_to_monotone_transforms(seed, temperature):
    s = np.random.default_rng(seed).uniform(0, 1, size=30)
    a = stochastic_batch(s, 5, "softrank", temperature, random_state=seed)
    b = stochastic_batch(np.exp(3 * s) - 2, 5, "softrank", temperature, random_state=seed)
    np.testing.assert_array_equal(a, b)


def test_cold_limit_is_top_k():
    s = np.random.default_rng(1).uniform(size=100)
    for mode in ("softmax", "power", "softrank"):
        got = stochastic_batch(s, 10, mode, temperature=1e-6, random_state=0)
        np.testing.assert_array_equal(got, top_k(s, 10))


def test_power_with_zero_scores_picks_them_last():
    s = np.array([0.0, 0.0, 0.5, 0.0, 0.1])
    got = stochastic_batch(s, 4, "power", random_state=0)
    assert set(got[:2]) == {2, 4}


def test_seeded_and_no_global_rng():
    s = np.linspace(0.1, 1, 20)
    np.random.seed(0)  # noqa: NPY002 (the global RNG must not matter)
    a = stochastic_batch(s, 5, random_state=11)
    np.random.seed(1)  # noqa: NPY002
    b = stochastic_batch(s, 5, random_state=11)
    np.testing.assert_array_equal(a, b)


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        stochastic_batch([0.1, np.nan, 0.3], 1, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        top_k([0.1, np.nan], 1)
    with pytest.raises(ValueError, match="exceeds the pool size"):
        top_k([0.1, 0.2], 3)
    with pytest.raises(ValueError, match="empty"):
        stochastic_batch([], 1)
    with pytest.raises(ValueError, match="non-negative"):
        stochastic_batch([0.1, -0.2], 1, "power")
    with pytest.raises(ValueError, match="temperature"):
        stochastic_batch([0.1, 0.2], 1, "softmax", temperature=0.0)
    with pytest.raises(ValueError, match="mode"):
        stochastic_batch([0.1, 0.2], 1, "gibbs")
    with pytest.raises(TypeError, match="numbers"):
        top_k(["a", "b"], 1)
