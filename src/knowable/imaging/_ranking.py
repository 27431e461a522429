"""BraTS-style ranking of teams, significance of rank differences, and survival metrics.

Ranking (BraTS 2017-2018 style; the notes tag the details *unverified, from
recollection*): for every case, the teams are ranked separately on every
criterion (region x metric; by default Dice and HD95 on WT, TC, ET = 6
criteria), ties sharing the average of their ranks. A team's **ranking score**
is its mean rank over all cases and criteria (optionally divided by the number
of teams); teams are ordered by it, lowest first.

Significance: for two teams, the per-case rank difference (averaged over the
criteria) is tested against zero by a two-sided sign-flip permutation test
(under the null that the two teams are exchangeable, each case's difference is
symmetric about 0). Rank stability: cases are resampled with replacement, the
ranking recomputed, and each team's place summarised by percentile intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .._random import check_random_state
from .._validation import check_positive_int, check_real

__all__ = [
    "SURVIVAL_THRESHOLDS_DAYS",
    "RankingResult",
    "bootstrap_places",
    "case_ranks",
    "permutation_test",
    "rank_teams",
    "survival_class",
    "survival_metrics",
]

# 10 and 15 months in days at 365.25 / 12 days per month (our conversion; unverified).
SURVIVAL_THRESHOLDS_DAYS = (10 * 365.25 / 12, 15 * 365.25 / 12)


def _check_values(values: Any, higher_is_better: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=float)
    if v.ndim == 2:
        v = v[:, :, None]
    if v.ndim != 3 or v.shape[0] < 2 or v.shape[1] < 1:
        raise ValueError(
            "values must have shape (n_teams >= 2, n_cases >= 1, n_criteria), "
            f"got {np.asarray(values).shape}."
        )
    h = np.broadcast_to(np.asarray(higher_is_better, dtype=bool), (v.shape[2],)).copy()
    if np.isinf(v).any():
        raise ValueError("values hold infinities; use a finite penalty (e.g. the image diagonal).")
    return v, h


def case_ranks(values: Any, higher_is_better: Any) -> np.ndarray:
    """Rank teams per case and criterion, 1 = best, ties averaged, missing = worst.

    Parameters
    ----------
    values : array-like of float, shape (n_teams, n_cases, n_criteria) or (n_teams, n_cases)
        Metric values; NaN marks a missing result, ranked last (tied among missing).
    higher_is_better : bool or array-like of bool, shape (n_criteria,)
        Direction of each criterion (True for Dice, False for HD95).

    Returns
    -------
    numpy.ndarray of shape (n_teams, n_cases, n_criteria)
    """
    v, h = _check_values(values, higher_is_better)
    key = np.where(h[None, None, :], -v, v)  # smaller key = better
    key = np.where(np.isnan(key), np.inf, key)
    return stats.rankdata(key, method="average", axis=0)


@dataclass(frozen=True)
class RankingResult:
    """Outcome of :func:`rank_teams`.

    Attributes
    ----------
    score : numpy.ndarray of shape (n_teams,)
        Ranking score (mean rank; divided by n_teams when normalised).
    place : numpy.ndarray of shape (n_teams,)
        Final place, 1 = best, ties in score averaged.
    ranks : numpy.ndarray of shape (n_teams, n_cases, n_criteria)
        Per-case, per-criterion ranks.
    """

    score: np.ndarray
    place: np.ndarray
    ranks: np.ndarray


def rank_teams(values: Any, higher_is_better: Any, *, normalize: bool = False) -> RankingResult:
    """Aggregate per-case ranks into the ranking score and the final places.

    Parameters
    ----------
    values : array-like of float, shape (n_teams, n_cases, n_criteria)
        Metric values (NaN = missing, ranked last).
    higher_is_better : bool or array-like of bool, shape (n_criteria,)
        Direction of each criterion.
    normalize : bool
        Divide the ranking score by the number of teams.

    Returns
    -------
    RankingResult
    """
    ranks = case_ranks(values, higher_is_better)
    score = ranks.mean(axis=(1, 2))
    if normalize:
        score = score / ranks.shape[0]
    return RankingResult(score=score, place=stats.rankdata(score, method="average"), ranks=ranks)


def permutation_test(
    ranks: Any,
    team_a: int,
    team_b: int,
    *,
    n_permutations: int = 9999,
    random_state: Any = None,
) -> float:
    """Two-sided sign-flip permutation p-value for two teams' per-case rank difference.

    Parameters
    ----------
    ranks : array-like of float, shape (n_teams, n_cases, n_criteria)
        Output ``ranks`` of :func:`rank_teams`.
    team_a, team_b : int
        Team indices.
    n_permutations : int
        Random sign flips (exact enumeration when ``2**n_cases`` is smaller).
    random_state : None, int or numpy.random.Generator
        Seed for the sign flips.

    Returns
    -------
    float
        ``(1 + #{|mean(s d)| >= |mean(d)|}) / (1 + n_permutations)``; exact
        enumeration returns the exact proportion.
    """
    r = np.asarray(ranks, dtype=float)
    if r.ndim == 2:
        r = r[:, :, None]
    if r.ndim != 3:
        raise ValueError(f"ranks must have shape (n_teams, n_cases, n_criteria), got {r.shape}.")
    for name, t in (("team_a", team_a), ("team_b", team_b)):
        if not 0 <= int(t) < r.shape[0]:
            raise ValueError(f"{name}={t} is not a team index in [0, {r.shape[0]}).")
    n_perm = check_positive_int(n_permutations, "n_permutations")
    d = (r[team_a] - r[team_b]).mean(axis=1)
    n = d.size
    observed = abs(d.mean())
    tol = 1e-12 * max(1.0, observed)
    if n <= 16 and 2**n <= n_perm:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        null = np.abs(signs @ d) / n
        return float(np.mean(null >= observed - tol))
    rng = check_random_state(random_state)
    hits = 0
    done = 0
    while done < n_perm:
        m = min(4096, n_perm - done)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(m, n))
        hits += int(np.sum(np.abs(signs @ d) / n >= observed - tol))
        done += m
    return (1 + hits) / (1 + n_perm)


def bootstrap_places(
    values: Any,
    higher_is_better: Any,
    *,
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    random_state: Any = None,
) -> dict[str, np.ndarray]:
    """Bootstrap the cases to see how stable each team's place is.

    Parameters
    ----------
    values : array-like of float, shape (n_teams, n_cases, n_criteria)
        Metric values.
    higher_is_better : bool or array-like of bool, shape (n_criteria,)
        Direction of each criterion.
    n_bootstrap : int
        Resamples of the cases (with replacement).
    alpha : float
        Interval level ``1 - alpha`` (percentile intervals).
    random_state : None, int or numpy.random.Generator
        Seed for the resampling.

    Returns
    -------
    dict
        ``places`` (n_bootstrap, n_teams), ``lower`` and ``upper`` (n_teams,)
        percentile bounds of the place, ``median`` (n_teams,).
    """
    v, h = _check_values(values, higher_is_better)
    B = check_positive_int(n_bootstrap, "n_bootstrap")
    a = check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    rng = check_random_state(random_state)
    ranks = case_ranks(v, h)  # ranks within a case do not change under case resampling
    per_case = ranks.mean(axis=2)  # (T, C)
    n_cases = v.shape[1]
    idx = rng.integers(0, n_cases, size=(B, n_cases))
    scores = per_case[:, idx].mean(axis=2).T  # (B, T)
    places = stats.rankdata(scores, method="average", axis=1)
    return {
        "places": places,
        "lower": np.quantile(places, a / 2, axis=0),
        "upper": np.quantile(places, 1 - a / 2, axis=0),
        "median": np.median(places, axis=0),
    }


def survival_class(
    days: Any, thresholds: tuple[float, float] = SURVIVAL_THRESHOLDS_DAYS
) -> np.ndarray:
    """Survival class: 0 short (< 10 months), 1 mid (10-15), 2 long (> 15).

    Parameters
    ----------
    days : array-like of float, shape (n,)
        Overall survival in days.
    thresholds : tuple of float
        Class boundaries in days (default 10 and 15 months at 30.44 days each;
        the exact day counts BraTS used are not verified here).

    Returns
    -------
    numpy.ndarray of int, shape (n,)
    """
    d = np.asarray(days, dtype=float)
    lo, hi = thresholds
    return np.where(d < lo, 0, np.where(d <= hi, 1, 2))


def survival_metrics(
    pred_days: Any,
    true_days: Any,
    *,
    resection: Any = None,
    thresholds: tuple[float, float] = SURVIVAL_THRESHOLDS_DAYS,
) -> dict[str, float]:
    """BraTS survival-task metrics: class accuracy, MSE, median / s.d. SE, Spearman rho.

    Parameters
    ----------
    pred_days, true_days : array-like of float, shape (n,)
        Predicted and observed overall survival in days.
    resection : array-like of str, shape (n,), optional
        Resection status; when given, only ``"GTR"`` subjects are evaluated.
    thresholds : tuple of float
        Class boundaries in days (see :func:`survival_class`).

    Returns
    -------
    dict
        ``accuracy``, ``mse``, ``median_se``, ``std_se``, ``spearman``, ``n``.
    """
    p = np.asarray(pred_days, dtype=float).ravel()
    t = np.asarray(true_days, dtype=float).ravel()
    if p.shape != t.shape or p.size == 0:
        raise ValueError(
            f"pred_days and true_days must be equal-length, non-empty; got {p.shape}, {t.shape}."
        )
    if not (np.isfinite(p).all() and np.isfinite(t).all()):
        raise ValueError("pred_days and true_days must be finite.")
    if resection is not None:
        r = np.asarray(resection).astype(str).ravel()
        if r.shape != p.shape:
            raise ValueError("resection must have one entry per subject.")
        keep = np.char.upper(r) == "GTR"
        if not keep.any():
            raise ValueError("no subject has resection 'GTR'; nothing to evaluate.")
        p, t = p[keep], t[keep]
    se = (p - t) ** 2
    rho = stats.spearmanr(p, t).statistic if p.size > 1 else float("nan")
    return {
        "accuracy": float(np.mean(survival_class(p, thresholds) == survival_class(t, thresholds))),
        "mse": float(se.mean()),
        "median_se": float(np.median(se)),
        "std_se": float(se.std()),
        "spearman": float(rho),
        "n": int(p.size),
    }
