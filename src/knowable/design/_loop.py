"""The design loop: observational data, then rounds of design -> intervene -> update."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._random import check_random_state, spawn_seeds
from .._validation import check_positive_int
from ._metrics import design_metrics
from ._posterior import BootstrapPosterior, ExactPosterior
from ._scm import InterventionalData, StructuralCausalModel
from ._strategies import design_batch

__all__ = ["DesignHistory", "run_design"]


@dataclass
class DesignHistory:
    """What a design run did and measured, round by round.

    Attributes
    ----------
    strategy : str
    metrics : list of dict
        Round 0 is the observational posterior; each dict also holds
        ``round``, ``n_samples``, ``design_seconds``, ``design_cpu_seconds``
        (process CPU time, robust to machine load) and ``update_seconds``.
    designs : list of dict
        Per round: ``targets`` (list of lists of node indices) and ``values``.
    """

    strategy: str
    metrics: list[dict[str, float]] = field(default_factory=list)
    designs: list[dict[str, Any]] = field(default_factory=list)

    def curve(self, name: str) -> np.ndarray:
        """One metric over rounds, shape ``(rounds + 1,)``."""
        return np.asarray([m[name] for m in self.metrics], dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"strategy": self.strategy, "metrics": self.metrics, "designs": self.designs}


def run_design(
    scm: StructuralCausalModel,
    estimator: ExactPosterior | BootstrapPosterior,
    strategy: str = "greedy",
    n_observational: int = 100,
    batch_size: int = 10,
    n_rounds: int = 10,
    targets: Any = None,
    strategy_params: dict[str, Any] | None = None,
    mmd_targets: Any = None,
    mmd_samples: int = 100,
    initial_data: InterventionalData | None = None,
    random_state: Any = None,
    progress: Callable[[int], None] | None = None,
) -> DesignHistory:
    """Simulate a design campaign against a known SCM.

    Parameters
    ----------
    scm : StructuralCausalModel
        The world: it answers interventions (``value_bounds`` are the design bounds).
    estimator : ExactPosterior or BootstrapPosterior
        Posterior estimator; fitted on the observational data (or, if already
        fitted, updated on them with its support kept), then updated (refit +
        reweight on all data) after every batch. It is modified in place.
    strategy : str
        A key of :data:`knowable.design.DESIGN_STRATEGIES`.
    n_observational : int
        Observational samples before the first round (ignored with ``initial_data``).
    batch_size : int
        Single-sample interventions per round.
    n_rounds : int
        Number of design rounds.
    targets : array-like of int, optional
        Nodes that may be intervened on.
    strategy_params : dict, optional
        Passed to :func:`design_batch`.
    mmd_targets : array-like of int, optional
        Held-out intervention targets for the i-MMD (default all nodes).
    mmd_samples : int
        Samples per held-out intervention (0 skips the i-MMD).
    initial_data : InterventionalData, optional
        Use these observational data instead of sampling them.
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).
    progress : callable, optional
        Called with 1 after each round.

    Returns
    -------
    DesignHistory
    """
    b = check_positive_int(batch_size, "batch_size")
    rounds = check_positive_int(n_rounds, "n_rounds", minimum=0)
    rng = check_random_state(random_state)
    s_data, s_design, s_metric = spawn_seeds(rng, 3)
    data_rng = np.random.default_rng(s_data)
    design_rng = np.random.default_rng(s_design)
    metric_seed = s_metric
    if initial_data is None:
        data = scm.sample(
            check_positive_int(n_observational, "n_observational"), random_state=data_rng
        )
    else:
        data = initial_data
    t0 = time.perf_counter()
    if hasattr(estimator, "support_"):
        estimator.update(data)  # already fitted: keep its support
    else:
        estimator.fit(data)
    hist = DesignHistory(strategy)

    def record(r: int, t_design: float, t_update: float, c_design: float = 0.0) -> None:
        m = design_metrics(
            estimator.posterior_,
            scm.adjacency,
            scm if mmd_samples > 0 else None,
            mmd_targets,
            mmd_samples=max(mmd_samples, 2),
            random_state=metric_seed,  # same held-out draws every round
        )
        m.update(
            round=r,
            n_samples=len(data),
            design_seconds=t_design,
            design_cpu_seconds=c_design,
            update_seconds=t_update,
        )
        hist.metrics.append(m)

    record(0, 0.0, time.perf_counter() - t0)
    for r in range(1, rounds + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        batch = design_batch(
            estimator.posterior_,
            strategy,
            b,
            scm.value_bounds,
            targets,
            design_rng,
            **(strategy_params or {}),
        )
        t_design, c_design = time.perf_counter() - t0, time.process_time() - c0
        new = scm.sample_designs(batch.mask, batch.values, 1, data_rng)
        data = data.append(new.x, new.mask)
        t0 = time.perf_counter()
        estimator.update(data)
        record(r, t_design, time.perf_counter() - t0, c_design)
        hist.designs.append(
            {"targets": batch.targets(), "values": batch.values[batch.mask].tolist()}
        )
        if progress is not None:
            progress(1)
    return hist
