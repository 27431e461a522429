"""DiscoBAX against brute force on tiny pools: greedy subset, noise kernel, information gain."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from knowable.acquire import discobax, discobax_noise, subset_select
from knowable.models import Categorical, GaussianNoise, Posterior


def _naive_subset_select(values: np.ndarray, k: int) -> list[int]:
    """The reference's loop, written out (ties to the lowest index)."""
    chosen: list[int] = []
    for _ in range(k):
        best, arg = -np.inf, -1
        for x in range(values.shape[1]):
            if x in chosen:
                continue
            g = np.mean([max(values[e, s] for s in [*chosen, x]) for e in range(values.shape[0])])
            if g > best:
                best, arg = g, x
        chosen.append(arg)
    return chosen


def _objective(values: np.ndarray, subset) -> float:
    return float(values[:, list(subset)].max(axis=1).mean())


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 8)), elements=st.floats(0, 10)),
    st.integers(1, 4),
)
def test_subset_select_matches_the_reference_loop(values: np.ndarray, k: int) -> None:
    k = min(k, values.shape[1])
    picks, obj = subset_select(values, k)
    assert picks.tolist() == _naive_subset_select(values, k)
    np.testing.assert_allclose(obj[-1], _objective(values, picks))
    assert np.all(np.diff(obj) >= -1e-12)  # monotone


def test_greedy_subset_is_within_one_minus_one_over_e_of_the_best_subset() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        values = np.maximum(0.0, rng.normal(size=(6, 9)))
        for k in (2, 3, 4):
            _, obj = subset_select(values, k)
            best = max(_objective(values, s) for s in itertools.combinations(range(9), k))
            assert obj[-1] >= (1 - 1 / np.e) * best - 1e-12
            assert obj[-1] <= best + 1e-12


def test_fourier_noise_has_the_rbf_covariance() -> None:
    x = np.array([[0.0], [0.3], [1.0], [2.5]])
    eta = discobax_noise(4, 20_000, features=x, scale=1.5, lengthscale=0.7, n_fourier=2000,
                         random_state=0)  # fmt: skip
    emp = np.cov(eta, rowvar=False)
    exact = 1.5**2 * np.exp(-((x - x.T) ** 2) / (2 * 0.7**2))
    np.testing.assert_allclose(emp, exact, atol=0.12)
    iid = discobax_noise(4, 20_000, scale=2.0, random_state=0)
    np.testing.assert_allclose(np.cov(iid, rowvar=False), 4.0 * np.eye(4), atol=0.15)


def _brute_force_eig(draws, noise_var, eta, k) -> tuple[np.ndarray, list[list[int]]]:
    """Dense n x n Gaussian conditioning, one subset per draw (the definition)."""
    f = draws[:, :, 0]
    s, n = f.shape
    c = f - f.mean(0)
    cov = c.T @ c / s
    prior = np.diag(cov) + noise_var
    eig, subsets = np.zeros(n), []
    for d in range(s):
        values = np.maximum(0.0, eta + f[d])
        sub = _naive_subset_select(values, k)
        # the output ends at the last pick that raised F (later picks are pool-wide ties)
        objs = [_objective(values, sub[: i + 1]) for i in range(k)]
        used = next((i for i in range(1, k) if objs[i] <= objs[i - 1] + 1e-12), k)
        sub = sub[:used]
        subsets.append(sub + [-1] * (k - used))
        a = cov[np.ix_(sub, sub)] + np.diag(noise_var[sub])
        cond = np.diag(cov) - np.einsum("ij,ji->i", cov[:, sub], np.linalg.solve(a, cov[sub, :]))
        eig += 0.5 * np.log(prior / (cond + noise_var))
    return eig / s, subsets


@pytest.mark.parametrize("heteroscedastic", [False, True])
def test_information_gain_matches_dense_conditioning(heteroscedastic: bool) -> None:
    rng = np.random.default_rng(1)
    s, n, k = 6, 11, 3
    draws = rng.normal(size=(s, n, 1)) + np.linspace(0, 2, n)[None, :, None]
    scale = rng.uniform(0.3, 0.8, size=(s, n, 1)) if heteroscedastic else np.array(0.5)
    post = Posterior(draws, GaussianNoise(scale))
    res = discobax(post, 4, subset_size=k, n_noise=5, n_fantasies=s, noise_scale=0.7,
                   random_state=3, chunk_size=4, batch_mode="top")  # fmt: skip
    noise_var = np.broadcast_to(scale**2, draws.shape).mean(0)[:, 0]
    eta = discobax_noise(n, 5, scale=0.7, random_state=np.random.default_rng(3))
    eig, subsets = _brute_force_eig(draws, noise_var, eta, k)
    np.testing.assert_allclose(res.pool_scores, eig, rtol=1e-10, atol=1e-12)
    assert res.subsets.tolist() == subsets
    assert res.indices.tolist() == np.argsort(-eig, kind="stable")[:4].tolist()
    assert np.all(res.pool_scores >= 0)


def test_chunk_size_does_not_change_the_result() -> None:
    rng = np.random.default_rng(2)
    draws = rng.normal(size=(10, 57, 1))
    x = rng.normal(size=(57, 3))
    post = Posterior(draws, GaussianNoise(0.3))
    kw = {"subset_size": 5, "features": x, "random_state": 0, "n_fantasies": 4}
    a = discobax(post, 6, chunk_size=5, **kw)
    b = discobax(post, 6, **kw)
    np.testing.assert_allclose(a.pool_scores, b.pool_scores, rtol=1e-12)
    assert a.indices.tolist() == b.indices.tolist()


def test_refusals() -> None:
    probs = np.full((4, 5, 2), 0.5)
    with pytest.raises((TypeError, ValueError), match="DiscoBAX"):
        discobax(Posterior(probs, Categorical()), 2)
    one = Posterior(np.zeros((1, 5, 1)), GaussianNoise(1.0))
    with pytest.raises(ValueError, match="at least 2 posterior draws"):
        discobax(one, 2)
    post = Posterior(np.random.default_rng(0).normal(size=(3, 5, 1)), GaussianNoise(1.0))
    with pytest.raises(ValueError):
        discobax(post, 6)
    with pytest.raises(ValueError, match="shape"):
        discobax(post, 2, subset_size=2, features=np.zeros((4, 2)))


def _gp_draws(n: int, s: int, lengthscale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Joint draws of a zero-mean RBF GP on a 1-D grid, plus a bump at x = 0.8."""
    x = np.linspace(0.0, 1.0, n)
    cov = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * lengthscale**2))
    chol = np.linalg.cholesky(cov + 1e-8 * np.eye(n))
    bump = 3.0 * np.exp(-((x - 0.8) ** 2) / (2 * 0.05**2))
    draws = bump + 0.5 * (chol @ np.random.default_rng(seed).standard_normal((n, s))).T
    return x, draws


def test_saturated_greedy_picks_are_not_part_of_the_output() -> None:
    # Noise far smaller than f's spread: F saturates at the first pick (each draw's
    # argmax), so the output is one candidate per draw, all in the bump's basin.
    x, draws = _gp_draws(60, 400, 0.05, seed=0)
    post = Posterior(draws[:, :, None], GaussianNoise(0.05))
    res = discobax(post, 5, subset_size=10, n_noise=5, n_fantasies=40, noise_scale=1e-6,
                   random_state=0, batch_mode="top")  # fmt: skip
    assert np.all(res.subsets[:, 1:] == -1)
    assert np.all(np.abs(x[res.subsets[:, 0]] - 0.8) < 0.15)
    assert (
        res.subsets[:, 0].tolist()
        == post.draws[:, :, 0][_used_draws(400, 40, 0)].argmax(1).tolist()
    )
    # the gain sits in the optimum's basin and is ~0 far from every draw's argmax
    far = np.abs(x - 0.8) > 0.4
    assert np.all(np.abs(x[res.indices] - 0.8) < 0.15)
    assert res.pool_scores[far].max() < 0.05 * res.pool_scores.max()


def _used_draws(s: int, j: int, seed: int) -> np.ndarray:
    """Which draws discobax runs the algorithm on (after the noise draws)."""
    rng = np.random.default_rng(seed)
    discobax_noise(60, 5, scale=1e-6, random_state=rng)
    return np.sort(rng.choice(s, size=j, replace=False))


def test_noiseless_output_gain_matches_the_dense_definition() -> None:
    # k = 1 output (the draw's argmax): EIG = mean_j 1/2 log(prior / cond_j) in closed form.
    _x, draws = _gp_draws(30, 200, 0.1, seed=1)
    post = Posterior(draws[:, :, None], GaussianNoise(0.1))
    res = discobax(post, 3, subset_size=4, n_noise=3, n_fantasies=200, noise_scale=1e-9,
                   random_state=0)  # fmt: skip
    f = draws
    c = f - f.mean(0)
    cov = c.T @ c / len(f)
    want = np.zeros(30)
    for a in f.argmax(1):
        cond = np.diag(cov) - cov[:, a] ** 2 / (cov[a, a] + 0.01)
        want += 0.5 * np.log((np.diag(cov) + 0.01) / (np.maximum(cond, 0) + 0.01))
    np.testing.assert_allclose(res.pool_scores, want / len(f), rtol=1e-9, atol=1e-12)
    assert np.all(res.subsets[:, 1:] == -1)


def _joint_gain_bruteforce(draws, noise_var, subsets, batch) -> float:
    """I(y_B; S) under the draws' Gaussian: 1/2 logdet Cov(y_B) - mean_j 1/2 logdet Cov(y_B | y_Sj).

    The batch's measurements are new ones (independent noise) even at points of S_j.
    """
    c = draws[:, :, 0] - draws[:, :, 0].mean(0)
    cov = c.T @ c / len(c)
    b = list(batch)
    cov_b = cov[np.ix_(b, b)] + np.diag(noise_var[b])
    lost = 0.0
    for row in subsets:
        sub = [int(v) for v in row if v >= 0]
        a = cov[np.ix_(sub, sub)] + np.diag(noise_var[sub])
        cross = cov[np.ix_(b, sub)]
        lost += np.linalg.slogdet(cov_b - cross @ np.linalg.solve(a, cross.T))[1]
    return 0.5 * (np.linalg.slogdet(cov_b)[1] - lost / len(subsets))


@pytest.mark.parametrize("mode", ["joint", "subset"])
def test_greedy_batch_scores_add_up_to_the_joint_gain(mode: str) -> None:
    # chain rule: the picks' conditional gains sum to the batch's joint gain, by brute force
    rng = np.random.default_rng(4)
    s, n = 8, 25
    draws = rng.normal(size=(s, n, 1)) + np.sin(np.linspace(0, 6, n))[None, :, None]
    post = Posterior(draws, GaussianNoise(0.4))
    res = discobax(post, 6, subset_size=4, n_noise=6, n_fantasies=s, noise_scale=0.8,
                   random_state=0, batch_mode=mode)  # fmt: skip
    assert len(set(res.indices.tolist())) == 6
    noise_var = np.full(n, 0.16)
    start = 1
    if mode == "subset":
        members = res.subsets[res.subsets >= 0]
        best = members[np.argmax(res.pool_scores[members])]
        row = res.subsets[np.flatnonzero((res.subsets == best).any(axis=1))[0]]
        start = int((row >= 0).sum())
        assert res.indices[:start].tolist() == row[:start].tolist()
    else:
        assert res.indices[0] == np.argmax(res.pool_scores)
    # the start picks are scored alone; each later pick by its gain given the batch so far
    np.testing.assert_allclose(res.scores[:start], res.pool_scores[res.indices[:start]])
    for m in range(start + 1, 7):
        whole = _joint_gain_bruteforce(draws, noise_var, res.subsets, res.indices[:m])
        part = _joint_gain_bruteforce(draws, noise_var, res.subsets, res.indices[: m - 1])
        np.testing.assert_allclose(res.scores[m - 1], whole - part, rtol=1e-8, atol=1e-10)


def test_joint_and_subset_batches_spread_over_basins_where_top_does_not() -> None:
    # two equal bumps: top-b fills the batch from one basin, joint and subset take both
    x = np.linspace(0.0, 1.0, 80)
    rng = np.random.default_rng(5)
    base = np.exp(-((x - 0.25) ** 2) / 0.002) + np.exp(-((x - 0.75) ** 2) / 0.002)
    cov = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * 0.05**2))
    chol = np.linalg.cholesky(cov + 1e-8 * np.eye(80))
    draws = base + 0.3 * (chol @ rng.standard_normal((80, 64))).T
    post = Posterior(draws[:, :, None], GaussianNoise(0.05))
    kw = {"subset_size": 5, "n_noise": 10, "noise_scale": 0.3, "random_state": 1}
    for mode, both in (("top", False), ("joint", True), ("subset", True)):
        picks = discobax(post, 4, batch_mode=mode, **kw).indices
        assert (set((x[picks] > 0.5).tolist()) == {False, True}) == both, mode
    with pytest.raises(ValueError, match="batch_mode"):
        discobax(post, 4, batch_mode="best")
