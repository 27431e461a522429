"""Mixture models for clustering.

AMM / SAMM (Jesson et al., arXiv 1807.05344): :class:`AdversarialMixture`, an
ALI-style adversarially learned mixture with a categorical latent ``y``, a
continuous latent ``z`` given ``y`` and ``x`` given both, for unsupervised and
semi-supervised clustering; and permutation-free clustering scores
(:func:`cluster_accuracy` by Hungarian matching, :func:`cluster_nmi`).
"""

from ._amm import AdversarialMixture, discriminator_loss, generator_loss, gumbel_softmax_st
from ._metrics import cluster_accuracy, cluster_nmi, match_clusters

__all__ = [
    "AdversarialMixture",
    "cluster_accuracy",
    "cluster_nmi",
    "discriminator_loss",
    "generator_loss",
    "gumbel_softmax_st",
    "match_clusters",
]
