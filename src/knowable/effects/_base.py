"""Shared machinery of the neural CATE estimators (TARNet, DragonNet).

Built on :class:`knowable.models._base.UncertainModel`: the same three ways to
be uncertain (deep ensemble, MC dropout, DUE), one training loop, seeding and
persistence. This module adds the treatment: the factual loss and the propensity
head (TARNet's; :class:`~knowable.effects.DragonNet` overrides the head, the DUE
module and the loss), on the effect API of :class:`CATEBase`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

import numpy as np
import torch
from torch import nn

from .._params import store_params
from .._validation import (
    check_is_fitted,
    check_positive_int,
    check_real,
    mean_and_scale,
)
from ..models._base import UncertainModel
from ..models._gp import VariationalGP, init_inducing_points
from ..models._layers import init_parameters
from ..models._observation import GaussianNoise
from ..models._posterior import Posterior
from ..models.uncertainty.due import initial_features
from ._contract import CATEBase
from ._modules import CATEHead, CausalDeepKernel, propensity_loss

__all__ = ["CATEEstimator"]

OUTPUT_NAMES = ("mu0", "mu1")


def restore_training_X(
    x_fit: torch.Tensor | None, meta: dict[str, Any], input_shape: tuple[int, ...]
) -> np.ndarray | None:
    """The saved training covariates ``(n, d)``, checked; None when saved without them."""
    if x_fit is None:
        if meta.get("training_data", True):
            raise ValueError("the weights lack the tensor 'fit.X' (the training covariates).")
        return None
    if x_fit.ndim != 2 or tuple(x_fit.shape[1:]) != tuple(input_shape) or x_fit.shape[0] < 1:
        raise ValueError(
            f"tensor 'fit.X' has shape {list(x_fit.shape)}, but the model needs (n, "
            f"{', '.join(map(str, input_shape))})."
        )
    if x_fit.dtype != torch.float32:
        raise ValueError(f"tensor 'fit.X' has dtype {x_fit.dtype}, but the model needs float32.")
    return x_fit.numpy().astype(np.float32)


class CATEEstimator(UncertainModel, CATEBase):
    """Base of :class:`TARNet` and :class:`DragonNet`; see those for the parameters.

    The neural implementation of :class:`CATEBase`: ``fit``, ``predict_outcomes``
    and ``propensity`` here, the effect API derived in the base.
    """

    _estimator_kind = "cate"
    # the modules a subclass swaps in (DragonNet: propensity trained jointly, a trainable epsilon)
    _head_type: type[CATEHead] = CATEHead
    _deep_kernel_type: type[CausalDeepKernel] = CausalDeepKernel
    # saved before lengthscale_factor existed: those fits used the measured length-scale
    _resolved_before_saved: ClassVar[Mapping[str, Any]] = {"lengthscale_factor": 1.0}
    # constructor parameters that older saves lack, at the value that reproduces them
    _params_before_saved: ClassVar[Mapping[str, Any]] = {"lengthscale_factor": 1.0, "gp_members": 1}
    # DUE's defaults were chosen on the tuning family of benchmarks/cate_families.py and
    # confirmed on its evaluation families (docs/cate-benchmark.md); the others' are unchanged
    _method_param_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {
        "due": {"gp_members": 3, "hidden_size": 100, "batch_size": 256},
        "*": {"gp_members": 1, "hidden_size": 200, "batch_size": 64},
    }
    # parameters beyond the base class (stored by store_params)
    arm_hidden_size: int
    arm_depth: int
    heteroscedastic: bool
    propensity_weight: float
    targeted_weight: float
    lengthscale_factor: float
    gp_members: int | None
    # set by fit; None when loaded from a model saved without its training data
    X_fit_: np.ndarray | None
    t_fit_: np.ndarray | None

    def __init__(
        self,
        uncertainty: str = "due",
        *,
        n_members: int = 5,
        gp_members: int | None = None,
        n_draws: int = 100,
        extractor: str | None = None,
        hidden_size: int | None = None,
        depth: int = 3,
        arm_hidden_size: int = 100,
        arm_depth: int = 2,
        activation: str = "elu",
        dropout: float | None = None,
        spectral_coeff: float | None = None,
        heteroscedastic: bool = False,
        propensity_weight: float = 1.0,
        targeted_weight: float = 1.0,
        n_inducing: int = 100,
        kernel: str = "matern32",
        lengthscale_factor: float = 1.0,
        max_epochs: int = 150,
        batch_size: int | None = None,
        learning_rate: float | None = None,
        weight_decay: float = 1e-4,
        patience: int = 20,
        validation_fraction: float = 0.2,
        min_steps_per_epoch: int = 0,
        device: str = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: bool = False,
        n_samples: int | None = None,
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ parameters
    def _resolved(self) -> dict[str, Any]:
        r = super()._resolved()
        r["arm_hidden_size"] = check_positive_int(self.arm_hidden_size, "arm_hidden_size")
        r["arm_depth"] = check_positive_int(self.arm_depth, "arm_depth", minimum=0)
        r["heteroscedastic"] = bool(self.heteroscedastic)
        r["propensity_weight"] = check_real(self.propensity_weight, "propensity_weight", low=0.0)
        r["targeted_weight"] = check_real(self.targeted_weight, "targeted_weight", low=0.0)
        r["lengthscale_factor"] = check_real(
            self.lengthscale_factor, "lengthscale_factor", low=0.0, low_inclusive=False
        )
        if self._method_of(r).gp_head and r["n_draws"] < r["n_members"]:
            raise ValueError(
                f"n_draws={r['n_draws']} is fewer than gp_members={r['n_members']}: every "
                "member needs at least one draw."
            )
        return r

    def _make_head(self, in_features: int) -> nn.Module:
        r = self.resolved_params_
        return self._head_type(
            in_features,
            r["arm_hidden_size"],
            r["arm_depth"],
            r["activation"],
            r["dropout"],
            r["heteroscedastic"],
        )

    def _make_due_module(
        self, extractor: nn.Module, gp: VariationalGP, t_scale: float
    ) -> CausalDeepKernel:
        return self._deep_kernel_type(extractor, gp, t_scale)

    def _build_gp_member(
        self, generator: torch.Generator, x_train: torch.Tensor | None = None
    ) -> nn.Module:
        r = self.resolved_params_
        extractor = self._make_extractor()
        init_parameters(extractor, generator)
        width = cast(int, extractor.out_features) + 1
        if x_train is not None:
            feats, _ = initial_features(extractor, x_train, generator)
            _, measured = init_inducing_points(feats, 1, 0)
            # the initial length-scale, and the arm separation t_scale equal to it: the
            # data-measured one (mean pairwise feature distance) times lengthscale_factor
            lengthscale = measured * r["lengthscale_factor"]
            # the treatment coordinate of the inducing points starts as U(0, 1) * t_scale
            u = torch.rand(feats.shape[0], 1, generator=generator) * lengthscale
            centres, _ = init_inducing_points(
                torch.cat([feats, u], dim=1),
                r["n_inducing"],
                int(torch.randint(2**31, (1,), generator=generator)),
            )
        else:  # shapes only; weights come from a saved state dict
            centres, lengthscale = torch.zeros(self.n_inducing_, width), 1.0
        gp = VariationalGP(centres, 1, r["kernel"], lengthscale)
        module = self._make_due_module(extractor, gp, lengthscale)
        init_parameters(module.propensity, generator)
        return module

    # ---------------------------------------------------------------- losses
    def _loss(self, module: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        t, y = batch["t"], batch["y"]
        out = module(batch["x"])
        factual = out.outcome.select(t)
        outcome_loss = factual.nll(y.unsqueeze(-1)).mean()
        head = cast(nn.Module, module.head)
        return self._total_loss(outcome_loss, factual.mean[:, 0], out.logit, batch, head)

    def _due_loss(self, module: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        t, y = batch["t"], batch["y"]
        feats = module.extractor(batch["x"])
        outcome_loss, q = module.factual_elbo(feats, t, y, self._n_fit)
        return self._total_loss(outcome_loss, q, module.propensity_logit(feats), batch, module)

    def _total_loss(
        self,
        outcome_loss: torch.Tensor,
        q_factual: torch.Tensor,
        logit: torch.Tensor,
        batch: Mapping[str, torch.Tensor],
        head: nn.Module,
    ) -> torch.Tensor:
        """The factual outcome loss plus the weighted propensity cross-entropy (TARNet).

        ``q_factual`` ``(n,)`` is the predicted factual outcome, ``logit`` ``(n,)``
        the propensity logit and ``head`` the module that holds the head's
        parameters (DragonNet adds its targeted term with ``head.epsilon``).
        """
        weight = self.resolved_params_["propensity_weight"]
        return outcome_loss + weight * propensity_loss(logit, batch["t"])

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        X: Any,
        t: Any,
        y: Any,
        *,
        validation_data: tuple[Any, Any, Any] | None = None,
        backend: str = "local",
        workers: int = 1,
        ray_address: str | None = None,
    ) -> CATEEstimator:
        """Fit the outcome and propensity networks.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates (numpy, pandas or torch).
        t : array-like of shape (n,)
            Binary treatment, exactly 0 or 1 (booleans accepted).
        y : array-like of shape (n,)
            Real-valued outcome. It is standardised internally (train mean and
            standard deviation); every output is in the units of ``y``.
        validation_data : tuple (X_val, t_val, y_val), optional
            Separate units for early stopping, shapes ``(m, d)``, ``(m,)``,
            ``(m,)``. When given, every unit of ``(X, t, y)`` is trained on and
            ``validation_fraction`` is ignored; the validation units only decide
            when to stop (and which epoch's weights to keep).
        backend : {"local", "ray"}
            Where the members (ensemble networks, or DUE models with
            ``gp_members > 1``) train (:func:`knowable.parallel.map_jobs`); the
            fit is the same on every backend.
        workers : int
            Members trained at once (1: one after another, in this process).
        ray_address : str, optional
            With ``backend="ray"``: the cluster to join (default: start a local Ray).

        Returns
        -------
        self
        """
        self.resolved_params_ = self._resolved()
        x, t_arr, y_arr = self._check_fit_inputs(X, t, y)
        valid = self._check_validation_data(validation_data, x.shape[1])
        self.input_shape_ = tuple(x.shape[1:])
        self._record_feature_names(X)
        self.n_features_in_ = int(x.shape[1])
        self._fit_input_scaler(x)
        y_mean, y_scale = mean_and_scale(y_arr, "y")
        self.y_mean_, self.y_scale_ = float(y_mean), float(y_scale)
        self.X_fit_ = x
        self.t_fit_ = t_arr.astype(np.int8)
        self._fit_networks(
            self._standardise_X(x),
            self._targets(t_arr, y_arr),
            None
            if valid is None
            else {"x": self._standardise_X(valid[0]), **self._targets(valid[1], valid[2])},
            execution={"backend": backend, "workers": workers, "ray_address": ray_address},
        )
        return self

    def _targets(self, t: np.ndarray, y: np.ndarray) -> dict[str, torch.Tensor]:
        return {
            "t": torch.tensor(t, dtype=torch.float32),
            "y": torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32),
        }

    def _check_validation_data(
        self, validation_data: Any, n_features: int
    ) -> tuple[np.ndarray, ...] | None:
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 3:
            raise TypeError("validation_data must be a tuple (X_val, t_val, y_val).")
        x_raw, t_raw, y_raw = validation_data
        x_val, t_val, y_val = self._check_xty(x_raw, t_raw, y_raw, suffix="_val")
        if x_val.shape[1] != n_features:
            raise ValueError(f"X_val has {x_val.shape[1]} columns but X has {n_features}.")
        return x_val, t_val, y_val

    # ------------------------------------------------------------ prediction
    def _due_modules(self) -> list[CausalDeepKernel]:
        """The fitted deep-kernel modules (``gp_members`` of them), in evaluation mode."""
        modules = [cast(CausalDeepKernel, m) for m in self.members_]
        for module in modules:
            module.eval()
        return modules

    def _member_draws(self) -> list[int]:
        """How many of the ``n_draws`` GP draws each deep-kernel member gives (sum ``n_draws``)."""
        total, k = self.resolved_params_["n_draws"], len(self.members_)
        return [total // k + (i < total % k) for i in range(k)]

    def _chunk_outputs(
        self, x: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Draws ``(S, n, 2)``, noise ``(S|1, n|1, 2)``, exact covariance and mean (DUE) or None.

        With several deep-kernel members the posterior is their equal mixture:
        member ``k`` gives its share of the draws (seeded ``prediction_seed_ + 2k``)
        and the exact moments are the mixture's (law of total covariance).
        """
        mu, sd = self.y_mean_, self.y_scale_
        if self._method.gp_head:
            draws, noises, means, covs = [], [], [], []
            for k, (module, n_k) in enumerate(
                zip(self._due_modules(), self._member_draws(), strict=True)
            ):
                with torch.no_grad():
                    blocks = module.blocks(module.extractor(x))
                    # (1, n, 2), (1, n, 2, 2), (S_k, 1, n, 2)
                    mean, cov, f_draws = module.gp.predict_and_sample_blocks(
                        blocks, n_k, self.prediction_seed_ + 2 * k
                    )
                draws.append(f_draws[:, 0].double().numpy() * sd + mu)
                noise = module.noise_scale().detach().double().numpy() * sd
                noises.append(np.tile(noise.reshape(1, 1, 2), (n_k, 1, 1)))
                means.append(mean[0].double().numpy())
                covs.append(cov[0].double().numpy())
            m = np.mean(means, axis=0)
            c = np.mean(covs, axis=0) + np.mean(
                [np.einsum("ni,nj->nij", mk - m, mk - m) for mk in means], axis=0
            )
            noise_all = noises[0][:1].copy() if len(noises) == 1 else np.concatenate(noises)
            return np.concatenate(draws), noise_all, c * sd**2, m * sd + mu
        outs = self._member_outputs(x)
        draws_arr = np.stack([o.outcome.mean.double().numpy() for o in outs]) * sd + mu
        noise_arr = np.stack([o.outcome.scale.double().numpy() for o in outs]) * sd
        return draws_arr, noise_arr, None, None

    def _chunk_propensity(self, x: torch.Tensor) -> np.ndarray:
        """Propensity ``(n,)`` on one chunk (mean over members / dropout masks)."""
        if self._method.gp_head:
            with torch.no_grad():
                return np.mean(
                    [
                        torch.sigmoid(m.propensity_logit(m.extractor(x))).double().numpy()
                        for m in self._due_modules()
                    ],
                    axis=0,
                )
        outs = self._member_outputs(x)
        return np.mean([torch.sigmoid(o.logit).double().numpy() for o in outs], axis=0)

    def predict_outcomes(self, X: Any, *, batch_size: int | None = None) -> Posterior:
        """Posterior over the potential-outcome functions ``(mu0, mu1)`` at ``X``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        batch_size : int, optional
            Inputs per chunk (memory bound); default 4096.

        Returns
        -------
        Posterior
            Draws of shape ``(S, n, 2)`` (outputs ``mu0, mu1``) in the units of
            ``y`` with a :class:`~knowable.models.GaussianNoise` observation
            model. For DUE the draws are joint GP samples of ``f(x, 0), f(x, 1)``
            and ``covariance`` holds the exact ``(n, 2, 2)`` posterior covariance.
        """
        parts = []
        for chunk in self._chunks(X, batch_size):
            draws, noise, cov, mean = self._chunk_outputs(chunk)
            parts.append(
                Posterior(
                    draws,
                    GaussianNoise(noise),
                    covariance=cov,
                    mean=mean,
                    output_names=list(OUTPUT_NAMES),
                )
            )
        return Posterior.concatenate(parts)

    def posterior(self, X: Any, *, batch_size: int | None = None) -> Posterior:
        """Alias of :meth:`predict_outcomes` (the :class:`Posterior` contract of knowable models)."""
        return self.predict_outcomes(X, batch_size=batch_size)

    # the effect API (effect, effect_samples, effect_var, effect_interval, ate, ate_interval)
    # is derived once in CATEBase from predict_outcomes; DUE overrides the two moment hooks
    # with the GP's exact moments
    def _effect_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self)
        if self._method.gp_head:  # exact moments of the joint GP
            return self._exact_effect_moments(X)
        return super()._effect_moments(X)

    def _exact_effect_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the CATE ``(n,)``; for several members, of their mixture."""
        chunks = self._chunks(X, None)  # validated and standardised once for every member
        per_member = []
        for module in self._due_modules():
            means, variances = [], []
            for chunk in chunks:
                with torch.no_grad():
                    mean, cov = module.gp.predict_blocks(module.blocks(module.extractor(chunk)))
                m, c = mean[0].double().numpy(), cov[0].double().numpy()
                means.append(m[:, 1] - m[:, 0])
                variances.append(np.maximum(c[:, 1, 1] + c[:, 0, 0] - 2 * c[:, 0, 1], 0.0))
            per_member.append((np.concatenate(means), np.concatenate(variances)))
        m_k = np.stack([m for m, _ in per_member])
        var = np.mean([v for _, v in per_member], axis=0) + m_k.var(axis=0)
        return m_k.mean(axis=0) * self.y_scale_, var * self.y_scale_**2

    def _ate_moments(self, X: Any) -> tuple[float, float]:
        if self._method.gp_head:
            centre, var = self._exact_ate_moments(X)
            return centre, var**0.5
        return super()._ate_moments(X)

    def _exact_ate_moments(self, X: Any) -> tuple[float, float]:
        """DUE: posterior mean and variance of the average of ``f(x, 1) - f(x, 0)`` over ``X``.

        Exact under each member's joint GP posterior (see
        :meth:`~knowable.models._gp.VariationalGP.weighted_sum_moments`); the
        moments of the members' equal mixture when there are several.
        """
        chunks = self._chunks(X, None)
        centres, variances = [], []
        for k, module in enumerate(self._due_modules()):
            with torch.no_grad():
                blocks = torch.cat([module.blocks(module.extractor(c)) for c in chunks])
                weights = (
                    torch.tensor([[-1.0, 1.0]], dtype=torch.float64).expand(blocks.shape[0], 2)
                    / blocks.shape[0]
                )
                mean, var = module.gp.weighted_sum_moments(
                    blocks, weights, seed=self.prediction_seed_ + 2 * k
                )
            centres.append(float(mean[0]))
            variances.append(float(var[0]))
        var_mix = float(np.mean(variances) + np.var(centres))
        return float(np.mean(centres)) * self.y_scale_, var_mix * self.y_scale_**2

    def propensity(self, X: Any) -> np.ndarray:
        """Estimated propensity ``P(t = 1 | x)`` (mean over the draws).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        return np.concatenate([self._chunk_propensity(chunk) for chunk in self._chunks(X, None)])

    # ------------------------------------------------------------ persistence
    def _extra_meta(self) -> dict[str, Any]:
        return {"y_mean": self.y_mean_, "y_scale": self.y_scale_}

    def _restore_extra(self, meta: dict[str, Any]) -> None:
        self.y_mean_ = float(meta["y_mean"])
        self.y_scale_ = float(meta["y_scale"])

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        meta, tensors = super()._fitted_state()
        if self.X_fit_ is not None:
            tensors["fit.X"] = torch.as_tensor(self.X_fit_)
            if getattr(self, "t_fit_", None) is not None:
                tensors["fit.t"] = torch.as_tensor(self.t_fit_)
        else:
            meta["training_data"] = False
        return meta, tensors

    def _restore_fitted(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        tensors = dict(tensors)
        x_fit = tensors.pop("fit.X", None)
        t_fit = tensors.pop("fit.t", None)  # absent from models saved by earlier versions
        self.t_fit_ = None if t_fit is None else t_fit.numpy().astype(np.int8)
        super()._restore_fitted(meta, tensors)
        self.X_fit_ = restore_training_X(x_fit, meta, self.input_shape_)
