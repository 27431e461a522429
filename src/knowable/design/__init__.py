"""Experimental design for causal discovery: which variable to intervene on, and at what value.

* SCMs (:class:`LinearGaussianSCM`, :class:`NonlinearAdditiveSCM`, :func:`random_scm`
  on Erdos-Renyi or scale-free DAGs) that sample observationally and under hard
  interventions ``do(X_j = v)``.
* Posteriors over SCMs as weighted particles: :class:`ExactPosterior` (every DAG
  on <= 5 nodes; the test oracle) and :class:`BootstrapPosterior` (DAG bootstrap of
  causal-learn's PC or GES, extra ``knowable[design]``), with parameters refitted
  per graph and the interventional likelihood (intervened mechanisms dropped).
* Information gain of interventions by nested Monte Carlo (:func:`eig`), value
  search per target (:func:`value_search`), and batch strategies in
  :data:`DESIGN_STRATEGIES` (random, greedy, soft, differentiable) via
  :func:`design_batch`.
* Metrics (:func:`design_metrics`: expected SHD, edge AUROC/AUPRC, expected
  orientation F1, interventional MMD) and the loop :func:`run_design`.
"""

from ._eig import eig
from ._graphs import (
    GRAPH_KINDS,
    check_dag,
    count_dags,
    enumerate_dags,
    find_cycle,
    random_dag,
    topological_order,
)
from ._loop import DesignHistory, run_design
from ._metrics import (
    design_metrics,
    edge_auprc,
    edge_auroc,
    expected_orientation_f1,
    expected_shd,
    interventional_mmd,
    mmd2_unbiased,
    orientation_f1,
    shd,
)
from ._plots import plot_design_curves
from ._posterior import (
    BASES,
    GRAPH_PRIORS,
    LEARNERS,
    BootstrapPosterior,
    ExactPosterior,
    FittedSCM,
    ParticlePosterior,
    basis_features,
    fit_particles,
    graph_log_prior,
    one_edge_neighbours,
    random_extension,
)
from ._real import POOL_STRATEGIES, RealDesignData, load_dream4, load_sachs, run_pool_design
from ._scm import (
    SCM_KINDS,
    InterventionalData,
    LinearGaussianSCM,
    NonlinearAdditiveSCM,
    StructuralCausalModel,
    random_scm,
)
from ._search import order_search
from ._strategies import (
    DESIGN_STRATEGIES,
    DesignBatch,
    DesignStrategy,
    design_batch,
    relaxed_top_k,
    value_search,
)

__all__ = [
    "BASES",
    "DESIGN_STRATEGIES",
    "GRAPH_KINDS",
    "GRAPH_PRIORS",
    "LEARNERS",
    "POOL_STRATEGIES",
    "SCM_KINDS",
    "BootstrapPosterior",
    "DesignBatch",
    "DesignHistory",
    "DesignStrategy",
    "ExactPosterior",
    "FittedSCM",
    "InterventionalData",
    "LinearGaussianSCM",
    "NonlinearAdditiveSCM",
    "ParticlePosterior",
    "RealDesignData",
    "StructuralCausalModel",
    "basis_features",
    "check_dag",
    "count_dags",
    "design_batch",
    "design_metrics",
    "edge_auprc",
    "edge_auroc",
    "eig",
    "enumerate_dags",
    "expected_orientation_f1",
    "expected_shd",
    "find_cycle",
    "fit_particles",
    "graph_log_prior",
    "interventional_mmd",
    "load_dream4",
    "load_sachs",
    "mmd2_unbiased",
    "one_edge_neighbours",
    "order_search",
    "orientation_f1",
    "plot_design_curves",
    "random_dag",
    "random_extension",
    "random_scm",
    "relaxed_top_k",
    "run_design",
    "run_pool_design",
    "shd",
    "topological_order",
    "value_search",
]
