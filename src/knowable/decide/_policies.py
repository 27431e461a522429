"""Deferral policies: which units to hand to a human instead of deciding on them.

A policy is a *score* per unit (higher = defer first) plus a rule that turns
scores into a deferral mask at a rate ``r``. Thresholds come from the scores of
*training* units: a test unit is deferred when its score exceeds the training
``1 - r`` quantile (ucate's protocol; computing the threshold on the test set
would be transductive). Without training scores the ``round(r * n)``
highest-scoring units are deferred. Random deferral draws exactly
``round(r * n)`` units without replacement.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from .._random import check_random_state
from .._validation import check_array, check_probability_array, check_real, check_variance

__all__ = [
    "defer_mask",
    "deferral_ranking",
    "overlap_scores",
    "random_defer_mask",
    "sign_scores",
    "variance_scores",
]


def variance_scores(effect_samples: Any = None, *, effect_var: Any = None) -> np.ndarray:
    """ "Most uncertain" score: the posterior variance of the CATE per unit.

    Parameters
    ----------
    effect_samples : array-like of shape (S, n), optional
        Posterior draws of the CATE (``estimator.effect_samples(X)``).
    effect_var : array-like of shape (n,), optional
        The variance itself (e.g. the exact DUE value ``estimator.effect_var(X)``);
        give exactly one of the two.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    if (effect_samples is None) == (effect_var is None):
        raise ValueError("give exactly one of effect_samples (S, n) and effect_var (n,).")
    if effect_var is not None:
        return check_variance(effect_var, "effect_var")
    draws = check_array(effect_samples, "effect_samples", ndim=2)
    return draws.var(0, ddof=1) if draws.shape[0] > 1 else np.zeros(draws.shape[1])


def sign_scores(
    effect_samples: Any = None, *, effect_mean: Any = None, effect_var: Any = None
) -> np.ndarray:
    """Sign-uncertainty score: posterior probability that the recommendation from the mean is wrong.

    The recommendation is "treat" when the mean CATE is > 0 (a mean of exactly
    0 counts as "do not treat", as in
    :func:`knowable.effects.metrics.recommendation_error_rate`). From draws:
    the share of draws on the other side, ``mean(tau_s > 0)`` or
    ``mean(tau_s <= 0)``; it can exceed 0.5 when the draws are skewed
    against their mean. From moments (normal approximation):
    ``Phi(-|mean| / sd)``, in ``[0, 0.5]``.

    Parameters
    ----------
    effect_samples : array-like of shape (S, n), optional
        Posterior draws of the CATE.
    effect_mean, effect_var : array-like of shape (n,), optional
        Mean and variance instead of draws (both).

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    if effect_samples is not None:
        if effect_mean is not None or effect_var is not None:
            raise ValueError("give effect_samples or (effect_mean, effect_var), not both.")
        draws = check_array(effect_samples, "effect_samples", ndim=2)
        treat = draws.mean(0) > 0
        return np.mean((draws > 0) != treat, axis=0)
    if effect_mean is None or effect_var is None:
        raise ValueError("give effect_samples (S, n) or both effect_mean and effect_var (n,).")
    mean = check_array(effect_mean, "effect_mean", ndim=1)
    var = check_variance(effect_var, "effect_var")
    if mean.shape != var.shape:
        raise ValueError(f"effect_mean {mean.shape} and effect_var {var.shape} differ in shape.")
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, np.abs(mean) / np.where(sd > 0, sd, 1.0), np.inf)
    return stats.norm.sf(z)


def overlap_scores(propensity: Any) -> np.ndarray:
    """Lack-of-overlap score ``0.5 - min(p, 1 - p)``: extreme propensities are deferred first.

    Parameters
    ----------
    propensity : array-like of shape (n,)
        Estimated ``P(t = 1 | x)`` in [0, 1].

    Returns
    -------
    numpy.ndarray of shape (n,)
        In ``[0, 0.5]``.
    """
    p = check_probability_array(
        check_array(propensity, "propensity", ndim=1), "propensity", open_interval=False
    )
    return 0.5 - np.minimum(p, 1.0 - p)


def _check_rate(rate: Any) -> float:
    return check_real(rate, "rate", low=0.0, high=1.0)


def deferral_ranking(scores: Any) -> np.ndarray:
    """Unit indices in deferral order (highest score first; ties keep input order).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Deferral scores.

    Returns
    -------
    numpy.ndarray of int of shape (n,)
    """
    s = check_array(scores, "scores", ndim=1)
    return np.argsort(-s, kind="stable")


def defer_mask(scores: Any, rate: float, train_scores: Any = None) -> np.ndarray:
    """Boolean mask of deferred units (True = hand to a human).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Deferral scores of the units to decide on (test units).
    rate : float
        Deferral rate in [0, 1].
    train_scores : array-like of shape (m,), optional
        Scores of the training units. When given, a unit is deferred when its
        score exceeds the training ``1 - rate`` quantile (so the realised
        deferred share on test units can differ from ``rate``). When absent,
        exactly ``round(rate * n)`` highest-scoring units are deferred.

    Returns
    -------
    numpy.ndarray of bool of shape (n,)
    """
    s = check_array(scores, "scores", ndim=1)
    r = _check_rate(rate)
    if train_scores is None:
        mask = np.zeros(len(s), dtype=bool)
        mask[deferral_ranking(s)[: round(r * len(s))]] = True
        return mask
    ref = check_array(train_scores, "train_scores", ndim=1)
    if r == 0:
        return np.zeros(len(s), dtype=bool)
    if r == 1:
        return np.ones(len(s), dtype=bool)
    return s > np.quantile(ref, 1.0 - r)


def random_defer_mask(n: int, rate: float, random_state: Any = None) -> np.ndarray:
    """Defer exactly ``round(rate * n)`` units drawn uniformly *without* replacement.

    Parameters
    ----------
    n : int
        Number of units.
    rate : float
        Deferral rate in [0, 1].
    random_state : int, numpy.random.Generator or None
        Seed.

    Returns
    -------
    numpy.ndarray of bool of shape (n,)
    """
    r = _check_rate(rate)
    rng = check_random_state(random_state)
    mask = np.zeros(int(n), dtype=bool)
    mask[rng.permutation(int(n))[: round(r * n)]] = True
    return mask
