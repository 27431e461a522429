"""The one table of acquisition strategies: every strategy is registered here once.

Three families share the table:

``"score"``
    A single-point score, one function per observation model
    (``"categorical"``, ``"gaussian"``) from a Posterior chunk to ``(n,)``
    scores. :func:`~knowable.acquire.score` computes it chunk by chunk, and
    :func:`~knowable.acquire.select` accepts it as ``"<score>"`` /
    ``"topk-<score>"`` (deterministic top-k) and ``"<mode>-<score>"`` for every
    stochastic mode (``power``, ``softmax``, ``softrank``).
``"batch"``
    A whole batch rule, ``select_fn(pool, batch_size, context) -> Batch``
    (random, BatchBALD, the diversity baselines).
``"causal"``
    A Causal-BALD-style rule, ``log_weights_fn(inputs) -> (n,)`` log selection
    weights from a :class:`~knowable.acquire.CausalInputs`; :func:`~knowable.acquire.select_causal`
    samples the batch.

Each entry says what the strategy needs (a posterior at all, embeddings, the
whole pool at once, a propensity, the posterior's spread, an exact
covariance); the loops, the CLI, the benchmarks and the conformance kit read
names and needs from here, so adding a strategy is one new file that calls
:func:`register_strategy`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, overload

import numpy as np

__all__ = [
    "FAMILIES",
    "OBSERVATION_KINDS",
    "SelectContext",
    "StrategyNames",
    "StrategySpec",
    "get_strategy",
    "register_strategy",
    "registered_strategies",
    "strategy_label",
    "unregister_strategy",
]

FAMILIES: tuple[str, ...] = ("score", "batch", "causal")
"""The families of the strategy table."""

OBSERVATION_KINDS: tuple[str, ...] = ("categorical", "gaussian")
"""Observation models a score function is registered for (Posterior ``observation``:
``Categorical`` or ``GaussianNoise``)."""

ScoreFn = Callable[..., np.ndarray]
SelectFn = Callable[..., Any]
LogWeightsFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class StrategySpec:
    """One registered strategy: its implementation and what it needs.

    Attributes
    ----------
    name : str
        The name users pass (lower case, words joined by ``-``).
    family : {"score", "batch", "causal"}
        See the module docstring.
    scores : mapping of str to callable
        ``"score"`` family: ``{observation kind: fn(chunk) -> (n,)}``; with
        ``uses_random_state`` the call is ``fn(chunk, rng)``.
    select_fn : callable or None
        ``"batch"`` family: ``select_fn(pool, batch_size, context) -> Batch``,
        ``pool`` a Posterior (or chunks), or the pool size (int) when
        ``needs_posterior`` is false; ``context`` a :class:`SelectContext`.
    log_weights_fn : callable or None
        ``"causal"`` family: ``log_weights_fn(inputs) -> (n,)`` from a
        :class:`~knowable.acquire.CausalInputs`.
    label : str
        A display name for tables and figures.
    description : str
        One line for help texts.
    needs_posterior : bool
        Reads the pool's Posterior draws (false: random and diversity
        strategies, which take the pool size instead).
    needs_embeddings : bool
        Needs ``embeddings`` of the pool (``(n, d)``).
    needs_whole_pool : bool
        Needs the pool as one Posterior, not as chunks.
    needs_propensity : bool
        Needs the pool's propensity ``P(T = 1 | x)``.
    needs_spread : bool
        Needs more than one draw or an exact covariance (every unit would
        score the same otherwise).
    uses_exact_cov : bool
        Uses the Posterior's exact covariance when the model supplies one.
    uses_random_state : bool
        ``"score"`` family: the score is random (called ``fn(chunk, rng)``).
    selectable : bool
        ``"score"`` family: usable by :func:`~knowable.acquire.select` as
        ``"<score>"``, ``"topk-<score>"`` and ``"<mode>-<score>"``.
    sequential : bool
        A batch of one is the first pick of a larger batch with the same seed
        (true for top-k, Gumbel-top-k and greedy rules; false for k-means).
    observation_kinds : tuple of str
        ``"batch"`` family: the observation models of pool Posteriors it accepts
        (DiscoBAX and BatchGFN need a regression pool, ``("gaussian",)``).
    """

    name: str
    family: str
    scores: Mapping[str, ScoreFn] = field(default_factory=dict)
    select_fn: SelectFn | None = None
    log_weights_fn: LogWeightsFn | None = None
    label: str = ""
    description: str = ""
    needs_posterior: bool = True
    needs_embeddings: bool = False
    needs_whole_pool: bool = False
    needs_propensity: bool = False
    needs_spread: bool = False
    uses_exact_cov: bool = False
    uses_random_state: bool = False
    selectable: bool = True
    sequential: bool = True
    observation_kinds: tuple[str, ...] = OBSERVATION_KINDS


@dataclass(frozen=True)
class SelectContext:
    """Everything :func:`~knowable.acquire.select` passes to a ``"batch"`` strategy.

    Attributes
    ----------
    strategy : str
        The name the user passed.
    random_state : numpy.random.Generator
        The seeded generator (use it for every random choice).
    temperature : float
        Temperature of stochastic rules.
    n_configurations : int
        BatchBALD's configuration budget.
    embeddings : array-like of shape (n, d) or None
        Pool embeddings (``needs_embeddings``).
    labelled_embeddings : array-like of shape (m, d) or None
        Embeddings of the labelled set.
    chunk_size : int
        Pool inputs scored at once.
    device : str
        Torch device.
    """

    strategy: str
    random_state: np.random.Generator
    temperature: float = 1.0
    n_configurations: int = 10_000
    embeddings: Any = None
    labelled_embeddings: Any = None
    chunk_size: int = 8192
    device: str = "cpu"


_TABLE: dict[tuple[str, str], StrategySpec] = {}


def _check_family(family: str) -> str:
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {list(FAMILIES)}, got {family!r}.")
    return family


def _default_label(name: str) -> str:
    return name


@overload
def register_strategy(
    name: str, *, family: str, observations: Sequence[str] | None = ..., **kwargs: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...


@overload
def register_strategy(name: str, impl: Any, *, family: str, **kwargs: Any) -> StrategySpec: ...


def register_strategy(
    name: str,
    impl: Any = None,
    *,
    family: str,
    observations: Sequence[str] | None = None,
    replace: bool = False,
    **needs: Any,
) -> Any:
    """Add a strategy to the table (directly, or as a decorator).

    Parameters
    ----------
    name : str
        The strategy name (lower case; ``-`` between words). A ``"score"``
        name must not contain a stochastic mode or ``topk`` as its first word.
    impl : callable or mapping, optional
        The implementation: for ``"score"`` a function ``fn(chunk) -> (n,)``
        or a mapping ``{observation kind: fn}``; for ``"batch"`` the
        ``select_fn``; for ``"causal"`` the ``log_weights_fn`` (see
        :class:`StrategySpec`). Omit it to use ``register_strategy`` as a
        decorator of the function.
    family : {"score", "batch", "causal"}
        The family.
    observations : sequence of {"categorical", "gaussian"}, optional
        ``"score"`` family with a single function: the observation models it
        is defined for (default both).
    replace : bool
        Allow replacing an entry of the same family and name.
    **needs
        The other :class:`StrategySpec` fields (``label``, ``description``,
        ``needs_embeddings``, ``needs_whole_pool``, ``needs_posterior``,
        ``needs_propensity``, ``needs_spread``, ``uses_exact_cov``,
        ``uses_random_state``, ``selectable``, ``sequential``).

    Returns
    -------
    StrategySpec, or a decorator that registers the function and returns it unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.acquire import register_strategy, unregister_strategy, score
    >>> from knowable.models import Posterior, Categorical
    >>> @register_strategy("max-prob-spread", family="score", observations=["categorical"])
    ... def max_prob_spread(chunk):
    ...     return chunk.draws.max(axis=-1).std(axis=0)
    >>> p = np.array([[[0.9, 0.1]], [[0.5, 0.5]]])
    >>> float(score(Posterior(p, Categorical()), "max-prob-spread")[0])
    0.2
    >>> unregister_strategy("max-prob-spread", family="score")
    """
    _check_family(family)
    if not isinstance(name, str) or not name or name != name.strip().lower().replace("_", "-"):
        raise ValueError(
            f"strategy names are non-empty, lower case, with '-' between words; got {name!r}."
        )
    allowed = set(StrategySpec.__dataclass_fields__) - {
        "name",
        "family",
        "scores",
        "select_fn",
        "log_weights_fn",
    }
    unknown = sorted(set(needs) - allowed)
    if unknown:
        raise TypeError(
            f"register_strategy got unknown fields {unknown}; allowed: {sorted(allowed)}."
        )
    if impl is None:

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            register_strategy(
                name, fn, family=family, observations=observations, replace=replace, **needs
            )
            return fn

        return decorator
    if (family, name) in _TABLE and not replace:
        raise ValueError(
            f"a {family} strategy named {name!r} is already registered; pick another name "
            "or pass replace=True."
        )
    needs.setdefault("label", _default_label(name))
    if family == "score":
        from ._select import STOCHASTIC_MODES

        head = name.partition("-")[0]
        if needs.get("selectable", True) and head in ("topk", *STOCHASTIC_MODES):
            raise ValueError(
                f"score name {name!r} starts with {head!r}, which select() reads as a "
                "batch rule; pick another name."
            )
        if isinstance(impl, Mapping):
            fns = dict(impl)
        else:
            if not callable(impl):
                raise TypeError(f"a score needs a function or a mapping, got {type(impl)}.")
            fns = {kind: impl for kind in (observations or OBSERVATION_KINDS)}
        bad = sorted(set(fns) - set(OBSERVATION_KINDS))
        if bad or not fns:
            raise ValueError(
                f"score functions are keyed by observation kind {list(OBSERVATION_KINDS)}, "
                f"got {sorted(fns)}."
            )
        spec = StrategySpec(name, family, scores=MappingProxyType(fns), **needs)
    elif not callable(impl):
        raise TypeError(f"a {family} strategy needs a function, got {type(impl).__name__}.")
    elif family == "batch":
        spec = StrategySpec(name, family, select_fn=impl, **needs)
    else:
        spec = StrategySpec(name, family, log_weights_fn=impl, **needs)
    _TABLE[(family, name)] = spec
    return spec


def unregister_strategy(name: str, *, family: str) -> None:
    """Remove a registered strategy (for tests and notebooks).

    Parameters
    ----------
    name : str
        The strategy name.
    family : {"score", "batch", "causal"}
        Its family.
    """
    _check_family(family)
    if (family, name) not in _TABLE:
        raise KeyError(f"no {family} strategy named {name!r} is registered.")
    del _TABLE[(family, name)]


def registered_strategies(family: str | None = None) -> list[StrategySpec]:
    """Registered strategies in registration order.

    Parameters
    ----------
    family : {"score", "batch", "causal"}, optional
        Only this family (default: all).

    Returns
    -------
    list of StrategySpec
    """
    if family is not None:
        _check_family(family)
    return [spec for (fam, _), spec in _TABLE.items() if family is None or fam == family]


def get_strategy(name: str, family: str) -> StrategySpec:
    """The table entry of one strategy.

    Parameters
    ----------
    name : str
        A registered name.
    family : {"score", "batch", "causal"}
        Its family.

    Returns
    -------
    StrategySpec

    Raises
    ------
    ValueError
        When no such strategy is registered (the message lists the names).
    """
    _check_family(family)
    spec = _TABLE.get((family, name)) if isinstance(name, str) else None
    if spec is None:
        names = ", ".join(s.name for s in registered_strategies(family))
        raise ValueError(f"unknown {family} strategy {name!r}; choose one of {names}.")
    return spec


def strategy_label(name: str) -> str:
    """A display name for a :func:`~knowable.acquire.select` or causal strategy name.

    Composite names read ``"<Mode><SCORE>"`` (``"power-bald"`` ->
    ``"PowerBALD"``); a plain or ``topk-`` score reads ``"<SCORE> top-k"``.

    Parameters
    ----------
    name : str
        A strategy name.

    Returns
    -------
    str
    """
    from ._strategies import parse_strategy

    for family in ("batch", "causal"):
        if (family, name) in _TABLE:
            return _TABLE[(family, name)].label
    kind, score_name = parse_strategy(name)
    if score_name is None:
        return _TABLE[("batch", kind)].label
    label = _TABLE[("score", score_name)].label
    if kind == "topk":
        return f"{label} top-k"
    return kind.capitalize() + label


class StrategyNames(Sequence[str]):
    """A live, read-only view of the names of one family (a tuple-like sequence).

    It reads the table on every use, so a strategy registered later appears in it.

    Parameters
    ----------
    family : {"score", "batch", "causal"}
        The family.
    selectable_only : bool
        ``"score"`` family: only the scores :func:`~knowable.acquire.select` accepts.
    """

    def __init__(self, family: str, *, selectable_only: bool = False) -> None:
        self._family = _check_family(family)
        self._selectable_only = selectable_only

    def _names(self) -> tuple[str, ...]:
        return tuple(
            s.name
            for s in registered_strategies(self._family)
            if not self._selectable_only or s.selectable
        )

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StrategyNames):
            return self._names() == other._names()
        if isinstance(other, (tuple, list)):
            return self._names() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._family, self._selectable_only))

    def __repr__(self) -> str:
        return repr(self._names())
