"""knowable.design: SCMs, posteriors over graphs, information gain, strategies, metrics."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats
from scipy.special import logsumexp

from knowable.design import (
    DESIGN_STRATEGIES,
    ExactPosterior,
    InterventionalData,
    LinearGaussianSCM,
    ParticlePosterior,
    check_dag,
    count_dags,
    design_batch,
    design_metrics,
    edge_auroc,
    eig,
    enumerate_dags,
    expected_shd,
    find_cycle,
    mmd2_unbiased,
    one_edge_neighbours,
    orientation_f1,
    random_dag,
    random_scm,
    relaxed_top_k,
    run_design,
    shd,
    value_search,
)

# ---------------------------------------------------------------- helpers


def _linear_particles(graphs, weights, coef, bias, sd, log_weights=None) -> ParticlePosterior:
    graphs = np.asarray(graphs, dtype=np.int8)
    L, d = graphs.shape[0], graphs.shape[1]
    c = np.zeros((L, d, 1, d))
    c[:, :, 0, :] = np.asarray(coef, dtype=float)
    lw = np.log(np.asarray(weights, dtype=float)) if log_weights is None else log_weights
    return ParticlePosterior(
        graphs, lw - logsumexp(lw), c, np.asarray(bias, float), np.asarray(sd, float), "linear"
    )


def _one_target(d: int, j: int, v: float) -> tuple[np.ndarray, np.ndarray]:
    m = np.zeros((1, d))
    m[0, j] = 1
    vals = np.zeros((1, d))
    vals[0, j] = v
    return m, vals


# ------------------------------------------------------------------ graphs


def test_enumeration_counts_match_robinson():
    assert [len(enumerate_dags(n)) for n in range(1, 5)] == [1, 3, 25, 543]
    assert [count_dags(n) for n in range(1, 6)] == [1, 3, 25, 543, 29281]


def test_enumeration_equals_brute_force_filter():
    # brute force: all 2^(d(d-1)) off-diagonal patterns, acyclic iff A is nilpotent
    for d in (2, 3, 4):
        off = [(i, j) for i in range(d) for j in range(d) if i != j]
        brute = set()
        for bits in itertools.product((0, 1), repeat=len(off)):
            a = np.zeros((d, d), dtype=np.int8)
            for (i, j), b in zip(off, bits, strict=True):
                a[i, j] = b
            if not np.linalg.matrix_power(a.astype(np.int64), d).any():
                brute.add(a.tobytes())
        assert brute == {g.tobytes() for g in enumerate_dags(d)}


@pytest.mark.parametrize("kind", ["er", "sf"])
def test_random_dags_are_acyclic_and_sized(kind):
    for seed in range(5):
        a = random_dag(20, kind, expected_degree=1.0, random_state=seed)
        check_dag(a)
        assert 5 <= a.sum() <= 40
    sf = random_dag(30, "sf", random_state=0)
    assert sf.sum(axis=0).max() == 1 and sf.sum() == 29  # one parent per new node: a tree


def test_one_edge_neighbours_are_dags_at_shd_one():
    g = random_dag(6, "er", 1.5, random_state=3)
    nb = one_edge_neighbours(g)
    assert nb
    for h in nb:
        check_dag(h)
        assert shd(h, g) == 1


# --------------------------------------------------------------- bad input


def test_cycle_is_refused_with_the_cycle_named():
    a = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="directed cycle"):
        LinearGaussianSCM(a, np.ones((3, 3)))
    with pytest.raises(ValueError, match="self-loop"):
        check_dag(np.eye(2))


def test_unknown_target_and_out_of_bounds_value_are_refused():
    scm = LinearGaussianSCM([[0, 1], [0, 0]], [[0, 1], [0, 0]], names=["a", "b"])
    with pytest.raises(ValueError, match="not a node; known nodes: a, b"):
        scm.sample(5, {"c": 1.0})
    with pytest.raises(ValueError, match="out of range"):
        scm.sample(5, {7: 1.0})
    with pytest.raises(ValueError, match="outside the stated bounds"):
        scm.sample(5, {"a": 11.0})
    post = ExactPosterior().fit(scm.sample(30, random_state=0)).posterior_
    with pytest.raises(ValueError, match="strategy must be one of"):
        design_batch(post, "nope", 2)
    with pytest.raises(ValueError, match="targets must be node indices"):
        design_batch(post, "random", 2, targets=[5])


def test_non_numeric_data_is_refused():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]})
    with pytest.raises(TypeError, match="non-numeric"):
        InterventionalData.observational(df)
    with pytest.raises(TypeError):
        ExactPosterior().fit(np.array([["a", "b"], ["c", "d"]]))


# ---------------------------------------------------------------- sampling


def test_hard_intervention_cuts_incoming_edges_and_keeps_downstream():
    scm = LinearGaussianSCM([[0, 1], [0, 0]], [[0, 2.0], [0, 0]], noise_std=0.5)
    do_child = scm.sample(4000, {1: 3.0}, random_state=0)
    assert np.all(do_child.x[:, 1] == 3.0) and do_child.mask[:, 1].all()
    assert abs(do_child.x[:, 0].std() - 0.5) < 0.03  # parent untouched
    do_parent = scm.sample(4000, {0: 1.0}, random_state=0)
    assert abs(do_parent.x[:, 1].mean() - 2.0) < 0.03  # child follows the mechanism


# ------------------------------------------------------------------ posteriors


def _brute_force_bic_posterior(x: np.ndarray) -> dict[bytes, float]:
    """Independent oracle: all 0/1 matrices, nilpotency for acyclicity, OLS by lstsq,
    and the log-likelihood of the implied joint Gaussian N(m, (I-B')^-1 D (I-B')^-T)."""
    n, d = x.shape
    off = [(i, j) for i in range(d) for j in range(d) if i != j]
    scores = {}
    for bits in itertools.product((0, 1), repeat=len(off)):
        a = np.zeros((d, d), dtype=np.int8)
        for (i, j), b in zip(off, bits, strict=True):
            a[i, j] = b
        if np.linalg.matrix_power(a.astype(np.int64), d).any():
            continue
        bmat = np.zeros((d, d))
        c = np.zeros(d)
        var = np.zeros(d)
        k = 0
        for j in range(d):
            pa = np.flatnonzero(a[:, j])
            z = np.column_stack([np.ones(n), x[:, pa]])
            beta = np.linalg.lstsq(z, x[:, j], rcond=None)[0]
            c[j] = beta[0]
            bmat[pa, j] = beta[1:]
            var[j] = np.mean((x[:, j] - z @ beta) ** 2)
            k += len(pa) + 2
        inv = np.linalg.inv(np.eye(d) - bmat.T)
        mean = inv @ c
        cov = inv @ np.diag(var) @ inv.T
        ll = stats.multivariate_normal(mean, cov).logpdf(x).sum()
        scores[a.tobytes()] = ll - 0.5 * k * np.log(n)
    keys = list(scores)
    s = np.array([scores[k_] for k_ in keys])
    p = np.exp(s - logsumexp(s))
    return dict(zip(keys, p, strict=True))


@pytest.mark.parametrize("d", [3, 4])
def test_exact_posterior_matches_brute_force(d):
    scm = random_scm(d, "er", "linear", expected_degree=1.2, random_state=d)
    x = scm.sample(60, random_state=1).x
    post = ExactPosterior().fit(x).posterior_
    oracle = _brute_force_bic_posterior(x)
    assert len(oracle) == post.n_particles
    mine = {g.tobytes(): w for g, w in zip(post.graphs, post.weights(), strict=True)}
    keys = list(oracle)
    np.testing.assert_allclose([mine[k] for k in keys], [oracle[k] for k in keys], atol=1e-6)


def test_markov_equivalent_graphs_get_equal_weight_observationally():
    scm = LinearGaussianSCM([[0, 1], [0, 0]], [[0, 1.5], [0, 0]])
    post = ExactPosterior().fit(scm.sample(200, random_state=0)).posterior_
    w = {g.tobytes(): p for g, p in zip(post.graphs, post.weights(), strict=True)}
    fwd = np.array([[0, 1], [0, 0]], np.int8).tobytes()
    bwd = np.array([[0, 0], [1, 0]], np.int8).tobytes()
    assert w[fwd] == pytest.approx(w[bwd], rel=1e-9)
    assert w[fwd] > 0.49


# -------------------------------------------------- information gain (closed forms)


def test_eig_equals_closed_form_for_gaussian_edge_weight():
    # X0 -> X1, x1 = theta x0 + N(0, s^2), theta ~ N(0, tau^2) represented by L quantile
    # particles; design do(X0 = v): I(x1; theta) = 0.5 log(1 + tau^2 v^2 / s^2).
    tau, s, v, L = 1.0, 0.5, 2.0, 200
    theta = stats.norm.ppf((np.arange(L) + 0.5) / L) * tau
    graphs = np.tile(np.array([[0, 1], [0, 0]]), (L, 1, 1))
    coef = np.zeros((L, 2, 2))
    coef[:, 0, 1] = theta
    post = _linear_particles(graphs, np.ones(L), coef, np.zeros((L, 2)), np.full((L, 2), s))
    exact = 0.5 * np.log(1 + tau**2 * v**2 / s**2)
    reps = [
        eig(post, *_one_target(2, 0, v), n_samples=50, n_outer=None, random_state=r)
        for r in range(3)
    ]
    # MC error: the per-rep standard deviation is ~0.01 nats (3 reps of 10,000 outer draws);
    # quantile discretisation of theta (200 particles) adds < 0.01 nats. Tolerance 0.03 nats.
    assert np.mean(reps) == pytest.approx(exact, abs=0.03)
    assert np.std(reps) < 0.02


def test_eig_equals_quadrature_for_two_orientations():
    # posterior 50/50 over X0 -> X1 and X1 -> X0 with the same observational law
    # (var x0 = 1, x1 = w x0 + e); under do(X0 = v) node 1 is N(w v, s1^2) under the
    # first graph and N(0, 1 + w^2 ... marginal) under the second; MI by quadrature.
    w, s1 = 1.5, 0.6
    var1 = w**2 + s1**2
    # reverse graph parameters: x0 = b x1 + e', b = w / var1, var(e') = 1 - w^2/var1
    b, s0r = w / var1, np.sqrt(1 - w**2 / var1)
    graphs = [[[0, 1], [0, 0]], [[0, 0], [1, 0]]]
    coef = [[[0, w], [0, 0]], [[0, 0], [b, 0]]]
    sd = [[1.0, s1], [s0r, np.sqrt(var1)]]
    post = _linear_particles(graphs, [0.5, 0.5], coef, np.zeros((2, 2)), sd)
    v = 2.0
    p1 = stats.norm(w * v, s1)
    p2 = stats.norm(0.0, np.sqrt(var1))

    def integrand(y):
        a, c = p1.pdf(y), p2.pdf(y)
        mix = 0.5 * (a + c)
        out = 0.0
        for q in (a, c):
            if q > 0:
                out += 0.5 * q * np.log(q / mix)
        return out

    exact = integrate.quad(integrand, -15, 15, limit=200)[0]
    est = eig(post, *_one_target(2, 0, v), n_samples=20000, n_outer=None, random_state=0)
    # standard error of the mean of 40,000 bounded terms (|term| < log 2 + tail) is ~0.003
    assert est == pytest.approx(exact, abs=0.015)
    # intervening on the child is informative too, on nothing it is not
    obs = eig(
        post, np.zeros((1, 2)), np.zeros((1, 2)), n_samples=2000, n_outer=None, random_state=0
    )
    assert abs(obs) < 1e-9  # identical observational laws: zero information


def test_batch_eig_is_subadditive_and_monotone():
    scm = LinearGaussianSCM([[0, 1, 0], [0, 0, 0], [0, 0, 0]], np.eye(3, k=1) * 1.5)
    post = ExactPosterior().fit(scm.sample(100, random_state=0)).posterior_
    m, v = _one_target(3, 0, 3.0)
    single = eig(post, m, v, n_samples=400, n_outer=None, random_state=1)
    double = eig(
        post, np.vstack([m, m]), np.vstack([v, v]), n_samples=400, n_outer=None, random_state=1
    )
    assert single - 0.02 <= double <= 2 * single + 0.02
    assert double <= post.graph_entropy() + 0.05  # I(y; G) <= H(G), up to MC error


# ------------------------------------------------ the design question itself


def test_intervening_on_the_right_variable_reduces_graph_entropy():
    # X0 -> X1 (orientation not identifiable observationally), X2 isolated.
    adj = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    scm = LinearGaussianSCM(adj, adj * 1.5, noise_std=0.7)
    data = scm.sample(200, random_state=0)
    est = ExactPosterior().fit(data)
    h0 = est.posterior_.graph_entropy()
    marg0 = est.posterior_.edge_marginals()
    assert marg0[0, 1] == pytest.approx(0.5, abs=0.01)  # two Markov-equivalent orientations
    assert marg0[1, 0] == pytest.approx(0.5, abs=0.01)
    vs = value_search(
        est.posterior_, (-5, 5), n_values=5, n_samples=64, n_outer=None, random_state=0
    )
    gain = vs["best_eig"]
    assert gain[0] > 0.5 and gain[1] > 0.5 and gain[2] < 0.05
    greedy = design_batch(est.posterior_, "greedy", 3, (-5, 5), random_state=0)
    assert set(np.flatnonzero(greedy.mask.any(axis=0))) <= {0, 1}

    def after(target):
        m, v = _one_target(3, target, 4.0)
        new = scm.sample_designs(np.repeat(m, 10, 0), np.repeat(v, 10, 0), random_state=5)
        return ExactPosterior().fit(data).update(data.append(new.x, new.mask)).posterior_

    right, wrong = after(0), after(2)
    # the orientation bit (log 2 = 0.69 nats) is gone after do(X0); do(X2) leaves it
    assert h0 - right.graph_entropy() > 0.4
    assert wrong.graph_entropy() > h0 - 0.1
    assert right.edge_marginals()[0, 1] > 0.99
    assert wrong.edge_marginals()[0, 1] == pytest.approx(0.5, abs=0.01)
    np.testing.assert_array_equal(right.map_graph(), adj)


# --------------------------------------------------------------- strategies


def test_relaxed_top_k_is_k_hot_with_gradients():
    logits = torch.zeros(4, 6, dtype=torch.float64, requires_grad=True)
    gen = torch.Generator().manual_seed(0)
    for k in (1, 2, 3):
        mask = relaxed_top_k(logits, k, 0.5, gen)
        np.testing.assert_array_equal(mask.detach().sum(-1).numpy(), k)
        assert set(np.unique(mask.detach().numpy())) <= {0.0, 1.0}
        (mask * torch.arange(6.0, dtype=torch.float64)).sum().backward()
        assert logits.grad is not None and logits.grad.abs().sum() > 0
        logits.grad = None


@pytest.mark.parametrize("name", sorted(DESIGN_STRATEGIES))
def test_strategies_return_bounded_single_target_batches(name):
    scm = random_scm(4, "er", "linear", expected_degree=1.5, random_state=2)
    post = ExactPosterior().fit(scm.sample(50, random_state=0)).posterior_
    params = {"n_steps": 5} if name == "differentiable" else {}
    b = design_batch(post, name, 4, (-3, 3), random_state=0, **params)
    assert b.mask.shape == (4, 4) and (b.mask.sum(1) == 1).all()
    vals = b.values[b.mask]
    assert (vals >= -3).all() and (vals <= 3).all()
    again = design_batch(post, name, 4, (-3, 3), random_state=0, **params)
    np.testing.assert_array_equal(b.values, again.values)  # seeded
    if name == "greedy":
        assert np.all(np.diff(b.scores) >= -1e-9)  # joint EIG grows along the batch


def test_differentiable_multi_target_masks_are_k_hot():
    scm = random_scm(4, "er", "linear", expected_degree=1.5, random_state=2)
    post = ExactPosterior().fit(scm.sample(50, random_state=0)).posterior_
    b = design_batch(post, "differentiable", 3, (-3, 3), random_state=0, n_steps=3, n_targets=2)
    assert (b.mask.sum(1) == 2).all()
    new = scm.sample_designs(b.mask, b.values, random_state=0)  # multi-target do() samples
    np.testing.assert_array_equal(new.x[new.mask], b.values[b.mask])
    with pytest.raises(ValueError, match="n_targets"):
        design_batch(post, "differentiable", 1, (-3, 3), targets=[0], n_targets=2, n_steps=1)


def test_differentiable_rescoring_keeps_the_batch_contract():
    """``n_rescore`` scores the best batches again on shared fresh draws; 0 and 1 leave the
    search as it was, and the rescored batch is one the search visited."""
    scm = random_scm(4, "er", "linear", expected_degree=1.5, random_state=2)
    post = ExactPosterior().fit(scm.sample(50, random_state=0)).posterior_
    kw = dict(random_state=0, n_steps=8)
    plain = design_batch(post, "differentiable", 3, (-3, 3), **kw)
    one = design_batch(post, "differentiable", 3, (-3, 3), n_rescore=1, **kw)
    np.testing.assert_array_equal(plain.values, one.values)
    assert plain.scores[0] == one.scores[0]
    again = design_batch(post, "differentiable", 3, (-3, 3), n_rescore=4, **kw)
    assert (again.mask.sum(1) == 1).all() and np.isfinite(again.scores).all()
    assert again.info["n_rescore"] == 4
    vals = again.values[again.mask]
    assert (vals >= -3).all() and (vals <= 3).all()
    with pytest.raises(ValueError, match="n_rescore"):
        design_batch(post, "differentiable", 3, (-3, 3), n_rescore=-1, **kw)


def test_differentiable_warm_start_starts_from_the_value_search():
    """``warm_start=V`` starts the masks and values from a V-point single-design value search:
    with no Adam step to speak of, the batch is the search's most informative target."""
    adj = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    scm = LinearGaussianSCM(adj, adj * 1.5, noise_std=0.7)
    post = ExactPosterior().fit(scm.sample(200, random_state=0)).posterior_
    vs = value_search(post, (-5, 5), None, 5, 0, random_state=0)
    b = design_batch(post, "differentiable", 2, (-5, 5), random_state=0, n_steps=1, warm_start=5)
    assert b.info["warm_start"] == 5 and (b.mask.sum(1) == 1).all()
    assert not b.mask[:, 2].any() and vs["best_eig"][2] < vs["best_eig"].max()
    for bad in (1, -2):
        with pytest.raises(ValueError, match="warm_start"):
            design_batch(post, "differentiable", 2, (-5, 5), n_steps=1, warm_start=bad)


def test_differentiable_finds_informative_target():
    adj = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    scm = LinearGaussianSCM(adj, adj * 1.5, noise_std=0.7)
    post = ExactPosterior().fit(scm.sample(200, random_state=0)).posterior_
    b = design_batch(post, "differentiable", 2, (-5, 5), random_state=0, n_steps=30)
    assert not b.mask[:, 2].all()
    assert b.scores[0] > 0.5


# ------------------------------------------------------------------- metrics


def test_shd_and_f1_on_hand_examples():
    t = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert shd(t, t) == 0
    rev = np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]])
    assert shd(rev, t) == 1  # one reversal counts once
    extra = t.copy()
    extra[0, 2] = 1
    assert shd(extra, t) == 1
    assert shd(np.zeros((3, 3)), t) == 2
    assert orientation_f1(t, t) == 1.0
    assert orientation_f1(rev, t) == pytest.approx(2 * 1 / 4)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_shd_is_a_symmetric_distance(s1, s2):
    a = random_dag(5, "er", 1.5, random_state=s1)
    b = random_dag(5, "er", 1.5, random_state=s2)
    assert shd(a, b) == shd(b, a)
    assert (shd(a, b) == 0) == np.array_equal(a, b)
    assert shd(a, b) <= int((a | a.T).sum() // 2 + (b | b.T).sum() // 2)


def test_metrics_of_a_point_mass_on_the_truth():
    t = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    post = _linear_particles([t], [1.0], t * 1.0, np.zeros((1, 3)), np.ones((1, 3)))
    assert expected_shd(post, t) == 0.0
    assert edge_auroc(post, t) == 1.0
    scm = LinearGaussianSCM(t, t * 1.0)
    m = design_metrics(post, t, scm, mmd_samples=200, random_state=0)
    assert m["expected_f1"] == 1.0 and m["graph_entropy"] == 0.0
    assert abs(m["i_mmd"]) < 0.02  # same SCM: MMD² near zero
    wrong = _linear_particles([t], [1.0], t * -1.0, np.zeros((1, 3)), np.ones((1, 3)))
    assert design_metrics(wrong, t, scm, mmd_samples=200, random_state=0)["i_mmd"] > 0.2


def test_unbiased_mmd_is_zero_in_expectation_for_identical_laws():
    rng = np.random.default_rng(0)
    vals = [
        mmd2_unbiased(rng.normal(size=(50, 2)), rng.normal(size=(50, 2)), 1.0) for _ in range(200)
    ]
    assert abs(np.mean(vals)) < 3 * np.std(vals) / np.sqrt(200)
    assert mmd2_unbiased(rng.normal(size=(50, 2)), rng.normal(3, 1, size=(50, 2)), 1.0) > 0.3


# ---------------------------------------------------------------------- loop


def test_run_design_is_seeded_and_learns_orientation():
    adj = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])
    scm = LinearGaussianSCM(adj, adj * 1.5, noise_std=0.7, value_bounds=(-5, 5))
    h1 = run_design(scm, ExactPosterior(), "greedy", 100, 3, 2, mmd_samples=30, random_state=0)
    h2 = run_design(scm, ExactPosterior(), "greedy", 100, 3, 2, mmd_samples=30, random_state=0)
    assert [m["expected_shd"] for m in h1.metrics] == [m["expected_shd"] for m in h2.metrics]
    assert len(h1.metrics) == 3 and len(h1.designs) == 2
    assert h1.curve("graph_entropy")[-1] < h1.curve("graph_entropy")[0]
    assert h1.curve("expected_shd")[-1] < 0.5


def test_bootstrap_posterior_is_the_exact_posterior_restricted_to_its_support():
    pytest.importorskip("causallearn", reason="needs knowable[design]")
    from knowable.design import BootstrapPosterior

    scm = random_scm(4, "er", "linear", expected_degree=1.0, random_state=1)
    data = scm.sample(150, random_state=0)
    est = BootstrapPosterior(
        n_bootstrap=3, n_extensions=2, graph_prior="uniform", random_state=0
    ).fit(data)
    post = est.posterior_
    exact = ExactPosterior().fit(data).posterior_
    lw = {g.tobytes(): w for g, w in zip(exact.graphs, exact.log_weights, strict=True)}
    restricted = np.array([lw[g.tobytes()] for g in post.graphs])
    np.testing.assert_allclose(
        post.weights(), np.exp(restricted - logsumexp(restricted)), atol=1e-9
    )
    assert expected_shd(post, scm.adjacency) < shd(np.zeros((4, 4)), scm.adjacency)
    assert est.get_params()["learner"] == "pc"
    again = BootstrapPosterior(
        n_bootstrap=3, n_extensions=2, graph_prior="uniform", random_state=0
    ).fit(data)
    np.testing.assert_array_equal(again.support_, est.support_)


def _v_structure_data():
    """0 -> 2 <- 1, 2 -> 3: observations plus a few interventions on every node."""
    adj = np.zeros((4, 4), dtype=int)
    adj[0, 2] = adj[1, 2] = adj[2, 3] = 1
    scm = LinearGaussianSCM(adj, adj * 1.2, noise_std=0.5, value_bounds=(-5, 5))
    data = scm.sample(150, random_state=0)
    mask = np.repeat(np.eye(4), 5, axis=0)
    values = mask * np.tile([4.0, -4.0, 3.0, -3.0, 2.0], 4)[:, None]
    new = scm.sample_designs(mask, values, 1, random_state=1)
    return scm, data.append(new.x, new.mask)


def test_order_search_finds_the_exact_map_from_the_reversed_order():
    from knowable.design import order_search, topological_order

    scm, data = _v_structure_data()
    exact = ExactPosterior(graph_prior="uniform").fit(data).posterior_
    reversed_start = scm.adjacency.T.astype(np.int8)  # every edge reversed: order 3, 2, {0, 1}
    assert topological_order(reversed_start)[0] == 3
    (found,) = order_search(data, [reversed_start], "linear", edge_prior=0.0)
    np.testing.assert_array_equal(found, exact.map_graph())
    np.testing.assert_array_equal(found, scm.adjacency)


def test_one_update_moves_the_support_more_than_one_edge():
    pytest.importorskip("causallearn", reason="needs knowable[design]")
    from knowable.design import BootstrapPosterior

    scm, data = _v_structure_data()
    obs = InterventionalData.observational(data.x[~data.mask.any(axis=1)])
    kw = dict(n_bootstrap=2, n_extensions=1, graph_prior="uniform", random_state=0)
    # support from a fit on observations, pinned to the reversed graph; then one update
    for n_orders, n_iter in ((3, 50), (0, 1)):
        est = BootstrapPosterior(n_order_starts=n_orders, max_search_iter=n_iter, **kw).fit(obs)
        est.support_ = scm.adjacency.T[None].astype(np.int8)
        est.update(data)
        err = shd(est.posterior_.map_graph(), scm.adjacency)
        if n_orders:
            assert err == 0
        else:  # one pass of one-edge moves from a graph 3 reversals away
            assert err >= 2


# ------------------------------------------------------------- shipped data


def test_shipped_dream4_and_sachs_load_with_known_graphs():
    from knowable.design import load_dream4, load_sachs

    dream = load_dream4(1)
    assert dream.observational.x.shape == (115, 10) and dream.pool.x.shape == (20, 10)
    assert dream.truth.sum() == 15
    assert find_cycle(dream.truth) is not None  # gene networks have feedback: not a DAG
    ko = dream.pool.x[:10]
    assert np.all(np.diag(ko) == 0.0)  # knockout row i zeroes gene i
    np.testing.assert_array_equal(dream.pool.mask[:10], np.eye(10, dtype=bool))
    sachs = load_sachs()
    assert sachs.truth.sum() == 20
    assert len(sachs.observational) + len(sachs.pool) == 7466
    assert not sachs.observational.mask.any() and sachs.pool.mask.any(axis=1).all()
    for n in (2, 3, 4, 5):  # the five networks' files differ in layout
        other = load_dream4(n)
        assert other.observational.x.shape == (115, 10) and other.pool.x.shape == (20, 10)
        assert np.isfinite(other.observational.x).all() and 12 <= other.truth.sum() <= 16
    with pytest.raises(ValueError, match="network must be"):
        load_dream4(6)


def test_pool_design_reveals_distinct_rows():
    from knowable.design import RealDesignData, load_dream4, run_pool_design

    dream = load_dream4(2)
    # 10 nodes is beyond exact enumeration: a 3-gene slice with its 6 interventions
    rows = [0, 1, 2, 10, 11, 12]
    obs, pool = dream.observational, dream.pool
    sub = RealDesignData(
        InterventionalData(obs.x[:, :3], obs.mask[:, :3], obs.names[:3]),
        InterventionalData(pool.x[rows][:, :3], pool.mask[rows][:, :3], pool.names[:3]),
        dream.truth[:3, :3],
        "sub",
    )
    for strategy in ("random", "greedy", "soft"):
        h = run_pool_design(sub, ExactPosterior(), strategy, 2, 3, random_state=0)
        picked = [r for d in h.designs for r in d["pool_rows"]]
        assert sorted(picked) == list(range(6))
        assert len(h.metrics) == 4
