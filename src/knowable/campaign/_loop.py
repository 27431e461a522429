"""Pool-based active learning simulated against an oracle: :class:`ActiveLoop`.

Each round: fit a model on the labelled set, log metrics on a test set, score
the unlabelled pool through the model's :class:`~knowable.models.Posterior`,
select a batch with :func:`knowable.acquire.select`, and reveal its labels.
The model is any object with ``fit(X, y)`` and ``posterior(X)``; pass a
*factory* so that every round (or every seed) starts from a fresh model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._progress import progress_bar
from .._random import check_random_state, seed_tag, spawn_seeds
from .._validation import check_positive_int
from ..acquire import check_posterior, parse_strategy, select, strategy_spec
from ..data import Dataset
from ..models import Categorical, GaussianNoise
from ._oracle import DatasetOracle

__all__ = ["ActiveLoop", "ActiveLoopResult", "evaluate_posterior"]

ModelFactory = Callable[[int], Any]


@contextmanager
def keep_partial(
    loop: Any, result: Callable[[], Any], rows: list[dict[str, Any]]
) -> Iterator[None]:
    """On any exception (Ctrl-C included) store ``result()`` as ``loop.partial_result_``.

    The exception is re-raised with a note naming how many rounds finished, so
    an error late in a long simulated campaign does not lose the rounds paid for.
    """
    try:
        yield
    except BaseException as exc:
        loop.partial_result_ = result()
        finished = rows[-1]["round"] + 1 if rows else 0
        exc.add_note(f"{finished} finished rounds are kept in loop.partial_result_.")
        raise


def metric_records(
    strategy: str, seed: Any, rnd: int, n_labels: int, metrics: dict[str, float]
) -> list[dict[str, Any]]:
    """Tidy history rows of one round: one per metric."""
    return [
        {
            "strategy": strategy,
            "seed": seed,
            "round": rnd,
            "n_labels": n_labels,
            "metric": name,
            "value": float(value),
        }
        for name, value in metrics.items()
    ]


def metric_rows(history: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows of one metric of a tidy loop history, columns ``n_labels`` and ``value``."""
    rows = history[history["metric"] == name]
    if rows.empty:
        raise KeyError(f"no metric {name!r}; available: {sorted(history['metric'].unique())}")
    return rows[["n_labels", "value"]].reset_index(drop=True)


@dataclass(frozen=True)
class LoopResult:
    """What a simulated loop produced: ``history``, ``acquisitions`` and ``labelled``."""

    history: pd.DataFrame
    acquisitions: pd.DataFrame
    labelled: np.ndarray

    def metric(self, name: str) -> pd.DataFrame:
        """Rows of one metric, columns ``n_labels`` and ``value``."""
        return metric_rows(self.history, name)


@dataclass(frozen=True)
class ActiveLoopResult(LoopResult):
    """What one :meth:`ActiveLoop.run` produced.

    Attributes
    ----------
    history : pandas.DataFrame
        Tidy metrics, one row per (round, metric): columns ``strategy``,
        ``seed``, ``round``, ``n_labels``, ``metric``, ``value``. Metrics are
        ``accuracy`` and ``nll`` (classification) or ``rmse`` and ``nll``
        (regression) on the test set, plus ``fit_seconds`` and ``acquire_seconds``.
    acquisitions : pandas.DataFrame
        One row per acquired point: ``round``, ``rank``, ``index`` (pool row), ``score``, ``label``.
    labelled : numpy.ndarray
        Pool rows labelled at the end, in acquisition order (initial set first).
    """


def evaluate_posterior(posterior: Any, y: Any, classes: Any = None) -> dict[str, float]:
    """Test metrics of a Posterior against true outcomes.

    Parameters
    ----------
    posterior : Posterior
        Draws at the test inputs (``Categorical`` or ``GaussianNoise``).
    y : array-like of shape (n,)
        True labels / outcomes.
    classes : array-like of shape (C,), optional
        The label of each probability column (a classifier's ``classes_``);
        default ``0 .. C-1``. Labels outside ``classes`` count as wrong, with
        probability 1e-12.

    Returns
    -------
    dict
        ``accuracy`` and ``nll`` (mean negative log predictive probability)
        for classification; ``rmse`` and ``nll`` for Gaussian regression.
    """
    post = check_posterior(
        posterior, observation=(Categorical, GaussianNoise), purpose="evaluation"
    )
    y_arr = np.asarray(y)
    if isinstance(post.observation, Categorical):
        mean = post.mean()
        labels = np.arange(mean.shape[1]) if classes is None else np.asarray(classes)
        if len(labels) != mean.shape[1]:
            raise ValueError(f"classes has {len(labels)} entries for {mean.shape[1]} columns.")
        acc = float((labels[mean.argmax(1)] == y_arr).mean())
        col = np.searchsorted(labels, y_arr) if classes is not None else y_arr.astype(np.int64)
        known = (col >= 0) & (col < len(labels))
        known[known] = labels[col[known]] == y_arr[known]
        p = np.full(len(y_arr), 1e-12)
        p[known] = np.clip(mean[np.flatnonzero(known), col[known]], 1e-12, 1.0)
        return {"accuracy": acc, "nll": float(-np.log(p).mean())}
    y2 = y_arr.reshape(len(y_arr), -1).astype(float)
    rmse = float(np.sqrt(((post.mean() - y2) ** 2).mean()))
    return {"rmse": rmse, "nll": float(-post.log_likelihood(y2).mean())}


def _initial_indices(
    y: np.ndarray, n_initial: int, how: Any, rng: np.random.Generator
) -> np.ndarray:
    n = len(y)
    if not isinstance(how, str):
        idx = np.unique(np.asarray(how, dtype=np.int64))
        if idx.size == 0 or idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"initial indices must be non-empty and lie in [0, {n}).")
        return idx
    if how == "random":
        return rng.choice(n, size=n_initial, replace=False)
    if how != "balanced":
        raise ValueError(f"initial must be 'balanced', 'random' or an index array, got {how!r}.")
    classes = np.unique(y)
    if y.dtype.kind not in "iu" or n_initial < len(classes):
        raise ValueError(
            f"initial='balanced' needs integer labels and n_initial >= number of classes "
            f"({len(classes)}); use initial='random'."
        )
    per = n_initial // len(classes)
    picks = [rng.choice(np.flatnonzero(y == c), size=per, replace=False) for c in classes]
    chosen = np.concatenate(picks)
    rest = np.setdiff1d(np.arange(n), chosen)
    extra = rng.choice(rest, size=n_initial - len(chosen), replace=False)
    return np.concatenate([chosen, extra]).astype(np.int64)


class ActiveLoop:
    """Simulate pool-based active learning with an oracle that reveals a Dataset's labels.

    Parameters
    ----------
    model_factory : callable
        ``model_factory(seed) -> model`` with ``fit(X, y)`` and ``posterior(X)``
        (for example ``lambda s: UncertainClassifier("dropout", random_state=s)``).
    pool : Dataset
        Pool inputs ``x`` and the labels ``y`` the oracle reveals.
    test : Dataset
        Held-out inputs and labels for the per-round metrics.
    strategy : str
        Any name accepted by :func:`knowable.acquire.select` (``"power-bald"``,
        ``"batchbald"``, ``"bald"``, ``"random"``, ``"coreset"``, ...).
    batch_size : int
        Points acquired per round.
    n_initial : int
        Size of the initial labelled set.
    initial : {"balanced", "random"} or array of int
        How the initial set is drawn (balanced: equal numbers per class).
    max_labels : int
        Stop once this many points are labelled (the last batch is shortened).
    temperature : float
        Temperature of stochastic strategies.
    n_configurations : int
        BatchBALD's configuration budget.
    embed : callable, optional
        ``embed(model, X) -> (n, d)`` for diversity strategies; default the
        flattened inputs. Diversity strategies never compute pool draws.
    n_candidates : int, optional
        Candidate subsampling: each round, acquire only among a fresh uniform
        random subset of about this many unlabelled rows (all of them when
        fewer remain). Default: the whole unlabelled pool.
    candidate_groups : array-like of shape (n_pool,), optional
        With ``n_candidates``: draw whole groups (e.g. the noisy copies of one
        source image) in random order until at least ``n_candidates``
        unlabelled rows are taken, so that redundancy inside a group is kept
        in the candidate set.
    warm_start : bool
        Keep one model across rounds and call ``fit`` again (else a fresh
        model from the factory each round).
    random_state : None, int or numpy.random.Generator
        Seed of everything: initial set, model seeds, acquisition.
    verbose : bool
        Show a progress bar.
    """

    def __init__(
        self,
        model_factory: ModelFactory,
        pool: Dataset,
        test: Dataset,
        *,
        strategy: str = "power-bald",
        batch_size: int = 10,
        n_initial: int = 20,
        initial: Any = "balanced",
        max_labels: int = 300,
        temperature: float = 1.0,
        n_configurations: int = 10_000,
        embed: Callable[[Any, np.ndarray], np.ndarray] | None = None,
        n_candidates: int | None = None,
        candidate_groups: Any = None,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.model_factory = model_factory
        self.pool = pool
        self.test = test
        self.strategy = strategy
        self.batch_size = batch_size
        self.n_initial = n_initial
        self.initial = initial
        self.max_labels = max_labels
        self.temperature = temperature
        self.n_configurations = n_configurations
        self.embed = embed
        self.n_candidates = n_candidates
        self.candidate_groups = candidate_groups
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _check(self) -> tuple[int, int, int]:
        if not callable(self.model_factory):
            raise TypeError("model_factory must be callable: model_factory(seed) -> model.")
        for name in ("pool", "test"):
            data = getattr(self, name)
            if not isinstance(data, Dataset):
                raise TypeError(
                    f"{name} must be a knowable.data.Dataset, got {type(data).__name__}."
                )
            if data.y is None:
                raise ValueError(f"{name} has no outcomes y.")
        parse_strategy(self.strategy)
        b = check_positive_int(self.batch_size, "batch_size")
        n0 = check_positive_int(self.n_initial, "n_initial")
        cap = check_positive_int(self.max_labels, "max_labels")
        if cap > len(self.pool):
            raise ValueError(f"max_labels = {cap} exceeds the pool size {len(self.pool)}.")
        if self.n_candidates is not None:
            check_positive_int(self.n_candidates, "n_candidates")
        if self.candidate_groups is not None:
            if self.n_candidates is None:
                raise ValueError("candidate_groups needs n_candidates.")
            groups = np.asarray(self.candidate_groups)
            if groups.shape != (len(self.pool),):
                raise ValueError(
                    f"candidate_groups must have shape ({len(self.pool)},) (one group per pool "
                    f"row), got {groups.shape}."
                )
        return b, n0, cap

    def _candidates(self, rest: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Unlabelled rows to acquire from this round (sorted), by candidate subsampling."""
        m = self.n_candidates
        if m is None or len(rest) <= m:
            return rest
        if self.candidate_groups is None:
            return np.sort(rng.choice(rest, size=m, replace=False))
        groups = np.asarray(self.candidate_groups)[rest]
        uniq, inverse = np.unique(groups, return_inverse=True)
        sizes = np.bincount(inverse)
        order = rng.permutation(len(uniq))
        n_groups = int(np.searchsorted(np.cumsum(sizes[order]), m)) + 1
        chosen = np.zeros(len(uniq), dtype=bool)
        chosen[order[:n_groups]] = True
        return rest[chosen[inverse]]

    def run(self) -> ActiveLoopResult:
        """Run the rounds until ``max_labels`` points are labelled.

        If a round fails or the run is interrupted (Ctrl-C included), the
        rounds finished before it are kept in ``partial_result_`` (a
        ``ActiveLoopResult``) and the exception is re-raised with a note saying so.

        Returns
        -------
        ActiveLoopResult
        """
        b, n0, cap = self._check()
        rng = check_random_state(self.random_state)
        tag = seed_tag(self.random_state)
        oracle = DatasetOracle(self.pool)
        x_pool = np.asarray(self.pool.x)
        labelled = list(_initial_indices(np.asarray(self.pool.y), n0, self.initial, rng))
        if len(labelled) > cap:
            raise ValueError(f"the initial set ({len(labelled)}) exceeds max_labels = {cap}.")
        labels = list(oracle.query(np.asarray(labelled)))
        n_rounds = 1 + -(-(cap - len(labelled)) // b)
        rows: list[dict[str, Any]] = []
        acq_rows: list[dict[str, Any]] = []
        model = None

        def result() -> ActiveLoopResult:
            return ActiveLoopResult(
                pd.DataFrame(rows),
                pd.DataFrame(acq_rows, columns=["round", "rank", "index", "score", "label"]),
                np.asarray(labelled, dtype=np.int64),
            )

        with (
            progress_bar(n_rounds, f"active learning ({self.strategy})", self.verbose) as advance,
            keep_partial(self, result, rows),
        ):
            for rnd in range(n_rounds):
                if model is None or not self.warm_start:
                    model = self.model_factory(spawn_seeds(rng, 1)[0] % (2**31))
                idx = np.asarray(labelled)
                t0 = time.perf_counter()
                model.fit(x_pool[idx], np.asarray(labels))
                fit_s = time.perf_counter() - t0
                metrics = evaluate_posterior(
                    model.posterior(np.asarray(self.test.x)),
                    self.test.y,
                    getattr(model, "classes_", None),
                )
                metrics["fit_seconds"] = fit_s
                acquire_s = 0.0
                if len(labelled) < cap:
                    mask = np.ones(len(x_pool), dtype=bool)
                    mask[idx] = False
                    rest = self._candidates(np.flatnonzero(mask), rng)
                    t0 = time.perf_counter()
                    batch = self._acquire(
                        model, x_pool, rest, idx, min(b, cap - len(labelled)), rng
                    )
                    acquire_s = time.perf_counter() - t0
                    new = rest[batch.indices]
                    new_labels = oracle.query(new)
                    for rank, (i, s, lab) in enumerate(
                        zip(new, batch.scores, new_labels, strict=True)
                    ):
                        acq_rows.append(
                            {
                                "round": rnd,
                                "rank": rank,
                                "index": int(i),
                                "score": float(s),
                                "label": lab,
                            }
                        )
                metrics["acquire_seconds"] = acquire_s
                rows.extend(metric_records(self.strategy, tag, rnd, len(labelled), metrics))
                if len(labelled) < cap:
                    labelled.extend(int(i) for i in new)
                    labels.extend(new_labels)
                advance(1)
        return result()

    def _acquire(
        self,
        model: Any,
        x_pool: np.ndarray,
        rest: np.ndarray,
        labelled: np.ndarray,
        b: int,
        rng: np.random.Generator,
    ) -> Any:
        spec = strategy_spec(self.strategy)
        # strategies that do not read draws (random, diversity) get the pool size
        pool = model.posterior(x_pool[rest]) if spec.needs_posterior else len(rest)
        embeddings = labelled_emb = None
        if spec.needs_embeddings:
            embed = self.embed or (lambda _m, x: np.asarray(x, dtype=float).reshape(len(x), -1))
            embeddings = embed(model, x_pool[rest])
            labelled_emb = embed(model, x_pool[labelled])
        return select(
            pool,
            b,
            self.strategy,
            temperature=self.temperature,
            random_state=rng,
            n_configurations=self.n_configurations,
            embeddings=embeddings,
            labelled_embeddings=labelled_emb,
        )
