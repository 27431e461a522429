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
from ..models import Posterior
from ._batchbald import batchbald
from ._diversity import badge, coreset, kmeans_batch
from ._inputs import DEFAULT_CHUNK, check_batch_size, check_posterior
from ._registry import (
    SelectContext,
    StrategySpec,
    get_strategy,
    register_strategy,
    registered_strategies,
)
from ._scores import score
from ._select import STOCHASTIC_MODES, stochastic_batch, top_k

__all__ = ["Batch", "available_strategies", "parse_strategy", "select", "strategy_spec"]


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


def _score_names() -> list[str]:
    return [spec.name for spec in registered_strategies("score") if spec.selectable]


def available_strategies(family: str | None = None) -> list[str]:
    """Registered strategy names, read from the strategy table.

    Parameters
    ----------
    family : {"score", "batch", "causal"}, optional
        Default: every name :func:`select` accepts (batch strategies, then each
        selectable score as ``"<score>"``, ``"topk-<score>"`` and
        ``"<mode>-<score>"``). With a family: that family's registered names
        (``"causal"``: the names :func:`~knowable.acquire.select_causal` accepts).

    Returns
    -------
    list of str
    """
    if family is not None:
        return [spec.name for spec in registered_strategies(family)]
    names = [spec.name for spec in registered_strategies("batch")]
    for s in _score_names():
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
        ``kind`` is ``"topk"``, a stochastic mode, or a ``"batch"`` strategy
        (``"random"``, ``"batchbald"``, a diversity strategy, ...); ``score``
        the single-point score, if any.
    """
    if not isinstance(strategy, str):
        raise TypeError(f"strategy must be a string, got {type(strategy).__name__}.")
    name = strategy.strip().lower().replace("_", "-")
    if name in available_strategies("batch"):
        return name, None
    scores = _score_names()
    if name in scores:
        return "topk", name
    head, _, tail = name.partition("-")
    if head in ("topk", *STOCHASTIC_MODES) and tail in scores:
        return head, tail
    raise ValueError(
        f"unknown strategy {strategy!r}; choose one of {', '.join(available_strategies())}."
    )


def strategy_spec(strategy: str) -> StrategySpec:
    """What a :func:`select` strategy needs: its table entry.

    Parameters
    ----------
    strategy : str
        A name from :func:`available_strategies`.

    Returns
    -------
    StrategySpec
        The ``"batch"`` entry, or the ``"score"`` entry of a score-based name
        (``"power-bald"`` -> ``"bald"``).
    """
    kind, score_name = parse_strategy(strategy)
    if score_name is None:
        return get_strategy(kind, "batch")
    return get_strategy(score_name, "score")


def _pool_size(pool: Any) -> int:
    if isinstance(pool, (int, np.integer)) and not isinstance(pool, bool):
        n = int(pool)
        if n < 1:
            raise ValueError(f"the pool is empty (pool size {n}); pass at least one pool input.")
        return n
    return (
        pool.n_inputs if isinstance(pool, Posterior) else len(score(pool, "random", random_state=0))
    )


# ------------------------------------------------------------ batch strategies
def _select_random(pool: Any, batch_size: int, ctx: SelectContext) -> Batch:
    n = _pool_size(pool)
    b = check_batch_size(batch_size, n)
    idx = ctx.random_state.permutation(n)[:b].astype(np.int64)  # a prefix: b = 1 is the first pick
    return Batch(idx, np.full(b, np.nan), ctx.strategy)


def _select_batchbald(pool: Any, batch_size: int, ctx: SelectContext) -> Batch:
    if not isinstance(pool, Posterior):
        raise TypeError("BatchBALD needs the pool as one Posterior, not as chunks.")
    res = batchbald(
        pool,
        batch_size,
        n_configurations=ctx.n_configurations,
        random_state=ctx.random_state,
        device=ctx.device,
    )
    return Batch(res.indices, res.scores, ctx.strategy, info={"exact": res.exact})


def _check_embeddings(pool: Any, ctx: SelectContext) -> int:
    if ctx.embeddings is None:
        raise ValueError(f"strategy {ctx.strategy!r} needs embeddings (array of shape (n, d)).")
    n = len(ctx.embeddings)
    if isinstance(pool, (int, np.integer)) and not isinstance(pool, bool):
        size = int(pool)
    else:
        size = check_posterior(pool, "pool", purpose=f"strategy {ctx.strategy!r}").n_inputs
    if size != n:
        raise ValueError(f"embeddings have {n} rows but the pool has {size}.")
    return n


def _select_coreset(pool: Any, batch_size: int, ctx: SelectContext) -> Batch:
    _check_embeddings(pool, ctx)
    idx = coreset(
        ctx.embeddings, batch_size, ctx.labelled_embeddings, random_state=ctx.random_state
    )
    return Batch(idx, np.full(len(idx), np.nan), ctx.strategy)


def _select_kmeans(pool: Any, batch_size: int, ctx: SelectContext) -> Batch:
    _check_embeddings(pool, ctx)
    idx = kmeans_batch(ctx.embeddings, batch_size, random_state=ctx.random_state)
    return Batch(idx, np.full(len(idx), np.nan), ctx.strategy)


def _select_badge(pool: Any, batch_size: int, ctx: SelectContext) -> Batch:
    _check_embeddings(pool, ctx)
    idx = badge(ctx.embeddings, batch_size, random_state=ctx.random_state)
    return Batch(idx, np.full(len(idx), np.nan), ctx.strategy)


register_strategy(
    "random",
    _select_random,
    family="batch",
    label="random",
    description="uniform without replacement",
    needs_posterior=False,
)
register_strategy(
    "batchbald",
    _select_batchbald,
    family="batch",
    label="BatchBALD",
    description="greedy BatchBALD (exact, then importance-sampled joint entropies)",
    needs_whole_pool=True,
)
_DIVERSITY = {"needs_posterior": False, "needs_embeddings": True}
register_strategy(
    "coreset",
    _select_coreset,
    family="batch",
    label="Core-set",
    description="greedy k-centre on embeddings",
    **_DIVERSITY,
)
register_strategy(
    "kmeans",
    _select_kmeans,
    family="batch",
    label="k-means",
    description="points nearest the k-means centres of the embeddings",
    sequential=False,
    **_DIVERSITY,
)
register_strategy(
    "badge",
    _select_badge,
    family="batch",
    label="BADGE",
    description="k-means++ seeding on gradient embeddings",
    **_DIVERSITY,
)


def select(
    pool: Posterior | Iterable[Posterior] | int,
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
    pool : Posterior, iterable of Posterior, or int
        Draws over the pool (chunks allowed for score-based strategies; BatchBALD
        needs one Posterior). Strategies that do not read the posterior
        (``needs_posterior`` false in the table: ``"random"`` and the
        diversity strategies) also take the pool size ``n``.
    batch_size : int
        Batch size ``b`` (at most the pool size).
    strategy : str
        See :func:`available_strategies` and the module docstring; the
        strategy's needs are in :func:`strategy_spec`.
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
    if score_name is None:
        ctx = SelectContext(
            strategy=strategy,
            random_state=rng,
            temperature=temperature,
            n_configurations=n_configurations,
            embeddings=embeddings,
            labelled_embeddings=labelled_embeddings,
            chunk_size=chunk_size,
            device=device,
        )
        return get_strategy(kind, "batch").select_fn(pool, batch_size, ctx)  # type: ignore[misc]
    scores = score(pool, score_name, chunk_size=chunk_size)  # type: ignore[arg-type]
    if kind == "topk":
        idx = top_k(scores, batch_size)
    else:
        idx = stochastic_batch(scores, batch_size, kind, temperature, rng)
    return Batch(idx, scores[idx], strategy, pool_scores=scores)
