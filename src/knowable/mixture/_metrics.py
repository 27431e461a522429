"""Clustering scores that do not depend on how clusters are numbered."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import normalized_mutual_info_score

from .._validation import check_array, check_consistent_length

__all__ = ["cluster_accuracy", "cluster_nmi", "match_clusters"]


def _labels(value: Any, name: str) -> np.ndarray:
    arr = check_array(value, name, ndim=1, dtype=None)
    if not (np.issubdtype(arr.dtype, np.integer) or np.all(np.mod(arr, 1) == 0)):
        raise ValueError(f"{name} must hold integer labels; got non-integer values.")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"{name} must hold non-negative integer labels; got {arr.min()}.")
    return arr


def match_clusters(y_true: Any, y_pred: Any) -> dict[int, int]:
    """Hungarian matching of predicted clusters to true classes.

    Solves the maximum-weight one-to-one assignment on the contingency table
    with :func:`scipy.optimize.linear_sum_assignment`.

    Parameters
    ----------
    y_true : array-like of int, shape (n,)
        True class labels (non-negative).
    y_pred : array-like of int, shape (n,)
        Cluster indices (non-negative).

    Returns
    -------
    dict of int to int
        Cluster index -> matched class label, for every cluster index in
        ``range(max(y_pred) + 1)`` that the assignment pairs with a class.
    """
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    check_consistent_length(y_true=t, y_pred=p)
    size = int(max(t.max(), p.max())) + 1
    table = np.zeros((size, size), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True)}


def cluster_accuracy(y_true: Any, y_pred: Any) -> float:
    """Unsupervised clustering accuracy under the best one-to-one relabelling.

    ``max over bijections m of mean(y_true == m(y_pred))``, found by the
    Hungarian algorithm (:func:`match_clusters`).

    Parameters
    ----------
    y_true : array-like of int, shape (n,)
        True class labels.
    y_pred : array-like of int, shape (n,)
        Cluster indices.

    Returns
    -------
    float
        Accuracy in [0, 1].
    """
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    mapping = match_clusters(t, p)
    mapped = np.array([mapping[int(c)] for c in p])
    return float(np.mean(mapped == t))


def cluster_nmi(y_true: Any, y_pred: Any) -> float:
    """Normalised mutual information (scikit-learn, arithmetic normalisation).

    Parameters
    ----------
    y_true : array-like of int, shape (n,)
        True class labels.
    y_pred : array-like of int, shape (n,)
        Cluster indices.

    Returns
    -------
    float
        NMI in [0, 1].
    """
    t = _labels(y_true, "y_true")
    p = _labels(y_pred, "y_pred")
    check_consistent_length(y_true=t, y_pred=p)
    return float(normalized_mutual_info_score(t, p))
