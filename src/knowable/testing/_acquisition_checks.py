"""Conformance checks every acquisition strategy must pass.

The acquisition counterpart of :mod:`knowable.testing._checks`: each check is a
small function ``check(strategy, data)`` that raises ``AssertionError`` with a
message when the contract is broken. A *strategy* is a callable
``strategy(posterior, batch_size, random_state=...) -> indices`` (use
:func:`strategy_from_name` for the names of :func:`knowable.acquire.select`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "AcquisitionCheckData",
    "RegisteredCase",
    "acquisition_checks",
    "check_acquisition",
    "make_acquisition_check_data",
    "make_causal_check_data",
    "registered_acquisition_cases",
    "strategy_from_name",
]

Strategy = Callable[..., Any]


@dataclass(frozen=True)
class AcquisitionCheckData:
    """A small seeded pool Posterior for the checks (``S`` draws, ``n`` inputs, ``C`` classes)."""

    posterior: Any
    embeddings: np.ndarray


def make_acquisition_check_data(
    kind: str = "classification", n: int = 40, n_draws: int = 8, n_classes: int = 3, seed: int = 0
) -> AcquisitionCheckData:
    """Seeded pool draws for the checks.

    Parameters
    ----------
    kind : {"classification", "regression"}
        Categorical probability draws or Gaussian function draws.
    n, n_draws, n_classes : int
        Pool size, draws and classes.
    seed : int
        Seed.

    Returns
    -------
    AcquisitionCheckData
    """
    from knowable.models import Categorical, GaussianNoise, Posterior

    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, 2))
    if kind == "classification":
        probs = rng.dirichlet(np.full(n_classes, 0.5), size=(n_draws, n))
        return AcquisitionCheckData(Posterior(probs, Categorical()), emb)
    f = rng.normal(size=(n_draws, n, 1)) * rng.uniform(0.1, 2.0, size=(1, n, 1))
    return AcquisitionCheckData(Posterior(f, GaussianNoise(np.array(0.3))), emb)


def strategy_from_name(name: str, **kwargs: Any) -> Strategy:
    """Wrap a :func:`knowable.acquire.select` strategy name as a checkable callable.

    Parameters
    ----------
    name : str
        Strategy name.
    **kwargs
        Passed to ``select`` (for example ``embeddings`` or ``temperature``).

    Returns
    -------
    callable
        ``strategy(posterior, batch_size, random_state=None, **extra) -> indices``.
    """
    from knowable.acquire import select

    def strategy(posterior: Any, batch_size: Any, random_state: Any = None, **extra: Any) -> Any:
        return select(
            posterior, batch_size, name, random_state=random_state, **{**kwargs, **extra}
        ).indices

    strategy.__name__ = name
    return strategy


def _call(strategy: Strategy, data: AcquisitionCheckData, post: Any, b: Any, seed: Any) -> Any:
    return strategy(post, b, random_state=seed)


def check_batch_shape(strategy: Strategy, data: AcquisitionCheckData) -> None:
    """The batch holds ``b`` distinct int indices inside the pool."""
    for b in (1, 5, data.posterior.n_inputs):
        idx = np.asarray(_call(strategy, data, data.posterior, b, 0))
        assert idx.shape == (b,), f"batch of {b} has shape {idx.shape}"
        assert idx.dtype.kind in "iu", f"indices must be integers, got {idx.dtype}"
        assert len(np.unique(idx)) == b, "indices repeat inside one batch"
        assert idx.min() >= 0 and idx.max() < data.posterior.n_inputs, "index outside the pool"


def check_deterministic(strategy: Strategy, data: AcquisitionCheckData) -> None:
    """The same seed gives the same batch."""
    a = np.asarray(_call(strategy, data, data.posterior, 6, 11))
    b = np.asarray(_call(strategy, data, data.posterior, 6, 11))
    np.testing.assert_array_equal(a, b, err_msg="same seed gave different batches")


def check_batch_one_is_first_pick(strategy: Strategy, data: AcquisitionCheckData) -> None:
    """With ``b = 1`` the batch is the first pick of a larger batch (same seed)."""
    one = np.asarray(_call(strategy, data, data.posterior, 1, 5))
    many = np.asarray(_call(strategy, data, data.posterior, 6, 5))
    assert one[0] == many[0], f"b = 1 picked {one[0]}, first pick of b = 6 is {many[0]}"


def check_acquisition_bad_inputs(strategy: Strategy, data: AcquisitionCheckData) -> None:
    """Batch larger than the pool, batch 0, an empty pool and a non-Posterior raise clearly."""
    post = data.posterior
    cases: list[tuple[str, Callable[[], Any], tuple[type[Exception], ...]]] = [
        (
            "batch larger than pool",
            lambda: _call(strategy, data, post, post.n_inputs + 1, 0),
            (ValueError,),
        ),
        ("batch of 0", lambda: _call(strategy, data, post, 0, 0), (ValueError,)),
        ("float batch", lambda: _call(strategy, data, post, 2.5, 0), (TypeError,)),
        (
            "draws instead of a Posterior",
            lambda: _call(strategy, data, post.draws, 2, 0),
            (TypeError,),
        ),
        ("empty pool", lambda: _call(strategy, data, post[np.arange(0)], 1, 0), (ValueError,)),
    ]
    for name, call, errors in cases:
        try:
            call()
        except errors as err:
            assert str(err), f"{name}: the error message is empty"
            continue
        except Exception as err:
            raise AssertionError(f"{name}: raised {type(err).__name__}: {err}") from err
        raise AssertionError(f"{name}: no error raised")


_CHECKS: list[Callable[[Strategy, AcquisitionCheckData], None]] = [
    check_batch_shape,
    check_deterministic,
    check_batch_one_is_first_pick,
    check_acquisition_bad_inputs,
]


def acquisition_checks(
    *, sequential: bool = True
) -> list[Callable[[Strategy, AcquisitionCheckData], None]]:
    """The acquisition checks.

    Parameters
    ----------
    sequential : bool
        Include :func:`check_batch_one_is_first_pick` (true for top-k,
        Gumbel-top-k and greedy strategies; not for k-means).

    Returns
    -------
    list of callable
    """
    return [c for c in _CHECKS if sequential or c is not check_batch_one_is_first_pick]


def check_acquisition(
    strategy: Strategy, data: AcquisitionCheckData | None = None, *, sequential: bool = True
) -> None:
    """Run every acquisition check; raise ``AssertionError`` on the first failure.

    Parameters
    ----------
    strategy : callable or str
        A strategy callable, or a :func:`knowable.acquire.select` name.
    data : AcquisitionCheckData, optional
        Default :func:`make_acquisition_check_data`.
    sequential : bool
        See :func:`acquisition_checks`.
    """
    fn = strategy_from_name(strategy) if isinstance(strategy, str) else strategy
    data = data or make_acquisition_check_data()
    for check in acquisition_checks(sequential=sequential):
        check(fn, data)


@dataclass(frozen=True)
class RegisteredCase:
    """One registered strategy, wrapped for the checks (see :func:`registered_acquisition_cases`).

    Attributes
    ----------
    id : str
        ``"<family>:<name>[:<observation>]"``, for test ids.
    strategy : callable
        ``strategy(posterior, batch_size, random_state=None) -> indices``.
    data : AcquisitionCheckData
        The pool to check it on.
    sequential : bool
        Passed to :func:`check_acquisition`.
    """

    id: str
    strategy: Strategy
    data: AcquisitionCheckData
    sequential: bool


def make_causal_check_data(
    n: int = 40, n_draws: int = 8, seed: int = 0
) -> tuple[AcquisitionCheckData, np.ndarray, np.ndarray]:
    """Seeded pool draws over ``(mu0, mu1)``, treatments and propensities for causal checks.

    Returns
    -------
    data : AcquisitionCheckData
        Gaussian draws of shape ``(n_draws, n, 2)`` named ``mu0, mu1``.
    t : numpy.ndarray of shape (n,)
        Treatments, 0 or 1.
    propensity : numpy.ndarray of shape (n,)
        ``P(T = 1 | x)`` in ``[0.05, 0.95]``.
    """
    from knowable.models import GaussianNoise, Posterior

    rng = np.random.default_rng(seed)
    draws = rng.normal(size=(n_draws, n, 2)) * rng.uniform(0.1, 2.0, size=(1, n, 2))
    post = Posterior(draws, GaussianNoise(np.array(0.3)), output_names=["mu0", "mu1"])
    return (
        AcquisitionCheckData(post, rng.normal(size=(n, 2))),
        rng.integers(0, 2, n),
        rng.uniform(0.05, 0.95, n),
    )


def _causal_strategy(name: str, t: np.ndarray, pi: np.ndarray) -> Strategy:
    from knowable.acquire import select_causal

    def strategy(posterior: Any, batch_size: Any, random_state: Any = None) -> Any:
        n = posterior.n_inputs if hasattr(posterior, "n_inputs") else len(t)
        return select_causal(
            posterior, t[:n], batch_size, name, propensity=pi[:n], random_state=random_state
        ).indices

    strategy.__name__ = name
    return strategy


def registered_acquisition_cases() -> list[RegisteredCase]:
    """Every strategy in the acquisition registry, wrapped for the checks.

    A ``"score"`` strategy is checked as ``select``'s top-k and power rules on
    every observation model it is registered for (``"random"``, which
    ``select`` does not accept, through :func:`knowable.acquire.score`); a
    ``"batch"`` strategy on a classification pool (a regression pool when it
    accepts only that), with embeddings when it needs them; a ``"causal"`` strategy through
    :func:`knowable.acquire.select_causal` on :func:`make_causal_check_data`.
    A strategy registered later (one new file) is checked without editing any list.

    Returns
    -------
    list of RegisteredCase
    """
    from knowable.acquire import registered_strategies, score, top_k

    data = {
        "categorical": make_acquisition_check_data("classification"),
        "gaussian": make_acquisition_check_data("regression"),
    }
    cases: list[RegisteredCase] = []
    for spec in registered_strategies("score"):
        for kind in spec.scores:
            if spec.selectable:
                for rule in ("topk", "power"):
                    name = f"{rule}-{spec.name}"
                    cases.append(
                        RegisteredCase(
                            f"score:{name}:{kind}", strategy_from_name(name), data[kind], True
                        )
                    )
            else:

                def by_score(
                    posterior: Any, batch_size: Any, random_state: Any = None, _n: str = spec.name
                ) -> Any:
                    return top_k(score(posterior, _n, random_state=random_state), batch_size)

                cases.append(
                    RegisteredCase(f"score:{spec.name}:{kind}", by_score, data[kind], True)
                )
    for spec in registered_strategies("batch"):
        kind = (
            "categorical" if "categorical" in spec.observation_kinds else spec.observation_kinds[0]
        )
        kwargs = {"embeddings": data[kind].embeddings} if spec.needs_embeddings else {}
        cases.append(
            RegisteredCase(
                f"batch:{spec.name}",
                strategy_from_name(spec.name, **kwargs),
                data[kind],
                spec.sequential,
            )
        )
    causal, t, pi = make_causal_check_data()
    for spec in registered_strategies("causal"):
        cases.append(
            RegisteredCase(
                f"causal:{spec.name}", _causal_strategy(spec.name, t, pi), causal, spec.sequential
            )
        )
    return cases
