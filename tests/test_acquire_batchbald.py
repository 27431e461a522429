"""Greedy BatchBALD against exhaustive enumeration, and its Gaussian closed form."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowable.acquire import (
    batchbald,
    joint_entropy_exact,
    joint_entropy_sampled,
    score,
    select,
)
from knowable.models import Categorical, GaussianNoise, Posterior


def _brute_joint_entropy(probs: np.ndarray, idx: list[int]) -> float:
    """H[y_idx] by enumerating all C^|idx| label configurations."""
    K, _, C = probs.shape
    h = 0.0
    for config in itertools.product(range(C), repeat=len(idx)):
        p = np.mean(
            [np.prod([probs[k, i, c] for i, c in zip(idx, config, strict=True)]) for k in range(K)]
        )
        if p > 0:
            h -= p * np.log(p)
    return h


def _cond(probs: np.ndarray) -> np.ndarray:
    return -(probs * np.log(np.where(probs > 0, probs, 1))).sum(-1).mean(0)


def _probs(seed: int, K: int = 5, n: int = 6, C: int = 3, conc: float = 0.5) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(C, conc), size=(K, n))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**16), n_sel=st.integers(0, 3), conc=st.sampled_from([0.1, 1.0]))
def test_joint_entropy_equals_enumeration(seed, n_sel, conc):
    probs = _probs(seed, conc=conc)
    got = joint_entropy_exact(probs[:, :n_sel], probs)
    want = [_brute_joint_entropy(probs, [*range(n_sel), j]) for j in range(probs.shape[1])]
    np.testing.assert_allclose(got, want, atol=1e-10)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), b=st.integers(1, 4))
def test_greedy_batch_scores_equal_brute_force(seed, b):
    probs = _probs(seed, n=7)
    res = batchbald(Posterior(probs, Categorical()), b, n_configurations=3**3)
    assert res.exact.all()
    cond = _cond(probs)
    chosen: list[int] = []
    for i in range(b):
        cands = [j for j in range(7) if j not in chosen]
        values = {
            j: _brute_joint_entropy(probs, [*chosen, j]) - cond[[*chosen, j]].sum() for j in cands
        }
        best = max(values.values())
        assert values[int(res.indices[i])] == pytest.approx(best, abs=1e-9)
        assert res.scores[i] == pytest.approx(best, abs=1e-9)
        chosen.append(int(res.indices[i]))


def test_batch_of_one_is_bald_argmax():
    probs = _probs(3, K=10, n=50, C=4)
    post = Posterior(probs, Categorical())
    assert batchbald(post, 1).indices[0] == int(np.argmax(score(post, "bald")))


def test_duplicate_of_a_deterministic_point_is_not_picked_twice():
    # one-hot draws: a copy of a picked point adds no information
    K = 4
    a = np.eye(2)[[0, 1, 0, 1]]  # disagrees maximally: BALD = log 2
    c = np.eye(2)[[0, 0, 1, 1]]  # also log 2, independent of a across draws
    weak = np.eye(2)[[0, 0, 0, 1]]
    probs = np.stack([a, a, weak, c], axis=1).reshape(K, 4, 2)
    res = batchbald(Posterior(probs, Categorical()), 2)
    assert res.indices[0] in (0, 1)
    assert res.indices[1] == 3
    assert res.gains[1] == pytest.approx(np.log(2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_marginal_gains_non_increasing(seed):
    probs = _probs(seed, K=8, n=20, C=3)
    res = batchbald(Posterior(probs, Categorical()), 5, n_configurations=10_000)
    assert (np.diff(res.gains) <= 1e-9).all()


def test_sampled_joint_entropy_converges_to_exact():
    probs = _probs(5, K=10, n=8, C=4)
    exact = joint_entropy_exact(probs[:, :3], probs[:, 3:])
    m = 40_000
    sampled = joint_entropy_sampled(probs[:, :3], probs[:, 3:], m, random_state=0)
    assert np.abs(sampled - exact).max() < 3 / np.sqrt(m) * exact.max()


def test_switches_to_sampling_after_the_budget():
    probs = _probs(6, K=10, n=30, C=4)
    res = batchbald(Posterior(probs, Categorical()), 4, n_configurations=16, random_state=0)
    np.testing.assert_array_equal(res.exact, [True, True, True, False])
    again = batchbald(Posterior(probs, Categorical()), 4, n_configurations=16, random_state=0)
    np.testing.assert_array_equal(res.indices, again.indices)


def test_gaussian_batch_value_is_log_det():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(40, 25, 1)) @ np.ones((1, 1)) + rng.normal(size=(40, 1, 1))
    sigma = 0.5
    res = batchbald(Posterior(f, GaussianNoise(np.array(sigma))), 5)
    centred = f[..., 0] - f[..., 0].mean(0)
    cov = centred.T @ centred / f.shape[0]
    for i in range(1, 6):
        sel = res.indices[:i]
        want = 0.5 * np.linalg.slogdet(np.eye(i) + cov[np.ix_(sel, sel)] / sigma**2)[1]
        assert res.scores[i - 1] == pytest.approx(want, rel=1e-9)
    # greedy: every pick maximises the log-det among the remaining points
    for i in range(5):
        sel = list(res.indices[:i])
        vals = [
            0.5 * np.linalg.slogdet(np.eye(i + 1) + cov[np.ix_([*sel, j], [*sel, j])] / sigma**2)[1]
            for j in range(25)
            if j not in sel
        ]
        assert res.scores[i] == pytest.approx(max(vals), rel=1e-9)


def test_bad_inputs():
    probs = _probs(0)
    post = Posterior(probs, Categorical())
    with pytest.raises(ValueError, match="exceeds the pool size"):
        batchbald(post, 7)
    with pytest.raises(ValueError, match="Categorical or GaussianNoise"):
        batchbald(Posterior(probs), 2)
    with pytest.raises(TypeError, match="Posterior"):
        batchbald(probs, 2)
    with pytest.raises(TypeError, match="one Posterior"):
        select(iter([post]), 2, "batchbald")
    with pytest.raises(ValueError, match="n_configurations"):
        batchbald(post, 2, n_configurations=0)


@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_due_models_give_batchbald_consistent_draws_for_copies(kind):
    """A DUE model's draws are one function per draw, so BatchBALD sees a copy as redundant."""
    from knowable.models import UncertainClassifier, UncertainRegressor

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(150, 2))
    small = dict(max_epochs=5, hidden_size=16, n_inducing=10, n_draws=200, random_state=0)
    if kind == "regressor":
        model = UncertainRegressor("due", **small).fit(x, np.sin(3 * x[:, 0]))
    else:
        model = UncertainClassifier("due", **small).fit(x, (x[:, 0] > 0).astype(int))
    pool = rng.uniform(-3, 3, size=(30, 2))
    first = batchbald(model.posterior(pool), 1).indices[0]
    copies = np.vstack([pool, pool[first]])  # the most informative point, twice
    draws = model.posterior(copies).draws
    np.testing.assert_allclose(draws[:, first], draws[:, -1], rtol=1e-5, atol=1e-6)
    picks = batchbald(model.posterior(copies), 2, random_state=0).indices
    assert picks[0] in (first, 30) and not {first, 30} <= set(picks.tolist())
