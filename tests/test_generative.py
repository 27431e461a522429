"""knowable.generative: CGM oracles, hallucination rates and generative predictive p-values.

Targets are closed forms: exact posterior draws of f for the PHR, the predictive CDF or a label
sum for the THR, the multivariate-t / Gaussian marginal likelihood for the sequential
predictive, the chi-square form of the posterior predictive p-value. Monte Carlo tolerances are
4 standard errors plus, for the Doob estimator, a stated allowance for its finite-completion
bias (it shrinks like 1 / n_generated; measured values are in the comments).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from knowable.generative import (
    BayesianPolynomialRegression,
    BetaBernoulli,
    CategoricalMechanism,
    ConditionalGenerativeModel,
    DirichletCategorical,
    GaussianMechanism,
    GaussianProcessRegression,
    discrepancy_score,
    exact_phr,
    gpv,
    is_hallucination,
    lower_quantile,
    mhr,
    phr,
    posterior_predictive_pvalue,
    thr,
)
from knowable.generative._cgm import excluded_labels


def _task(oracle, n, queries, seed=0):
    """Context of n examples and the true mechanism at ``queries``, f* drawn from the prior."""
    rng = np.random.default_rng(seed)
    prior = oracle.prior_state(1)
    x = oracle.sample_x(prior, n, rng)
    xq = np.asarray(queries, float).reshape(-1, 1)
    mech = oracle.sample_mechanism(prior, np.concatenate([x, xq[None]], axis=1), 1, rng)
    y = mech.sample(rng)[:, 0]
    if isinstance(mech, GaussianMechanism):
        f_star = GaussianMechanism(mech.loc[0, 0, n:], mech.scale[0, 0, n:])
    else:
        f_star = CategoricalMechanism(mech.probs[0, 0, n:])
    return (x[0], y[0, :n]), xq, f_star


def _heldout_task(oracle, n, m, seed, truth=None, noise=0.1):
    rng = np.random.default_rng(seed)
    prior = oracle.prior_state(1)
    x = oracle.sample_x(prior, n + m, rng)
    if truth is None:
        y = oracle.sample_mechanism(prior, x, 1, rng).sample(rng)[:, 0]
    else:
        y = truth(x[..., 0]) + noise * rng.standard_normal(x.shape[:2])
    return (x[0, :n], y[0, :n]), (x[0, n:], y[0, n:])


ORACLES = {
    "nig": BayesianPolynomialRegression(),
    "gp": GaussianProcessRegression(0.5, noise_scale=0.2),
    "dirichlet": DirichletCategorical(3, n_inputs=2),
    "beta": BetaBernoulli(n_inputs=2),
}


# ----------------------------------------------------------------------------- kernels


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.01, 1.0), min_size=2, max_size=6),
    st.floats(0.0, 1.0),
)
def test_excluded_labels_are_the_least_likely_with_mass_below_epsilon(weights, eps):
    probs = np.asarray(weights) / np.sum(weights)
    excl = excluded_labels(probs, eps)
    # brute force: the lower eps-quantile of log p(Y), Y ~ probs
    levels = np.sort(np.unique(probs))
    cdf = np.array([probs[probs <= v].sum() for v in levels])
    q = levels[np.argmax(cdf >= eps - 1e-12)]
    np.testing.assert_array_equal(excl, probs < q)
    assert probs[excl].sum() < eps + 1e-12 or eps == 0
    if eps == 0:
        assert not excl.any()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=30), st.floats(0.0, 1.0))
def test_lower_quantile_is_inf_of_empirical_cdf(values, eps):
    v = np.asarray(values)
    q = lower_quantile(v, eps)
    brute = min((u for u in v if np.mean(v <= u) >= eps - 1e-12), default=np.inf)
    assert q == (-np.inf if eps == 0 else brute)


# ----------------------------------------------------------------------------- oracles


def test_nig_sequential_predictive_is_the_multivariate_t_marginal():
    o = BayesianPolynomialRegression(2, coef_scale=2.0, noise_shape=3.0, noise_rate=0.5)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (1, 7, 1))
    y = rng.normal(size=(1, 7))
    nlml = discrepancy_score(o, o.prior_state(1), x, y, "nlml")[0]
    phi = o.features(x[0])
    shape = (o.noise_rate / o.noise_shape) * (np.eye(7) + o.coef_scale**2 * phi @ phi.T)
    exact = -stats.multivariate_t(np.zeros(7), shape, df=2 * o.noise_shape).logpdf(y[0])
    assert nlml == pytest.approx(exact, rel=1e-9)


def test_gp_sequential_predictive_is_the_gaussian_marginal_and_extend_matches_condition():
    o = GaussianProcessRegression(0.4, noise_scale=0.3)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, 9, 1))
    y = rng.normal(size=(2, 9))
    nlml = discrepancy_score(o, o.prior_state(2), x, y, "nlml")
    for b in range(2):
        cov = o.kernel(x[b : b + 1], x[b : b + 1])[0] + 0.09 * np.eye(9)
        assert nlml[b] == pytest.approx(-stats.multivariate_normal(cov=cov).logpdf(y[b]))
    xq = rng.uniform(-1, 1, (2, 4, 1))
    yq = rng.normal(size=(2, 4))
    grown = o.extend(o.condition(x[:, :3], y[:, :3]), x[:, 3:], y[:, 3:])
    direct = o.condition(x, y)
    np.testing.assert_allclose(o.log_prob_y(grown, yq, xq), o.log_prob_y(direct, yq, xq))


def test_dirichlet_predictive_counts_and_beta_bernoulli_is_its_two_label_case():
    d = DirichletCategorical(2, n_inputs=2, concentration=1.5)
    b = BetaBernoulli(1.5, 1.5, n_inputs=2)
    x = np.array([[[0.0], [0.0], [1.0]]])
    y = np.array([[1.0, 1.0, 0.0]])
    xq = np.array([[[0.0], [1.0]]])
    p = np.exp(d.label_log_probs(d.condition(x, y), xq))[0]
    np.testing.assert_allclose(p, [[1.5 / 5, 3.5 / 5], [2.5 / 4, 1.5 / 4]])
    np.testing.assert_allclose(np.exp(b.label_log_probs(b.condition(x, y), xq))[0], p)
    with pytest.raises(ValueError, match="category codes"):
        d.condition(np.array([[[2.0]]]), np.array([[0.0]]))


@pytest.mark.parametrize("name", ["nig", "gp"])
def test_oracle_completions_are_posterior_draws(name):
    """Doob: the completed predictive mean plus its leftover variance is p(f(x) | D)."""
    o = ORACLES[name]
    ctx, xq, _ = _task(o, 8, [0.2])
    rng = np.random.default_rng(5)
    from knowable.generative import ancestral_complete

    m = 400
    base = o.condition(np.repeat(ctx[0][None], m, 0), np.repeat(ctx[1][None], m, 0))
    z, xz, yz = ancestral_complete(o, base, 40, rng)
    assert xz.shape == (m, 40, 1) and yz.shape == (m, 40)
    draws = o.sample_mechanism(o.condition(ctx[0][None], ctx[1][None]), xq[None], 20000, rng)
    # E over completions of the predictive CDF at a point = P(Y <= t | D): martingale property
    t = np.array([[[0.3]]])
    cdf_z = o.predictive_cdf(z, np.broadcast_to(t, (m, 1, 1)), np.repeat(xq[None], m, 0))
    cdf_d = o.predictive_cdf(o.condition(ctx[0][None], ctx[1][None]), t, xq[None])
    se = cdf_z.std() / np.sqrt(m)
    assert abs(cdf_z.mean() - cdf_d.item()) < 4 * se + 1e-3
    assert draws.loc.shape == (1, 20000, 1)


# ----------------------------------------------------------------------------- PHR


@pytest.mark.parametrize(
    ("name", "small", "large", "allowance"),
    [
        # measured |error| at the large budget: nig 0.002, gp 0.01-0.02, dirichlet 0.004, beta 0.004
        ("nig", (10, 300, 200), (1000, 300, 200), 0.01),
        ("gp", (5, 100, 200), (150, 100, 200), 0.03),
        ("dirichlet", (10, 300, 1), (3000, 300, 1), 0.01),
        ("beta", (10, 300, 1), (3000, 300, 1), 0.01),
    ],
)
def test_doob_estimator_converges_to_exact_phr(name, small, large, allowance):
    o = ORACLES[name]
    queries = [-0.5, 0.0, 0.5] if o.n_classes is None else [0.0, 1.0]
    ctx, xq, _ = _task(o, 10 if o.n_classes is None else 6, queries)
    exact = exact_phr(o, ctx, xq, 0.1, n_draws=20000, random_state=1)
    errs = []
    for n_gen, m, k in (small, large):
        est = phr(o, ctx, xq, 0.1, n_gen, m, k, random_state=2)
        err = np.abs(est.estimate - exact.estimate)
        errs.append(err.mean())
    se = np.sqrt(est.std_error**2 + exact.std_error**2)
    assert np.all(err <= 4 * se + allowance), (err, se)
    assert errs[1] < errs[0]


@pytest.mark.parametrize("name", list(ORACLES))
def test_epsilon_zero_gives_zero_and_one_gives_one(name):
    o = ORACLES[name]
    ctx, xq, _ = _task(o, 5, [0.0, 1.0])
    for method in ("mc", "exact-sum") if o.n_classes else ("mc",):
        est = phr(o, ctx, xq, 0.0, 5, 4, 50, method=method, random_state=0)
        np.testing.assert_array_equal(est.estimate, 0.0)
    np.testing.assert_array_equal(exact_phr(o, ctx, xq, 0.0, random_state=0).estimate, 0.0)
    if o.n_classes is None:  # the likely set of epsilon = 1 is a point: everything is outside
        np.testing.assert_allclose(exact_phr(o, ctx, xq, 1.0, random_state=0).estimate, 1.0)
        est = phr(o, ctx, xq, 1.0, 5, 4, 50, random_state=0)
        np.testing.assert_allclose(est.estimate, 49 / 50, atol=0.05)


@pytest.mark.parametrize("name", ["dirichlet", "beta"])
def test_exact_sum_and_monte_carlo_agree_on_the_same_completions(name):
    o = ORACLES[name]
    ctx, xq, _ = _task(o, 6, [0.0, 1.0])
    # the same seed gives the same completions; only the K response draws differ. epsilon is
    # irrational so that no cumulative label mass (a ratio of small integers) equals it: at such
    # a tie the empirical quantile flips the label in or out with the K-sample noise.
    eps = np.sqrt(0.03)
    exact = phr(o, ctx, xq, eps, 50, 100, method="exact-sum", random_state=3)
    mc = phr(o, ctx, xq, eps, 50, 100, 4000, method="mc", random_state=3)
    se = np.sqrt(np.mean(exact.samples * (1 - exact.samples), axis=0) / (100 * 4000))
    # measured difference 0.001-0.003; 0.01 covers the quantile's rounding at K = 4000
    assert np.all(np.abs(mc.estimate - exact.estimate) <= 4 * se + 0.01)


def test_phr_is_the_posterior_mean_of_thr():
    """PHR = E_{f* ~ p(f|D)} THR(f*): thr on posterior draws reproduces exact_phr's samples."""
    o = ORACLES["nig"]
    ctx, xq, _ = _task(o, 10, [0.3])
    exact = exact_phr(o, ctx, xq, 0.1, n_draws=50, random_state=4)
    draws = o.sample_mechanism(
        o.condition(ctx[0][None], ctx[1][None]), xq[None], 50, np.random.default_rng(4)
    )
    rates = [
        thr(o, ctx, xq, GaussianMechanism(draws.loc[0, s], draws.scale[0, s]), 0.1)
        for s in range(50)
    ]
    np.testing.assert_allclose(np.ravel(rates), exact.samples[:, 0])


class _KnownModel(ConditionalGenerativeModel):
    """A CGM whose predictive ignores the context and equals a fixed f* (no oracle CDF)."""

    def __init__(self, probs=None, loc=0.5, scale=0.3):
        self.probs = probs
        self.loc = loc
        self.scale = scale

    @property
    def n_classes(self):
        return None if self.probs is None else len(self.probs)

    @property
    def n_features(self):
        return 1

    def condition(self, x, y):
        return x.shape[0]

    def extend(self, state, x, y):
        return state

    def sample_x(self, state, n, rng):
        return rng.uniform(-1, 1, (state, n, 1))

    def sample_y(self, state, x, rng, n_samples=None):
        shape = x.shape[:2] + (() if n_samples is None else (n_samples,))
        if self.probs is None:
            return self.loc + self.scale * rng.standard_normal(shape)
        return rng.choice(len(self.probs), size=shape, p=self.probs).astype(float)

    def log_prob_y(self, state, y, x):
        if self.probs is None:
            return stats.norm.logpdf(y, self.loc, self.scale)
        return np.log(np.asarray(self.probs)[y.astype(int)])


def test_thr_when_responses_come_from_f_star_itself():
    ctx = (np.zeros((0, 1)), np.zeros(0))
    # labels: every label of f* has mass > epsilon, so nothing is ever outside: THR = 0 exactly
    probs = [0.6, 0.3, 0.1]
    f_star = CategoricalMechanism(np.array([probs]))
    assert thr(_KnownModel(probs), ctx, [0.0], f_star, 0.05)[0] == 0.0
    draws = np.random.default_rng(0).choice(3, size=(5000, 1), p=probs)
    assert not is_hallucination(f_star, draws, 0.05).any()
    # real-valued: a sample of f* is outside its own (1 - eps)-likely set with probability eps
    g_star = GaussianMechanism(np.array([0.5]), np.array([0.3]))
    rate = thr(_KnownModel(), ctx, [0.0], g_star, 0.05, n_responses=40000, random_state=1)[0]
    assert abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / 40000)
    # and the PHR of a CGM that already knows f* is 0 on labels
    est = phr(_KnownModel(probs), ctx, [0.0], 0.05, 5, 10, method="exact-sum", random_state=0)
    assert est.estimate[0] == 0.0


def test_mhr_approaches_thr_with_many_real_heldout_examples():
    o = ORACLES["nig"]
    rng = np.random.default_rng(6)
    prior = o.prior_state(1)
    x = o.sample_x(prior, 4000, rng)
    xq = np.array([[[0.1], [0.6]]])
    mech = o.sample_mechanism(prior, np.concatenate([x, xq], 1), 1, rng)
    y = mech.sample(rng)[:, 0]
    ctx, held = (x[0, :8], y[0, :8]), (x[0, 8:], y[0, 8:4000])
    f_star = GaussianMechanism(mech.loc[0, 0, 4000:], mech.scale[0, 0, 4000:])
    truth = thr(o, ctx, xq[0], f_star, 0.1)
    model = mhr(o, ctx, xq[0], held, 0.1, n_responses=20000, random_state=7)
    assert np.all(np.abs(model - truth) < 0.02), (model, truth)


def test_phr_validates_its_inputs():
    o = ORACLES["nig"]
    ctx, xq, _ = _task(o, 4, [0.0])
    with pytest.raises(ValueError, match="exact-sum"):
        phr(o, ctx, xq, method="exact-sum")
    with pytest.raises(ValueError, match="epsilon"):
        phr(o, ctx, xq, 1.5)
    with pytest.raises(ValueError, match="rows"):
        phr(o, (ctx[0], ctx[1][:2]), xq)
    with pytest.raises(TypeError, match="ConditionalGenerativeModel"):
        phr(object(), ctx, xq)
    with pytest.raises(ValueError, match="n_completions"):
        phr(o, ctx, xq, n_completions=1)


# ----------------------------------------------------------------------------- p-values


@pytest.mark.parametrize("kind", ["nll", "nlml"])
def test_lite_pvalues_are_uniform_under_the_oracle(kind):
    """Data from the prior: p-values uniform (KS over 150 seeds, rejected only at alpha = 0.01)."""
    o = ORACLES["nig"]
    ps = [
        gpv(
            o,
            *_heldout_task(o, 10, 8, s),
            discrepancy=kind,
            variant="lite",
            n_completions=100,
            random_state=s,
        ).p_value
        for s in range(150)
    ]
    assert stats.kstest(ps, "uniform").pvalue > 0.01


@pytest.mark.parametrize("name", ["tight_nig", "gp"])
@pytest.mark.parametrize("variant", ["full", "lite"])
def test_pvalues_go_to_zero_under_misspecification(name, variant):
    o = {
        "tight_nig": BayesianPolynomialRegression(noise_shape=20.0, noise_rate=0.19),
        "gp": GaussianProcessRegression(),
    }[name]
    sine = lambda x: np.sin(12 * np.pi * x)  # noqa: E731 - far outside both priors
    for seed in range(3):
        ctx, held = _heldout_task(o, 20, 20, seed, truth=sine)
        res = gpv(
            o, ctx, held, variant=variant, n_generated=30, n_completions=100, random_state=seed
        )
        assert res.p_value <= 0.02 and res.out_of_capability


def test_generative_pvalue_converges_to_the_closed_form_posterior_predictive_pvalue():
    o = ORACLES["nig"]
    ctx, held = _heldout_task(o, 10, 10, 11)
    exact = posterior_predictive_pvalue(o, ctx, held, random_state=0)
    short = gpv(o, ctx, held, n_generated=2, n_completions=3000, random_state=1)
    long = gpv(o, ctx, held, n_generated=300, n_completions=3000, random_state=1)
    # measured: exact 0.25, long 0.25 (se 0.008), short 0.31
    assert abs(long.p_value - exact.p_value) <= 4 * np.hypot(long.std_error, exact.std_error) + 0.01
    assert abs(short.p_value - exact.p_value) > abs(long.p_value - exact.p_value)


def test_label_oracle_pvalue_converges_to_its_posterior_predictive_pvalue():
    o = DirichletCategorical(3, n_inputs=2)
    ctx, held = _heldout_task(o, 8, 12, 3)
    exact = posterior_predictive_pvalue(o, ctx, held, n_draws=20000, random_state=0)
    long = gpv(o, ctx, held, n_generated=2000, n_completions=2000, random_state=1)
    assert abs(long.p_value - exact.p_value) <= 4 * np.hypot(long.std_error, exact.std_error) + 0.01


def test_gpv_validates_and_reports():
    o = ORACLES["nig"]
    ctx, held = _heldout_task(o, 5, 3, 0)
    res = gpv(o, ctx, held, n_generated=3, n_completions=10, alpha=0.1, random_state=0)
    assert res.to_dict()["out_of_capability"] == (res.p_value <= 0.1)
    assert res.observed.shape == res.replicated.shape == (10,)
    with pytest.raises(ValueError, match="discrepancy"):
        gpv(o, ctx, held, discrepancy="kl")
    with pytest.raises(ValueError, match="heldout is empty"):
        gpv(o, ctx, (np.zeros((0, 1)), np.zeros(0)))
    with pytest.raises(ValueError, match="alpha"):
        gpv(o, ctx, held, alpha=1.0)
