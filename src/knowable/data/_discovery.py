"""Discovery tasks with a known optimum set and known clusters (DiscoBAX-style synthetic).

DiscoBAX (Lyle et al. 2023) asks for a *diverse* set of top candidates. Its
synthetic experiments use low-dimensional functions with several separated
optima (a mixture of Gaussian bumps, a product of sines). These generators build
such pools with everything needed to score a selection exactly: the noiseless
function ``f``, the optimum set (the top fraction of the pool by ``f``) and,
for every candidate, the basin (bump or sine peak) it belongs to.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_in_options, check_positive_int, check_real
from ._dataset import Dataset

__all__ = ["DISCOVERY_TASKS", "simulate_discovery"]

DISCOVERY_TASKS = ("bumps", "sines")
"""``"bumps"``: max over Gaussian bumps of similar height; ``"sines"``: a product of sines."""


def _bumps(
    x: np.ndarray, n_modes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    d = x.shape[1]
    centres = rng.uniform(0.1, 0.9, size=(n_modes, d))
    heights = rng.uniform(0.8, 1.0, size=n_modes)
    # widths grow with d so that a bump holds a few of the n uniform candidates
    widths = rng.uniform(0.6, 1.0, size=n_modes) * 0.05 * (d / 2.0) ** 2
    sq = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1)  # (n, m)
    values = heights * np.exp(-sq / (2 * widths**2))
    return (
        values.max(axis=1),
        values.argmax(axis=1),
        {"centres": centres, "heights": heights, "widths": widths},
    )


def _sines(x: np.ndarray, n_modes: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    # f = prod_i sin(2 pi k x_i) with k periods per axis, times a gentle envelope
    # (peaks differ by at most 15 %); a peak is a cell where every factor is > 0 or
    # an even number of them is < 0, so basins are indexed by the (k-scaled) cell.
    d = x.shape[1]
    k = max(1, round(n_modes ** (1.0 / d)))
    phase = 2 * np.pi * k * x
    f = np.prod(np.sin(phase), axis=1) * (1.0 - 0.15 * np.linalg.norm(x - 0.5, axis=1))
    cell = np.minimum(np.floor(2 * k * x).astype(np.int64), 2 * k - 1)  # half-period cells
    basin = np.ravel_multi_index(tuple(cell.T), (2 * k,) * d)
    return f, basin, {"periods": k}


def simulate_discovery(
    task: str = "bumps",
    n: int = 1500,
    *,
    n_features: int = 2,
    n_modes: int = 16,
    noise_sd: float = 0.05,
    top_fraction: float = 0.01,
    random_state: int | np.random.Generator | None = None,
) -> Dataset:
    """A candidate pool with a known function, optimum set and basins.

    Candidates ``x ~ U[0, 1]^d``. ``"bumps"``: ``f(x) = max_j a_j exp(-|x - c_j|^2 /
    (2 w_j^2))`` with ``n_modes`` centres ``c_j ~ U[0.1, 0.9]^d``, heights
    ``a_j ~ U[0.8, 1]`` and narrow widths; the basin of ``x`` is the bump that
    attains the max. ``"sines"``: ``f(x) = prod_i sin(2 pi k x_i) (1 - 0.15
    |x - 1/2|)`` with ``k = round(n_modes^(1/d))`` periods per axis; the basin is
    the half-period cell. Measurements ``y = f(x) + N(0, noise_sd^2)``.

    Parameters
    ----------
    task : {"bumps", "sines"}
        The function family.
    n : int
        Pool size.
    n_features : int
        Dimension ``d`` of the candidates' features.
    n_modes : int
        Number of bumps (``"bumps"``), or about the number of sine cells.
    noise_sd : float
        Measurement noise standard deviation (``>= 0``).
    top_fraction : float
        Share of the pool, by ``f`` (signed, descending), that forms the optimum set.
    random_state : None, int or numpy.random.Generator
        Seed; draws are ``x``, then the bumps, then the noise.

    Returns
    -------
    Dataset
        ``x`` (n, d) and noisy ``y`` (n,); truth: ``f`` (n,) the noiseless
        value, ``basin`` (n,) int the basin index, ``optimal`` (n,) int, 1 for the
        optimum set (``ceil(top_fraction * n)`` candidates with the largest ``f``), else 0.

    Examples
    --------
    >>> data = simulate_discovery("bumps", 500, random_state=0)
    >>> int(data.truth["optimal"].sum())
    5
    """
    task = check_in_options(task, "task", DISCOVERY_TASKS)
    n = check_positive_int(n, "n")
    d = check_positive_int(n_features, "n_features")
    m = check_positive_int(n_modes, "n_modes")
    noise_sd = check_real(noise_sd, "noise_sd", low=0.0)
    top_fraction = check_real(top_fraction, "top_fraction", low=0.0, high=1.0, low_inclusive=False)
    rng = check_random_state(random_state)
    x = rng.uniform(0.0, 1.0, size=(n, d))
    if task == "bumps":
        f, basin, params = _bumps(x, m, rng)
    else:
        f, basin, params = _sines(x, m)
    y = f + noise_sd * rng.standard_normal(n)
    n_top = int(np.ceil(top_fraction * n))
    optimal = np.zeros(n, dtype=bool)
    optimal[np.argsort(-f, kind="stable")[:n_top]] = True
    return Dataset(
        x,
        y=y,
        truth={"f": f, "basin": basin.astype(np.int64), "optimal": optimal.astype(np.int64)},
        feature_names=[f"x{i}" for i in range(d)],
        name=f"discovery-{task}",
        meta={
            "simulator": "simulate_discovery",
            "params": {
                "task": task,
                "n": n,
                "n_features": d,
                "n_modes": m,
                "noise_sd": noise_sd,
                "top_fraction": top_fraction,
                **{k: np.asarray(v).tolist() for k, v in params.items()},
            },
            "citation": "Lyle, Mehrjou, Notin, Jesson, Bauer, Gal & Schwab (2023), DiscoBAX, ICML.",
        },
    )
