"""What to measure next: acquisition scores from Posteriors, and batches from scores.

Scores (:func:`score`, :func:`epig`) read only :class:`~knowable.models.Posterior`
draws, chunk by chunk, so pools of millions fit in bounded memory. Batches come
from top-k, stochastic softmax/power/soft-rank sampling (Gumbel-top-k), greedy
BatchBALD (exact then importance-sampled joint entropies), a BatchGFN
sampler (:class:`BatchGFN`, batches ∝ exp(JMI / τ)), or diversity
baselines on embeddings (core-set, k-means, BADGE). :func:`select` is the one
entry point by strategy name (``"power-bald"``, ``"batchbald"``, ...).
:func:`select_causal` chooses whose factual outcomes to measure to learn a
treatment effect (the Causal-BALD family).

Every strategy is registered once in one table (:func:`register_strategy`,
:func:`registered_strategies`, :func:`get_strategy`): its score function per
observation model, or its batch or causal rule, and what it needs. ``SCORES``,
``CAUSAL_STRATEGIES``, :func:`available_strategies`, :func:`select`,
:func:`select_causal`, the loops of :mod:`knowable.campaign` and the CLI read
names and needs from it, so a new strategy is one new file.
:func:`discobax` scores the pool by the information gain about the best diverse
subset under a noise model (DiscoBAX).
"""

from ._batchbald import BatchResult, batchbald, joint_entropy_exact, joint_entropy_sampled
from ._batchgfn import (
    BatchGFN,
    batchgfn,
    enumerate_batches,
    gp_posterior_covariance,
    joint_mutual_information,
    target_distribution,
)
from ._causal import (
    CAUSAL_STRATEGIES,
    CausalInputs,
    arm_moments,
    causal_log_weights,
    select_causal,
    sundin_information,
)
from ._discobax import DiscoBAXResult, discobax, discobax_noise, subset_select
from ._diversity import badge, badge_embeddings, coreset, kmeans_batch
from ._epig import epig
from ._inputs import check_batch_size, check_posterior, check_scores, iter_chunks
from ._registry import (
    FAMILIES,
    OBSERVATION_KINDS,
    SelectContext,
    StrategyNames,
    StrategySpec,
    get_strategy,
    register_strategy,
    registered_strategies,
    strategy_label,
    unregister_strategy,
)
from ._scores import (
    SCORES,
    bald_from_draws,
    bald_from_probs,
    entropy_from_probs,
    margin_from_probs,
    score,
    variance_from_probs,
    variation_ratio_from_probs,
)
from ._select import STOCHASTIC_MODES, gumbel_top_k, log_weights, stochastic_batch, top_k
from ._strategies import Batch, available_strategies, parse_strategy, select, strategy_spec

__all__ = [
    "CAUSAL_STRATEGIES",
    "FAMILIES",
    "OBSERVATION_KINDS",
    "SCORES",
    "STOCHASTIC_MODES",
    "Batch",
    "BatchGFN",
    "BatchResult",
    "CausalInputs",
    "DiscoBAXResult",
    "SelectContext",
    "StrategyNames",
    "StrategySpec",
    "arm_moments",
    "available_strategies",
    "badge",
    "badge_embeddings",
    "bald_from_draws",
    "bald_from_probs",
    "batchbald",
    "batchgfn",
    "causal_log_weights",
    "check_batch_size",
    "check_posterior",
    "check_scores",
    "coreset",
    "discobax",
    "discobax_noise",
    "entropy_from_probs",
    "enumerate_batches",
    "epig",
    "get_strategy",
    "gp_posterior_covariance",
    "gumbel_top_k",
    "iter_chunks",
    "joint_entropy_exact",
    "joint_entropy_sampled",
    "joint_mutual_information",
    "kmeans_batch",
    "log_weights",
    "margin_from_probs",
    "parse_strategy",
    "register_strategy",
    "registered_strategies",
    "score",
    "select",
    "select_causal",
    "stochastic_batch",
    "strategy_label",
    "strategy_spec",
    "subset_select",
    "sundin_information",
    "target_distribution",
    "top_k",
    "unregister_strategy",
    "variance_from_probs",
    "variation_ratio_from_probs",
]

# last: the modules in strategies/ register themselves through the names above
from . import strategies as strategies
