"""From scores to a batch: top-k and stochastic (softmax / power / soft-rank) selection.

Stochastic batch acquisition (Kirsch et al., TMLR 2023) draws a batch of ``b``
pool inputs *without replacement* from ``p_i``:

* ``"softmax"``: ``p_i ∝ exp(β s_i)``;
* ``"power"``: ``p_i ∝ s_i^β`` (scores must be >= 0; zero scores are picked
  only when nothing else is left);
* ``"softrank"``: ``p_i ∝ r_i^-β`` with ``r_i`` the rank of ``s_i`` (1 = best);

with coldness ``β = 1 / temperature``. Sampling uses the Gumbel-top-k trick:
the top ``b`` of ``β log w_i + G_i`` with ``G_i ~ Gumbel(0, 1)`` i.i.d. is a draw
from the Plackett-Luce distribution (sequential sampling without replacement
proportional to ``w``). Everything happens in log space, so nothing overflows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_array, check_in_options, check_real
from ._inputs import check_batch_size, check_scores

__all__ = ["STOCHASTIC_MODES", "gumbel_top_k", "log_weights", "stochastic_batch", "top_k"]

STOCHASTIC_MODES: tuple[str, ...] = ("softmax", "power", "softrank")
_LOG_TINY = float(np.log(np.finfo(np.float64).tiny))


def top_k(scores: Any, batch_size: int) -> np.ndarray:
    """Indices of the ``batch_size`` largest scores, best first.

    Ties are broken by the lower index (stable).

    Parameters
    ----------
    scores : array-like of shape (n,)
        Acquisition scores (finite).
    batch_size : int
        Batch size ``b <= n``.

    Returns
    -------
    numpy.ndarray of shape (b,), int64
    """
    s = check_scores(scores)
    b = check_batch_size(batch_size, len(s))
    if b < len(s):
        part = np.argpartition(-s, b - 1)[:b]
        # the partition may cut through ties; take the lowest indices among them
        kth = s[part].min()
        candidates = np.flatnonzero(s >= kth)
    else:
        candidates = np.arange(len(s))
    order = np.lexsort((candidates, -s[candidates]))
    return candidates[order[:b]].astype(np.int64)


def log_weights(scores: Any, mode: str, temperature: float = 1.0) -> np.ndarray:
    """Unnormalised log selection weights ``log w_i`` of a stochastic mode.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Acquisition scores.
    mode : {"softmax", "power", "softrank"}
        Target distribution (see the module docstring).
    temperature : float
        ``1 / β`` (> 0). Small temperatures approach top-k.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``β s``, ``β log s`` or ``-β log r``.
    """
    s = check_scores(scores)
    check_in_options(mode, "mode", STOCHASTIC_MODES)
    beta = 1.0 / check_real(temperature, "temperature", low=0.0, low_inclusive=False)
    if mode == "softmax":
        return beta * s
    if mode == "power":
        if (s < 0).any():
            raise ValueError(
                f"power selection needs non-negative scores, got a minimum of {s.min()}; "
                "use mode='softmax' or 'softrank' for signed scores."
            )
        with np.errstate(divide="ignore"):
            return beta * np.maximum(np.log(s), _LOG_TINY)
    ranks = np.empty(len(s), dtype=np.float64)
    ranks[np.lexsort((np.arange(len(s)), -s))] = np.arange(1, len(s) + 1)
    return -beta * np.log(ranks)


def gumbel_top_k(log_w: np.ndarray, batch_size: int, random_state: Any = None) -> np.ndarray:
    """Sample ``batch_size`` indices without replacement, proportionally to ``exp(log_w)``.

    Parameters
    ----------
    log_w : numpy.ndarray of shape (n,)
        Unnormalised log weights; -inf (weight 0) is never drawn, so at most
        the number of finite entries can be asked for.
    batch_size : int
        Batch size ``b <= n``.
    random_state : None, int or numpy.random.Generator
        Seed of the Gumbel noise.

    Returns
    -------
    numpy.ndarray of shape (b,), int64
        In the order of a sequential (Plackett-Luce) draw.
    """
    arr = check_array(log_w, "log_w", ndim=1, allow_nonfinite=True)
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise ValueError("log_w must not contain NaN or +inf (-inf is a zero weight).")
    finite = np.flatnonzero(np.isfinite(arr))
    if finite.size == 0:
        raise ValueError("every log weight is -inf: there is nothing to draw.")
    rng = check_random_state(random_state)
    keys = arr + rng.gumbel(size=len(arr))
    return finite[top_k(keys[finite], batch_size)]


def stochastic_batch(
    scores: Any,
    batch_size: int,
    mode: str = "power",
    temperature: float = 1.0,
    random_state: Any = None,
) -> np.ndarray:
    """Stochastic batch acquisition: sample a batch ∝ softmax / power / soft-rank weights.

    Parameters
    ----------
    scores : array-like of shape (n,)
        Single-point scores (BALD, entropy, ...); finite.
    batch_size : int
        Batch size ``b <= n``.
    mode : {"softmax", "power", "softrank"}
        ``p ∝ exp(s/T)``, ``s^(1/T)`` or ``rank^(-1/T)``.
    temperature : float
        ``T = 1 / β`` (> 0).
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    numpy.ndarray of shape (b,), int64
        Pool indices in the order drawn.

    Examples
    --------
    >>> stochastic_batch([0.1, 0.5, 0.2, 0.9], 2, "power", random_state=0).shape
    (2,)
    """
    log_w = log_weights(scores, mode, temperature)
    return gumbel_top_k(log_w, batch_size, random_state)
