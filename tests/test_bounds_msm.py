"""Numerics of knowable.bounds.msm: closed-form tables, sorting = brute force, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, stats

from knowable.bounds import msm
from knowable.testing import bound_from_samples_bruteforce

E2 = float(np.e**2)
SQE = float(np.exp(0.5))

# §0.5 of the method notes: (e_t, Λ, α', Kallus μ⁺, sharp ψ⁺) for Y ~ N(0, 1)
TABLE_05 = [
    (0.5, SQE, 1.5415, 0.1993, 0.1980),
    (0.5, 2.0, 1.0000, 0.2760, 0.2727),
    (0.5, float(np.e), 0.5820, 0.3975, 0.3878),
    (0.5, E2, 0.1565, 0.7865, 0.7221),
    (0.2, 2.0, 0.5000, 0.4363, 0.4363),
    (0.8, 2.0, 3.0000, 0.1147, 0.1091),
    (0.8, float(np.e), 1.8584, 0.1716, 0.1551),
    (0.8, E2, 0.5701, 0.4026, 0.2888),
]
# §0.4: c(Λ) for σ = 1
TABLE_C = [(SQE, 0.3960), (2.0, 0.5454), (float(np.e), 0.7756), (E2, 1.4442)]


def _kallus_scipy(e_t: float, lam: float) -> float:
    """Independent reference: maximise φ(h)/(α' + Φ̄(h)) with scipy."""
    a = float(msm.msm_weights(e_t, lam)[2])
    res = optimize.minimize_scalar(
        lambda h: -stats.norm.pdf(h) / (a + stats.norm.sf(h)),
        bounds=(-3.0, 6.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return float(-res.fun)


def _sharp_quad(e_t: float, lam: float) -> float:
    """Independent reference: CVaR by numerical integration."""
    tau = lam / (1 + lam)
    q = stats.norm.ppf(tau)
    tail, _ = integrate.quad(lambda y: y * stats.norm.pdf(y), q, np.inf, epsabs=1e-13)
    cvar = tail / (1 - tau)
    return (1 - e_t) * (1 - 1 / lam) * cvar


# --------------------------------------------------------------------------- weights
def test_msm_weights_formulas_and_arm0() -> None:
    alpha, beta, a_prime = msm.msm_weights(0.5, 2.0)
    assert alpha == pytest.approx(1 / (2 * 0.5) + 1 - 0.5)
    assert beta == pytest.approx(2 / 0.5 + 1 - 2)
    assert a_prime == pytest.approx(1.0)
    e = np.array([0.2, 0.7])
    a1 = msm.msm_weights(e, 3.0, arm=1)
    a0 = msm.msm_weights(1 - e, 3.0, arm=1)
    b0 = msm.msm_weights(e, 3.0, arm=0)
    for x, y in zip(a0, b0, strict=True):
        np.testing.assert_allclose(x, y)
    # 1/α is the largest complete propensity Λe/(1 + (Λ−1)e)
    np.testing.assert_allclose(1 / a1[0], 3 * e / (1 + 2 * e))
    np.testing.assert_allclose(1 / a1[1], e / (3 * (1 - e) + e))


def test_msm_weights_table_alpha_prime_and_lambda_one() -> None:
    for e_t, lam, a_ref, _, _ in TABLE_05:
        assert float(msm.msm_weights(e_t, lam)[2]) == pytest.approx(a_ref, abs=1e-4)
    alpha, beta, a_prime = msm.msm_weights([0.3, 0.6], [1.0, 2.0])
    assert alpha.shape == (2, 2)
    np.testing.assert_array_equal(alpha[0], beta[0])
    assert np.isinf(a_prime[0]).all()


# --------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize(("e_t", "lam", "a_ref", "kallus_ref", "sharp_ref"), TABLE_05)
def test_closed_form_table(e_t, lam, a_ref, kallus_ref, sharp_ref) -> None:
    k = float(msm.kallus_bound_gaussian(0.0, 1.0, e_t, lam))
    s = float(msm.sharp_bound_gaussian(0.0, 1.0, e_t, lam))
    # table values are rounded to 4 digits
    assert k == pytest.approx(kallus_ref, abs=5e-5)
    assert s == pytest.approx(sharp_ref, abs=5e-5)
    # exact against independent scipy computations
    assert k == pytest.approx(_kallus_scipy(e_t, lam), abs=1e-6)
    assert s == pytest.approx(_sharp_quad(e_t, lam), abs=1e-6)
    # ratio ≥ sharp; lower bound by symmetry
    assert k >= s - 1e-12
    assert float(msm.kallus_bound_gaussian(0.0, 1.0, e_t, lam, "lower")) == pytest.approx(-k)


def test_headline_values_exact() -> None:
    assert float(msm.kallus_bound_gaussian(0.0, 1.0, 0.5, 2.0)) == pytest.approx(
        0.2760298048, abs=1e-6
    )
    assert float(msm.sharp_bound_gaussian(0.0, 1.0, 0.5, 2.0)) == pytest.approx(
        0.2726998310, abs=1e-6
    )


@pytest.mark.parametrize(("lam", "c_ref"), TABLE_C)
@pytest.mark.parametrize("e", [0.1, 0.5, 0.83])
def test_homoskedastic_sharp_cate_is_tau_plus_minus_c(lam, c_ref, e) -> None:
    mu1, mu0 = 1.3, -0.4
    up1 = msm.sharp_bound_gaussian(mu1, 1.0, e, lam, "upper", arm=1)
    lo1 = msm.sharp_bound_gaussian(mu1, 1.0, e, lam, "lower", arm=1)
    up0 = msm.sharp_bound_gaussian(mu0, 1.0, e, lam, "upper", arm=0)
    lo0 = msm.sharp_bound_gaussian(mu0, 1.0, e, lam, "lower", arm=0)
    lower, upper = msm.cate_bounds(up1, lo1, up0, lo0)
    assert float(upper) - (mu1 - mu0) == pytest.approx(c_ref, abs=5e-5)
    assert (mu1 - mu0) - float(lower) == pytest.approx(c_ref, abs=5e-5)
    tau = lam / (1 + lam)
    c_exact = (1 - 1 / lam) * stats.norm.pdf(stats.norm.ppf(tau)) / (1 - tau)
    assert float(upper) - (mu1 - mu0) == pytest.approx(c_exact, abs=1e-9)


def test_cmsm_style_values_via_alpha_prime() -> None:
    # Sharp ψ⁺ with e_t → 0 equals c(Λ) (the CMSM column of §0.5).
    assert float(msm.sharp_bound_gaussian(0.0, 1.0, 1e-12, 2.0)) == pytest.approx(0.5454, abs=5e-5)


def test_kallus_threshold_equals_bound() -> None:
    # At the optimum the threshold equals the bound: g(μ⁺) = μ⁺.
    e_t, lam = 0.5, 2.0
    b = float(msm.kallus_bound_gaussian(0.0, 1.0, e_t, lam))
    a = float(msm.msm_weights(e_t, lam)[2])
    g = stats.norm.pdf(b) / (a + stats.norm.sf(b))
    assert g == pytest.approx(b, abs=1e-10)


def test_gaussian_location_scale_and_arm0() -> None:
    mu, sigma, e = np.array([0.5, -1.0]), np.array([2.0, 0.5]), np.array([0.3, 0.7])
    unit = msm.kallus_bound_gaussian(0.0, 1.0, e, 2.5)
    np.testing.assert_allclose(msm.kallus_bound_gaussian(mu, sigma, e, 2.5), mu + sigma * unit)
    np.testing.assert_allclose(
        msm.sharp_bound_gaussian(mu, sigma, e, 2.5, arm=0),
        msm.sharp_bound_gaussian(mu, sigma, 1 - e, 2.5, arm=1),
    )


def test_mixture_closed_forms_match_many_draws() -> None:
    w, loc, sc = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([1.0, 0.5])
    rng = np.random.default_rng(3)
    comp = rng.random(400_000) < 0.3
    y = np.where(
        comp, -1 + rng.standard_normal(comp.size), 2 + 0.5 * rng.standard_normal(comp.size)
    )
    mean = float((w * loc).sum())
    for side in ("upper", "lower"):
        k = msm.kallus_bound_mixture(w, loc, sc, 0.4, 2.0, side)
        s = msm.sharp_bound_mixture(w, loc, sc, 0.4, 2.0, side)
        assert float(msm.bound_from_samples(y, 0.4, 2.0, side, mean)) == pytest.approx(k, abs=5e-3)
        assert float(msm.sharp_bound_from_samples(y, 0.4, 2.0, side, mean)) == pytest.approx(
            s, abs=5e-3
        )
    # a one-component mixture is the Gaussian
    assert float(msm.sharp_bound_mixture([1.0], [0.0], [1.0], 0.5, 2.0)) == pytest.approx(
        float(msm.sharp_bound_gaussian(0.0, 1.0, 0.5, 2.0)), abs=1e-10
    )


@pytest.mark.parametrize("e_t", [0.05, 0.2, 0.3, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("lam", [1.0, 1.2, 2.0, 5.0, 30.0])
def test_ratio_bound_never_narrower_than_sharp(e_t, lam) -> None:
    for side, sign in (("upper", 1), ("lower", -1)):
        k = float(msm.kallus_bound_gaussian(0.0, 1.0, e_t, lam, side))
        s = float(msm.sharp_bound_gaussian(0.0, 1.0, e_t, lam, side))
        assert sign * (k - s) >= -1e-10


# --------------------------------------------------------------------------- from draws
def test_draws_reproduce_table_within_001() -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal(10_000)
    k = float(msm.bound_from_samples(y, 0.5, 2.0, "upper", mean=0.0))
    s = float(msm.sharp_bound_from_samples(y, 0.5, 2.0, "upper", mean=0.0))
    assert k == pytest.approx(0.2760, abs=0.01)
    assert s == pytest.approx(0.2727, abs=0.01)
    kl = float(msm.bound_from_samples(y, 0.5, 2.0, "lower", mean=0.0))
    assert kl == pytest.approx(-0.2760, abs=0.01)


def test_lambda_one_collapses_exactly() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(0.3, 1.0, (4, 50))
    mean = np.array([0.3, 0.1, -0.2, 0.0])
    e = np.array([0.2, 0.5, 0.7, 0.9])
    for fn in (
        msm.bound_from_samples,
        msm.sharp_bound_from_samples,
        bound_from_samples_bruteforce,
    ):
        for side in ("upper", "lower"):
            for arm in (0, 1):
                np.testing.assert_array_equal(fn(y, e, 1.0, side, mean, arm=arm), mean)
            np.testing.assert_array_equal(fn(y, e, 1.0, side), y.mean(-1))
    for fn in (msm.kallus_bound_gaussian, msm.sharp_bound_gaussian):
        np.testing.assert_array_equal(fn(mean, 1.0, e, 1.0), mean)
    assert float(msm.sharp_bound_gaussian(0.3, 1.0, 0.4, 1.0)) == 0.3


def test_sorted_equals_bruteforce_fixed() -> None:
    rng = np.random.default_rng(2)
    y = rng.standard_t(4, size=(2, 3, 200))
    e = rng.uniform(0.05, 0.95, (2, 3))
    lam = np.array([1.0, 1.01, 1.5, 2.0, 7.0, 100.0])
    for side in ("upper", "lower"):
        for arm in (0, 1):
            fast = msm.bound_from_samples(y, e, lam, side, arm=arm)
            slow = bound_from_samples_bruteforce(y, e, lam, side, arm=arm)
            assert fast.shape == (6, 2, 3)
            np.testing.assert_allclose(fast, slow, atol=1e-9, rtol=0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    m=st.integers(2, 80),
    e=st.floats(0.01, 0.99),
    lam=st.floats(1.0, 50.0),
    side=st.sampled_from(["upper", "lower"]),
    arm=st.sampled_from([0, 1]),
    analytic_mean=st.booleans(),
)
def test_sorted_equals_bruteforce_property(seed, m, e, lam, side, arm, analytic_mean) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(3, m)) * rng.uniform(0.1, 3.0)
    mean = rng.normal(size=3) * 0.1 if analytic_mean else None
    fast = msm.bound_from_samples(y, e, lam, side, mean, arm=arm)
    slow = bound_from_samples_bruteforce(y, e, lam, side, mean, arm=arm)
    np.testing.assert_allclose(fast, slow, atol=1e-9, rtol=0)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    e=st.floats(0.01, 0.99),
    lams=st.lists(st.floats(1.0, 40.0), min_size=2, max_size=6),
    arm=st.sampled_from([0, 1]),
)
def test_bounds_widen_monotonically_in_lambda(seed, e, lams, arm) -> None:
    lam = np.sort(np.asarray(lams))
    rng = np.random.default_rng(seed)
    y = rng.gamma(2.0, size=(2, 60))
    mean = y.mean(-1)
    for fn in (msm.bound_from_samples, msm.sharp_bound_from_samples):
        up = fn(y, e, lam, "upper", arm=arm)
        lo = fn(y, e, lam, "lower", arm=arm)
        assert (np.diff(up, axis=0) >= -1e-12).all()
        assert (np.diff(lo, axis=0) <= 1e-12).all()
        assert (up >= mean - 1e-12).all() and (lo <= mean + 1e-12).all()
    for fn in (msm.kallus_bound_gaussian, msm.sharp_bound_gaussian):
        up = fn(0.0, 1.0, e, lam, "upper", arm=arm)
        lo = fn(0.0, 1.0, e, lam, "lower", arm=arm)
        assert (np.diff(up) >= -1e-12).all() and (np.diff(lo) <= 1e-12).all()


def test_ratio_from_draws_at_least_sharp_from_draws() -> None:
    rng = np.random.default_rng(5)
    y = rng.standard_normal((20, 2000))
    e = rng.uniform(0.1, 0.9, 20)
    lam = np.array([1.5, 3.0])
    # same draws; allow the Monte-Carlo max-of-sweep noise a small tolerance
    k = msm.bound_from_samples(y, e, lam, "upper", mean=0.0)
    s = msm.sharp_bound_from_samples(y, e, lam, "upper", mean=0.0)
    assert (k >= s - 0.01).all()


def test_vectorised_over_lambda_matches_scalar_calls() -> None:
    rng = np.random.default_rng(6)
    y = rng.standard_normal((5, 100))
    e = rng.uniform(0.1, 0.9, 5)
    lam = np.array([1.0, 1.7, 4.0])
    for fn in (msm.bound_from_samples, msm.sharp_bound_from_samples):
        batch = fn(y, e, lam, "lower", arm=0)
        for i, lv in enumerate(lam):
            np.testing.assert_allclose(batch[i], fn(y, e, float(lv), "lower", arm=0))


def test_reflection_symmetry() -> None:
    rng = np.random.default_rng(7)
    y = rng.gamma(2.0, size=(4, 300))
    e = rng.uniform(0.1, 0.9, 4)
    for fn in (msm.bound_from_samples, msm.sharp_bound_from_samples):
        np.testing.assert_allclose(fn(y, e, 2.5, "lower"), -fn(-y, e, 2.5, "upper"), atol=1e-12)


def test_cate_assembly() -> None:
    lower, upper = msm.cate_bounds(2.0, 1.0, 0.5, -0.5)
    assert float(lower) == 1.0 - 0.5
    assert float(upper) == 2.0 + 0.5


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lam": 0.9}, ">= 1"),
        ({"lam": [1.0, 0.5]}, ">= 1"),
        ({"propensity": 0.0}, "strictly between 0 and 1"),
        ({"propensity": 1.0}, "strictly between 0 and 1"),
        ({"propensity": [0.5, 0.5, 0.5]}, "does not broadcast"),
        ({"y_draws": np.full((2, 5), np.nan)}, "NaN"),
        ({"y_draws": np.ones((2, 1))}, "at least 2 draws"),
        ({"side": "middle"}, "side must be one of"),
        ({"arm": 2}, "arm must be 0 or 1"),
        ({"mean": [0.0, 0.0, 0.0]}, "does not broadcast"),
    ],
)
def test_bad_inputs_raise(kwargs, match) -> None:
    args = {"y_draws": np.ones((2, 5)), "propensity": 0.5, "lam": 2.0, "side": "upper"}
    args.update(kwargs)
    fns = (msm.bound_from_samples, msm.sharp_bound_from_samples, bound_from_samples_bruteforce)
    for fn in fns:
        with pytest.raises(ValueError, match=match):
            fn(**args)


def test_bad_closed_form_inputs() -> None:
    with pytest.raises(ValueError, match="sigma"):
        msm.sharp_bound_gaussian(0.0, 0.0, 0.5, 2.0)
    with pytest.raises(ValueError, match="sum to 1"):
        msm.kallus_bound_mixture([0.5, 0.6], [0.0, 1.0], [1.0, 1.0], 0.5, 2.0)
    with pytest.raises(ValueError, match="share one shape"):
        msm.kallus_bound_mixture([1.0], [0.0, 1.0], [1.0, 1.0], 0.5, 2.0)
    with pytest.raises(ValueError, match=">= 1"):
        msm.msm_weights(0.5, 0.99)
    with pytest.raises(ValueError, match="strictly between"):
        msm.msm_weights([0.0, 0.5], 2.0)
    with pytest.raises(TypeError):
        msm.bound_from_samples(np.array(["a", "b"]), 0.5, 2.0)


def test_the_old_bruteforce_path_warns_and_forwards() -> None:
    y = np.random.default_rng(0).normal(size=(3, 20))
    with pytest.warns(DeprecationWarning, match="knowable.testing"):
        old = msm.bound_from_samples_bruteforce(y, 0.3, 2.0, "upper")
    np.testing.assert_array_equal(old, bound_from_samples_bruteforce(y, 0.3, 2.0, "upper"))
