import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import betabinom

from knowable.data import (
    cmnist_phi,
    dose_response_lambda,
    load_mnist,
    simulate_causal_bald_1d,
    simulate_cmnist,
    simulate_dose_response,
    simulate_hidden_confounding,
)

SIMULATORS = [
    (simulate_causal_bald_1d, {"n": 200}),
    (simulate_hidden_confounding, {"n": 200}),
    (simulate_dose_response, {"n": 200}),
    (simulate_cmnist, {"n": 50}),
    (simulate_cmnist, {"n": 50, "kind": "hidden_confounding"}),
]


def quince_mu(x, t, u, theta=4.0):
    return (
        (2 * t - 1) * x
        + (2 * t - 1)
        - 2 * np.sin((4 * t - 2) * x)
        - (theta * u - 2) * (1 + 0.5 * x)
    )


# ------------------------------------------------------------------ shared contract
@pytest.mark.parametrize("fn, kw", SIMULATORS)
def test_reproducible(fn, kw):
    a, b, c = fn(**kw, random_state=7), fn(**kw, random_state=7), fn(**kw, random_state=8)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.y, b.y)
    for key, v in a.truth.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(v, b.truth[key])
    assert not np.array_equal(a.y, c.y)
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(fn(**kw, random_state=gen).y, a.y)


@pytest.mark.parametrize("fn, kw", SIMULATORS)
@pytest.mark.parametrize(
    "bad_n, exc",
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("10", TypeError), (True, TypeError)],
)
def test_bad_n(fn, kw, bad_n, exc):
    with pytest.raises(exc, match="n"):
        fn(**{**kw, "n": bad_n})


@pytest.mark.parametrize("fn, kw", SIMULATORS)
def test_bad_random_state(fn, kw):
    with pytest.raises(TypeError):
        fn(**kw, random_state="0")
    with pytest.raises(ValueError):
        fn(**kw, random_state=-1)


# ------------------------------------------------------------------ Causal-BALD 1-D
def test_causal_bald_closed_forms():
    d = simulate_causal_bald_1d(5000, random_state=0)
    x = d.x[:, 0]
    assert d.x.shape == (5000, 1) and d.feature_names == ["x"]
    np.testing.assert_allclose(d.truth["mu1"], 2 * x + 3 - 2 * np.sin(2 * x))
    np.testing.assert_allclose(d.truth["mu0"], 1 + 2 * np.sin(2 * x))
    np.testing.assert_allclose(d.cate, 2 * x + 2 - 4 * np.sin(2 * x))
    np.testing.assert_allclose(d.truth["propensity"], expit(2.0 * x + 0.5))
    assert d.truth["ate"] == pytest.approx(d.cate.mean())
    resid = d.y - np.where(d.t == 1, d.truth["mu1"], d.truth["mu0"])
    assert abs(resid.std() - 1.0) < 0.05
    assert abs(x.mean()) < 0.06 and abs(x.std() - 1) < 0.05
    # treatment follows the propensity
    assert abs(d.t.mean() - d.truth["propensity"].mean()) < 0.03


def test_causal_bald_noise_free_and_beta():
    d = simulate_causal_bald_1d(100, sigma_y=0.0, beta=0.75, random_state=1)
    np.testing.assert_array_equal(d.y, np.where(d.t == 1, d.truth["mu1"], d.truth["mu0"]))
    np.testing.assert_allclose(d.truth["propensity"], expit(0.75 * d.x[:, 0] + 0.5))


def test_causal_bald_bimodal():
    x = simulate_causal_bald_1d(20000, bimodal=True, random_state=0).x[:, 0]
    assert abs(np.mean(x > 0) - 0.5) < 0.02
    assert abs(np.abs(x).mean() - 2.0) < 0.05
    assert abs(x[x > 0].std() - 0.7) < 0.03


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"sigma_y": -1.0}, ValueError),
        ({"beta": "2"}, TypeError),
        ({"beta": float("nan")}, ValueError),
        ({"bimodal": 1}, TypeError),
        ({"sigma_y": None}, TypeError),
    ],
)
def test_causal_bald_bad_params(kwargs, exc):
    with pytest.raises(exc):
        simulate_causal_bald_1d(10, **kwargs)


# ------------------------------------------------------------------ hidden confounding
@pytest.mark.parametrize("lam", [1.5, 2.0, np.e, 4.48])
def test_hidden_confounding_exact_lambda(lam):
    d = simulate_hidden_confounding(4000, lam_star=lam, random_state=0)
    e, pi, u = d.truth["propensity"], d.truth["complete_propensity"], d.truth["u"]
    odds_ratio = (pi / (1 - pi)) / (e / (1 - e))
    assert odds_ratio.min() >= 1 / lam - 1e-12 and odds_ratio.max() <= lam + 1e-12
    np.testing.assert_allclose(odds_ratio[u == 1], lam, rtol=1e-12)
    np.testing.assert_allclose(odds_ratio[u == 0], 1 / lam, rtol=1e-12)
    assert (u == 1).any() and (u == 0).any()
    assert d.truth["lambda_star"] == lam
    assert d.summary()["lambda_star"] == lam


@pytest.mark.parametrize("lam", [1.01, 1.65, 2.72, 8.0])
def test_hidden_confounding_mean_propensity_is_nominal(lam):
    """E[π(x, u) | x] = e(x): the simulator's hidden confounder u ~ Bernoulli(q(x)) mixes the
    two extreme complete propensities of the MSM so that the nominal propensity is kept.

    Checked on the simulator's own outputs (its q, its π, its draws of u), not on a formula
    re-derived here: (1) the mixture of the two π values it uses, weighted by its q, is e(x);
    (2) within bins of x, the mean of its complete propensity over its draws of u matches the
    mean of e(x) to Monte-Carlo error."""
    d = simulate_hidden_confounding(200_000, lam_star=lam, random_state=1)
    x, e = d.x[:, 0], d.truth["propensity"]
    pi, u, q = d.truth["complete_propensity"], d.truth["u"], d.truth["u_probability"]
    np.testing.assert_allclose(e, expit(0.75 * x + 0.5), rtol=1e-12)
    assert ((q >= 0) & (q <= 1)).all()
    # the two values π takes at each x: read them off the simulator's draws
    pi_hi = np.where(u == 1, pi, np.nan)
    pi_lo = np.where(u == 0, pi, np.nan)
    odds = e / (1 - e)
    hi_expected, lo_expected = lam * odds / (1 + lam * odds), odds / lam / (1 + odds / lam)
    np.testing.assert_allclose(pi_hi[u == 1], hi_expected[u == 1], rtol=1e-12)
    np.testing.assert_allclose(pi_lo[u == 0], lo_expected[u == 0], rtol=1e-12)
    np.testing.assert_allclose(q * hi_expected + (1 - q) * lo_expected, e, atol=1e-12)
    edges = np.linspace(-2, 2, 11)
    which = np.digitize(x, edges[1:-1])
    for b in range(10):
        m = which == b
        spread = pi[m].std() / np.sqrt(m.sum())
        assert abs(pi[m].mean() - e[m].mean()) < 4.5 * spread + 1e-12, (lam, b)


def test_hidden_confounding_monte_carlo_propensity():
    d = simulate_hidden_confounding(400_000, lam_star=3.0, random_state=11)
    x, t, e = d.x[:, 0], d.t, d.truth["propensity"]
    edges = np.linspace(-2, 2, 21)
    which = np.digitize(x, edges[1:-1])
    for b in range(20):
        m = which == b
        p = e[m].mean()
        se = np.sqrt(p * (1 - p) / m.sum())
        assert abs(t[m].mean() - p) < 4.5 * se, b
        # the hidden confounder follows q(x) too
        q = d.truth["u_probability"][m].mean()
        assert abs(d.truth["u"][m].mean() - q) < 4.5 * np.sqrt(q * (1 - q) / m.sum())


def test_hidden_confounding_outcomes():
    d = simulate_hidden_confounding(3000, lam_star=2.0, theta=4.0, random_state=2)
    x, u, q = d.x[:, 0], d.truth["u"], d.truth["u_probability"]
    np.testing.assert_allclose(d.cate, 2 * x + 2 - 4 * np.sin(2 * x))
    np.testing.assert_allclose(d.truth["mu1"] - d.truth["mu0"], d.cate, atol=1e-12)
    np.testing.assert_allclose(
        d.truth["mu0"], q * quince_mu(x, 0, 1) + (1 - q) * quince_mu(x, 0, 0)
    )
    np.testing.assert_allclose(
        d.truth["mu1"], q * quince_mu(x, 1, 1) + (1 - q) * quince_mu(x, 1, 0)
    )
    eps0 = d.truth["y0"] - quince_mu(x, 0, u)
    eps1 = d.truth["y1"] - quince_mu(x, 1, u)
    np.testing.assert_allclose(eps0, eps1, atol=1e-12)  # shared noise
    assert abs(eps0.std() - 1) < 0.05
    np.testing.assert_array_equal(d.y, np.where(d.t == 1, d.truth["y1"], d.truth["y0"]))
    assert (d.x[:, 0] >= -2).all() and (d.x[:, 0] <= 2).all()


def test_hidden_confounding_lambda_one_is_unconfounded():
    d = simulate_hidden_confounding(500, lam_star=1.0, random_state=0)
    np.testing.assert_allclose(d.truth["complete_propensity"], d.truth["propensity"], rtol=1e-14)
    np.testing.assert_allclose(d.truth["u_probability"], 0.5)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"lam_star": 0.9}, ValueError),
        ({"lam_star": 0.0}, ValueError),
        ({"lam_star": float("inf")}, ValueError),
        ({"lam_star": "2"}, TypeError),
        ({"theta": None}, TypeError),
        ({"sigma_y": -0.1}, ValueError),
    ],
)
def test_hidden_confounding_bad_params(kwargs, exc):
    with pytest.raises(exc):
        simulate_hidden_confounding(10, **kwargs)


# ------------------------------------------------------------------ dose response
def test_dose_response_lambda_star():
    d = simulate_dose_response(100, gamma_t=0.3, random_state=0)
    assert abs(d.truth["lambda_star"] - 2.639) < 0.01
    assert abs(np.log(d.truth["lambda_star"]) - 0.970) < 0.005
    d0 = simulate_dose_response(100, gamma_t=0.0, gamma_y=0.0, random_state=0)
    assert d0.truth["lambda_star"] == 1.0
    np.testing.assert_allclose(d0.truth["conditional_lambda"], 1.0)


def test_dose_response_lambda_closed_form():
    # λ* at (x, t, u) from the pmf directly
    x, t, g = 0.7, 0.42, 0.3
    f = lambda a: betabinom.pmf(42, 100, a, 1)  # noqa: E731
    for u in (0, 1):
        expected = (0.5 * f(x) + 0.5 * f(x + g)) / f(x + g * u)
        assert dose_response_lambda(x, t, u, g) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="grid"):
        dose_response_lambda(0.5, 0.123, 0, 0.3)
    with pytest.raises(ValueError, match="u"):
        dose_response_lambda(0.5, 0.1, 2, 0.3)
    with pytest.raises(ValueError, match="x"):
        dose_response_lambda(0.0, 0.1, 0, 0.3)
    with pytest.raises(ValueError):
        dose_response_lambda(0.5, 0.1, 0, -0.3)


def test_dose_response_sample_and_truth():
    d = simulate_dose_response(20000, random_state=3)
    x, t, u = d.x[:, 0], d.t, d.truth["u"]
    assert (x >= 0.1).all() and (x <= 2).all()
    np.testing.assert_allclose(np.round(t * 100), t * 100, atol=1e-9)
    assert abs(u.mean() - 0.5) < 0.015
    g = t + x * np.exp(-x * t) - 0.5 * (u - 0.5) * (0.5 * x + 1)
    np.testing.assert_allclose(d.truth["mu"], g)
    assert abs((d.y - g).std() - 0.2) < 0.01
    # E[t | x, u] = a / (a + 1) for BetaBinomial(100, a, 1) / 100
    a = x + 0.3 * u
    assert abs(np.mean(t - a / (a + 1))) < 0.005
    grid = np.linspace(0, 1, 11)
    apo = d.truth["apo"](grid)
    xx, tt = x[:, None], grid[None, :]
    expected = (tt + xx * np.exp(-xx * tt) - 0.5 * (u[:, None] - 0.5) * (0.5 * xx + 1)).mean(0)
    np.testing.assert_allclose(apo, expected)
    capo = d.truth["capo"](np.array([0.5, 1.5]), grid)
    assert capo.shape == (2, 11)
    np.testing.assert_allclose(
        capo, grid[None, :] + np.array([[0.5], [1.5]]) * np.exp(-np.array([[0.5], [1.5]]) * grid)
    )
    np.testing.assert_allclose(d.truth["capo"](d.x[:3], grid), d.truth["capo"](x[:3], grid))
    with pytest.raises(ValueError):
        d.truth["capo"](np.zeros((2, 2)), grid)
    with pytest.raises(ValueError):
        d.truth["apo"](np.zeros((2, 2)))
    with pytest.raises(TypeError):
        d.truth["apo"](["a"])


def test_dose_response_subset_reslices_apo():
    d = simulate_dose_response(500, random_state=0)
    _, test = d.split(0.3, random_state=0)
    grid = np.array([0.0, 0.5, 1.0])
    x, u = test.x[:, 0], test.truth["u"]
    expected = [np.mean(tv + x * np.exp(-x * tv) - 0.5 * (u - 0.5) * (0.5 * x + 1)) for tv in grid]
    np.testing.assert_allclose(test.truth["apo"](grid), expected)
    assert test.truth["lambda_star"] == d.truth["lambda_star"]


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"gamma_t": -0.1}, ValueError),
        ({"gamma_y": "a"}, TypeError),
        ({"sigma_y": -1.0}, ValueError),
        ({"gamma_t": float("nan")}, ValueError),
    ],
)
def test_dose_response_bad_params(kwargs, exc):
    with pytest.raises(exc):
        simulate_dose_response(10, **kwargs)


# ------------------------------------------------------------------ CMNIST
def test_cmnist_phi_bins_causal_bald():
    d = simulate_cmnist(random_state=0)
    assert len(d) == 5000 and d.x.shape == (5000, 1, 28, 28) and d.x.dtype == np.float32
    phi, digit = d.truth["phi"], d.truth["digit"]
    np.testing.assert_array_equal(digit, load_mnist("train").y)
    lo = -3 + 0.6 * digit
    assert ((phi >= lo - 1e-12) & (phi <= lo + 0.6 + 1e-12)).all()
    # z-score of the mean intensity, clipped at ±1.4, mapped linearly into the bin
    m = d.x.reshape(5000, -1).astype(np.float64).mean(1)
    for k in range(10):
        mk = m[digit == k]
        z = np.clip((mk - mk.mean()) / mk.std(), -1.4, 1.4)
        np.testing.assert_allclose(
            phi[digit == k], lo[digit == k] + (z + 1.4) / 2.8 * 0.6, atol=1e-9
        )
    np.testing.assert_allclose(d.truth["propensity"], expit(2 * phi + 0.5))
    np.testing.assert_allclose(d.cate, 2 * phi + 2 - 4 * np.sin(2 * phi))
    np.testing.assert_allclose(d.truth["mu0"], 1 + 2 * np.sin(2 * phi))
    resid = d.y - np.where(d.t == 1, d.truth["mu1"], d.truth["mu0"])
    assert abs(resid.std() - 0.01) < 0.001
    assert d.meta["phi_range"] == [-3.0, 3.0]


def test_cmnist_hidden_confounding_and_test_split():
    d = simulate_cmnist(300, split="test", kind="hidden_confounding", lam_star=3.0, random_state=0)
    assert len(d) == 300
    phi, digit = d.truth["phi"], d.truth["digit"]
    lo = -2 + 0.4 * digit
    assert ((phi >= lo - 1e-12) & (phi <= lo + 0.4 + 1e-12)).all()
    test = load_mnist("test")
    np.testing.assert_array_equal(d.x, test.x[d.truth["image_index"]])
    np.testing.assert_array_equal(digit, test.y[d.truth["image_index"]])
    e, pi = d.truth["propensity"], d.truth["complete_propensity"]
    np.testing.assert_allclose(e, expit(0.75 * phi + 0.5))
    ratio = (pi / (1 - pi)) / (e / (1 - e))
    np.testing.assert_allclose(np.maximum(ratio, 1 / ratio), 3.0)
    assert d.truth["lambda_star"] == 3.0
    np.testing.assert_allclose(d.cate, 2 * phi + 2 - 4 * np.sin(2 * phi))
    assert d.meta["params"]["sigma_y"] == 1.0
    np.testing.assert_allclose(cmnist_phi(d.x, digit, -2.0, 2.0), phi)


def test_cmnist_sampling_with_replacement():
    d = simulate_cmnist(6000, random_state=0)
    idx = d.truth["image_index"]
    assert len(np.unique(idx)) < 5000 and idx.max() < 5000


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"split": "valid"}, ValueError),
        ({"kind": "quince"}, ValueError),
        ({"lam_star": 2.0}, ValueError),
        ({"kind": "hidden_confounding", "lam_star": 0.5}, ValueError),
        ({"sigma_y": -1.0}, ValueError),
        ({"sigma_y": "1"}, TypeError),
    ],
)
def test_cmnist_bad_params(kwargs, exc):
    with pytest.raises(exc):
        simulate_cmnist(10, **kwargs)
