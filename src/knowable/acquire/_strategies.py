"""One entry point from a pool Posterior to a batch: :func:`select` by strategy name.

Strategy names:

* a score name (``"bald"``, ``"entropy"``, ``"margin"``, ``"variation-ratio"``,
  ``"variance"``), optionally prefixed ``"topk-"``: deterministic top-k;
* ``"<mode>-<score>"`` with mode ``power``, ``softmax`` or ``softrank``
  (for example ``"power-bald"``): stochastic batch acquisition;
* ``"random"``: uniform without replacement;
* ``"batchbald"``: greedy BatchBALD;
* ``"coreset"``, ``"kmeans"``, ``"badge"``: diversity baselines on ``embeddings``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_positive_int
from ..models._posterior import Posterior
from ._batchbald import batchbald
from ._diversity import badge, coreset, kmeans_batch
from ._inputs import DEFAULT_CHUNK, check_batch_size, check_posterior
from ._scores import SCORES, score
from ._select import STOCHASTIC_MODES, stochastic_batch, top_k

__all__ = ["Batch", "available_strategies", "parse_strategy", "select"]

_SCORE_NAMES = tuple(s for s in SCORES if s != "random")
_EMBEDDING_STRATEGIES = ("coreset", "kmeans", "badge")


@dataclass(frozen=True)
class Batch:
    """A selected batch.

    Attributes
    ----------
    indices : numpy.ndarray of shape (b,)
        Pool indices, in the order picked (best or first-drawn first).
    scores : numpy.ndarray of shape (b,)
        The single-point score of each pick; for BatchBALD the batch value
        ``I[y_{1..i}; w]`` after each pick; NaN where a strategy has none.
    strategy : str
        The strategy name.
    pool_scores : numpy.ndarray of shape (n,) or None
        Single-point scores of the whole pool, where computed.
    info : dict
        Strategy-specific extras (BatchBALD: which picks were exact).
    """

    indices: np.ndarray
    scores: np.ndarray
    strategy: str
    pool_scores: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)


def available_strategies() -> list[str]:
    """Every strategy name :func:`select` accepts.

    Returns
    -------
    list of str
    """
    names = ["random", "batchbald", *_EMBEDDING_STRATEGIES]
    for s in _SCORE_NAMES:
        names += [s, f"topk-{s}"] + [f"{m}-{s}" for m in STOCHASTIC_MODES]
    return names


def parse_strategy(strategy: str) -> tuple[str, str | None]:
    """Split a strategy name into ``(kind, score)``.

    Parameters
    ----------
    strategy : str
        A name from :func:`available_strategies`.

    Returns
    -------
    kind, score : str, str or None
        ``kind`` is ``"topk"``, a stochastic mode, ``"random"``, ``"batchbald"``
        or a diversity strategy; ``score`` the single-point score, if any.
    """
    if not isinstance(strategy, str):
        raise TypeError(f"strategy must be a string, got {type(strategy).__name__}.")
    name = strategy.strip().lower().replace("_", "-")
    if name in ("random", "batchbald", *_EMBEDDING_STRATEGIES):
        return name, None
    if name in _SCORE_NAMES:
        return "topk", name
    head, _, tail = name.partition("-")
    if head in ("topk", *STOCHASTIC_MODES) and tail in _SCORE_NAMES:
        return head, tail
    raise ValueError(
        f"unknown strategy {strategy!r}; choose one of {', '.join(available_strategies())}."
    )


def _pool_size(pool: Any) -> int:
    return (
        pool.n_inputs if isinstance(pool, Posterior) else len(score(pool, "random", random_state=0))
    )


def select(
    pool: Posterior | Iterable[Posterior],
    batch_size: int,
    strategy: str = "power-bald",
    *,
    temperature: float = 1.0,
    random_state: Any = None,
    n_configurations: int = 10_000,
    embeddings: Any = None,
    labelled_embeddings: Any = None,
    chunk_size: int = DEFAULT_CHUNK,
    device: str = "cpu",
) -> Batch:
    """Select a batch of pool indices to label next.

    Parameters
    ----------
    pool : Posterior or iterable of Posterior
        Draws over the pool (chunks allowed for score-based strategies; BatchBALD
        needs one Posterior).
    batch_size : int
        Batch size ``b`` (at most the pool size).
    strategy : str
        See :func:`available_strategies` and the module docstring.
    temperature : float
        Temperature ``1/β`` of stochastic strategies.
    random_state : None, int or numpy.random.Generator
        Seed (stochastic strategies, random, sampled BatchBALD, diversity).
    n_configurations : int
        BatchBALD's configuration budget (see :func:`~knowable.acquire.batchbald`).
    embeddings : array-like of shape (n, d), optional
        Pool embeddings for ``coreset``, ``kmeans`` and ``badge``.
    labelled_embeddings : array-like of shape (m, d), optional
        Embeddings of the labelled set for ``coreset``.
    chunk_size : int
        Pool inputs scored at once.
    device : str
        Torch device for BatchBALD.

    Returns
    -------
    Batch

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.models import Posterior, Categorical
    >>> probs = np.random.default_rng(0).dirichlet(np.ones(3), size=(8, 50))
    >>> batch = select(Posterior(probs, Categorical()), 5, "power-bald", random_state=0)
    >>> batch.indices.shape
    (5,)
    """
    kind, score_name = parse_strategy(strategy)
    check_positive_int(batch_size, "batch_size")
    rng = check_random_state(random_state)
    if kind == "batchbald":
        if not isinstance(pool, Posterior):
            raise TypeError("BatchBALD needs the pool as one Posterior, not as chunks.")
        res = batchbald(
            pool, batch_size, n_configurations=n_configurations, random_state=rng, device=device
        )
        return Batch(res.indices, res.scores, strategy, info={"exact": res.exact})
    if kind in _EMBEDDING_STRATEGIES:
        if embeddings is None:
            raise ValueError(f"strategy {strategy!r} needs embeddings (array of shape (n, d)).")
        n = len(embeddings)
        check_posterior(pool, "pool", purpose=f"strategy {strategy!r}")
        if pool.n_inputs != n:
            raise ValueError(f"embeddings have {n} rows but the pool has {pool.n_inputs}.")
        if kind == "coreset":
            idx = coreset(embeddings, batch_size, labelled_embeddings, random_state=rng)
        elif kind == "kmeans":
            idx = kmeans_batch(embeddings, batch_size, random_state=rng)
        else:
            idx = badge(embeddings, batch_size, random_state=rng)
        return Batch(idx, np.full(len(idx), np.nan), strategy)
    if kind == "random":
        n = _pool_size(pool)
        b = check_batch_size(batch_size, n)
        idx = rng.permutation(n)[:b].astype(np.int64)  # a prefix: b = 1 is the first pick
        return Batch(idx, np.full(b, np.nan), strategy)
    scores = score(pool, score_name, chunk_size=chunk_size)  # type: ignore[arg-type]
    if kind == "topk":
        idx = top_k(scores, batch_size)
    else:
        idx = stochastic_batch(scores, batch_size, kind, temperature, rng)
    return Batch(idx, scores[idx], strategy, pool_scores=scores)
