"""CASED: curriculum adaptive sampling for extreme data imbalance.

Jesson, Guizard, Ghalehjegh, Goblot, Soudan & Chapados, MICCAI 2017 (arXiv
1807.10819). A patch-based segmenter is trained first on patches *centred on
the rare positives* (nodules), then on a growing share of patches drawn from
everywhere, chosen among the ones the current model finds hardest, until the
sampling is the empirical distribution.

Schedule (Algorithm 1 as implemented by the third-party ``CASED-Tensorflow``;
the decay base and the adaptive step are tagged *unverified against the paper*
in our notes)::

    p_0 = 1;   p_t = p_end ** (t / T)   (t = 0..T, constant p_end after T)
    each minibatch:  with probability p_t  -> uniform from G_n (positive-centred patches)
                     otherwise             -> from G_r (all patches): with hard mining,
                                              the batch_size highest-loss patches of a
                                              uniform candidate subset of G_r, scored by
                                              the current model; without, uniform

``p_end`` defaults to the empirical positive fraction of the pool (the notes'
reading of the paper's "until uniformly sampling from the empirical data
distribution"); the TF code uses ``1 / |G_r|``. Note that at ``t = T`` the
expected positive share of sampled patches is ``p_end + (1 - p_end) π`` with
``π`` the positive fraction of ``G_r``; ``p_end -> 0`` gives exactly ``π``.
Scoring a random candidate subset (``n_candidates``) instead of the whole pool
is our scalable choice; the TF code scores every patch.

The baselines share the class: ``strategy="uniform"`` (always uniform from
``G_r``), ``"balanced"`` (half of every batch from ``G_n``, half from the
negatives), ``"curriculum"`` (the schedule without mining), ``"cased"``
(schedule + mining).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_in_options, check_positive_int, check_real

__all__ = ["SAMPLING_STRATEGIES", "CASEDSampler", "curriculum_probability", "hardest"]

SAMPLING_STRATEGIES = ("uniform", "balanced", "curriculum", "cased")


def curriculum_probability(step: Any, n_steps: int, p_end: float) -> np.ndarray:
    """Probability of a positive-centred batch at ``step``: ``p_end ** min(step / T, 1)``.

    Parameters
    ----------
    step : int or array-like of int
        Minibatch index ``t >= 0``.
    n_steps : int
        ``T``, the length of the decay.
    p_end : float
        Value reached at ``t = T``, in ``(0, 1]``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``step``; 1 at ``t = 0``, ``p_end`` for ``t >= T``.
    """
    T = check_positive_int(n_steps, "n_steps")
    pe = check_real(p_end, "p_end", low=0.0, high=1.0, low_inclusive=False)
    t = np.asarray(step, dtype=float)
    if np.any(t < 0):
        raise ValueError("step must be >= 0.")
    return pe ** np.minimum(t / T, 1.0)


def hardest(losses: Any, k: int) -> np.ndarray:
    """Indices of the ``k`` largest losses, largest first (ties: lower index first).

    Parameters
    ----------
    losses : array-like of float, shape (m,)
        Per-item losses.
    k : int
        How many (at most ``m``).

    Returns
    -------
    numpy.ndarray of int, shape (k,)
    """
    v = np.asarray(losses, dtype=float).ravel()
    kk = check_positive_int(k, "k")
    if kk > v.size:
        raise ValueError(f"k={kk} exceeds the {v.size} losses given.")
    if not np.all(np.isfinite(v)):
        raise ValueError("losses must be finite.")
    return np.argsort(-v, kind="stable")[:kk]


class CASEDSampler:
    """Minibatch index sampler for a pool of patches with rare positives.

    Works with any training loop: call :meth:`next_batch` once per step and
    feed the returned pool indices to the model; with hard mining, pass
    ``loss_fn`` that maps pool indices to the current model's per-item losses.

    Parameters
    ----------
    is_positive : array-like of bool, shape (n_items,)
        Which pool items are positive-centred (``G_n``); the whole pool is ``G_r``.
    batch_size : int
        Items per minibatch.
    n_steps : int
        ``T``, the number of minibatches over which ``p`` decays to ``p_end``.
    strategy : {"uniform", "balanced", "curriculum", "cased"}
        See the module notes.
    p_end : float, optional
        Final probability of a positive-centred batch (default: the pool's
        positive fraction).
    n_candidates : int
        Size of the uniform candidate subset scored for hard mining (at least
        ``batch_size``).
    random_state : None, int or numpy.random.Generator
        Seed.

    Attributes
    ----------
    step_ : int
        Minibatches drawn so far.
    history_ : list of str
        Branch of every minibatch: ``"positive"``, ``"uniform"``, ``"mined"`` or ``"balanced"``.
    """

    def __init__(
        self,
        is_positive: Any,
        batch_size: int,
        n_steps: int,
        *,
        strategy: str = "cased",
        p_end: float | None = None,
        n_candidates: int = 256,
        random_state: Any = None,
    ) -> None:
        pos = np.asarray(is_positive)
        if pos.ndim != 1 or pos.dtype.kind not in "bui":
            raise ValueError("is_positive must be a 1-D boolean array over the pool items.")
        pos = pos.astype(bool)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.n_steps = check_positive_int(n_steps, "n_steps")
        self.strategy = check_in_options(strategy, "strategy", SAMPLING_STRATEGIES)
        self.n_candidates = check_positive_int(n_candidates, "n_candidates")
        if self.n_candidates < self.batch_size:
            raise ValueError(
                f"n_candidates={self.n_candidates} must be >= batch_size={self.batch_size}."
            )
        self._positive = np.flatnonzero(pos)
        self._negative = np.flatnonzero(~pos)
        if self._positive.size == 0:
            raise ValueError("is_positive marks no item; the curriculum needs positive patches.")
        if self._negative.size == 0 and self.strategy == "balanced":
            raise ValueError("is_positive marks every item; 'balanced' needs negatives.")
        self.n_items = pos.size
        self.positive_fraction = float(pos.mean())
        self.p_end = self.positive_fraction if p_end is None else p_end
        check_real(self.p_end, "p_end", low=0.0, high=1.0, low_inclusive=False)
        self._rng = check_random_state(random_state)
        self.step_ = 0
        self.history_: list[str] = []

    def probability(self, step: int | None = None) -> float:
        """``p_t`` of the curriculum at ``step`` (default: the next minibatch).

        Parameters
        ----------
        step : int, optional
            Minibatch index.

        Returns
        -------
        float
            0 for ``"uniform"``; 0.5 for ``"balanced"`` (per item).
        """
        t = self.step_ if step is None else step
        if self.strategy == "uniform":
            return 0.0
        if self.strategy == "balanced":
            return 0.5
        return float(curriculum_probability(t, self.n_steps, self.p_end))

    def next_batch(self, loss_fn: Callable[[np.ndarray], Any] | None = None) -> np.ndarray:
        """Pool indices of the next minibatch.

        Parameters
        ----------
        loss_fn : callable, optional
            Maps an int array of candidate pool indices ``(m,)`` to their
            current per-item losses ``(m,)``; required by ``strategy="cased"``
            when the batch comes from ``G_r``.

        Returns
        -------
        numpy.ndarray of int, shape (batch_size,)
        """
        rng, b = self._rng, self.batch_size
        if self.strategy == "balanced":
            n_pos = b // 2
            idx = np.concatenate(
                [
                    rng.choice(self._positive, size=n_pos, replace=True),
                    rng.choice(self._negative, size=b - n_pos, replace=True),
                ]
            )
            branch = "balanced"
        elif self.strategy != "uniform" and rng.random() < self.probability():
            idx = rng.choice(self._positive, size=b, replace=True)
            branch = "positive"
        elif self.strategy == "cased":
            if loss_fn is None:
                raise ValueError("strategy='cased' needs loss_fn to mine hard examples.")
            m = min(self.n_candidates, self.n_items)
            cand = rng.choice(self.n_items, size=m, replace=False)
            losses = np.asarray(loss_fn(cand), dtype=float)
            if losses.shape != (m,):
                raise ValueError(f"loss_fn returned shape {losses.shape}, expected ({m},).")
            idx = cand[hardest(losses, b)]
            branch = "mined"
        else:
            idx = rng.choice(self.n_items, size=b, replace=True)
            branch = "uniform"
        self.step_ += 1
        self.history_.append(branch)
        return idx
