"""Simulated oracles: reveal labels that a Dataset already holds."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data._dataset import Dataset

__all__ = ["DatasetOracle"]


class DatasetOracle:
    """Answer label queries from a :class:`~knowable.data.Dataset` (a simulation of measuring).

    Parameters
    ----------
    dataset : Dataset
        The pool with its outcomes ``y``.

    Attributes
    ----------
    n_queries : int
        Labels revealed so far (a repeated index counts again).
    """

    def __init__(self, dataset: Dataset) -> None:
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"dataset must be a knowable.data.Dataset, got {type(dataset).__name__}."
            )
        if dataset.y is None:
            raise ValueError("the oracle's Dataset has no outcomes y to reveal.")
        self._y = np.asarray(dataset.y)
        self.n_queries = 0

    def __len__(self) -> int:
        return len(self._y)

    def query(self, indices: Any) -> np.ndarray:
        """Reveal the labels of pool rows ``indices``.

        Parameters
        ----------
        indices : array-like of int, shape (b,)
            Pool rows.

        Returns
        -------
        numpy.ndarray of shape (b,) (or (b, k) for multi-output y)
        """
        idx = np.asarray(indices)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"indices must be integers, got dtype {idx.dtype}.")
        if idx.size and (idx.min() < 0 or idx.max() >= len(self._y)):
            raise ValueError(
                f"indices must lie in [0, {len(self._y)}), got {idx.min()}..{idx.max()}."
            )
        self.n_queries += int(idx.size)
        return self._y[idx]
