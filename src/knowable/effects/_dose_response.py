"""Dose-response curves for a continuous treatment, with epistemic uncertainty.

:class:`DoseResponse` models the conditional outcome density p(y | x, t) with a
mixture-density network in Overcast's "appended treatment" design (Jesson et
al. 2022): a feature extractor φ(x), the standardised treatment appended to
the features, a small smooth (ELU) MLP on ``[φ(x), t]`` and a Gaussian-mixture
head. Epistemic uncertainty comes from a deep ensemble (default) or MC dropout,
through :class:`knowable.models._base.UncertainModel`, or from DUE: a
deep-kernel GP on ``[φ(x), t]`` with a Gaussian likelihood (see
:mod:`knowable.effects._dose_response_due`).

The conditional average potential outcome (CAPO) E[Y(t) | x] is the analytic
mean of each draw's mixture (DUE: the GP function draw); the dose-response
curve (APO) is its average over units. Both are causal only under no hidden
confounding and overlap; see :class:`knowable.bounds.ContinuousMSMBounds` for
bounds under the continuous marginal sensitivity model.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
from scipy import stats
from torch import nn

from .._params import store_params
from .._persistence import register_persistable
from .._random import check_random_state
from .._validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    check_positive_int,
    check_real,
    mean_and_scale,
)
from ..models._base import PREDICT_CHUNK, UncertainModel
from ..models._heads import MixtureDensityHead, MixtureOutput
from ..models._layers import MLP, init_parameters
from ..models._networks import DeepKernel
from ._base import restore_training_X
from ._contract import NO_TRAINING_DATA
from ._dose_response_due import build_dose_response_kernel

__all__ = ["DoseResponse", "DoseResponseCurve"]


@dataclass(frozen=True)
class DoseResponseCurve:
    """An estimated dose-response curve with its epistemic band.

    Parameters
    ----------
    t : numpy.ndarray of shape (g,)
        Treatment grid.
    mean : numpy.ndarray of shape (g,)
        Posterior-mean APO, the average of E[Y(t) | x_i] over the units.
    lower, upper : numpy.ndarray of shape (g,)
        Central ``1 - alpha`` epistemic interval (normal, from the draws' spread).
    samples : numpy.ndarray of shape (S, g)
        The curve of every draw (ensemble member or dropout mask).
    alpha : float
        Miscoverage level of the band.
    """

    t: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    samples: np.ndarray
    alpha: float


class _AppendedTreatmentNet(nn.Module):
    """``head(mlp([extractor(x), t]))``; the input is ``[x, t]`` with t in the last column."""

    def __init__(self, extractor: nn.Module, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor
        self.body = body
        self.head = head

    def forward(self, xt: torch.Tensor) -> MixtureOutput:
        """Standardised ``(n, d + 1)`` inputs to a one-output :class:`MixtureOutput`."""
        return self.from_features(self.extractor(xt[:, :-1]), xt[:, -1:])

    def from_features(self, feats: torch.Tensor, t: torch.Tensor) -> MixtureOutput:
        """The network after the extractor: features ``(n, h)`` and treatments ``(n, 1)``.

        φ(x) does not depend on t, so a grid of treatments reuses one extractor pass.
        """
        return self.head(self.body(torch.cat([feats, t], dim=1)))


GRID_ROWS = 2**13  # (unit, grid value) rows of one network pass (cache-sized: faster, less memory)


@register_persistable
class DoseResponse(UncertainModel):
    """Conditional outcome density p(y | x, t) for a continuous treatment t.

    Parameters
    ----------
    uncertainty : str
        A name from :func:`~knowable.models.uncertainty_methods`: ``ensemble``, ``dropout``,
        ``due``, ``laplace`` or a registered method.
        Deep ensemble of ``n_members`` networks (default), MC dropout with
        ``n_draws`` masks, a last-layer Laplace approximation
        (``knowable[laplace]``), or DUE: a spectral-normalised residual extractor
        φ(x), the standardised treatment appended after it, and an
        inducing-point GP on ``[φ(x), t]`` with Gaussian noise (one noise
        scale), sampled ``n_draws`` times. Each DUE draw is one GP function
        (pathwise conditioning of a random-feature prior draw on a draw of
        the inducing values), shared by every unit and chunk (see
        :meth:`~knowable.models._gp.VariationalGP.sample_blocks`).
    n_components : int
        Gaussian-mixture components of the outcome density (not DUE).
    head_hidden_size : int
        Width of the smooth MLP on ``[φ(x), t]`` (not DUE).
    head_depth : int
        Hidden layers of that MLP (its activation is always ELU, so the curve
        in t is smooth; not DUE).
    n_inducing : int
        DUE inducing points (k-means on the initial GP inputs of the observed pairs).
    kernel : {"matern32", "rbf", "matern52"}
        DUE kernel over ``[φ(x), t]`` (stationary, so the curve is smooth in t).
    spectral_coeff : float, optional
        Soft spectral-norm bound of the extractor; default 0.95 for DUE, none otherwise.
    n_members, n_draws, extractor, hidden_size, depth, activation, dropout,
    max_epochs, batch_size, learning_rate, weight_decay, patience,
    validation_fraction, min_steps_per_epoch, device, random_state, verbose, n_samples
        As in :class:`knowable.models.UncertainRegressor` (DUE: extractor
        ``"resnet"`` and learning rate 5e-3, GP at twice that, by default).

    Attributes
    ----------
    t_range_ : tuple of float
        Observed treatment range ``(min, max)``; grids outside it are refused
        unless ``allow_extrapolation=True``.
    X_fit_ : numpy.ndarray or None
        Training covariates (the default population of :meth:`dose_response`);
        saved with the model unless ``save(..., include_training_data=False)``
        (then None after loading).

    Examples
    --------
    >>> from knowable.data import simulate_dose_response
    >>> ds = simulate_dose_response(n=300, random_state=0)
    >>> model = DoseResponse(n_members=2, max_epochs=3, random_state=0).fit(ds.x, ds.t, ds.y)
    >>> model.dose_response([0.2, 0.5]).mean.shape
    (2,)
    """

    _estimator_kind = "dose_response"
    # parameters beyond the base class (stored by store_params)
    n_components: int
    head_hidden_size: int
    head_depth: int
    # set by fit; None when loaded from a model saved without its training data
    X_fit_: np.ndarray | None

    def __init__(
        self,
        uncertainty: str = "ensemble",
        *,
        n_components: int = 10,
        head_hidden_size: int = 64,
        head_depth: int = 2,
        n_inducing: int = 100,
        kernel: str = "matern32",
        spectral_coeff: float | None = None,
        n_members: int = 5,
        n_draws: int = 100,
        extractor: str | None = None,
        hidden_size: int = 96,
        depth: int = 2,
        activation: str = "elu",
        dropout: float | None = None,
        max_epochs: int = 200,
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

    # ------------------------------------------------------------ parameters
    def _resolved(self) -> dict[str, Any]:
        r = super()._resolved()
        if r["extractor"] == "cnn":
            raise ValueError("DoseResponse needs tabular X; extractor must be 'mlp' or 'resnet'.")
        r["n_components"] = check_positive_int(self.n_components, "n_components")
        r["head_hidden_size"] = check_positive_int(self.head_hidden_size, "head_hidden_size")
        r["head_depth"] = check_positive_int(self.head_depth, "head_depth", minimum=1)
        return r

    def _build_gp_member(
        self, generator: torch.Generator, x_train: torch.Tensor | None = None
    ) -> nn.Module:
        r = self.resolved_params_
        n_inducing = self.n_inducing_ if x_train is None else r["n_inducing"]
        return build_dose_response_kernel(
            self._make_extractor(), r["kernel"], n_inducing, generator, x_train
        )

    def _build_network(self, generator: torch.Generator) -> nn.Module:
        r = self.resolved_params_
        extractor = self._make_extractor()
        body = MLP(
            cast(int, extractor.out_features) + 1,
            r["head_hidden_size"],
            r["head_depth"],
            "elu",
            r["dropout"],
            r["spectral_coeff"],
        )
        head = MixtureDensityHead(r["head_hidden_size"], 1, r["n_components"])
        module = _AppendedTreatmentNet(extractor, body, head)
        init_parameters(module, generator)
        return module

    def _loss(self, module: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return module(batch["x"]).nll(batch["y"].unsqueeze(-1)).mean()

    def _due_loss(self, module: DeepKernel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return module.gaussian_elbo_loss(batch["x"], batch["y"].unsqueeze(-1), self._n_fit)

    def _scaled_width(self) -> int | None:
        return int(self.input_shape_[0]) + 1  # the treatment is standardised as a last column

    # ---------------------------------------------------------------- inputs
    def _check_fit_inputs(self, X: Any, t: Any, y: Any) -> tuple[np.ndarray, ...]:
        x = check_array(X, "X", ndim=2, dtype=np.float32)
        t_arr = self._check_1d(t, "t")
        y_arr = self._check_1d(y, "y")
        check_consistent_length(X=x, t=t_arr, y=y_arr)
        check_array(t_arr, "t", ndim=1, dtype=np.float32)  # t is a network input: float32 range
        if x.shape[0] < 2:
            raise ValueError(f"need at least 2 units to fit, got {x.shape[0]}.")
        if np.ptp(t_arr) == 0:
            raise ValueError(
                f"t is constant ({t_arr[0]!r}); a dose-response curve needs a treatment that varies."
            )
        return x, t_arr, y_arr

    @staticmethod
    def _check_1d(value: Any, name: str) -> np.ndarray:
        arr = check_array(value, name, ndim=(1, 2))
        if arr.ndim == 2:
            if arr.shape[1] != 1:
                raise ValueError(f"{name} must be one column, got shape {arr.shape}.")
            arr = arr[:, 0]
        return arr.astype(np.float64)

    def _check_X(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        self._check_feature_names(X)
        x = check_array(X, "X", ndim=2, dtype=np.float32)
        if x.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has {x.shape[1]} column(s) but the model was fitted on {self.input_shape_[0]}."
            )
        return x

    def _check_t_values(self, t: Any, name: str, allow_extrapolation: bool) -> np.ndarray:
        arr = check_array(t, name, ndim=(0, 1))
        check_array(arr, name, ndim=(0, 1), dtype=np.float32)  # a network input: float32 range
        lo, hi = self.t_range_
        outside = (arr < lo) | (arr > hi)
        if outside.any():
            msg = (
                f"{name} has {int(outside.sum())} value(s) outside the observed treatment range "
                f"[{lo:g}, {hi:g}] (min {arr.min():g}, max {arr.max():g})"
            )
            if not allow_extrapolation:
                raise ValueError(
                    msg + "; the model has no data there. Pass allow_extrapolation=True to "
                    "extrapolate anyway."
                )
            warnings.warn(msg + "; extrapolating.", UserWarning, stacklevel=3)
        return arr

    def _pairs(self, X: Any, t: Any, allow_extrapolation: bool) -> tuple[np.ndarray, np.ndarray]:
        """Covariates ``(n, d)`` and one treatment per unit ``(n,)`` (a scalar t is broadcast)."""
        x = self._check_X(X)
        t_arr = self._check_t_values(t, "t", allow_extrapolation)
        if t_arr.ndim == 0:
            t_arr = np.full(x.shape[0], float(t_arr))
        elif t_arr.shape[0] != x.shape[0]:
            raise ValueError(
                f"t has {t_arr.shape[0]} value(s) but X has {x.shape[0]} row(s); pass one t per "
                "unit, a scalar, or use grid=True."
            )
        return x, t_arr

    # ------------------------------------------------------------------- fit
    def fit(self, X: Any, t: Any, y: Any) -> DoseResponse:
        """Fit the outcome-density networks.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Continuous treatment (must vary).
        y : array-like of shape (n,)
            Real-valued outcome.

        Returns
        -------
        self
        """
        self.resolved_params_ = self._resolved()
        x, t_arr, y_arr = self._check_fit_inputs(X, t, y)
        self.input_shape_ = tuple(x.shape[1:])
        self._record_feature_names(X)
        self.n_features_in_ = int(x.shape[1])
        xt = np.column_stack([x.astype(np.float64), t_arr])
        self._fit_input_scaler(xt)  # t is standardised as the last input column
        self.t_range_ = (float(t_arr.min()), float(t_arr.max()))
        y_mean, y_scale = mean_and_scale(y_arr, "y")
        self.y_mean_, self.y_scale_ = float(y_mean), float(y_scale)
        self.X_fit_ = x
        y_std = torch.as_tensor((y_arr - self.y_mean_) / self.y_scale_, dtype=torch.float32)
        self._fit_networks(self._standardise_X(xt.astype(np.float32)), {"y": y_std})
        return self

    # ------------------------------------------------------------ prediction
    def _mixtures(
        self, x: np.ndarray, t: np.ndarray, batch_size: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-draw mixture weights, locations, scales ``(S, n, C)`` in the units of y."""
        size = PREDICT_CHUNK if batch_size is None else check_positive_int(batch_size, "batch_size")
        xt = self._standardise_X(np.column_stack([x, t]).astype(np.float32))
        parts = [
            self._mixture_arrays(self._member_outputs(xt[i : i + size]))
            for i in range(0, xt.shape[0], size)
        ]
        return tuple(np.concatenate(p, 1) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    def _mixture_arrays(self, outs: list[MixtureOutput]) -> tuple[np.ndarray, ...]:
        """Weights, locations and scales ``(S, r, C)`` (float64, units of y) of the draws' outputs."""
        w = np.stack([torch.softmax(o.logits[:, 0], -1).double().numpy() for o in outs])
        loc = np.stack([o.loc[:, 0].double().numpy() for o in outs])
        scale = np.stack([o.scale[:, 0].double().numpy() for o in outs])
        return w, loc * self.y_scale_ + self.y_mean_, scale * self.y_scale_

    # ------------------------------------------------- grid evaluation (fast paths)
    def _x_standardised(self, x: np.ndarray) -> torch.Tensor:
        """The covariate columns of :meth:`_standardise_X` (the same float32 values)."""
        xs = torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)
        if self.x_mean_ is not None and self.x_scale_ is not None:
            xs = (xs - self.x_mean_[:-1]) / self.x_scale_[:-1]
        return xs

    def _t_standardised(self, t: np.ndarray) -> torch.Tensor:
        """The treatment column of :meth:`_standardise_X`, shape ``(k,)`` float32."""
        tt = torch.as_tensor(np.asarray(t, dtype=np.float32).reshape(-1))
        if self.x_mean_ is not None and self.x_scale_ is not None:
            tt = (tt - self.x_mean_[-1]) / self.x_scale_[-1]
        return tt

    def _member_features(self, x: np.ndarray, size: int) -> list[torch.Tensor] | None:
        """φ_s(x) ``(n, h)`` of every ensemble member, once per unit; None for other methods.

        An ensemble's draws are its members, each evaluated deterministically, so
        the extractor output can be reused for every treatment value. Dropout,
        Laplace and DUE draws go through the uncertainty method (the slow path).
        """
        if not self._method.draws_are_members:
            return None
        if not all(isinstance(m, _AppendedTreatmentNet) for m in self.members_):
            return None
        xs = self._x_standardised(x)
        feats = []
        with torch.no_grad():
            for module in self.members_:
                module.eval()
                net = cast(_AppendedTreatmentNet, module)
                feats.append(
                    torch.cat([net.extractor(xs[i : i + size]) for i in range(0, len(xs), size)])
                )
        return feats

    def _feature_mixtures(
        self, feats: list[torch.Tensor], t_std: torch.Tensor
    ) -> tuple[np.ndarray, ...]:
        """Mixtures ``(S, r, C)`` of the members from features ``(r, h)`` and treatments ``(r,)``."""
        col = t_std.reshape(-1, 1)
        with torch.no_grad():
            outs = [
                cast(_AppendedTreatmentNet, module).from_features(f, col)
                for module, f in zip(self.members_, feats, strict=True)
            ]
        return self._mixture_arrays(outs)

    def _capo_grid_blocks(
        self, x: np.ndarray, grid: np.ndarray, batch_size: int | None = None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """CAPO draws on a grid, chunked over units: ``(units, (S, c, g))`` blocks.

        The same values as ``_capo_draws(x, full(n, t_j))`` for every grid value
        (up to floating-point reassociation in the network's matrix products), but
        vectorised over the grid (at most :data:`GRID_ROWS` rows per pass) and, for
        an ensemble, with one extractor pass per unit.
        """
        size = PREDICT_CHUNK if batch_size is None else check_positive_int(batch_size, "batch_size")
        g = grid.shape[0]
        for i in range(0, x.shape[0], size):
            xc = x[i : i + size]
            c = xc.shape[0]
            if self._method.gp_head:
                block = np.stack([self._due_draws(xc, np.full(c, tv), size) for tv in grid], -1)
                yield slice(i, i + c), block
                continue
            feats = self._member_features(xc, size)
            step = max(1, GRID_ROWS // c)
            parts = []
            for j in range(0, g, step):
                tv = grid[j : j + step]  # rows: grid value major, unit minor
                if feats is not None:
                    t_std = self._t_standardised(np.repeat(tv, c))
                    w, loc, _ = self._feature_mixtures([f.repeat(tv.size, 1) for f in feats], t_std)
                else:
                    w, loc, _ = self._mixtures(
                        np.tile(xc, (tv.size, 1)), np.repeat(tv, c), tv.size * c
                    )
                parts.append((w * loc).sum(-1).reshape(-1, tv.size, c))
            yield slice(i, i + c), np.concatenate(parts, 1).transpose(0, 2, 1)

    def _grid_outcome_draws(
        self,
        x: np.ndarray,
        grid: np.ndarray,
        n_samples: int,
        rng: np.random.Generator,
        chunk: int,
    ) -> Iterator[tuple[int, slice, np.ndarray, np.ndarray]]:
        """Outcome samples for every grid value and chunk of units, for the CMSM bounds.

        Yields ``(j, units, samples (S, c, m), means (S, c))`` in the order
        ``for j in grid: for chunk in units``, with exactly the random numbers of
        ``outcome_draws(x[units], grid[j], n_samples, rng, return_mean=True)``
        called in that loop; an ensemble reuses one extractor pass per unit.
        """
        m = check_positive_int(n_samples, "n_samples")
        feats = self._member_features(x, PREDICT_CHUNK)
        n = x.shape[0]
        for j, tv in enumerate(grid):
            for i in range(0, n, chunk):
                sl = slice(i, min(i + chunk, n))
                if feats is None:
                    draws, mean = self.outcome_draws(
                        x[sl], float(tv), m, rng, return_mean=True, allow_extrapolation=True
                    )
                    yield j, sl, cast(np.ndarray, draws), cast(np.ndarray, mean)
                    continue
                t_std = self._t_standardised(np.full(sl.stop - sl.start, float(tv)))
                w, loc, scale = self._feature_mixtures([f[sl] for f in feats], t_std)
                yield j, sl, _sample_mixture(w, loc, scale, m, rng), (w * loc).sum(-1)

    def _due_draws(self, x: np.ndarray, t: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """DUE function draws ``(S, n)`` in the units of y, one function per draw for all chunks."""
        size = PREDICT_CHUNK if batch_size is None else check_positive_int(batch_size, "batch_size")
        xt = self._standardise_X(np.column_stack([x, t]).astype(np.float32))
        module = cast(DeepKernel, self.members_[0])
        module.eval()
        parts = []
        with torch.no_grad():
            for i in range(0, xt.shape[0], size):
                z = module.extractor(xt[i : i + size])
                f = module.gp.sample_blocks(
                    z.unsqueeze(1), self.resolved_params_["n_draws"], self.prediction_seed_
                )
                parts.append(f[:, 0, :, 0].numpy())
        return np.concatenate(parts, 1) * self.y_scale_ + self.y_mean_

    def _due_noise_scale(self) -> float:
        """DUE observation noise standard deviation in the units of y."""
        module = cast(DeepKernel, self.members_[0])
        return float(module.noise_scale().detach()[0]) * self.y_scale_

    def _capo_draws(
        self, x: np.ndarray, t: np.ndarray, batch_size: int | None = None
    ) -> np.ndarray:
        if self._method.gp_head:
            return self._due_draws(x, t, batch_size)
        w, loc, _ = self._mixtures(x, t, batch_size)
        return (w * loc).sum(-1)

    def apo_samples(
        self,
        X: Any,
        t: Any,
        *,
        grid: bool = False,
        allow_extrapolation: bool = False,
        batch_size: int | None = None,
    ) -> np.ndarray:
        """Posterior draws of the CAPO E[Y(t) | x] (the mixture mean or GP function of each draw).

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : float or array-like
            With ``grid=False``: a scalar (every unit) or one value per unit
            ``(n,)``. With ``grid=True``: a grid ``(g,)`` evaluated for every unit.
        grid : bool
            Evaluate every unit at every grid value.
        allow_extrapolation : bool
            Allow treatment values outside the observed range (with a warning).
        batch_size : int, optional
            Units per chunk (memory bound); default 4096. It does not change
            the draws.

        Returns
        -------
        numpy.ndarray of shape (S, n) or, with ``grid=True``, (S, n, g)
        """
        if not grid:
            x, t_arr = self._pairs(X, t, allow_extrapolation)
            return self._capo_draws(x, t_arr, batch_size)
        x = self._check_X(X)
        t_grid = np.atleast_1d(self._check_t_values(t, "t", allow_extrapolation))
        blocks = list(self._capo_grid_blocks(x, t_grid, batch_size))
        return np.concatenate([b for _, b in blocks], 1)

    def apo(
        self,
        X: Any,
        t: Any,
        *,
        grid: bool = False,
        alpha: float = 0.05,
        allow_extrapolation: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CAPO E[Y(t) | x] with a central ``1 - alpha`` epistemic interval.

        The interval is normal, ``mean ± z sd`` with the draws' standard
        deviation (``ddof=1``), as for the CATE estimators.

        Parameters
        ----------
        X, t, grid, allow_extrapolation
            See :meth:`apo_samples`.
        alpha : float
            Miscoverage level in (0, 1).

        Returns
        -------
        mean, lower, upper : numpy.ndarray of shape (n,) or (n, g)
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        draws = self.apo_samples(X, t, grid=grid, allow_extrapolation=allow_extrapolation)
        return _normal_band(draws, alpha)

    def dose_response(
        self,
        t_grid: Any,
        X: Any = None,
        *,
        alpha: float = 0.05,
        allow_extrapolation: bool = False,
        batch_size: int | None = None,
    ) -> DoseResponseCurve:
        """The dose-response curve APO(t) = mean_i E[Y(t) | x_i] on a grid.

        Each draw gives one curve (averaged over the same units, with the same
        member, dropout mask or GP function for all of them), so the band
        reflects model uncertainty only. Evaluation is chunked over units.

        Parameters
        ----------
        t_grid : array-like of shape (g,)
            Treatment values, inside the observed range unless ``allow_extrapolation``.
        X : array-like of shape (n, d), optional
            Population to average over; default the training covariates.
        alpha : float
            Miscoverage level of the band in (0, 1).
        allow_extrapolation : bool
            Allow grid values outside the observed treatment range (with a warning).
        batch_size : int, optional
            Units per chunk (memory bound); default 4096. It does not change
            the draws.

        Returns
        -------
        DoseResponseCurve
        """
        alpha = check_real(
            alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        check_is_fitted(self)
        grid = check_array(t_grid, "t_grid", ndim=1)
        self._check_t_values(grid, "t_grid", allow_extrapolation)
        if X is None and self.X_fit_ is None:
            raise ValueError(NO_TRAINING_DATA)
        x = self._check_X(self.X_fit_ if X is None else X)
        total: np.ndarray | float = 0.0
        for _, block in self._capo_grid_blocks(x, grid, batch_size):
            total = total + block.sum(1)
        samples = np.asarray(total) / x.shape[0]  # (S, g)
        mean, lower, upper = _normal_band(samples, alpha)
        return DoseResponseCurve(grid, mean, lower, upper, samples, alpha)

    def outcome_draws(
        self,
        X: Any,
        t: Any,
        n_samples: int = 100,
        random_state: int | np.random.Generator | None = None,
        *,
        return_mean: bool = False,
        allow_extrapolation: bool = False,
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Samples of y from every draw's density p(y | x_i, t_i), for bounds.

        DUE: ``y = f_s(x_i, t_i) + σ ε`` with the draw's GP function ``f_s``
        and the fitted noise scale σ.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Covariates.
        t : float or array-like of shape (n,)
            One treatment per unit (a scalar is broadcast).
        n_samples : int
            Samples of y per unit and draw (m).
        random_state : None, int or numpy.random.Generator
            Seed of the sampling.
        return_mean : bool
            Also return the analytic mixture means ``(S, n)``.
        allow_extrapolation : bool
            Allow treatment values outside the observed range (with a warning).

        Returns
        -------
        draws : numpy.ndarray of shape (S, n, m)
        mean : numpy.ndarray of shape (S, n), when ``return_mean``
        """
        m = check_positive_int(n_samples, "n_samples")
        rng = check_random_state(random_state)
        x, t_arr = self._pairs(X, t, allow_extrapolation)
        if self._method.gp_head:
            f = self._due_draws(x, t_arr)
            noisy = f[..., None] + self._due_noise_scale() * rng.standard_normal((*f.shape, m))
            return (noisy, f) if return_mean else noisy
        w, loc, scale = self._mixtures(x, t_arr)
        draws = _sample_mixture(w, loc, scale, m, rng)
        if return_mean:
            return draws, (w * loc).sum(-1)
        return draws

    # ------------------------------------------------------------ persistence
    def _extra_meta(self) -> dict[str, Any]:
        return {"y_mean": self.y_mean_, "y_scale": self.y_scale_, "t_range": list(self.t_range_)}

    def _restore_extra(self, meta: dict[str, Any]) -> None:
        self.y_mean_ = float(meta["y_mean"])
        self.y_scale_ = float(meta["y_scale"])
        self.t_range_ = (float(meta["t_range"][0]), float(meta["t_range"][1]))

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        meta, tensors = super()._fitted_state()
        if self.X_fit_ is not None:
            tensors["fit.X"] = torch.as_tensor(self.X_fit_)
        else:
            meta["training_data"] = False
        return meta, tensors

    def _restore_fitted(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        tensors = dict(tensors)
        x_fit = tensors.pop("fit.X", None)
        super()._restore_fitted(meta, tensors)
        self.X_fit_ = restore_training_X(x_fit, meta, self.input_shape_)


def _sample_mixture(
    w: np.ndarray, loc: np.ndarray, scale: np.ndarray, m: int, rng: np.random.Generator
) -> np.ndarray:
    """``m`` samples per row of Gaussian mixtures ``(..., C)``, shape ``(..., m)``.

    Consumes ``rng.random((..., m))`` (the component) then
    ``rng.standard_normal((..., m))``.
    """
    cdf = np.cumsum(w, -1)
    cdf[..., -1] = 1.0
    u = rng.random((*w.shape[:-1], m))
    comp = np.zeros(u.shape, dtype=np.uint8 if w.shape[-1] < 256 else np.intp)
    for c in range(w.shape[-1] - 1):  # component = number of cdf values below u
        np.add(comp, u > cdf[..., c : c + 1], out=comp)
    index = torch.from_numpy(comp.astype(np.int64))  # torch's gather: a faster copy
    draws = rng.standard_normal(u.shape)
    draws *= torch.gather(torch.from_numpy(np.ascontiguousarray(scale)), -1, index).numpy()
    draws += torch.gather(torch.from_numpy(np.ascontiguousarray(loc)), -1, index).numpy()
    return draws  # mu + sd * z, the same rounding


def _normal_band(draws: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over the leading (draw) axis and a normal ``1 - alpha`` interval."""
    mean = draws.mean(0)
    sd = draws.std(0, ddof=1) if draws.shape[0] > 1 else np.zeros_like(mean)
    half = stats.norm.isf(alpha / 2) * sd
    return mean, mean - half, mean + half
