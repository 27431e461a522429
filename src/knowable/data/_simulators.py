"""Simulators with known truth: Causal-BALD's 1-D task, hidden confounding with an exact Λ*,
Overcast's dose-response task, and CMNIST image tasks.

Every simulator takes ``n`` and ``random_state`` (None, an int seed or a
``numpy.random.Generator``), draws only from that Generator, and returns a
:class:`~knowable.data.Dataset` whose ``truth`` holds what the process knows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import expit

from .._random import check_random_state
from .._validation import check_array, check_in_options, check_positive_int, check_real
from ._apo import SampleAverageAPO
from ._dataset import Dataset
from ._mnist import _images_float, _read_split

__all__ = [
    "cmnist_phi",
    "dose_response_lambda",
    "simulate_causal_bald_1d",
    "simulate_cmnist",
    "simulate_dose_response",
    "simulate_hidden_confounding",
]


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}.")
    return value


def _bernoulli(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    return (rng.random(p.shape) < p).astype(np.float64)


# --------------------------------------------------------------------------- Causal-BALD 1-D
def _causal_bald_mu(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """μ⁰(x) = 1 + 2 sin 2x and μ¹(x) = 2x + 3 − 2 sin 2x."""
    s = np.sin(2.0 * x)
    return 1.0 + 2.0 * s, 2.0 * x + 3.0 - 2.0 * s


def _causal_bald_arrays(
    x: np.ndarray, propensity: np.ndarray, sigma_y: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    t = _bernoulli(rng, propensity)
    mu0, mu1 = _causal_bald_mu(x)
    eps = rng.standard_normal(x.shape)
    y = np.where(t == 1.0, mu1, mu0) + sigma_y * eps
    cate = mu1 - mu0
    truth = {
        "mu0": mu0,
        "mu1": mu1,
        "cate": cate,
        "propensity": propensity,
        "ate": float(cate.mean()),
    }
    return t, y, truth


def _one_feature_dataset(
    x: np.ndarray,
    t: np.ndarray,
    y: np.ndarray,
    truth: dict[str, Any],
    *,
    name: str,
    simulator: str,
    params: dict[str, Any],
    citation: str,
) -> Dataset:
    """A simulated :class:`Dataset` with the single covariate ``x`` and its provenance."""
    meta = {"simulator": simulator, "params": params, "citation": citation}
    return Dataset(x[:, None], t=t, y=y, truth=truth, feature_names=["x"], name=name, meta=meta)


def simulate_causal_bald_1d(
    n: int = 10_000,
    *,
    beta: float = 2.0,
    sigma_y: float = 1.0,
    bimodal: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> Dataset:
    """Causal-BALD's synthetic 1-D task (Jesson et al. 2021).

    x ~ N(0, 1) (or, with ``bimodal``, an equal mixture of N(−2, 0.7²) and
    N(2, 0.7²)); π(x) = σ(βx + 0.5); t ~ Bern(π(x));
    μ¹(x) = 2x + 3 − 2 sin 2x, μ⁰(x) = 1 + 2 sin 2x, τ(x) = 2x + 2 − 4 sin 2x;
    y = μᵗ(x) + ε with ε ~ N(0, σ_y²).

    Parameters
    ----------
    n : int
        Number of units (≥ 1).
    beta : float
        Slope of the logistic propensity (CLI default of the reference code: 2.0).
    sigma_y : float
        Outcome noise standard deviation (≥ 0).
    bimodal : bool
        Draw x from the two-component mixture.
    random_state : None, int or numpy.random.Generator
        Seed; draws are x, then t, then ε (and the mixture component first).

    Returns
    -------
    Dataset
        ``x`` (n, 1), ``t`` (n,) binary, ``y`` (n,); truth: ``mu0``, ``mu1``,
        ``cate``, ``propensity`` (all (n,)), scalar ``ate`` (sample mean CATE).
    """
    n = check_positive_int(n, "n")
    beta = check_real(beta, "beta")
    sigma_y = check_real(sigma_y, "sigma_y", low=0.0)
    bimodal = _check_bool(bimodal, "bimodal")
    rng = check_random_state(random_state)
    if bimodal:
        centre = np.where(rng.random(n) < 0.5, -2.0, 2.0)
        x = centre + 0.7 * rng.standard_normal(n)
    else:
        x = rng.standard_normal(n)
    propensity = expit(beta * x + 0.5)
    t, y, truth = _causal_bald_arrays(x, propensity, sigma_y, rng)
    return _one_feature_dataset(
        x,
        t,
        y,
        truth,
        name="causal-bald-1d",
        simulator="simulate_causal_bald_1d",
        params={"n": n, "beta": beta, "sigma_y": sigma_y, "bimodal": bimodal},
        citation="Jesson, Tigas, van Amersfoort, Kirsch, Shalit & Gal (2021), Causal-BALD, NeurIPS.",
    )


# --------------------------------------------------------------------------- hidden confounding
def _msm_extreme_propensities(e: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Largest and smallest propensities whose odds differ from e's by the factor Λ."""
    pi_hi = lam * e / (1.0 + (lam - 1.0) * e)
    pi_lo = e / (lam * (1.0 - e) + e)
    return pi_hi, pi_lo


def _quince_mu(x: np.ndarray, t: float, u: np.ndarray | float, theta: float) -> np.ndarray:
    """Quince's μ(x, t, u) = (2t−1)x + (2t−1) − 2 sin((4t−2)x) − (θu − 2)(1 + 0.5x)."""
    s = 2.0 * t - 1.0
    return s * x + s - 2.0 * np.sin((4.0 * t - 2.0) * x) - (theta * u - 2.0) * (1.0 + 0.5 * x)


def _hidden_confounding_arrays(
    x: np.ndarray,
    lam: float,
    theta: float,
    sigma_y: float,
    rng: np.random.Generator,
    confounder: str = "binary",
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draw u, t, y given x (1-d) for the exact-Λ* hidden-confounding process."""
    e = expit(0.75 * x + 0.5)
    pi_hi, pi_lo = _msm_extreme_propensities(e, lam)
    # q(x) = share of the way from π_lo to π_hi that E[π(x, u) | x] must sit at to equal
    # e(x); any q works at Λ = 1.
    q = np.full_like(e, 0.5) if lam == 1.0 else np.clip((e - pi_lo) / (pi_hi - pi_lo), 0.0, 1.0)
    if confounder == "binary":
        u = (rng.random(x.shape) < q).astype(np.int64)
        pi = np.where(u == 1, pi_hi, pi_lo)
        u_mean = q
    else:  # continuous: u ~ U(0, 1), π = π_lo + (π_hi − π_lo) u^a with E[u^a] = 1/(a+1) = q
        u = rng.random(x.shape)
        pi = pi_lo + (pi_hi - pi_lo) * u ** _continuous_u_exponent(q)
        u_mean = np.full_like(e, 0.5)
    t = _bernoulli(rng, pi)
    eps = rng.standard_normal(x.shape)
    y0 = _quince_mu(x, 0.0, u, theta) + sigma_y * eps
    y1 = _quince_mu(x, 1.0, u, theta) + sigma_y * eps
    y = np.where(t == 1.0, y1, y0)
    mu0 = _quince_mu(x, 0.0, u_mean, theta)
    mu1 = _quince_mu(x, 1.0, u_mean, theta)
    cate = 2.0 * x + 2.0 - 4.0 * np.sin(2.0 * x)
    truth = {
        "mu0": mu0,
        "mu1": mu1,
        "cate": cate,
        "propensity": e,
        "complete_propensity": pi,
        "u": u,
        "u_probability": q,
        "y0": y0,
        "y1": y1,
        "lambda_star": lam,
        "ate": float(cate.mean()),
    }
    return t, y, truth


def _continuous_u_exponent(q: np.ndarray) -> np.ndarray:
    """Exponent a of π = π_lo + (π_hi − π_lo) u^a, u ~ U(0, 1), so that E[u^a] = q."""
    return 1.0 / np.clip(q, 1e-12, 1.0) - 1.0


def simulate_hidden_confounding(
    n: int = 1000,
    *,
    lam_star: float = 2.0,
    theta: float = 4.0,
    sigma_y: float = 1.0,
    confounder: str = "binary",
    random_state: int | np.random.Generator | None = None,
) -> Dataset:
    """Binary treatment with a hidden confounder whose true MSM parameter is exactly Λ*.

    x ~ U(−2, 2); nominal propensity e(x) = σ(0.75x + 0.5). With
    π_hi = Λe / (1 + (Λ−1)e) (odds × Λ) and π_lo = e / (Λ(1−e) + e) (odds ÷ Λ),
    the hidden u ~ Bern(q(x)) with q = (e − π_lo)/(π_hi − π_lo) (q = ½ at Λ = 1),
    so E[π(x, u) | x] = e(x) exactly; π(x, u) = π_hi if u = 1 else π_lo and
    t ~ Bern(π(x, u)). Every unit's complete-propensity odds differ from the
    observed odds by exactly Λ or 1/Λ, so the marginal sensitivity model holds
    with Λ* = ``lam_star`` and no smaller value (unlike Quince's original
    process, whose E_u π ≠ e). Outcomes follow Quince:
    y_t = (2t−1)x + (2t−1) − 2 sin((4t−2)x) − (θu − 2)(1 + 0.5x) + ε,
    ε ~ N(0, σ_y²) shared across arms.

    ``confounder="binary"`` (the default, above) makes the sharp bound nearly
    *attained*: π is a step function of u at the MSM extremes, and with θ = 4
    the two u-components of p(y | x, t) barely overlap, so π is almost a step
    function of y at the worst-case quantile, which is exactly the sharp
    bound's extremal weight. The true CATE then sits on (just inside) the upper
    bound τ⁺ wherever u matters (slack < 0.012 for x > 0 at Λ* = 2), and any
    consistent estimate of τ⁺ falls below it about half the time.

    ``confounder="continuous"`` keeps Λ* exact but leaves slack: u ~ U(0, 1),
    π(x, u) = π_lo + (π_hi − π_lo) u^a with a = 1/q − 1 (so
    E[π | x] = π_lo + (π_hi − π_lo) q = e(x)); the odds ratio reaches Λ only as
    u → 1 and 1/Λ as u → 0, so no smaller Λ holds (it fails on a set of positive
    probability), yet π is a smooth, not a step, function of u and hence of y:
    the bound is valid but not attained. The outcome model is unchanged (with
    continuous u), as is the CATE; E[u | x] = ½ in ``mu0``/``mu1``.

    Parameters
    ----------
    n : int
        Number of units (≥ 1).
    lam_star : float
        True MSM parameter Λ* ≥ 1 (1 means no hidden confounding).
    theta : float
        Strength θ of u's effect on the outcome.
    sigma_y : float
        Outcome noise standard deviation (≥ 0).
    confounder : {"binary", "continuous"}
        Hidden confounder: binary u at the MSM extremes (bound nearly attained)
        or continuous u ~ U(0, 1) (bound valid with slack); see above.
    random_state : None, int or numpy.random.Generator
        Seed; draws are x, u, t, ε in that order (the same uniforms feed u in
        both confounder kinds).

    Returns
    -------
    Dataset
        ``x`` (n, 1), ``t`` (n,) binary, ``y`` (n,). truth (per unit, (n,)):
        ``mu0``, ``mu1`` = E[Y(t) | x] (u averaged out given x), ``cate`` =
        2x + 2 − 4 sin 2x, ``propensity`` = e(x) = P(T = 1 | x),
        ``complete_propensity`` = π(x, u), ``u`` (int for binary, float for
        continuous), ``u_probability`` = q(x) (P(u = 1 | x) for binary;
        E[u^a | x] for continuous), ``y0``, ``y1`` (noisy potential outcomes); scalars
        ``lambda_star`` and ``ate`` (sample mean CATE).
    """
    n = check_positive_int(n, "n")
    lam = check_real(lam_star, "lam_star", low=1.0)
    theta = check_real(theta, "theta")
    sigma_y = check_real(sigma_y, "sigma_y", low=0.0)
    confounder = check_in_options(confounder, "confounder", ("binary", "continuous"))
    rng = check_random_state(random_state)
    x = rng.uniform(-2.0, 2.0, size=n)
    t, y, truth = _hidden_confounding_arrays(x, lam, theta, sigma_y, rng, confounder)
    return _one_feature_dataset(
        x,
        t,
        y,
        truth,
        name="hidden-confounding",
        simulator="simulate_hidden_confounding",
        params={
            "n": n,
            "lam_star": lam,
            "theta": theta,
            "sigma_y": sigma_y,
            "confounder": confounder,
        },
        citation="Outcome model of Jesson, Mindermann, Gal & Shalit (2021), Quince, ICML; "
        "propensity construction makes the MSM hold with exactly Λ*.",
    )


# --------------------------------------------------------------------------- dose response
_DR_TRIALS = 100


def _dose_g(x: np.ndarray, t: np.ndarray, u: np.ndarray | float, gamma_y: float) -> np.ndarray:
    """Noise-free outcome g(x, t, u) = t + x exp(−x t) − γ_y (u − ½)(½x + 1)."""
    return t + x * np.exp(-x * t) - gamma_y * (u - 0.5) * (0.5 * x + 1.0)


def dose_response_lambda(x: Any, t: Any, u: Any, gamma_t: float) -> np.ndarray:
    """Overcast's density ratio λ*(x, t, u) = p(t | x) / p(t | x, u) of the dose-response task.

    λ* = [½ f(t; x) + ½ f(t; x + γ_t)] / f(t; x + γ_t u), with f(t; a) the
    BetaBinomial(100, a, 1) pmf at 100t.

    Parameters
    ----------
    x : array-like
        Covariate values (> 0).
    t : array-like
        Treatments on the grid {0, 0.01, ..., 1}.
    u : array-like
        Hidden confounder values in {0, 1}.
    gamma_t : float
        Confounding strength on the treatment (≥ 0).

    Returns
    -------
    numpy.ndarray
        λ* broadcast over the shapes of x, t and u.
    """
    x = check_array(x, "x", ndim=(0, 1, 2, 3))
    t = check_array(t, "t", ndim=(0, 1, 2, 3))
    u = check_array(u, "u", ndim=(0, 1, 2, 3))
    gamma_t = check_real(gamma_t, "gamma_t", low=0.0)
    if (x <= 0).any():
        raise ValueError("x must be > 0 (it is the BetaBinomial shape parameter a).")
    k = np.round(t * _DR_TRIALS)
    if (np.abs(k - t * _DR_TRIALS) > 1e-6).any() or (k < 0).any() or (k > _DR_TRIALS).any():
        raise ValueError("t must lie on the grid {0, 0.01, ..., 1}.")
    if not np.isin(u, (0.0, 1.0)).all():
        raise ValueError("u must be 0 or 1.")
    from scipy.stats import betabinom  # imported lazily: scipy.stats is slow to import

    f0 = betabinom.pmf(k, _DR_TRIALS, x, 1.0)
    f1 = betabinom.pmf(k, _DR_TRIALS, x + gamma_t, 1.0)
    fu = betabinom.pmf(k, _DR_TRIALS, x + gamma_t * u, 1.0)
    return (0.5 * f0 + 0.5 * f1) / fu


@lru_cache(maxsize=32)
def _dose_lambda_star(gamma_t: float) -> float:
    """max over x ∈ [0.1, 2] (grid step 0.001), t ∈ {0, .01, …, 1}, u ∈ {0, 1} of max(λ*, 1/λ*)."""
    x = np.linspace(0.1, 2.0, 1901)[:, None, None]
    t = (np.arange(_DR_TRIALS + 1) / _DR_TRIALS)[None, :, None]
    u = np.array([0.0, 1.0])[None, None, :]
    lam = dose_response_lambda(x, t, u, gamma_t)
    return float(np.max(np.maximum(lam, 1.0 / lam)))


def _make_capo(gamma_y: float) -> Callable[[Any, Any], np.ndarray]:
    def capo(x: Any, t_grid: Any) -> np.ndarray:
        """Conditional APO E[Y(t) | x] (u averaged over {0, 1}).

        Parameters
        ----------
        x : array-like of shape (m,) or (m, 1)
            Covariate values.
        t_grid : array-like of shape (g,)
            Treatment values.

        Returns
        -------
        numpy.ndarray of shape (m, g)
        """
        xs = check_array(x, "x", ndim=(1, 2))
        if xs.ndim == 2:
            if xs.shape[1] != 1:
                raise ValueError(f"x must have one column, got shape {xs.shape}.")
            xs = xs[:, 0]
        grid = check_array(t_grid, "t_grid", ndim=1)
        xx, tt = xs[:, None], grid[None, :]
        return 0.5 * (_dose_g(xx, tt, 0.0, gamma_y) + _dose_g(xx, tt, 1.0, gamma_y))

    return capo


def simulate_dose_response(
    n: int = 1000,
    *,
    gamma_t: float = 0.3,
    gamma_y: float = 0.5,
    sigma_y: float = 0.2,
    random_state: int | np.random.Generator | None = None,
) -> Dataset:
    """Overcast's continuous-treatment task with a hidden binary confounder (Jesson et al. 2022).

    x ~ U(0.1, 2); u ~ Bern(½); t = BetaBinomial(100, a = x + γ_t u, b = 1)/100;
    y = g(x, t, u) + ε with g = t + x exp(−x t) − γ_y (u − ½)(½x + 1) and
    ε ~ N(0, σ_y²). ``(gamma_t, gamma_y) = (0, 0)`` is the unconfounded
    setting, ``(0.3, 0.5)`` the confounded one.

    Parameters
    ----------
    n : int
        Number of units (≥ 1).
    gamma_t : float
        Confounding of the treatment by u (≥ 0).
    gamma_y : float
        Confounding of the outcome by u.
    sigma_y : float
        Outcome noise standard deviation (≥ 0).
    random_state : None, int or numpy.random.Generator
        Seed; draws are x, u, t, ε in that order.

    Returns
    -------
    Dataset
        ``x`` (n, 1), ``t`` (n,) in {0, 0.01, …, 1}, ``y`` (n,). truth:
        per-unit ``u`` (int), ``mu`` = g(x, t, u) at the observed t,
        ``conditional_lambda`` = λ*(x, t, u) at the observed (x, t, u);
        callables ``apo(t_grid) -> (g,)`` = mean_i g(x_i, t, u_i) over the
        units of the dataset (re-sliced by ``subset``) and
        ``capo(x, t_grid) -> (m, g)`` = E[Y(t) | x]; scalar ``lambda_star`` =
        max over x ∈ [0.1, 2], t ∈ {0, .01, …, 1}, u ∈ {0, 1} of max(λ*, 1/λ*)
        (≈ 2.639 for γ_t = 0.3, exactly 1 for γ_t = 0).
    """
    n = check_positive_int(n, "n")
    gamma_t = check_real(gamma_t, "gamma_t", low=0.0)
    gamma_y = check_real(gamma_y, "gamma_y")
    sigma_y = check_real(sigma_y, "sigma_y", low=0.0)
    rng = check_random_state(random_state)
    x = rng.uniform(0.1, 2.0, size=n)
    u = (rng.random(n) < 0.5).astype(np.int64)
    from scipy.stats import betabinom

    k = betabinom.rvs(_DR_TRIALS, x + gamma_t * u, 1.0, size=n, random_state=rng)
    t = np.asarray(k, dtype=np.float64) / _DR_TRIALS
    mu = _dose_g(x, t, u, gamma_y)
    y = mu + sigma_y * rng.standard_normal(n)
    truth = {
        "u": u,
        "mu": mu,
        "conditional_lambda": dose_response_lambda(x, t, u, gamma_t),
        "apo": SampleAverageAPO(_dose_g, x, u.astype(np.float64), gamma_y),
        "capo": _make_capo(gamma_y),
        "lambda_star": _dose_lambda_star(gamma_t),
    }
    return _one_feature_dataset(
        x,
        t,
        y,
        truth,
        name="dose-response",
        simulator="simulate_dose_response",
        params={"n": n, "gamma_t": gamma_t, "gamma_y": gamma_y, "sigma_y": sigma_y},
        citation="Jesson, Douglas, Manshausen, Solal, Meinshausen, Stier, Gal & Shalit (2022), "
        "Overcast, NeurIPS.",
    )


# --------------------------------------------------------------------------- CMNIST
_CMNIST_KINDS = {"causal_bald": (-3.0, 3.0), "hidden_confounding": (-2.0, 2.0)}
_PHI_CLIP = 1.4


@lru_cache(maxsize=1)
def _digit_intensity_stats() -> tuple[np.ndarray, np.ndarray]:
    """Per-digit mean and sd (ddof = 0) of the mean pixel intensity, shipped 5k train subset."""
    # same representation as cmnist_phi sees: float32 images in [0, 1], averaged in float64
    images = _images_float("train")
    _, labels = _read_split("train")
    m = images.reshape(len(images), -1).astype(np.float64).mean(axis=1)
    means = np.array([m[labels == d].mean() for d in range(10)])
    sds = np.array([m[labels == d].std() for d in range(10)])
    return means, sds


def cmnist_phi(images: np.ndarray, labels: np.ndarray, low: float, high: float) -> np.ndarray:
    """Scalar φ(image): per-digit z-scored mean intensity mapped into the digit's bin.

    Parameters
    ----------
    images : numpy.ndarray of shape (n, 1, 28, 28) or (n, 784)
        Pixel intensities in [0, 1].
    labels : numpy.ndarray of shape (n,)
        Digits 0-9.
    low, high : float
        Range split into 10 equal bins, digit d taking bin d.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    means, sds = _digit_intensity_stats()
    m = images.reshape(len(images), -1).astype(np.float64).mean(axis=1)
    z = np.clip((m - means[labels]) / sds[labels], -_PHI_CLIP, _PHI_CLIP)
    width = (high - low) / 10.0
    return low + labels * width + (z + _PHI_CLIP) / (2.0 * _PHI_CLIP) * width


def simulate_cmnist(
    n: int | None = None,
    *,
    split: str = "train",
    kind: str = "causal_bald",
    sigma_y: float | None = None,
    lam_star: float | None = None,
    random_state: int | np.random.Generator | None = None,
) -> Dataset:
    """CMNIST: a treatment-effect task whose confounder is a scalar summary of an MNIST image.

    φ(image): the image's mean pixel intensity, z-scored with the mean and sd
    of its digit (computed on the shipped 5k training subset), clipped to
    ±1.4 and mapped linearly into that digit's bin of 10 equal bins
    (digit d → bin d) on [−3, 3] (``kind="causal_bald"``, Causal-BALD) or
    [−2, 2] (``kind="hidden_confounding"``, Quince's HCMNIST). The
    network sees the image; the process uses φ.

    - ``"causal_bald"``: π = σ(2φ + 0.5), t ~ Bern(π), μᵗ from
      :func:`simulate_causal_bald_1d` at x = φ, y = μᵗ + ε, σ_y default 0.01.
    - ``"hidden_confounding"``: the process of
      :func:`simulate_hidden_confounding` with x := φ (exact Λ* =
      ``lam_star``, default 2.0; θ = 4), σ_y default 1.0.

    Parameters
    ----------
    n : int or None
        None: every image of the split, in order. Otherwise n images drawn
        with replacement (uniformly) with the Generator.
    split : {"train", "test"}
        Shipped 5k training subset or the official 10k test set.
    kind : {"causal_bald", "hidden_confounding"}
        Which process generates t and y from φ.
    sigma_y : float or None
        Outcome noise sd (≥ 0); None for the kind's default.
    lam_star : float or None
        Λ* ≥ 1 for ``kind="hidden_confounding"`` (None: 2.0); must be None
        for ``kind="causal_bald"``.
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    Dataset
        ``x`` float32 (n, 1, 28, 28), ``t`` (n,), ``y`` (n,). truth: ``phi``,
        ``mu0``, ``mu1``, ``cate``, ``propensity``, ``digit`` (int),
        ``image_index`` (int, row in the split), scalar ``ate``; for
        ``"hidden_confounding"`` also ``complete_propensity``, ``u``,
        ``u_probability``, ``y0``, ``y1`` and ``lambda_star``.
    """
    if n is not None:
        n = check_positive_int(n, "n")
    check_in_options(split, "split", ("train", "test"))
    check_in_options(kind, "kind", tuple(_CMNIST_KINDS))
    if kind == "causal_bald":
        if lam_star is not None:
            raise ValueError("lam_star applies only to kind='hidden_confounding'.")
        sigma = 0.01 if sigma_y is None else check_real(sigma_y, "sigma_y", low=0.0)
    else:
        lam = 2.0 if lam_star is None else check_real(lam_star, "lam_star", low=1.0)
        sigma = 1.0 if sigma_y is None else check_real(sigma_y, "sigma_y", low=0.0)
    rng = check_random_state(random_state)

    all_images = _images_float(split)
    _, all_labels = _read_split(split)
    if n is None:
        index = np.arange(len(all_labels))
        images = all_images
    else:
        index = rng.integers(0, len(all_labels), size=n)
        images = all_images[index]
    digit = all_labels[index]
    low, high = _CMNIST_KINDS[kind]
    phi = cmnist_phi(images, digit, low, high)
    if kind == "causal_bald":
        t, y, truth = _causal_bald_arrays(phi, expit(2.0 * phi + 0.5), sigma, rng)
        params: dict[str, Any] = {"sigma_y": sigma}
    else:
        t, y, truth = _hidden_confounding_arrays(phi, lam, 4.0, sigma, rng)
        params = {"sigma_y": sigma, "lam_star": lam, "theta": 4.0}
    truth.update({"phi": phi, "digit": digit.copy(), "image_index": index})
    return Dataset(
        images,
        t=t,
        y=y,
        truth=truth,
        name="cmnist",
        meta={
            "simulator": "simulate_cmnist",
            "params": {"n": n, "split": split, "kind": kind, **params},
            "phi_range": [low, high],
            "citation": "Jesson et al. (2021) Causal-BALD (CMNIST); Jesson et al. (2021) Quince (HCMNIST); "
            "MNIST: LeCun et al. (1998).",
        },
    )
