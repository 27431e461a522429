"""Input checks shared by every acquisition: Posteriors, pools, scores, batch sizes.

Acquisitions read a pool either as one :class:`~knowable.models.Posterior` or as
an iterable of Posterior chunks (for example one per batch of a model's
``posterior`` calls over a pool of millions), so that memory stays bounded by
the chunk, not by the pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .._validation import check_positive_int
from ..models._observation import Categorical, GaussianMixture, GaussianNoise
from ..models._posterior import Posterior

__all__ = [
    "DEFAULT_CHUNK",
    "check_batch_size",
    "check_posterior",
    "check_scores",
    "iter_chunks",
]

#: Pool inputs scored at once; bounds the temporaries to ``S * DEFAULT_CHUNK * k``.
DEFAULT_CHUNK = 8192

PoolLike = Posterior | Iterable[Posterior]


def check_posterior(
    posterior: Any,
    name: str = "posterior",
    *,
    observation: tuple[type, ...] | None = None,
    purpose: str = "this acquisition",
) -> Posterior:
    """Check that ``posterior`` is a Posterior with draws and a suitable observation model.

    Parameters
    ----------
    posterior : Posterior
        The object to check.
    name : str
        Argument name used in error messages.
    observation : tuple of type, optional
        Allowed observation-model classes (``None``: any, including none).
    purpose : str
        What needs the Posterior, for the error message.

    Returns
    -------
    Posterior
    """
    if not isinstance(posterior, Posterior):
        raise TypeError(
            f"{name} must be a knowable.models.Posterior (call model.posterior(X) first), "
            f"got {type(posterior).__name__}."
        )
    draws = getattr(posterior, "draws", None)
    if draws is None or np.ndim(draws) != 3 or np.shape(draws)[0] == 0:
        raise ValueError(
            f"{name} has no epistemic draws; {purpose} needs draws of shape (S, n, k)."
        )
    if posterior.n_inputs == 0:
        raise ValueError(f"{name} covers an empty pool (n = 0); pass at least one pool input.")
    if observation is not None and not isinstance(posterior.observation, observation):
        allowed = " or ".join(c.__name__ for c in observation)
        got = type(posterior.observation).__name__ if posterior.observation is not None else None
        raise ValueError(
            f"{purpose} needs a Posterior with a {allowed} observation model, got {got}."
        )
    return posterior


def observation_kind(posterior: Posterior, purpose: str) -> str:
    """``"categorical"`` or ``"gaussian"``; raise for other observation models."""
    obs = posterior.observation
    if isinstance(obs, Categorical):
        return "categorical"
    if isinstance(obs, GaussianNoise):
        return "gaussian"
    got = "GaussianMixture" if isinstance(obs, GaussianMixture) else None
    raise ValueError(
        f"{purpose} needs a Posterior with a Categorical or GaussianNoise observation model, "
        f"got {got}."
    )


def iter_chunks(pool: PoolLike, chunk_size: int = DEFAULT_CHUNK) -> Iterator[Posterior]:
    """Yield Posterior chunks of at most ``chunk_size`` inputs covering the pool in order.

    Parameters
    ----------
    pool : Posterior or iterable of Posterior
        One Posterior over the pool, or consecutive chunks of it.
    chunk_size : int
        Largest number of inputs per yielded chunk.

    Yields
    ------
    Posterior
    """
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if not isinstance(pool, Posterior) and not isinstance(pool, Iterable):
        raise TypeError(
            "pool must be a knowable.models.Posterior or an iterable of Posterior chunks, "
            f"got {type(pool).__name__}."
        )
    parts: Iterable[Any] = [pool] if isinstance(pool, Posterior) else pool
    seen = False
    for part in parts:
        check_posterior(part, "pool chunk" if not isinstance(pool, Posterior) else "posterior")
        seen = True
        n = part.n_inputs
        if n <= chunk_size:
            yield part
            continue
        for start in range(0, n, chunk_size):
            yield part[slice(start, min(start + chunk_size, n))]
    if not seen:
        raise ValueError("the pool is empty (no Posterior chunks); pass at least one pool input.")


def check_scores(scores: Any, name: str = "scores") -> np.ndarray:
    """Validate a 1-d vector of finite acquisition scores.

    Parameters
    ----------
    scores : array-like of shape (n,)
        One score per pool input (higher = acquire first).
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray of shape (n,), float64
    """
    if hasattr(scores, "detach"):
        scores = scores.detach().cpu().numpy()
    arr = np.asarray(scores)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-d (one score per pool input), got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: the pool has no inputs to acquire from.")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} "
            f"infinite value(s) (first at position {int(np.flatnonzero(bad)[0])}); "
            "check the Posterior draws."
        )
    return arr


def check_batch_size(batch_size: Any, pool_size: int) -> int:
    """Validate a batch size against the pool size.

    Parameters
    ----------
    batch_size : int
        Points to acquire (>= 1).
    pool_size : int
        Points available.

    Returns
    -------
    int
    """
    b = check_positive_int(batch_size, "batch_size")
    if pool_size == 0:
        raise ValueError("the pool is empty: there is nothing to acquire.")
    if b > pool_size:
        raise ValueError(
            f"batch_size = {b} exceeds the pool size {pool_size}; ask for at most {pool_size}."
        )
    return b
