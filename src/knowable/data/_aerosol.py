"""A SYNTHETIC aerosol–cloud dataset with a known dose-response curve and a known Λ*.

Nothing here is observed data. The generator mirrors the *shape* of the
aerosol–cloud pipeline of Jesson et al. (2021, 2022) and Solal et al. (2022):
one row per (day, grid cell) with meteorological covariates, the total aerosol
optical depth (AOD) as a continuous treatment kept in the window
[0.07, 1.0] (the pipeline's filter), and the liquid-cloud droplet effective
radius r_e (µm) as the outcome. An unobserved boundary-layer depth anomaly u
raises both AOD and r_e, so a naive regression of r_e on AOD understates the
Twomey effect (∂r_e/∂AOD < 0). Magnitudes are illustrative only.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import special

from .._random import check_random_state
from .._validation import check_positive_int, check_real
from ._apo import SampleAverageAPO
from ._dataset import Dataset

__all__ = ["AEROSOL_COVARIATES", "simulate_aerosol_cloud"]

AEROSOL_COVARIATES = ("RH900", "RH850", "RH700", "LTS", "EIS", "w500", "whoi_sst")
_MEAN = np.array([80.0, 65.0, 30.0, 18.0, 7.0, 0.03, 292.0])
_SD = np.array([8.0, 12.0, 15.0, 3.0, 2.5, 0.03, 2.0])
_CORR = np.array(
    [
        [1.0, 0.7, 0.3, 0.2, 0.2, 0.0, -0.2],
        [0.7, 1.0, 0.5, 0.0, 0.0, 0.1, 0.0],
        [0.3, 0.5, 1.0, -0.2, -0.2, 0.2, 0.1],
        [0.2, 0.0, -0.2, 1.0, 0.8, -0.2, -0.5],
        [0.2, 0.0, -0.2, 0.8, 1.0, -0.2, -0.4],
        [0.0, 0.1, 0.2, -0.2, -0.2, 1.0, 0.2],
        [-0.2, 0.0, 0.1, -0.5, -0.4, 0.2, 1.0],
    ]
)
_LOG_T_LOW, _LOG_T_HIGH = np.log(0.07), np.log(1.0)
_SIGMA_T = 0.6  # sd of log AOD given (x, u)
_T_REF = 0.15  # reference AOD of the Twomey power law
_TWOMEY = 0.2  # r_e ∝ AOD^(−0.2) at fixed meteorology
_U_GRID = np.linspace(-1.0, 1.0, 201)  # quadrature over u ~ U(−1, 1)


def _log_aod_mean(z: np.ndarray) -> np.ndarray:
    """Mean of log AOD given standardised covariates z (n, 7)."""
    return np.log(_T_REF) + 0.15 * z[:, 1] - 0.10 * z[:, 5] + 0.10 * z[:, 4]


def _re_base(z: np.ndarray) -> np.ndarray:
    """Droplet radius (µm) at the reference AOD, u = 0."""
    return 12.0 + 0.6 * z[:, 6] - 0.5 * z[:, 4] + 0.4 * z[:, 1] - 0.3 * z[:, 5]


def _re(z: np.ndarray, t: Any, u: Any, gamma_y: float) -> np.ndarray:
    """Noise-free r_e(x, t, u) = base(x) (t / 0.15)^(−0.2) + γ_y u."""
    return _re_base(z) * (np.asarray(t) / _T_REF) ** (-_TWOMEY) + gamma_y * np.asarray(u)


def _window_mass(mean: np.ndarray) -> np.ndarray:
    """P(log AOD in the window | x, u) for log AOD ~ N(mean, σ_t²)."""
    return special.ndtr((_LOG_T_HIGH - mean) / _SIGMA_T) - special.ndtr(
        (_LOG_T_LOW - mean) / _SIGMA_T
    )


def _density_ratio(a: np.ndarray, log_t: np.ndarray, u: np.ndarray, gamma_t: float) -> np.ndarray:
    """λ(x, t, u) = p(t | x) / p(t | x, u) within the window, for a = E[log AOD | x, u = 0].

    With u ~ U(−1, 1) and selection into the window,
    p(t | x, u) = N(log t; a + γ_t u, σ²) / (t Z(a + γ_t u)) and
    p(t | x) = ∫ N(log t; a + γ_t u', σ²) du' / (t ∫ Z(a + γ_t u') du'),
    the integrals by the trapezoidal rule on 201 points.
    """
    a, log_t, u = np.broadcast_arrays(a, log_t, u)
    shift = a[..., None] + gamma_t * _U_GRID
    dens = np.exp(-0.5 * ((log_t[..., None] - shift) / _SIGMA_T) ** 2)
    num = np.trapezoid(dens, _U_GRID, axis=-1) / np.trapezoid(_window_mass(shift), _U_GRID, axis=-1)
    own = a + gamma_t * u
    den = np.exp(-0.5 * ((log_t - own) / _SIGMA_T) ** 2) / _window_mass(own)
    return num / den


@lru_cache(maxsize=64)
def _lambda_star(gamma_t: float, a_low: float, a_high: float) -> float:
    """max of max(λ, 1/λ) over a ∈ [a_low, a_high], log t in the window, u ∈ [−1, 1] (grids)."""
    if gamma_t == 0.0:
        return 1.0
    a = np.linspace(a_low, a_high, 21)[:, None, None]
    log_t = np.linspace(_LOG_T_LOW, _LOG_T_HIGH, 61)[None, :, None]
    u = np.linspace(-1.0, 1.0, 11)[None, None, :]
    lam = _density_ratio(a, log_t, u, gamma_t)
    return float(np.max(np.maximum(lam, 1.0 / lam)))


def simulate_aerosol_cloud(
    n: int = 5000,
    *,
    gamma_t: float = 0.15,
    gamma_y: float = 3.0,
    sigma_y: float = 0.8,
    random_state: int | np.random.Generator | None = None,
) -> Dataset:
    """SYNTHETIC aerosol–cloud data: AOD → droplet radius with a hidden boundary-layer confounder.

    **Not observed data.** Mirrors the variables of the aerosol–cloud pipeline
    (treatment ``tot_aod``, outcome ``l_re``, covariates ``RH900``, ``RH850``,
    ``RH700``, ``LTS``, ``EIS``, ``w500``, ``whoi_sst``) with illustrative
    magnitudes:

    * covariates: correlated Gaussians with climatological means and scales;
      z are their standardised values;
    * hidden u ~ U(−1, 1) (boundary-layer depth anomaly);
    * log AOD ~ N(a(z) + γ_t u, 0.6²), kept only inside [0.07, 1.0] (rows
      outside the window are redrawn, as the pipeline's filter drops them);
    * r_e = base(z) (AOD / 0.15)^(−0.2) + γ_y u + N(0, σ_y²) µm, so the true
      curve falls with AOD (Twomey) while u pushes AOD and r_e up together.

    Parameters
    ----------
    n : int
        Number of rows (≥ 1).
    gamma_t : float
        Effect of u on log AOD (≥ 0); 0 means no hidden confounding (Λ* = 1).
    gamma_y : float
        Effect of u on r_e (µm).
    sigma_y : float
        Outcome noise sd (µm, ≥ 0).
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    Dataset
        ``x`` (n, 7) with ``feature_names`` as above, ``t`` = AOD (n,),
        ``y`` = r_e (n,). truth: ``u`` (n,), ``mu`` = noise-free r_e at the
        observed AOD, ``conditional_lambda`` = p(t | x) / p(t | x, u) at each
        unit, callable ``apo(t_grid) -> (g,)`` = mean_i r_e(x_i, t, u_i) over
        the dataset's units, scalar ``lambda_star`` = max of max(λ, 1/λ) over
        the units' range of a(z), AOD in the window and u ∈ [−1, 1] (on a
        21 × 61 × 11 grid, so a close lower approximation of the supremum).
        ``meta["synthetic"]`` is True.
    """
    n = check_positive_int(n, "n")
    gamma_t = check_real(gamma_t, "gamma_t", low=0.0)
    gamma_y = check_real(gamma_y, "gamma_y")
    sigma_y = check_real(sigma_y, "sigma_y", low=0.0)
    rng = check_random_state(random_state)
    chol = np.linalg.cholesky(_CORR)
    z = rng.standard_normal((n, len(AEROSOL_COVARIATES))) @ chol.T
    u = rng.uniform(-1.0, 1.0, n)
    a = _log_aod_mean(z)
    log_t = np.full(n, np.nan)
    todo = np.arange(n)
    while todo.size:  # the pipeline's filter drops rows outside the window: redraw (u, AOD)
        u[todo] = rng.uniform(-1.0, 1.0, todo.size)
        draw = a[todo] + gamma_t * u[todo] + _SIGMA_T * rng.standard_normal(todo.size)
        ok = (draw >= _LOG_T_LOW) & (draw <= _LOG_T_HIGH)
        log_t[todo[ok]] = draw[ok]
        todo = todo[~ok]
    t = np.exp(log_t)
    mu = _re(z, t, u, gamma_y)
    y = mu + sigma_y * rng.standard_normal(n)
    x = _MEAN + _SD * z
    truth = {
        "u": u,
        "mu": mu,
        "conditional_lambda": np.concatenate(
            [
                _density_ratio(a[i : i + 4096], log_t[i : i + 4096], u[i : i + 4096], gamma_t)
                for i in range(0, n, 4096)
            ]
        ),
        "apo": SampleAverageAPO(_re, z, u, gamma_y, "synthetic aerosol-cloud", positive_t=True),
        "lambda_star": _lambda_star(gamma_t, round(float(a.min()), 6), round(float(a.max()), 6)),
    }
    return Dataset(
        x,
        t=t,
        y=y,
        truth=truth,
        feature_names=list(AEROSOL_COVARIATES),
        name="aerosol-cloud-synthetic",
        meta={
            "simulator": "simulate_aerosol_cloud",
            "synthetic": True,
            "treatment_name": "tot_aod",
            "outcome_name": "l_re",
            "params": {"n": n, "gamma_t": gamma_t, "gamma_y": gamma_y, "sigma_y": sigma_y},
            "note": "SYNTHETIC: variable names and ranges mirror the aerosol-cloud pipeline of "
            "Jesson et al. (2021, 2022) and Solal et al. (2022); no observed data.",
        },
    )
