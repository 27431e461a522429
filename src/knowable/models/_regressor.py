"""Regression with epistemic uncertainty: deep ensemble, MC dropout or DUE."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .._params import store_params
from .._persistence import register_persistable
from .._validation import (
    check_array,
    check_consistent_length,
    check_in_options,
    check_positive_int,
    mean_and_scale,
)
from ._heads import GaussianHead, MixtureDensityHead, MixtureOutput
from ._networks import DeepKernel
from ._observation import GaussianMixture, GaussianNoise
from ._posterior import Posterior
from ._supervised import SupervisedUncertainModel

__all__ = ["UncertainRegressor"]


@register_persistable
class UncertainRegressor(SupervisedUncertainModel):
    """Neural regressor whose predictions come with epistemic uncertainty.

    Parameters
    ----------
    uncertainty : str
        A name from :func:`~knowable.models.uncertainty_methods`: ``ensemble``, ``dropout``,
        ``due``, ``laplace`` or a registered method.
        How epistemic uncertainty is represented: ``n_members`` independently
        initialised networks (deep ensemble), MC dropout with ``n_draws``
        masks shared across inputs, DUE (spectral-normalised residual
        extractor + inducing-point variational GP) with ``n_draws`` GP draws,
        or a last-layer Laplace approximation (``knowable[laplace]``).
    likelihood : {"gaussian", "mixture"}
        Observation model: Gaussian (``heteroscedastic`` or one noise scale
        per output) or a mixture-density head with ``n_components`` Gaussians
        (a full conditional density you can sample; its mean is analytic).
        DUE supports ``"gaussian"`` only.
    n_components : int
        Mixture components when ``likelihood="mixture"``.
    heteroscedastic : bool
        Gaussian noise scale predicted per input (True) or one per output.
    n_members : int
        Ensemble size (``uncertainty="ensemble"``).
    n_draws : int
        Epistemic draws for MC dropout, DUE and Laplace (networks or GP functions).
    extractor : {"mlp", "resnet", "cnn"}, optional
        Feature extractor; default ``"resnet"`` for DUE, ``"mlp"`` otherwise.
    hidden_size, depth : int
        Width and number of hidden layers (residual blocks for ``"resnet"``).
    activation : str
        ``"relu"``, ``"elu"``, ``"leaky_relu"``, ``"tanh"`` or ``"gelu"``.
    dropout : float, optional
        Dropout rate; default 0.1 for MC dropout and 0 otherwise.
    spectral_coeff : float, optional
        Soft spectral-norm bound; default 0.95 for DUE, none otherwise.
    n_inducing : int
        DUE inducing points (initialised by k-means on initial features).
    kernel : {"rbf", "matern32", "matern52"}
        DUE kernel.
    learning_rate : float, optional
        Adam step size; default 1e-3 for ensembles and MC dropout, 5e-3 for
        DUE (the GP head uses twice the rate).
    max_epochs, batch_size, weight_decay, patience, validation_fraction, min_steps_per_epoch
        Training loop settings (Adam, early stopping on a validation split).
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:i]"``.
    random_state : int, numpy.random.Generator or None
        Seed; the same integer gives bit-identical fits on CPU.
    verbose : bool
        Show a progress bar while fitting.
    n_samples : int, optional
        Deprecated name of ``n_draws`` (a FutureWarning; removed in the next release).

    Attributes
    ----------
    members_ : list of torch.nn.Module
        The fitted networks.
    history_ : list of TrainingHistory
        Per-network losses and the kept epoch.

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.models import UncertainRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, (200, 1)); y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(200)
    >>> model = UncertainRegressor(n_members=3, max_epochs=20, random_state=0).fit(X, y)
    >>> model.posterior(X[:5]).draws.shape
    (3, 5, 1)
    """

    _estimator_kind = "regressor"
    # parameters beyond the base class (stored by store_params)
    likelihood: str
    n_components: int
    heteroscedastic: bool

    def __init__(
        self,
        uncertainty: str = "ensemble",
        *,
        likelihood: str = "gaussian",
        n_components: int = 5,
        heteroscedastic: bool = True,
        n_members: int = 5,
        n_draws: int = 100,
        extractor: str | None = None,
        hidden_size: int = 128,
        depth: int = 3,
        activation: str = "relu",
        dropout: float | None = None,
        spectral_coeff: float | None = None,
        n_inducing: int = 50,
        kernel: str = "rbf",
        max_epochs: int = 300,
        batch_size: int = 64,
        learning_rate: float | None = None,
        weight_decay: float = 0.0,
        patience: int = 20,
        validation_fraction: float = 0.2,
        min_steps_per_epoch: int = 0,
        device: str = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: bool = False,
        n_samples: int | None = None,
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ subclass API
    def _resolved(self) -> dict[str, Any]:
        r = super()._resolved()
        r["likelihood"] = check_in_options(self.likelihood, "likelihood", ("gaussian", "mixture"))
        r["n_components"] = check_positive_int(self.n_components, "n_components")
        if self._method_of(r).gp_head and r["likelihood"] != "gaussian":
            raise ValueError(
                f"uncertainty={r['method']!r} supports likelihood='gaussian' only (the GP head is "
                "Gaussian)."
            )
        return r

    def _make_head(self, in_features: int) -> nn.Module:
        r = self.resolved_params_
        if r["likelihood"] == "mixture":
            return MixtureDensityHead(in_features, self.n_outputs_, r["n_components"])
        return GaussianHead(in_features, self.n_outputs_, bool(self.heteroscedastic))

    def _n_latent(self) -> int:
        return self.n_outputs_

    def _n_noise(self) -> int:
        return self.n_outputs_

    def _loss(self, module: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return module(batch["x"]).nll(batch["y"]).sum(-1).mean()

    def _due_loss(self, module: DeepKernel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return module.gaussian_elbo_loss(batch["x"], batch["y"], self._n_fit)

    def _extra_meta(self) -> dict[str, Any]:
        return {
            "y_is_1d": bool(self.y_is_1d_),
            "n_outputs": int(self.n_outputs_),
            "y_mean": self.y_mean_.tolist(),
            "y_scale": self.y_scale_.tolist(),
        }

    def _restore_extra(self, meta: dict[str, Any]) -> None:
        self.y_is_1d_ = bool(meta["y_is_1d"])
        self.n_outputs_ = int(meta["n_outputs"])
        self.y_mean_ = np.asarray(meta["y_mean"], dtype=np.float64)
        self.y_scale_ = np.asarray(meta["y_scale"], dtype=np.float64)

    # ----------------------------------------------------------------- API
    def _fit_targets(self, x: np.ndarray, y: Any) -> dict[str, torch.Tensor]:
        y_arr = check_array(y, "y", ndim=(1, 2))
        check_consistent_length(X=x, y=y_arr)
        self.y_is_1d_ = y_arr.ndim == 1
        y2 = y_arr.reshape(len(y_arr), -1)
        self.n_outputs_ = y2.shape[1]
        self.y_mean_, self.y_scale_ = mean_and_scale(y2, "y")
        return {"y": torch.as_tensor((y2 - self.y_mean_) / self.y_scale_, dtype=torch.float32)}

    def posterior(self, X: Any, *, batch_size: int | None = None) -> Posterior:
        """Posterior over the regression function at ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Inputs.
        batch_size : int, optional
            Inputs per chunk (memory bound); default 4096.

        Returns
        -------
        Posterior
            Draws of shape ``(S, n, k)`` in the units of ``y``, with a
            :class:`GaussianNoise` or :class:`GaussianMixture` observation model.
        """
        parts = []
        for chunk in self._chunks(X, batch_size):
            parts.append(self._chunk_posterior(chunk))
        return Posterior.concatenate(parts)

    def _chunk_posterior(self, x: torch.Tensor) -> Posterior:
        mu = self.y_mean_.astype(np.float64)
        sd = self.y_scale_.astype(np.float64)
        if self._method.gp_head:
            draws, mean, var = self._gp_draws(x)  # (S, k, n), (k, n), (k, n)
            draws_np = draws.double().numpy().transpose(0, 2, 1) * sd + mu
            noise = cast(DeepKernel, self.members_[0]).noise_scale().detach().double().numpy() * sd
            cov = np.zeros((x.shape[0], self.n_outputs_, self.n_outputs_))
            idx = np.arange(self.n_outputs_)
            cov[:, idx, idx] = var.double().numpy().T * sd**2
            exact_mean = mean.double().numpy().T * sd + mu
            return Posterior(draws_np, GaussianNoise(noise), covariance=cov, mean=exact_mean)
        outs = self._member_outputs(x)
        if isinstance(outs[0], MixtureOutput):
            logits = np.stack([o.logits.double().numpy() for o in outs])
            loc = np.stack([o.loc.double().numpy() for o in outs]) * sd[:, None] + mu[:, None]
            scale = np.stack([o.scale.double().numpy() for o in outs]) * sd[:, None]
            obs = GaussianMixture(logits, loc, scale)
            return Posterior(obs.mean(), obs)
        means = np.stack([o.mean.double().numpy() for o in outs]) * sd + mu
        noise_sd = np.stack([o.scale.double().numpy() for o in outs]) * sd
        return Posterior(means, GaussianNoise(noise_sd))

    def predict(
        self, X: Any, *, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Posterior-mean prediction, optionally with the total predictive std.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Inputs.
        return_std : bool
            Also return ``sqrt(epistemic + aleatoric variance)``.

        Returns
        -------
        mean : numpy.ndarray of shape (n,) or (n, k)
        std : numpy.ndarray of the same shape, when ``return_std``
        """
        post = self.posterior(X)
        mean = post.mean()
        std = np.sqrt(post.predictive_var())
        if self.y_is_1d_:
            mean, std = mean[:, 0], std[:, 0]
        return (mean, std) if return_std else mean
