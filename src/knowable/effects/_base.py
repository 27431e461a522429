"""Shared machinery of the neural CATE estimators (TARNet, DragonNet).

Built on :class:`knowable.models._base.UncertainModel`: the same three ways to
be uncertain (deep ensemble, MC dropout, DUE), one training loop, seeding and
persistence. This module adds the treatment: the factual loss, the propensity
head, DragonNet's targeted regularisation and the EconML-style effect API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import nn

from .._validation import (
    check_array,
    check_binary_treatment,
    check_consistent_length,
    check_in_options,
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
from ._modules import CATEHead, CausalDeepKernel, propensity_loss, targeted_term

__all__ = ["CATEEstimator"]

OUTPUT_NAMES = ("mu0", "mu1")
NO_TRAINING_DATA = (
    "this model was saved without its training covariates (include_training_data=False); "
    "pass X explicitly."
)


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


ESTIMANDS = ("ate", "att", "atc")
_ARM_WORD = {"att": "treated", "atc": "control"}


class CATEEstimator(UncertainModel):
    """Base of :class:`TARNet` and :class:`DragonNet`; see those for the parameters."""

    _estimator_kind = "cate"
    _dragon = False  # DragonNet: joint propensity head + targeted regularisation

    def __init__(
        self,
        uncertainty: str = "due",
        *,
        n_members: int = 5,
        n_samples: int = 100,
        extractor: str | None = None,
        hidden_size: int = 200,
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
        max_epochs: int = 150,
        batch_size: int = 64,
        learning_rate: float | None = None,
        weight_decay: float = 1e-4,
        patience: int = 20,
        validation_fraction: float = 0.2,
        min_steps_per_epoch: int = 0,
        device: str = "auto",
        random_state: int | np.random.Generator | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            uncertainty,
            n_members=n_members,
            n_samples=n_samples,
            extractor=extractor,
            hidden_size=hidden_size,
            depth=depth,
            activation=activation,
            dropout=dropout,
            spectral_coeff=spectral_coeff,
            n_inducing=n_inducing,
            kernel=kernel,
            max_epochs=max_epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            patience=patience,
            validation_fraction=validation_fraction,
            min_steps_per_epoch=min_steps_per_epoch,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.arm_hidden_size = arm_hidden_size
        self.arm_depth = arm_depth
        self.heteroscedastic = heteroscedastic
        self.propensity_weight = propensity_weight
        self.targeted_weight = targeted_weight

    # ------------------------------------------------------------ parameters
    def _resolved(self) -> dict[str, Any]:
        r = super()._resolved()
        r["arm_hidden_size"] = check_positive_int(self.arm_hidden_size, "arm_hidden_size")
        r["arm_depth"] = check_positive_int(self.arm_depth, "arm_depth", minimum=0)
        r["heteroscedastic"] = bool(self.heteroscedastic)
        r["propensity_weight"] = check_real(self.propensity_weight, "propensity_weight", low=0.0)
        r["targeted_weight"] = check_real(self.targeted_weight, "targeted_weight", low=0.0)
        return r

    def _make_head(self, in_features: int) -> nn.Module:
        r = self.resolved_params_
        return CATEHead(
            in_features,
            r["arm_hidden_size"],
            r["arm_depth"],
            r["activation"],
            r["dropout"],
            r["heteroscedastic"],
            detach_propensity=not self._dragon,
            targeted=self._dragon,
        )

    def _build_member(
        self, generator: torch.Generator, x_train: torch.Tensor | None = None
    ) -> nn.Module:
        r = self.resolved_params_
        if r["method"] != "due":
            return super()._build_member(generator, x_train)
        extractor = self._make_extractor()
        init_parameters(extractor, generator)
        width = extractor.out_features + 1
        if x_train is not None:
            n = x_train.shape[0]
            pick = torch.randperm(n, generator=generator)[: min(n, 1000)]
            extractor.eval()
            with torch.no_grad():
                feats = extractor(x_train[pick])
            _, lengthscale = init_inducing_points(feats, 1, 0)
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
        module = CausalDeepKernel(
            extractor, gp, lengthscale, detach_propensity=not self._dragon, targeted=self._dragon
        )
        init_parameters(module.propensity, generator)
        return module

    # ---------------------------------------------------------------- losses
    def _loss(self, module: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        r = self.resolved_params_
        t, y = batch["t"], batch["y"]
        out = module(batch["x"])
        factual = out.outcome.select(t)
        loss = factual.nll(y.unsqueeze(-1)).mean()
        loss = loss + r["propensity_weight"] * propensity_loss(out.logit, t)
        if self._dragon and r["targeted_weight"] > 0:
            eps = module.head.epsilon
            loss = loss + r["targeted_weight"] * targeted_term(
                factual.mean[:, 0], out.logit, t, y, eps
            )
        return loss

    def _due_loss(self, module: Any, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        r = self.resolved_params_
        t, y = batch["t"], batch["y"]
        feats = module.extractor(batch["x"])
        loss, q = module.factual_elbo(feats, t, y, self._n_fit)
        logit = module.propensity_logit(feats)
        loss = loss + r["propensity_weight"] * propensity_loss(logit, t)
        if self._dragon and r["targeted_weight"] > 0:
            loss = loss + r["targeted_weight"] * targeted_term(q, logit, t, y, module.epsilon)
        return loss

    # ---------------------------------------------------------------- inputs
    @staticmethod
    def _check_xty(X: Any, t: Any, y: Any, suffix: str = "") -> tuple[np.ndarray, ...]:
        """Covariates, binary treatment and one outcome column, named ``X{suffix}`` etc. in errors."""
        names = {k: f"{k}{suffix}" for k in ("X", "t", "y")}
        x = check_array(X, names["X"], ndim=2, dtype=np.float32)
        t_arr = check_binary_treatment(t, names["t"])
        y_arr = check_array(y, names["y"], ndim=(1, 2))
        if y_arr.ndim == 2:
            if y_arr.shape[1] != 1:
                raise ValueError(
                    f"{names['y']} must be one outcome column, got shape {y_arr.shape}."
                )
            y_arr = y_arr[:, 0]
        check_consistent_length(**{names["X"]: x, names["t"]: t_arr, names["y"]: y_arr})
        return x, t_arr, y_arr

    def _check_fit_inputs(self, X: Any, t: Any, y: Any) -> tuple[np.ndarray, ...]:
        x, t_arr, y_arr = self._check_xty(X, t, y)
        counts = np.bincount(t_arr.astype(np.int64), minlength=2)
        if counts.min() < 2:
            raise ValueError(
                f"both arms need at least 2 units to estimate effects; got {counts[0]} control "
                f"and {counts[1]} treated."
            )
        return x, t_arr, y_arr

    # ------------------------------------------------------------------- fit
    def fit(
        self,
        X: Any,
        t: Any,
        y: Any,
        *,
        validation_data: tuple[Any, Any, Any] | None = None,
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
        x_val, t_val, y_val = self._check_xty(*validation_data, suffix="_val")
        if x_val.shape[1] != n_features:
            raise ValueError(f"X_val has {x_val.shape[1]} columns but X has {n_features}.")
        return x_val, t_val, y_val

    # ------------------------------------------------------------ prediction
    def _chunk_outputs(
        self, x: torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Draws ``(S, n, 2)``, noise ``(S|1, n|1, 2)``, exact covariance and mean (DUE) or None."""
        mu, sd = self.y_mean_, self.y_scale_
        if self.resolved_params_["method"] == "due":
            module: CausalDeepKernel = self.members_[0]
            module.eval()
            with torch.no_grad():
                feats = module.extractor(x)
                blocks = module.blocks(feats)
                mean, cov = module.gp.predict_blocks(blocks)  # (1, n, 2), (1, n, 2, 2)
                draws = module.gp.sample_blocks(
                    blocks,
                    self.resolved_params_["n_samples"],
                    self.prediction_seed_,
                )  # (S, 1, n, 2)
            noise = module.noise_scale().detach().double().numpy() * sd
            return (
                draws[:, 0].double().numpy() * sd + mu,
                noise.reshape(1, 1, 2),
                cov[0].double().numpy() * sd**2,
                mean[0].double().numpy() * sd + mu,
            )
        outs = self._member_outputs(x)
        draws = np.stack([o.outcome.mean.double().numpy() for o in outs]) * sd + mu
        noise = np.stack([o.outcome.scale.double().numpy() for o in outs]) * sd
        return draws, noise, None, None

    def _chunk_propensity(self, x: torch.Tensor) -> np.ndarray:
        """Propensity ``(n,)`` on one chunk (mean over members / dropout masks)."""
        if self.resolved_params_["method"] == "due":
            module: CausalDeepKernel = self.members_[0]
            module.eval()
            with torch.no_grad():
                return torch.sigmoid(module.propensity_logit(module.extractor(x))).double().numpy()
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

    def effect_samples(self, X: Any) -> np.ndarray:
        """Posterior draws of the CATE ``mu1(x) - mu0(x)``.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (S, n)
            Draw ``s`` is one ensemble member, dropout mask or GP function
            for every unit (DUE: each unit's ``(mu0, mu1)`` block has the exact
            joint posterior; the residual correlation between units comes from
            random features, see :meth:`ate_interval` for the exact ATE).
        """
        draws = self.predict_outcomes(X).draws
        return draws[..., 1] - draws[..., 0]

    def effect(self, X: Any) -> np.ndarray:
        """Point estimate of the CATE (posterior mean of ``mu1 - mu0``).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        return self._effect_moments(X)[0]

    def effect_var(self, X: Any) -> np.ndarray:
        """Epistemic variance of the CATE: ``Var mu1 + Var mu0 - 2 Cov(mu0, mu1)``.

        Exact for DUE (from the GP's joint posterior), the draws' variance
        (``ddof=1``) for ensembles and MC dropout.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        return self._effect_moments(X)[1]

    def _effect_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        check_is_fitted(self)
        if self.resolved_params_["method"] == "due":  # exact moments of the joint GP
            return self._exact_effect_moments(X)
        draws = self.predict_outcomes(X).draws
        tau = draws[..., 1] - draws[..., 0]
        ddof = 1 if tau.shape[0] > 1 else 0
        return tau.mean(0), tau.var(0, ddof=ddof)

    def _exact_effect_moments(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        means, variances = [], []
        chunks = self._chunks(X, None)
        module: CausalDeepKernel = self.members_[0]
        module.eval()
        for chunk in chunks:
            with torch.no_grad():
                mean, cov = module.gp.predict_blocks(module.blocks(module.extractor(chunk)))
            m, c = mean[0].double().numpy(), cov[0].double().numpy()
            means.append((m[:, 1] - m[:, 0]) * self.y_scale_)
            var = c[:, 1, 1] + c[:, 0, 0] - 2 * c[:, 0, 1]
            variances.append(np.maximum(var, 0.0) * self.y_scale_**2)
        return np.concatenate(means), np.concatenate(variances)

    def effect_interval(self, X: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Central ``1 - alpha`` epistemic interval of the CATE.

        A normal interval ``effect ± z_{1-alpha/2} sqrt(effect_var)``: with a
        5-member ensemble, empirical quantiles of 5 draws would be too coarse.
        It describes model uncertainty only; its coverage of the true CATE is
        measured in the benchmark, not guaranteed.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        alpha : float
            Miscoverage level in (0, 1).

        Returns
        -------
        lower, upper : numpy.ndarray of shape (n,)
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        mean, var = self._effect_moments(X)
        half = stats.norm.isf(alpha / 2) * np.sqrt(var)
        return mean - half, mean + half

    def _ate_X(self, X: Any, t: Any = None, estimand: str = "ate") -> Any:
        """The units an average effect is over: ``X`` (default the training units), or
        its treated (``"att"``) or control (``"atc"``) rows."""
        estimand = check_in_options(estimand, "estimand", ESTIMANDS)
        check_is_fitted(self)
        if X is None:
            if self.X_fit_ is None:
                raise ValueError(NO_TRAINING_DATA)
            X = self.X_fit_
            if t is None and estimand != "ate":
                t = getattr(self, "t_fit_", None)
                if t is None:
                    raise ValueError(
                        f"estimand={estimand!r}: this model was saved without its training "
                        "treatments; pass X and t."
                    )
        if estimand == "ate":
            return X
        if t is None:
            raise ValueError(
                f"estimand={estimand!r} averages over the {_ARM_WORD[estimand]} units of X; "
                "pass their treatment t, shape (n,)."
            )
        t_arr = check_binary_treatment(t, "t")
        n = len(X)
        if t_arr.shape[0] != n:
            raise ValueError(f"t has {t_arr.shape[0]} entries but X has {n} rows.")
        rows = np.flatnonzero(t_arr == (1 if estimand == "att" else 0))
        if rows.size == 0:
            raise ValueError(f"estimand={estimand!r}: t has no {_ARM_WORD[estimand]} units.")
        return X.iloc[rows] if hasattr(X, "iloc") else X[rows]

    def ate(self, X: Any = None, *, t: Any = None, estimand: str = "ate") -> float:
        """Average effect: the mean CATE over ``X`` (default: the training units).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units to average over.
        t : array-like of shape (n,), optional
            Their binary treatment; needed for ``estimand="att"``/``"atc"`` when
            ``X`` is given (the training treatments are used when ``X`` is None).
        estimand : {"ate", "att", "atc"}
            ``"ate"``: all units of ``X``; ``"att"``: the treated ones (t = 1);
            ``"atc"``: the controls (t = 0). The ATT is estimated as the mean CATE
            over the treated units' covariates (exact without hidden confounding;
            see :meth:`knowable.bounds.MSMBounds.ate_bounds` for bounds with it).

        Returns
        -------
        float
        """
        return float(self.effect(self._ate_X(X, t, estimand)).mean())

    def att(self, X: Any = None, t: Any = None) -> float:
        """Average effect on the treated: ``ate(X, t=t, estimand="att")``.

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units (default: the training units, with their treatments).
        t : array-like of shape (n,), optional
            Their treatment (required when ``X`` is given).

        Returns
        -------
        float
        """
        return self.ate(X, t=t, estimand="att")

    def atc(self, X: Any = None, t: Any = None) -> float:
        """Average effect on the controls: ``ate(X, t=t, estimand="atc")``.

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units (default: the training units, with their treatments).
        t : array-like of shape (n,), optional
            Their treatment (required when ``X`` is given).

        Returns
        -------
        float
        """
        return self.ate(X, t=t, estimand="atc")

    def ate_interval(
        self, X: Any = None, alpha: float = 0.05, *, t: Any = None, estimand: str = "ate"
    ) -> tuple[float, float]:
        """Epistemic ``1 - alpha`` interval of the average effect over ``X`` (default: training units).

        Model uncertainty only: not a confidence interval under hidden
        confounding (for that, see :mod:`knowable.bounds`).

        A normal interval. For ensembles and MC dropout each draw (one member
        or dropout mask for every unit) gives one ATE and the standard
        deviation is theirs. For DUE the mean and variance are exact under the
        GP's joint posterior over all units, including the covariance between
        units that the inducing points do not explain, with no Monte Carlo
        error. That costs ``O(n²)`` kernel evaluations (tens of seconds on
        one CPU core at tens of thousands of units).

        Parameters
        ----------
        X : array-like of shape (n, d), optional
            Units to average over.
        alpha : float
            Miscoverage level in (0, 1).
        t : array-like of shape (n,), optional
            Treatment of the units (for ``estimand="att"``/``"atc"`` with ``X``).
        estimand : {"ate", "att", "atc"}
            All units, the treated or the controls; see :meth:`ate`.

        Returns
        -------
        lower, upper : float
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        X = self._ate_X(X, t, estimand)
        if self.resolved_params_["method"] == "due":
            centre, var = self._exact_ate_moments(X)
            sd = var**0.5
        else:
            ates = self.effect_samples(X).mean(1)
            sd = ates.std(ddof=1) if ates.size > 1 else 0.0
            centre = self.ate(X)
        half = float(stats.norm.isf(alpha / 2) * sd)
        return centre - half, centre + half

    def _exact_ate_moments(self, X: Any) -> tuple[float, float]:
        """DUE: exact posterior mean and variance of the average of ``f(x, 1) - f(x, 0)`` over ``X``."""
        module: CausalDeepKernel = self.members_[0]
        module.eval()
        with torch.no_grad():
            blocks = torch.cat([module.blocks(module.extractor(c)) for c in self._chunks(X, None)])
            n, b, d = blocks.shape
            weights = torch.tensor([-1.0, 1.0], dtype=torch.float64).repeat(n) / n
            mean, var = module.gp.weighted_sum_moments(blocks.reshape(n * b, d), weights)
        return float(mean[0]) * self.y_scale_, float(var[0]) * self.y_scale_**2

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
