"""Causal active learning simulated against an oracle: :class:`CausalActiveLoop`.

Units arrive with covariates and an assigned treatment; acquiring a unit
reveals its *factual* outcome only. Each round the loop fits a fresh CATE
estimator on the acquired units, logs √PEHE on a held-out test set with known
effects, scores the rest of the pool from the estimator's joint posterior over
``(mu0, mu1)`` and acquires a batch with :func:`knowable.acquire.select_causal`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from .._progress import progress_bar
from .._random import check_random_state, seed_tag, spawn_seeds
from .._validation import (
    check_array,
    check_binary_treatment,
    check_positive_int,
    check_probability_array,
    check_real,
)
from ..acquire import CAUSAL_STRATEGIES, get_strategy, select_causal
from ..data import Dataset
from ._loop import LoopResult, keep_partial, metric_records
from ._oracle import DatasetOracle

__all__ = ["CausalActiveLoop", "CausalLoopResult"]

EstimatorFactory = Callable[[int], Any]


@dataclass(frozen=True)
class CausalLoopResult(LoopResult):
    """What one :meth:`CausalActiveLoop.run` produced.

    Attributes
    ----------
    history : pandas.DataFrame
        Tidy metrics, one row per (round, metric): columns ``strategy``,
        ``seed``, ``round``, ``n_labels``, ``metric``, ``value``. Metrics:
        ``pehe`` (√PEHE of the posterior-mean CATE on the test units),
        ``ate_error`` (absolute error of the test-set ATE), ``n_treated``
        (acquired treated units), ``fit_seconds``, ``acquire_seconds``.
    acquisitions : pandas.DataFrame
        One row per acquired unit: ``round``, ``rank``, ``index`` (pool row),
        ``t``, ``propensity`` (the loop's estimate, NaN when none was needed),
        ``log_weight``.
    labelled : numpy.ndarray
        Pool rows acquired by the end, in acquisition order (initial set first).
    """


class CausalActiveLoop:
    """Simulate acquiring factual outcomes to learn a treatment effect (Causal-BALD).

    Parameters
    ----------
    estimator_factory : callable
        ``estimator_factory(seed) -> estimator`` with ``fit(X, t, y)``,
        ``effect(X)`` and ``predict_outcomes(X)`` (a Posterior over
        ``(mu0, mu1)``), e.g. ``lambda s: TARNet("due", random_state=s)``.
    pool : Dataset
        Pool covariates ``x``, treatments ``t`` and the outcomes ``y`` the
        oracle reveals (factual only).
    test : Dataset
        Held-out units with ``x`` and the true effects in ``truth["cate"]``.
    validation : Dataset, optional
        Labelled units (``x``, ``t``, factual ``y``) the estimator early-stops
        on every round, passed as ``fit(..., validation_data=(x, t, y))``; the
        Causal-BALD protocol's validation split. Default: none, and the
        estimator holds out part of the acquired units itself.
    strategy : str
        One of :data:`knowable.acquire.CAUSAL_STRATEGIES`.
    batch_size : int
        Units acquired per round.
    n_initial : int
        Size of the uniformly random warm-start set.
    min_per_arm : int
        The warm-start set is redrawn (seeded) until each arm has at least this
        many units, so that the first fit can estimate both outcome functions.
    max_labels : int, optional
        Stop once this many units are labelled (default: the whole pool).
    temperature : float
        Temperature of the stochastic selection (0: top-k).
    propensity : array-like of shape (n_pool,) or sklearn classifier, optional
        ``P(T = 1 | x)`` of the pool units for ``"pi-bald"`` / ``"mu-pi-bald"``,
        or a classifier fitted once on the pool's ``(x, t)`` (treatments are
        known for every unit). Default: logistic regression.
    noise_scale : float, optional
        Outcome noise scale for ``"sundin"``; default the standard deviation of
        the labelled outcomes each round (the reference code's standardisation).
    random_state : None, int or numpy.random.Generator
        Seed of everything: warm-start set, estimator seeds, acquisition, and
        a propensity classifier whose ``random_state`` is None. The
        same seed gives every strategy the same warm-start set and the same
        model seed in every round (common random numbers), and each round's
        estimator sees the acquired units in pool order, so two strategies
        that hold the same units fit the same model: differences between their
        curves come from what they acquired, not from initialisation noise.
    verbose : bool
        Show a progress bar.
    """

    def __init__(
        self,
        estimator_factory: EstimatorFactory,
        pool: Dataset,
        test: Dataset,
        *,
        validation: Dataset | None = None,
        strategy: str = "mu-rho-bald",
        batch_size: int = 10,
        n_initial: int = 100,
        min_per_arm: int = 2,
        max_labels: int | None = None,
        temperature: float = 0.25,
        propensity: Any = None,
        noise_scale: float | None = None,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.estimator_factory = estimator_factory
        self.pool = pool
        self.test = test
        self.validation = validation
        self.strategy = strategy
        self.batch_size = batch_size
        self.n_initial = n_initial
        self.min_per_arm = min_per_arm
        self.max_labels = max_labels
        self.temperature = temperature
        self.propensity = propensity
        self.noise_scale = noise_scale
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------- checks
    def _check(self) -> tuple[int, int, int, np.ndarray, np.ndarray, np.ndarray]:
        if not callable(self.estimator_factory):
            raise TypeError("estimator_factory must be callable: estimator_factory(seed) -> model.")
        if self.strategy not in CAUSAL_STRATEGIES:
            raise ValueError(
                f"strategy must be one of {list(CAUSAL_STRATEGIES)}, got {self.strategy!r}."
            )
        for name in ("pool", "test"):
            if not isinstance(getattr(self, name), Dataset):
                raise TypeError(
                    f"{name} must be a knowable.data.Dataset, got {type(getattr(self, name)).__name__}."
                )
        if self.pool.t is None or self.pool.y is None:
            raise ValueError("pool needs treatments t and the outcomes y the oracle reveals.")
        if self.validation is not None:
            if not isinstance(self.validation, Dataset):
                raise TypeError(
                    "validation must be a knowable.data.Dataset, got "
                    f"{type(self.validation).__name__}."
                )
            if self.validation.t is None or self.validation.y is None:
                raise ValueError("validation needs treatments t and outcomes y.")
        if "cate" not in self.test.truth:
            raise ValueError("test needs the true effects in truth['cate'] to compute √PEHE.")
        x_pool = check_array(self.pool.x, "pool.x", ndim=2)
        t_pool = check_binary_treatment(self.pool.t, "pool.t")
        cate = check_array(self.test.truth["cate"], "test.truth['cate']", ndim=1)
        if len(cate) != len(self.test):
            raise ValueError(f"test has {len(self.test)} units but {len(cate)} true effects.")
        b = check_positive_int(self.batch_size, "batch_size")
        n0 = check_positive_int(self.n_initial, "n_initial")
        cap = (
            len(x_pool)
            if self.max_labels is None
            else check_positive_int(self.max_labels, "max_labels")
        )
        if cap > len(x_pool):
            raise ValueError(f"max_labels = {cap} exceeds the pool size {len(x_pool)}.")
        if n0 > cap:
            limit = "the pool size" if self.max_labels is None else "max_labels ="
            raise ValueError(f"n_initial = {n0} exceeds {limit} {cap}.")
        check_real(self.temperature, "temperature", low=0.0)
        if self.noise_scale is not None:
            check_real(self.noise_scale, "noise_scale", low=0.0, low_inclusive=False)
        return b, n0, cap, x_pool, t_pool, cate

    def _pool_propensity(
        self, x_pool: np.ndarray, t_pool: np.ndarray, seed: int
    ) -> np.ndarray | None:
        if not get_strategy(self.strategy, "causal").needs_propensity:
            return None
        given = self.propensity
        if given is None or hasattr(given, "fit"):
            model = LogisticRegression(max_iter=1000) if given is None else clone(given)
            params = model.get_params()
            if "random_state" in params and params["random_state"] is None:
                model.set_params(random_state=seed)
            model.fit(x_pool, t_pool)
            p = model.predict_proba(x_pool)[:, list(model.classes_).index(1.0)]
            return np.clip(p, 1e-6, 1 - 1e-6)
        # 0 and 1 are allowed, as in select_causal: they are the no-overlap units pi-BALD avoids
        p = check_probability_array(given, "propensity", open_interval=False)
        if p.shape != (len(x_pool),):
            raise ValueError(f"propensity must have shape ({len(x_pool)},), got {p.shape}.")
        return p

    def _warm_start(self, t_pool: np.ndarray, n0: int, rng: np.random.Generator) -> list[int]:
        k = check_positive_int(self.min_per_arm, "min_per_arm", minimum=0)
        counts = np.bincount(t_pool.astype(np.int64), minlength=2)
        if 2 * k > n0 or counts.min() < k:
            raise ValueError(
                f"cannot draw a warm start of {n0} units with min_per_arm = {k} from a pool "
                f"with {counts[0]} control and {counts[1]} treated units."
            )
        for _ in range(10_000):
            pick = rng.choice(len(t_pool), size=n0, replace=False)
            arms = np.bincount(t_pool[pick].astype(np.int64), minlength=2)
            if arms.min() >= k:
                return [int(i) for i in pick]
        raise ValueError(
            f"no warm start of {n0} units with {k} per arm in 10,000 draws; "
            "increase n_initial or lower min_per_arm."
        )

    # ------------------------------------------------------------------- run
    def run(self) -> CausalLoopResult:
        """Run the rounds until ``max_labels`` units are labelled.

        If a round fails or the run is interrupted (Ctrl-C included), the
        rounds finished before it are kept in ``partial_result_`` (a
        ``CausalLoopResult``) and the exception is re-raised with a note saying so.

        Returns
        -------
        CausalLoopResult
        """
        b, n0, cap, x_pool, t_pool, cate = self._check()
        rng = check_random_state(self.random_state)
        tag = seed_tag(self.random_state)
        oracle = DatasetOracle(self.pool)
        x_test = np.asarray(self.test.x)
        fit_kwargs = (
            {}
            if self.validation is None
            else {
                "validation_data": (
                    np.asarray(self.validation.x),
                    np.asarray(self.validation.t),
                    np.asarray(self.validation.y),
                )
            }
        )
        n_rounds = 1 + -(-(cap - n0) // b)
        # drawn before anything strategy-dependent, so every strategy gets the same ones
        model_seeds = [seed % (2**31) for seed in spawn_seeds(rng, n_rounds)]
        # a classifier's seed derived from them, so the acquisition stream stays the same
        propensity_seed = int(np.random.SeedSequence([model_seeds[0], 1]).generate_state(1)[0])
        pi_pool = self._pool_propensity(x_pool, t_pool, propensity_seed % (2**31))
        labelled = self._warm_start(t_pool, n0, rng)
        outcomes = list(oracle.query(np.asarray(labelled)))
        rows: list[dict[str, Any]] = []
        acq_rows: list[dict[str, Any]] = []

        def result() -> CausalLoopResult:
            return CausalLoopResult(
                pd.DataFrame(rows),
                pd.DataFrame(
                    acq_rows, columns=["round", "rank", "index", "t", "propensity", "log_weight"]
                ),
                np.asarray(labelled, dtype=np.int64),
            )

        with (
            progress_bar(
                n_rounds, f"causal active learning ({self.strategy})", self.verbose
            ) as advance,
            keep_partial(self, result, rows),
        ):
            for rnd in range(n_rounds):
                estimator = self.estimator_factory(model_seeds[rnd])
                order = np.argsort(labelled, kind="stable")
                idx = np.asarray(labelled)[order]
                y_lab = np.asarray(outcomes, dtype=float)[order]
                start = time.perf_counter()
                estimator.fit(x_pool[idx], t_pool[idx], y_lab, **fit_kwargs)
                fit_s = time.perf_counter() - start
                tau_hat = np.asarray(estimator.effect(x_test), dtype=float)
                if tau_hat.shape != cate.shape:
                    raise ValueError(
                        f"estimator.effect returned shape {tau_hat.shape} for {len(cate)} test "
                        f"units; expected {cate.shape}."
                    )
                metrics = {
                    "pehe": float(np.sqrt(np.mean((tau_hat - cate) ** 2))),
                    "ate_error": float(abs(tau_hat.mean() - cate.mean())),
                    "n_treated": float(t_pool[idx].sum()),
                    "fit_seconds": fit_s,
                }
                acquire_s = 0.0
                if len(labelled) < cap:
                    rest = np.setdiff1d(np.arange(len(x_pool)), idx)
                    start = time.perf_counter()
                    noise = self.noise_scale
                    if noise is None:
                        noise = float(y_lab.std()) or 1.0
                    batch = select_causal(
                        estimator.predict_outcomes(x_pool[rest]),
                        t_pool[rest],
                        min(b, cap - len(labelled)),
                        self.strategy,
                        propensity=None if pi_pool is None else pi_pool[rest],
                        temperature=self.temperature,
                        noise_scale=noise,
                        random_state=rng,
                    )
                    acquire_s = time.perf_counter() - start
                    new = rest[batch.indices]
                    for rank, (i, w) in enumerate(zip(new, batch.scores, strict=True)):
                        acq_rows.append(
                            {
                                "round": rnd,
                                "rank": rank,
                                "index": int(i),
                                "t": float(t_pool[i]),
                                "propensity": np.nan if pi_pool is None else float(pi_pool[i]),
                                "log_weight": float(w),
                            }
                        )
                metrics["acquire_seconds"] = acquire_s
                rows.extend(metric_records(self.strategy, tag, rnd, len(labelled), metrics))
                if len(labelled) < cap:
                    labelled.extend(int(i) for i in new)
                    outcomes.extend(oracle.query(new))
                advance(1)
        return result()
