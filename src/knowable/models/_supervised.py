"""The fit shared by the uncertain regressor and classifier: inputs, then their targets."""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import torch

from ._base import UncertainModel

__all__ = ["SupervisedUncertainModel"]


class SupervisedUncertainModel(UncertainModel):
    """An :class:`UncertainModel` fitted on ``(X, y)``; subclasses say what ``y`` is.

    Subclasses implement :meth:`_fit_targets`, which validates ``y`` against the
    validated inputs, records what prediction needs (classes, output scaling)
    and returns the training targets.
    """

    def _fit_targets(self, x: np.ndarray, y: Any) -> dict[str, torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        backend: str = "local",
        workers: int = 1,
        ray_address: str | None = None,
    ) -> Self:
        """Fit the networks.

        Parameters
        ----------
        X : array-like of shape (n, d), or (n, C, 28, 28) images with ``extractor="cnn"``
            Inputs (numpy, pandas or torch).
        y : array-like of shape (n,) or (n, k)
            Targets: real values (regressor, ``(n,)`` or ``(n, k)``) or integer
            class labels with at least two classes (classifier, ``(n,)``).
        backend : {"local", "ray"}
            Where the members of an ensemble train (:func:`knowable.parallel.map_jobs`);
            the fit is the same on every backend.
        workers : int
            Members trained at once (1: one after another, in this process).
        ray_address : str, optional
            With ``backend="ray"``: the cluster to join (default: start a local Ray).

        Returns
        -------
        self
        """
        self.resolved_params_ = self._resolved()
        x = self._validate_X(X, fitting=True)
        targets = self._fit_targets(x, y)
        self.input_shape_ = tuple(x.shape[1:])
        self._record_feature_names(X)
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self._fit_input_scaler(x)
        self._fit_networks(
            self._standardise_X(x),
            targets,
            execution={"backend": backend, "workers": workers, "ray_address": ray_address},
        )
        return self
