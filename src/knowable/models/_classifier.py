"""Classification with epistemic uncertainty: deep ensemble, MC dropout or DUE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .._persistence import register_persistable
from .._validation import check_array, check_consistent_length
from ._heads import ClassifierHead
from ._networks import DeepKernel
from ._observation import Categorical
from ._posterior import Posterior
from ._supervised import SupervisedUncertainModel

__all__ = ["UncertainClassifier"]


@register_persistable
class UncertainClassifier(SupervisedUncertainModel):
    """Neural classifier whose class probabilities come with epistemic uncertainty.

    Parameters are those of :class:`~knowable.models.UncertainRegressor`
    without ``likelihood``, ``n_components`` and ``heteroscedastic``. With
    ``uncertainty="due"`` there is one latent GP per class and a softmax
    likelihood (expected log-likelihood by Monte Carlo, seeded).

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.models import UncertainClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> clf = UncertainClassifier(n_members=2, max_epochs=10, random_state=0).fit(X, y)
    >>> clf.posterior(X[:4]).draws.shape
    (2, 4, 2)
    """

    _estimator_kind = "classifier"

    def _make_head(self, in_features: int) -> nn.Module:
        return ClassifierHead(in_features, len(self.classes_))

    def _n_latent(self) -> int:
        return len(self.classes_)

    def _loss(self, module: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return module(batch["x"]).nll(batch["y"]).mean()

    def _due_loss(self, module: DeepKernel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return module.softmax_elbo_loss(batch["x"], batch["y"], self._n_fit, module.mc_generator)  # type: ignore[arg-type]

    def _extra_meta(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist()}

    def _restore_extra(self, meta: dict[str, Any]) -> None:
        self.classes_ = np.asarray(meta["classes"], dtype=np.int64)

    def _fit_targets(self, x: np.ndarray, y: Any) -> dict[str, torch.Tensor]:
        y_arr = check_array(y, "y", ndim=1)
        check_consistent_length(X=x, y=y_arr)
        if np.abs(y_arr).max() > 2**53:  # beyond exact float64 integers (and int64 codes)
            raise ValueError(
                f"y has a class label of magnitude {np.abs(y_arr).max():.3g}; encode the classes "
                "as 0, 1, ... first."
            )
        if not np.array_equal(y_arr, np.round(y_arr)):
            raise ValueError(
                "y must hold integer class labels; encode the classes as 0, 1, ... first."
            )
        self.classes_ = np.unique(y_arr).astype(np.int64)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has a single class ({self.classes_[0]}); a classifier needs at least two."
            )
        return {"y": torch.as_tensor(np.searchsorted(self.classes_, y_arr.astype(np.int64)))}

    def posterior(self, X: Any, *, batch_size: int | None = None) -> Posterior:
        """Posterior over class probabilities at ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d) or (n, C, 28, 28)
            Inputs.
        batch_size : int, optional
            Inputs per chunk; default 4096.

        Returns
        -------
        Posterior
            Probability draws of shape ``(S, n, n_classes)`` with a
            :class:`Categorical` observation model.
        """
        parts = []
        for chunk in self._chunks(X, batch_size):
            if self._method.gp_head:
                f, _, _ = self._gp_draws(chunk)  # (S, C, n)
                probs = torch.softmax(f.double(), dim=1).numpy().transpose(0, 2, 1)
            else:
                outs = self._member_outputs(chunk)
                probs = np.stack([o.probs.double().numpy() for o in outs])
            parts.append(Posterior(probs, Categorical()))
        return Posterior.concatenate(parts)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Posterior-mean class probabilities, shape ``(n, n_classes)``."""
        return self.posterior(X).mean()

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label, shape ``(n,)``."""
        proba = self.predict_proba(X)  # checks that the model is fitted before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]
