"""Diversity baselines on embeddings: core-set (greedy k-center), k-means, BADGE.

These act on feature vectors of the pool (and of the labelled set), not on a
Posterior: the caller chooses the embedding (raw inputs, a network's
penultimate layer, or BADGE's gradient embeddings from :func:`badge_embeddings`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_array, check_magnitude
from ._inputs import check_batch_size

__all__ = ["badge", "badge_embeddings", "coreset", "kmeans_batch"]

_ROWS_PER_CHUNK = 4096


def _min_sq_dist(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distance of every row of ``x`` to its nearest centre, chunked."""
    out = np.full(len(x), np.inf)
    c_norm = (centres**2).sum(1)
    for start in range(0, len(x), _ROWS_PER_CHUNK):
        xs = x[start : start + _ROWS_PER_CHUNK]
        for c0 in range(0, len(centres), _ROWS_PER_CHUNK):
            cs = centres[c0 : c0 + _ROWS_PER_CHUNK]
            d = (xs**2).sum(1)[:, None] - 2 * xs @ cs.T + c_norm[c0 : c0 + len(cs)][None]
            out[start : start + len(xs)] = np.minimum(out[start : start + len(xs)], d.min(1))
    return np.maximum(out, 0.0)


def coreset(
    embeddings: Any,
    batch_size: int,
    labelled: Any = None,
    random_state: Any = None,
) -> np.ndarray:
    """Greedy k-center core-set: repeatedly pick the pool point farthest from all chosen ones.

    Distances are to *every* labelled point and every point picked so far (not
    only to the last batch).

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
        Pool embeddings.
    batch_size : int
        Batch size ``b <= n``.
    labelled : array-like of shape (m, d), optional
        Embeddings of the labelled points. Without them the first pick is random.
    random_state : None, int or numpy.random.Generator
        Seed of the first pick when ``labelled`` is empty.

    Returns
    -------
    numpy.ndarray of shape (b,), int64
    """
    x = check_magnitude(check_array(embeddings, "embeddings", ndim=2), "embeddings")
    b = check_batch_size(batch_size, len(x))
    picks: list[int] = []
    if labelled is not None and len(labelled) > 0:
        lab = check_magnitude(check_array(labelled, "labelled", ndim=2), "labelled")
        if lab.shape[1] != x.shape[1]:
            raise ValueError(
                f"labelled has {lab.shape[1]} features but embeddings have {x.shape[1]}."
            )
        dist = _min_sq_dist(x, lab)
    else:
        first = int(check_random_state(random_state).integers(len(x)))
        picks.append(first)
        dist = _min_sq_dist(x, x[[first]])
    while len(picks) < b:
        d = dist.copy()
        d[picks] = -1.0
        a = int(np.argmax(d))
        picks.append(a)
        dist = np.minimum(dist, _min_sq_dist(x, x[[a]]))
    return np.asarray(picks, dtype=np.int64)


def kmeans_batch(embeddings: Any, batch_size: int, random_state: Any = None) -> np.ndarray:
    """k-means with ``b`` clusters; the batch is the pool point nearest to each centre.

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
        Pool embeddings.
    batch_size : int
        Batch size ``b <= n``.
    random_state : None, int or numpy.random.Generator
        Seed of the k-means initialisation.

    Returns
    -------
    numpy.ndarray of shape (b,), int64
    """
    from sklearn.cluster import KMeans

    x = check_magnitude(check_array(embeddings, "embeddings", ndim=2), "embeddings")
    b = check_batch_size(batch_size, len(x))
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    km = KMeans(n_clusters=b, n_init=1, random_state=seed).fit(x)
    picks: list[int] = []
    taken = np.zeros(len(x), dtype=bool)
    for centre in km.cluster_centers_:
        d = ((x - centre) ** 2).sum(1)
        d[taken] = np.inf
        a = int(np.argmin(d))
        picks.append(a)
        taken[a] = True
    return np.asarray(picks, dtype=np.int64)


def badge_embeddings(probs: Any, features: Any) -> np.ndarray:
    """BADGE gradient embeddings of a softmax classifier's last layer.

    The gradient of the cross-entropy with respect to the last-layer weights
    at the model's own most likely label ``ŷ`` is ``(p - e_ŷ) ⊗ h``.

    Parameters
    ----------
    probs : array-like of shape (n, C)
        Predicted class probabilities (for example ``posterior.mean()``).
    features : array-like of shape (n, h)
        Inputs to the last linear layer (penultimate activations).

    Returns
    -------
    numpy.ndarray of shape (n, C * h)
    """
    p = check_array(probs, "probs", ndim=2)
    h = check_array(features, "features", ndim=2)
    if len(p) != len(h):
        raise ValueError(f"probs has {len(p)} rows but features has {len(h)}.")
    g = p.copy()
    g[np.arange(len(p)), p.argmax(1)] -= 1.0
    return (g[:, :, None] * h[:, None, :]).reshape(len(p), -1)


def badge(embeddings: Any, batch_size: int, random_state: Any = None) -> np.ndarray:
    """BADGE batch: k-means++ seeding on (gradient) embeddings.

    Parameters
    ----------
    embeddings : array-like of shape (n, d)
        Usually :func:`badge_embeddings`.
    batch_size : int
        Batch size ``b <= n``.
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    numpy.ndarray of shape (b,), int64
    """
    x = check_magnitude(check_array(embeddings, "embeddings", ndim=2), "embeddings")
    b = check_batch_size(batch_size, len(x))
    rng = check_random_state(random_state)
    # k-means++: first centre with the largest norm (BADGE), then D^2 sampling
    picks = [int(np.argmax((x**2).sum(1)))]
    dist = _min_sq_dist(x, x[picks])
    dist[picks] = 0.0
    while len(picks) < b:
        total = dist.sum()
        if total <= 0:  # every remaining point coincides with a centre: fill at random
            rest = np.setdiff1d(np.arange(len(x)), picks)
            picks.extend(int(i) for i in rng.choice(rest, b - len(picks), replace=False))
            break
        a = int(rng.choice(len(x), p=dist / total))
        picks.append(a)
        dist = np.minimum(dist, _min_sq_dist(x, x[[a]]))
        dist[picks] = 0.0
    return np.asarray(picks, dtype=np.int64)
