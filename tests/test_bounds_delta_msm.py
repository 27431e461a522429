"""δMSM (Marmarelis et al. 2023) dose-response bounds: kernels, worked values, estimator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from knowable.bounds import (
    BetaPropensity,
    ContinuousMSMBounds,
    DeltaMSMBounds,
    capo_bound_from_samples,
    delta_msm_factors,
    delta_msm_factors_beta,
    delta_msm_factors_gaussian,
    gamma_from_covariates,
    gaussian_abs_power_moment,
    pooled_box_bound,
)
from knowable.data import simulate_dose_response
from knowable.effects import DoseResponse, TreatmentDensity

# --------------------------------------------------------------------------- worked values


def test_beta_worked_example_from_the_notes():
    # notes §3.3: ᾱ=2, β̄=3, r=3, t=0.25, Γ=1.5 ⇒ q = Beta(2.75, 5.25)
    lg = np.log(1.5)
    assert special.hyp1f1(2.75, 8.0, -lg) == pytest.approx(0.87168, abs=5e-6)
    assert special.hyp1f1(2.75, 8.0, lg) == pytest.approx(1.15195, abs=5e-6)
    lo, hi = delta_msm_factors_beta(2.0, 3.0, 0.25, 1.5, precision=3.0, correction="paper")
    assert (lo, hi) == (pytest.approx(0.82961, abs=5e-6), pytest.approx(1.19710, abs=5e-6))
    lo, hi = delta_msm_factors_beta(2.0, 3.0, 0.25, 1.5, precision=3.0, correction="code2022")
    assert (lo, hi) == (pytest.approx(0.82345, abs=5e-6), pytest.approx(1.19402, abs=5e-6))
    # symmetric: the paper's upper end, and half the code's extra term on the lower end
    lo, hi = delta_msm_factors_beta(2.0, 3.0, 0.25, 1.5, precision=3.0)
    assert hi == pytest.approx(1.19710, abs=5e-6)
    second = 0.5 * lg**2 * 1.5**0.25 * 0.033854
    assert lo == pytest.approx(0.82961 - second, abs=5e-6)
    # the default precision is the nominal one, ᾱ + β̄ − 2 = 3 here
    assert delta_msm_factors_beta(2.0, 3.0, 0.25, 1.5) == pytest.approx((lo, hi))


def test_beta_moments_are_those_of_the_compound_q():
    # E_q[τ − t] = 0.09375, E_q[(τ − t)²] = 0.03385 (notes), checked against quadrature
    q = stats.beta(2.75, 5.25)
    assert q.mean() - 0.25 == pytest.approx(0.09375, abs=1e-6)
    assert q.expect(lambda u: (u - 0.25) ** 2) == pytest.approx(0.03385, abs=1e-5)
    # with correction terms isolated: d̄(paper) − E[Γ^τ] = logΓ Γ^t |m1| + ½log²Γ Γ^t m2
    lg = np.log(1.5)
    _, hi = delta_msm_factors_beta(2.0, 3.0, 0.25, 1.5, precision=3.0, correction="paper")
    expected = lg * 1.5**0.25 * 0.09375 + 0.5 * lg**2 * 1.5**0.25 * q.expect(
        lambda u: (u - 0.25) ** 2
    )
    assert hi - q.expect(lambda u: 1.5**u) == pytest.approx(expected, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    mu=st.floats(-2.0, 2.0),
    sd=st.floats(0.05, 2.0),
    gamma=st.floats(1.0, 4.0),
    sign=st.sampled_from([1, -1]),
)
def test_gaussian_closed_form_matches_quadrature(mu, sd, gamma, sign):
    got = float(gaussian_abs_power_moment(mu, sd, np.log(gamma), sign))
    num = integrate.quad(
        lambda u: gamma ** (sign * abs(u)) * stats.norm.pdf(u, mu, sd),
        mu - 12 * sd,
        mu + 12 * sd,
        points=[0.0] if abs(mu) < 12 * sd else None,
        limit=200,
    )[0]
    assert got == pytest.approx(num, rel=1e-7, abs=1e-10)


def test_gaussian_closed_form_has_the_corrected_factor_half():
    # the printed Table-1 row (without ½) equals 2 at Γ = 1; the corrected one equals 1
    mu, sd = 0.4, 0.8
    assert float(gaussian_abs_power_moment(mu, sd, 0.0, 1)) == pytest.approx(1.0, abs=1e-14)
    lg = np.log(2.0)
    z = lambda s: (mu + s * sd**2 * lg) / (np.sqrt(2) * sd)  # noqa: E731
    printed = np.exp(sd**2 * lg**2 / 2) * (
        2.0**mu * (1 + special.erf(z(1))) + 2.0**-mu * (1 - special.erf(z(-1)))
    )
    assert float(gaussian_abs_power_moment(mu, sd, lg, 1)) == pytest.approx(printed / 2, rel=1e-12)
    printed_at_one = (
        1 + special.erf(mu / (np.sqrt(2) * sd)) + 1 - special.erf(mu / (np.sqrt(2) * sd))
    )
    assert printed_at_one == pytest.approx(2.0)


def test_gaussian_mixture_compound_moments_match_quadrature():
    w, loc, sc = np.array([[0.3, 0.7]]), np.array([[-0.5, 0.8]]), np.array([[0.4, 0.6]])
    t, sw, gamma, a = 0.3, 0.5, 1.7, 0.1

    def p(u):
        return sum(w[0, k] * stats.norm.pdf(u, loc[0, k], sc[0, k]) for k in range(2))

    def q_int(f):
        z = integrate.quad(lambda u: np.exp(-((u - t) ** 2) / (2 * sw**2)) * p(u), -10, 10)[0]
        return integrate.quad(
            lambda u: f(u) * np.exp(-((u - t) ** 2) / (2 * sw**2)) * p(u) / z, -10, 10, points=[a]
        )[0]

    e_minus = q_int(lambda u: gamma ** -abs(u - a))
    e_plus = q_int(lambda u: gamma ** abs(u - a))
    m1, m2 = q_int(lambda u: u - t), q_int(lambda u: (u - t) ** 2)
    expected = delta_msm_factors(e_minus, e_plus, m1, m2, t - a, gamma)
    got = delta_msm_factors_gaussian(w, loc, sc, t, gamma, window_scale=sw, anchor=a)
    np.testing.assert_allclose(np.ravel(got), np.ravel(expected), rtol=1e-7)


# --------------------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(
    mu=st.floats(-1.0, 1.0),
    sd=st.floats(0.1, 1.5),
    t=st.floats(-1.0, 1.0),
    sw=st.floats(0.05, 1.0),
    correction=st.sampled_from(["symmetric", "paper", "code2022"]),
)
def test_factors_are_one_at_gamma_one_and_widen_in_gamma(mu, sd, t, sw, correction):
    gammas = np.array([1.0, 1.1, 1.3, 1.7, 2.5])
    lo, hi = delta_msm_factors_gaussian(
        [[1.0]], [[mu]], [[sd]], t, gammas, window_scale=sw, correction=correction
    )
    lo, hi = lo[:, 0], hi[:, 0]
    assert lo[0] == pytest.approx(1.0, abs=1e-12) and hi[0] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(lo) < 0) and np.all(np.diff(hi) > 0)


def test_beta_factors_widen_in_gamma_both_variants():
    gammas = np.linspace(1.0, 3.0, 9)
    for variant in ("anchored", "balanced"):
        lo, hi = delta_msm_factors_beta(
            np.array([2.0, 5.0]), np.array([3.0, 1.5]), 0.6, gammas, variant=variant
        )
        assert np.allclose(lo[0], 1.0) and np.allclose(hi[0], 1.0)
        assert np.all(np.diff(lo, axis=0) < 0) and np.all(np.diff(hi, axis=0) > 0)


def test_balanced_is_the_dose_weighted_mixture_of_the_two_anchors():
    w, loc, sc = [[1.0]], [[0.4]], [[0.3]]
    t, g = 0.25, 1.8
    a0 = delta_msm_factors_gaussian(w, loc, sc, t, g, window_scale=0.2, anchor=0.0)
    a1 = delta_msm_factors_gaussian(w, loc, sc, t, g, window_scale=0.2, anchor=1.0)
    bal = delta_msm_factors_gaussian(
        w, loc, sc, t, g, window_scale=0.2, variant="balanced", domain=(0.0, 1.0)
    )
    for k in range(2):
        assert bal[k].item() == pytest.approx(0.25 * a0[k].item() + 0.75 * a1[k].item())


def test_factors_depend_on_the_propensity():
    # unlike the CMSM, the δMSM bound moves with p(t | x) (through q)
    a = delta_msm_factors_gaussian([[1.0]], [[0.0]], [[0.5]], 0.5, 2.0, window_scale=0.3)
    b = delta_msm_factors_gaussian([[1.0]], [[1.0]], [[0.5]], 0.5, 2.0, window_scale=0.3)
    assert abs(a[1].item() - b[1].item()) > 1e-3


def test_narrow_window_gives_the_cmsm_ratio_gamma_to_the_abs_dose():
    t, g = np.array([-0.7, 0.0, 0.4, 1.2]), 2.0
    lo, hi = delta_msm_factors_gaussian(
        np.ones((4, 1)), np.zeros((4, 1)), np.ones((4, 1)), t, g, window_scale=1e-7
    )
    np.testing.assert_allclose(lo, g ** -np.abs(t), rtol=1e-6)
    np.testing.assert_allclose(hi, g ** np.abs(t), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 8),
    side=st.sampled_from(["upper", "lower"]),
)
def test_pooled_box_bound_equals_brute_force_over_vertices(seed, n, side):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    lo = rng.uniform(0.2, 1.0, n)
    hi = lo * rng.uniform(1.0, 3.0, n)
    vals = [
        (np.where(v, hi, lo) * y).sum() / np.where(v, hi, lo).sum()
        for v in itertools.product([False, True], repeat=n)
    ]
    best = max(vals) if side == "upper" else min(vals)
    assert pooled_box_bound(y, lo, hi, side) == pytest.approx(best, rel=1e-12, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.floats(-1.5, 1.5), gamma=st.floats(1.01, 3.0))
def test_delta_msm_admissible_ratios_stay_inside_the_cmsm_at_gamma_abs_t(seed, t, gamma):
    # model-level containment (notes §1.1): any ratio Λ(t | y) = exp(∫_0^t γ(τ, y) dτ),
    # |γ| ≤ log Γ, gives a CAPO inside the CMSM bound with Λ = Γ^|t| (brute force)
    rng = np.random.default_rng(seed)
    y = rng.normal(size=300)
    a, b, c = rng.normal(size=3) * 3
    taus = np.linspace(0.0, t, 201)
    gam = np.log(gamma) * np.tanh(a * y[:, None] + b * taus[None, :] + c)  # (m, τ)
    log_ratio = integrate.trapezoid(gam, taus, axis=1)
    w = np.exp(-log_ratio)  # p(y_t | x) ∝ p(y | t, x) / Λ(t | y)
    capo = (w * y).sum() / w.sum()
    lam = gamma ** abs(t)
    lo = capo_bound_from_samples(y, lam, "lower", y.mean())
    hi = capo_bound_from_samples(y, lam, "upper", y.mean())
    assert lo - 1e-10 <= capo <= hi + 1e-10


# --------------------------------------------------------------------------- estimator


@pytest.fixture(scope="module")
def fitted():
    ds = simulate_dose_response(n=300, random_state=0)
    model = DoseResponse(n_members=2, max_epochs=3, random_state=0).fit(ds.x, ds.t, ds.y)
    gps = TreatmentDensity(n_members=2, max_epochs=3, random_state=0).fit(ds.x, ds.t)
    return ds, model, gps


def test_collapse_to_the_point_curve_at_gamma_one(fitted):
    ds, model, gps = fitted
    grid = [0.2, 0.5, 0.8]
    point = model.dose_response(grid).mean
    for apo in ("average", "pooled"):
        for variant in ("anchored", "balanced"):
            b = DeltaMSMBounds(model, gps, variant=variant, apo=apo, random_state=0)
            res = b.dose_response(grid, [1.0, 1.5], X=ds.x[:60])
            np.testing.assert_allclose(res.lower[0], res.point, atol=0)
            np.testing.assert_allclose(res.upper[0], res.point, atol=0)
            assert np.all(res.lower[1] < res.point) and np.all(res.upper[1] > res.point)
    np.testing.assert_allclose(
        DeltaMSMBounds(model, gps).dose_response(grid, 1.0).point, point, rtol=1e-10
    )


def test_bounds_widen_monotonically_in_gamma(fitted):
    ds, model, gps = fitted
    gammas = [1.0, 1.2, 1.5, 2.0, 3.0]
    for apo in ("average", "pooled"):
        res = DeltaMSMBounds(model, gps, apo=apo, random_state=1).dose_response(
            [0.3, 0.7], gammas, X=ds.x[:50]
        )
        assert np.all(np.diff(res.lower, axis=0) <= 1e-12)
        assert np.all(np.diff(res.upper, axis=0) >= -1e-12)
        assert np.all(np.diff(res.upper - res.lower, axis=0) > 0)


def test_capo_is_overcast_with_the_effective_alpha_prime(fitted):
    ds, model, gps = fitted
    x, t, g = ds.x[:20], 0.6, 1.8
    est = DeltaMSMBounds(model, gps, n_samples=200, random_state=3)
    lo, hi = est.capo(x, t, g)
    d_lo, d_hi = est.factors(x, t, g)
    y, mu = model.outcome_draws(x, t, 200, np.random.default_rng(3), return_mean=True)
    lam_eff = np.sqrt(d_hi / d_lo)  # α' = d̲/(d̄ − d̲) = 1/(Λ_eff² − 1)
    for i in range(x.shape[0]):
        for s in range(y.shape[0]):
            assert lo[s, i] == pytest.approx(
                capo_bound_from_samples(y[s, i], lam_eff[i], "lower", mu[s, i]), rel=1e-9
            )
            assert hi[s, i] == pytest.approx(
                capo_bound_from_samples(y[s, i], lam_eff[i], "upper", mu[s, i]), rel=1e-9
            )


def test_anchored_capo_inside_cmsm_at_gamma_abs_t_in_the_narrow_window_limit(fitted):
    ds, model, gps = fitted
    x, g = ds.x[:30], 2.0
    for t in (0.25, 0.6, 0.9):
        d = DeltaMSMBounds(model, gps, window_scale=1e-7, random_state=5).capo(x, t, g)
        c = ContinuousMSMBounds(model, random_state=5).capo(x, t, g ** abs(t))
        assert np.all(d[0] >= c[0] - 1e-6) and np.all(d[1] <= c[1] + 1e-6)
        np.testing.assert_allclose(d[0], c[0], atol=1e-5)
        np.testing.assert_allclose(d[1], c[1], atol=1e-5)
        # and strictly inside the CMSM at the same Γ (Γ^|t| < Γ on (0, 1))
        c_same = ContinuousMSMBounds(model, random_state=5).capo(x, t, g)
        assert np.all(c_same[1] - c_same[0] > d[1] - d[0])


def test_window_free_factors_are_gamma_to_the_abs_dose():
    t, g = np.array([0.1, 0.4, 0.9]), 1.7
    for variant in ("anchored", "balanced"):
        lo, hi = delta_msm_factors_beta(
            np.full(3, 2.0), np.full(3, 3.0), t, g, variant=variant, correction="window_free"
        )
        if variant == "anchored":
            exp_lo, exp_hi = g**-t, g**t
        else:  # anchors 0 (weight t) and 1 (weight 1 − t)
            exp_lo = t * g**-t + (1 - t) * g ** -(1 - t)
            exp_hi = t * g**t + (1 - t) * g ** (1 - t)
        np.testing.assert_allclose(lo, exp_lo, rtol=1e-14)
        np.testing.assert_allclose(hi, exp_hi, rtol=1e-14)
    lo, hi = delta_msm_factors_gaussian(
        np.ones((3, 1)),
        np.zeros((3, 1)),
        np.ones((3, 1)),
        t,
        g,
        anchor=0.2,
        correction="window_free",
    )
    np.testing.assert_allclose(lo, g ** -np.abs(t - 0.2), rtol=1e-14)
    np.testing.assert_allclose(hi, g ** np.abs(t - 0.2), rtol=1e-14)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    k=st.integers(1, 4),
    s=st.floats(-2.0, 2.0),
    log_gamma=st.floats(0.0, 2.0),
    correction=st.sampled_from(["symmetric", "paper", "code2022"]),
)
def test_every_taylor_window_is_at_least_as_wide_as_the_window_free_bound(
    seed, k, s, log_gamma, correction
):
    # For any compound density q (here: k atoms anywhere, t − a = s), the Taylor-window
    # factors satisfy d̄ ≥ Γ^|s| and d̄/d̲ ≥ Γ^{2|s|}, so the CAPO bound (which depends on
    # d̄/d̲ only) contains the CMSM(Γ^|s|) bound on the same draws.
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k, 0.5))
    u = rng.normal(s, rng.uniform(0.01, 3.0), k)  # τ − a at the atoms
    lg = log_gamma
    e_minus, e_plus = (p * np.exp(-lg * np.abs(u))).sum(), (p * np.exp(lg * np.abs(u))).sum()
    m1, m2 = (p * (u - s)).sum(), (p * (u - s) ** 2).sum()
    lo, hi = delta_msm_factors(e_minus, e_plus, m1, m2, s, np.exp(lg), correction)
    assert hi >= np.exp(lg * abs(s)) * (1 - 1e-12)
    if lo > 1e-8:  # else the bound is the extreme draw (wider still)
        assert np.log(hi / lo) >= 2 * lg * abs(s) - 1e-10


def test_window_free_anchored_delta_msm_equals_the_cmsm_at_gamma_abs_t(fitted):
    # the correctly specified comparison: same model, same draws, no Taylor step
    ds, model, gps = fitted
    x, g = ds.x[:30], 2.0
    for t in (0.15, 0.5, 0.85):
        d = DeltaMSMBounds(model, gps, correction="window_free", random_state=5).capo(x, t, g)
        c = ContinuousMSMBounds(model, random_state=5).capo(x, t, g ** abs(t))
        np.testing.assert_allclose(d[0], c[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(d[1], c[1], rtol=1e-12, atol=1e-12)
        dr = DeltaMSMBounds(model, gps, correction="window_free", random_state=6).dose_response(
            [t], g, X=x
        )
        cr = ContinuousMSMBounds(model, random_state=6).dose_response([t], g ** abs(t), X=x)
        np.testing.assert_allclose([dr.lower, dr.upper], [cr.lower, cr.upper], rtol=1e-12)


def test_taylor_window_delta_msm_contains_the_cmsm_at_gamma_abs_t(fitted):
    # the estimator-level relation for a finite window is the reverse containment
    ds, model, gps = fitted
    x, g = ds.x[:30], 2.0
    for correction in ("symmetric", "paper", "code2022"):
        for t in (0.15, 0.5, 0.85):
            d = DeltaMSMBounds(model, gps, correction=correction, random_state=5).capo(x, t, g)
            c = ContinuousMSMBounds(model, random_state=5).capo(x, t, g ** abs(t))
            assert np.all(d[0] <= c[0] + 1e-10) and np.all(d[1] >= c[1] - 1e-10)
            assert np.mean(d[1] - d[0] > c[1] - c[0] + 1e-9) > 0.9  # and strictly wider


def test_beta_propensity_recovers_a_linear_beta_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    a = 100 * special.expit(-3.0 + 0.6 * x[:, 0])
    b = 100 * special.expit(-2.5 - 0.4 * x[:, 1])
    t = rng.beta(a, b)
    fit = BetaPropensity().fit(x, t)
    a_hat, b_hat = fit.beta_params(x)
    assert np.median(np.abs(a_hat / a - 1)) < 0.1 and np.median(np.abs(b_hat / b - 1)) < 0.1
    ll_true = stats.beta.logpdf(t, a, b).mean()
    assert fit.log_density(x, t).mean() > ll_true - 0.01


def test_beta_propensity_path_runs_with_the_balanced_variant(fitted):
    ds, model, _ = fitted
    bp = BetaPropensity().fit(ds.x, ds.t)
    res = DeltaMSMBounds(model, bp, variant="balanced", precision=20.0, random_state=0)
    out = res.dose_response([0.2, 0.5], [1.0, 1.3], X=ds.x[:40])
    assert np.all(out.lower[1] < out.point) and np.all(out.upper[1] > out.point)


def test_gamma_from_covariates_ranks_the_strong_confounder_first():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 3))
    t = 1.0 * x[:, 0] + 0.3 * x[:, 1] + 0.5 * rng.normal(size=2000)
    for model in ("delta", "cmsm"):
        res = gamma_from_covariates(x, t, model=model)
        assert res.per_covariate.argmax() == 0 and res.value == res.per_covariate[0]
        assert res.per_covariate[2] < res.per_covariate[1] < res.per_covariate[0]
        assert res.per_covariate[2] < 1.2  # the max over 2000 units of a null ratio


# --------------------------------------------------------------------------- bad input


def test_gamma_below_one_is_refused(fitted):
    _, model, gps = fitted
    with pytest.raises(ValueError, match="gamma must be >= 1"):
        DeltaMSMBounds(model, gps).dose_response([0.5], 0.9)
    with pytest.raises(ValueError, match="gamma must be >= 1"):
        delta_msm_factors_beta(2.0, 3.0, 0.5, [1.0, 0.5])
    with pytest.raises(ValueError, match="gamma must be >= 1"):
        DeltaMSMBounds(model, gps).capo(np.zeros((2, model.X_fit_.shape[1])), 0.5, 0.99)


def test_treatment_outside_the_density_support_is_refused(fitted):
    ds, model, gps = fitted
    with pytest.raises(ValueError, match="outside the support of the fitted propensity"):
        DeltaMSMBounds(model, gps).dose_response([0.5, 1.4], 1.5)
    with pytest.raises(ValueError, match="outside the support of the fitted propensity"):
        DeltaMSMBounds(model, gps).capo(ds.x[:3], -0.2, 1.5)
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        delta_msm_factors_beta(2.0, 3.0, 1.2, 1.5)
    bp = BetaPropensity().fit(ds.x, ds.t)  # support [0, 1]
    with pytest.raises(ValueError, match="outside the support of the fitted propensity"):
        DeltaMSMBounds(model, bp).capo(ds.x[:3], 1.2, 1.5)


def test_zero_width_trust_window_is_refused(fitted):
    ds, model, gps = fitted
    with pytest.raises(ValueError, match="zero width"):
        DeltaMSMBounds(model, gps, window_scale=0.0).capo(ds.x[:3], 0.5, 1.5)
    with pytest.raises(ValueError, match="zero width"):
        delta_msm_factors_beta(2.0, 3.0, 0.5, 1.5, precision=np.inf)
    with pytest.raises(ValueError, match="zero width"):
        delta_msm_factors_gaussian([[1.0]], [[0.0]], [[1.0]], 0.5, 1.5, window_scale=0.0)
    bp = BetaPropensity().fit(ds.x, ds.t)
    with pytest.raises(ValueError, match=r"zero width.*window_free"):
        DeltaMSMBounds(model, bp, precision=0.0).capo(ds.x[:3], 0.5, 1.5)
