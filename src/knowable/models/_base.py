"""Shared machinery of the uncertain models: parameters, seeding, training, draws.

A model is ``S`` draws of one network architecture: ``n_members`` independently
initialised networks (deep ensemble), one network with ``n_draws`` shared
dropout masks (MC dropout), or one deep-kernel network with ``n_draws`` GP
draws (DUE). Subclasses say what the head is, how to validate targets and how to
turn head outputs into a :class:`Posterior`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, cast

import numpy as np
import torch
from sklearn.base import BaseEstimator
from torch import nn

from .._params import store_params
from .._persistence import load, save
from .._progress import progress_bar
from .._random import check_random_state, spawn_seeds, torch_generator
from .._validation import (
    check_array,
    check_feature_names,
    check_in_options,
    check_is_fitted,
    check_positive_int,
    check_real,
    feature_names_of,
    mean_and_scale,
)
from ._gp import VariationalGP, init_inducing_points
from ._layers import init_parameters
from ._networks import DeepKernel, FeedForward, build_extractor
from ._training import (
    EpochReport,
    TrainingConfig,
    TrainingHistory,
    resolve_device,
    train_module,
)
from .uncertainty import UncertaintyMethod, get_uncertainty
from .uncertainty.due import initial_features

__all__ = ["UncertainModel"]

PREDICT_CHUNK = 4096


def epoch_status(member: int, n_members: int, report: EpochReport) -> str:
    """One line of early-stopping state for the progress bar.

    Parameters
    ----------
    member : int
        0-based index of the member being trained.
    n_members : int
        Number of members (1 for MC dropout and DUE).
    report : EpochReport
        The state after the epoch just finished.

    Returns
    -------
    str
        E.g. ``member 2/5 · epoch 14 · best val loss 0.4321 (epoch 9) · patience 15 left``.
    """
    head = f"member {member + 1}/{n_members} · " if n_members > 1 else ""
    if report.stopped and report.patience_left == 0:
        tail = f"stopped early at epoch {report.epoch + 1}"
    else:
        tail = f"patience {report.patience_left} left"
    kind = "val" if report.validated else "train"
    return (
        f"{head}epoch {report.epoch + 1} · best {kind} loss {report.best_loss:.4g} "
        f"(epoch {report.best_epoch + 1}) · {tail}"
    )


def _advance_with_status(advance: Any, member: int, n_members: int, report: EpochReport) -> None:
    """Progress-bar callback of one member: one epoch done, with its early-stopping state."""
    advance(1, epoch_status(member, n_members, report))


def _parallel_settings(
    execution: Mapping[str, Any] | None, n_members: int
) -> dict[str, Any] | None:
    """``map_jobs`` keywords when the members are to be trained as parallel jobs, else None."""
    if execution is None:
        return None
    unknown = set(execution) - {"backend", "workers", "ray_address"}
    if unknown:
        raise ValueError(f"unknown execution setting(s) {sorted(unknown)}.")
    backend = check_in_options(execution.get("backend", "local"), "backend", ("local", "ray"))
    workers = check_positive_int(execution.get("workers", 1), "workers")
    if n_members == 1 or (backend == "local" and workers == 1):
        return None
    return {"backend": backend, "workers": workers, "ray_address": execution.get("ray_address")}


def _train_member_job(
    job: tuple[Any, int, list[int], dict[str, torch.Tensor], Any, TrainingConfig, int],
) -> tuple[nn.Module, TrainingHistory]:
    """One ensemble member as a job of :func:`knowable.parallel.map_jobs`.

    Runs with the caller's torch thread count, so a member trained in a worker
    process is the member trained in the caller.
    """
    model, i, seeds, data, valid, config, n_threads = job
    data = {k: v.to(config.device) for k, v in data.items()}
    if valid is not None:
        valid = {k: v.to(config.device) for k, v in valid.items()}
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        return model._train_member(i, seeds, data, valid, config)
    finally:
        torch.set_num_threads(before)


def _take_tensor(
    tensors: dict[str, torch.Tensor], name: str, shape: tuple[int, ...], dtype: torch.dtype
) -> torch.Tensor:
    """Pop a required saved tensor, checking its shape and dtype against the rebuilt model."""
    if name not in tensors:
        raise ValueError(f"the weights lack the tensor {name!r} the model needs.")
    value = tensors.pop(name)
    if tuple(value.shape) != tuple(shape) or value.dtype != dtype:
        raise ValueError(
            f"tensor {name!r} has shape {list(value.shape)} and dtype "
            f"{str(value.dtype).removeprefix('torch.')}, but the model needs {list(shape)} and "
            f"{str(dtype).removeprefix('torch.')}."
        )
    return value


class UncertainModel(BaseEstimator):
    """Base class: common parameters and the fit / draw machinery.

    See :class:`~knowable.models.UncertainRegressor` for the parameters.
    """

    _estimator_kind = "model"
    # resolved parameters added after models were saved without them: the value those fits used
    _resolved_before_saved: ClassVar[Mapping[str, Any]] = {}
    # defaults of parameters left None, per uncertainty method ("*": any other method)
    _method_param_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # the constructor parameters (stored by store_params; declared for the type checker)
    uncertainty: str
    n_members: int
    n_draws: int
    extractor: str | None
    hidden_size: int
    depth: int
    activation: str
    dropout: float | None
    spectral_coeff: float | None
    n_inducing: int
    kernel: str
    max_epochs: int
    batch_size: int
    learning_rate: float | None
    weight_decay: float
    patience: int
    validation_fraction: float
    min_steps_per_epoch: int
    device: str
    random_state: int | np.random.Generator | None
    verbose: bool
    n_samples: int | None

    def __init__(
        self,
        uncertainty: str = "ensemble",
        *,
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

    # ------------------------------------------------------------ parameters
    def _resolved(self) -> dict[str, Any]:
        """Validated parameters with method-dependent defaults filled in."""
        method = get_uncertainty(self.uncertainty)
        dropout = method.default_dropout if self.dropout is None else self.dropout
        dropout = check_real(dropout, "dropout", low=0.0, high=1.0, high_inclusive=False)
        extractor = self.extractor or method.default_extractor
        check_in_options(extractor, "extractor", ("mlp", "resnet", "cnn"))
        coeff = self.spectral_coeff
        if coeff is None and extractor != "cnn":
            coeff = method.default_spectral_coeff
        if coeff is not None:
            coeff = check_real(coeff, "spectral_coeff", low=0.0, low_inclusive=False)
        params = {
            "method": method.name,
            "extractor": extractor,
            "dropout": dropout,
            "spectral_coeff": coeff,
            "n_members": method.n_members(self),
            "n_draws": check_positive_int(self._n_draws(), "n_draws"),
            "hidden_size": check_positive_int(self._param("hidden_size"), "hidden_size"),
            "depth": check_positive_int(self.depth, "depth", minimum=1),
            "n_inducing": check_positive_int(self.n_inducing, "n_inducing"),
            "kernel": check_in_options(self.kernel, "kernel", ("rbf", "matern32", "matern52")),
            "activation": check_in_options(
                self.activation, "activation", ("relu", "elu", "leaky_relu", "tanh", "gelu")
            ),
        }
        method.check_params(self, params)
        return params

    def _param(self, name: str, fallback: Any = None) -> Any:
        """Parameter ``name``, or when it is None its default for the uncertainty method."""
        value = getattr(self, name, None)
        if value is not None:
            return value
        defaults = self._method_param_defaults
        method = get_uncertainty(self.uncertainty).name
        return defaults.get(method, {}).get(name, defaults.get("*", {}).get(name, fallback))

    def _n_draws(self) -> Any:
        """``n_draws``, or the deprecated ``n_samples`` when it is given (with a warning)."""
        if self.n_samples is None:
            return self.n_draws
        warnings.warn(
            "n_samples is renamed n_draws (the number of epistemic draws, as everywhere in "
            "knowable); n_samples goes in the next release.",
            FutureWarning,
            stacklevel=4,
        )
        return self.n_samples

    @property
    def _method(self) -> UncertaintyMethod:
        """The uncertainty method of the resolved parameters (see ``knowable.models.uncertainty``)."""
        return self._method_of(self.resolved_params_)

    @staticmethod
    def _method_of(params: Mapping[str, Any]) -> UncertaintyMethod:
        return get_uncertainty(params["method"])

    def _training_config(self, device: torch.device) -> TrainingConfig:
        return TrainingConfig(
            max_epochs=check_positive_int(self.max_epochs, "max_epochs"),
            batch_size=check_positive_int(self._param("batch_size"), "batch_size"),
            learning_rate=check_real(
                self._method.default_learning_rate
                if self.learning_rate is None
                else self.learning_rate,
                "learning_rate",
                low=0.0,
                low_inclusive=False,
            ),
            weight_decay=check_real(self.weight_decay, "weight_decay", low=0.0),
            patience=check_positive_int(self.patience, "patience"),
            validation_fraction=check_real(
                self.validation_fraction,
                "validation_fraction",
                low=0.0,
                high=1.0,
                high_inclusive=False,
            ),
            device=device,
            min_steps_per_epoch=check_positive_int(
                self.min_steps_per_epoch, "min_steps_per_epoch", minimum=0
            ),
        )

    # ------------------------------------------------------------ subclass API
    def _make_head(self, in_features: int) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _n_latent(self) -> int:
        """Number of latent GP functions of a GP head."""
        raise NotImplementedError  # pragma: no cover

    def _n_noise(self) -> int:
        return 0

    def _loss(
        self, module: nn.Module, batch: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _due_loss(
        self, module: DeepKernel, batch: Mapping[str, torch.Tensor]
    ) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    # ---------------------------------------------------------------- inputs
    def _record_feature_names(self, X: Any) -> None:
        """Keep a DataFrame's column names (``feature_names_in_``), as scikit-learn does."""
        names = feature_names_of(X)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _check_feature_names(self, X: Any) -> None:
        """A DataFrame at prediction must have the fitted columns in the fitted order."""
        check_feature_names(X, getattr(self, "feature_names_in_", None))

    def _validate_X(self, X: Any, *, fitting: bool) -> np.ndarray:
        arr = check_array(X, "X", ndim=(2, 4), dtype=np.float32)
        if fitting:
            image = self.resolved_params_["extractor"] == "cnn"
            if image != (arr.ndim == 4):
                raise ValueError(
                    f"X has shape {arr.shape}: extractor='cnn' needs images (n, C, 28, 28), the "
                    "other extractors a table (n, d)."
                )
            return arr
        check_is_fitted(self)
        self._check_feature_names(X)
        if arr.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has shape (n, {', '.join(map(str, arr.shape[1:]))}) but the model was fitted on "
                f"(n, {', '.join(map(str, self.input_shape_))})."
            )
        return arr

    def _seeded_build(self, generator: torch.Generator, x_train: Any = None) -> nn.Module:
        """Build a member; torch's default initialisation, which every seeded
        initialisation then overwrites, draws from the global RNG, whose state is
        restored so that fitting leaves the user's global stream untouched."""
        with torch.random.fork_rng(devices=[]):
            return self._method.build(self, generator, x_train)

    def __sklearn_is_fitted__(self) -> bool:
        """Fitted once ``fit`` has built the members (read by ``check_is_fitted``)."""
        return hasattr(self, "members_")

    def _fit_input_scaler(self, x: np.ndarray) -> None:
        """Record per-column mean and scale of tabular inputs (images are left as they are)."""
        if x.ndim != 2:
            self.x_mean_ = self.x_scale_ = None
            return
        mean, scale = mean_and_scale(x, "X")  # float64: a float32 sum of squares overflows
        self.x_mean_ = torch.as_tensor(mean, dtype=torch.float32)
        self.x_scale_ = torch.as_tensor(scale, dtype=torch.float32)

    def _standardise_X(self, x: np.ndarray) -> torch.Tensor:
        t = torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)
        if self.x_mean_ is not None and self.x_scale_ is not None:
            t = (t - self.x_mean_) / self.x_scale_
        return t

    # ------------------------------------------------------------- building
    def _make_extractor(self) -> nn.Module:
        """The feature extractor the resolved parameters describe (not yet initialised)."""
        r = self.resolved_params_
        return build_extractor(
            r["extractor"],
            self.input_shape_,
            r["hidden_size"],
            r["depth"],
            r["activation"],
            r["dropout"],
            r["spectral_coeff"],
        )

    def _build_network(self, generator: torch.Generator) -> nn.Module:
        """One network ``head(extractor(x))`` initialised from ``generator`` (network methods)."""
        extractor = self._make_extractor()
        width = cast(int, extractor.out_features)
        module: nn.Module = FeedForward(extractor, self._make_head(width))
        init_parameters(module, generator)
        return module

    def _build_gp_member(
        self, generator: torch.Generator, x_train: torch.Tensor | None = None
    ) -> nn.Module:
        """One deep-kernel member (GP-head methods); ``x_train`` None builds shapes only."""
        r = self.resolved_params_
        extractor = self._make_extractor()
        init_parameters(extractor, generator)
        if x_train is not None:
            feats, _ = initial_features(extractor, x_train, generator)
            centres, lengthscale = init_inducing_points(
                feats, r["n_inducing"], int(torch.randint(2**31, (1,), generator=generator))
            )
        else:  # shapes only; weights come from a saved state dict
            width = cast(int, extractor.out_features)
            centres, lengthscale = torch.zeros(self.n_inducing_, width), 1.0
        gp = VariationalGP(centres, self._n_latent(), r["kernel"], lengthscale)
        return DeepKernel(extractor, gp, self._n_noise())

    # ------------------------------------------------------------------ fit
    def _fit_networks(
        self,
        x: torch.Tensor,
        targets: dict[str, torch.Tensor],
        validation: dict[str, torch.Tensor] | None = None,
        execution: Mapping[str, Any] | None = None,
    ) -> None:
        """Train the members; ``validation`` (keys ``x`` and those of ``targets``) replaces the split.

        ``execution`` (keys ``backend``, ``workers``, ``ray_address`` of
        :func:`knowable.parallel.map_jobs`) trains the members of an ensemble as
        parallel jobs; each member's seeds are fixed before, so the fit is the
        same as one after another.
        """
        r = self.resolved_params_
        method = self._method
        device = resolve_device(self.device)
        config = self._training_config(device)
        rng = check_random_state(self.random_state)
        seeds = spawn_seeds(rng, 2 * r["n_members"] + 1)
        self.prediction_seed_ = seeds[-1]
        data = {"x": x.to(device), **{k: v.to(device) for k, v in targets.items()}}
        valid = None if validation is None else {k: v.to(device) for k, v in validation.items()}
        n_fit = (
            x.shape[0]
            if valid is not None
            else round(x.shape[0] * (1 - config.validation_fraction))
        )
        self._n_fit = max(n_fit, 1)
        members: list[nn.Module] = []
        histories: list[TrainingHistory] = []
        total = r["n_members"] * config.max_epochs
        parallel = _parallel_settings(execution, r["n_members"])
        with progress_bar(
            total, f"fitting {type(self).__name__} ({r['method']})", self.verbose
        ) as advance:
            if parallel is not None:
                from ..parallel import map_jobs

                # jobs carry CPU tensors; each worker moves them to the device
                cpu_data = {k: v.cpu() for k, v in data.items()}
                cpu_valid = None if valid is None else {k: v.cpu() for k, v in valid.items()}
                jobs = [
                    (self, i, seeds, cpu_data, cpu_valid, config, torch.get_num_threads())
                    for i in range(r["n_members"])
                ]
                for module, history in map_jobs(_train_member_job, jobs, **parallel):
                    advance(config.max_epochs)
                    members.append(module)
                    histories.append(history)
            else:
                for i in range(r["n_members"]):
                    on_report = partial(_advance_with_status, advance, i, r["n_members"])
                    module, history = self._train_member(i, seeds, data, valid, config, on_report)
                    advance(config.max_epochs - len(history.train_loss))
                    members.append(module)
                    histories.append(history)
        self.members_ = members
        self.history_ = histories
        self.device_ = device
        method.finish(self, members, data)

    def _train_member(
        self,
        i: int,
        seeds: list[int],
        data: dict[str, torch.Tensor],
        valid: dict[str, torch.Tensor] | None,
        config: TrainingConfig,
        on_report: Any = None,
    ) -> tuple[nn.Module, TrainingHistory]:
        """Build and train member ``i`` from its two seeds; returned on the CPU."""
        method = self._method
        gen = torch_generator(seeds[2 * i])
        # built on the CPU, so a member starts from the same weights on every device
        x_init = data["x"].cpu() if method.needs_training_inputs else None
        module = self._seeded_build(gen, x_init).to(config.device)
        groups = method.setup(self, module, seeds[2 * i], config.learning_rate)
        history = train_module(
            module,
            method.loss(self),
            data,
            config,
            seeds[2 * i + 1],
            parameter_groups=groups,
            validation=valid,
            on_report=on_report,
        )
        return (module.cpu() if config.device.type != "cpu" else module), history

    # ------------------------------------------------------------ prediction
    def _member_outputs(self, x: torch.Tensor) -> list[Any]:
        """Head outputs for every epistemic draw on one chunk (network methods)."""
        return self._method.outputs(self, x)

    def _gp_draws(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """DUE: draws ``(S, C, n)``, exact mean ``(C, n)`` and variance ``(C, n)`` on one chunk."""
        module = cast(DeepKernel, self.members_[0])
        module.eval()
        with torch.no_grad():
            feats = module.extractor(x).unsqueeze(1)  # (n, 1, h)
            mean, cov, draws = module.gp.predict_and_sample_blocks(
                feats, self.resolved_params_["n_draws"], self.prediction_seed_
            )
        return draws[..., 0], mean[..., 0], cov[..., 0, 0]

    def _chunks(self, X: Any, batch_size: int | None) -> list[torch.Tensor]:
        x = self._validate_X(X, fitting=False)
        t = self._standardise_X(x)
        size = (
            check_positive_int(batch_size, "batch_size")
            if batch_size is not None
            else PREDICT_CHUNK
        )
        return [t[i : i + size] for i in range(0, t.shape[0], size)]

    # ------------------------------------------------------------ persistence
    def _extra_meta(self) -> dict[str, Any]:
        return {}

    def _restore_extra(self, meta: dict[str, Any]) -> None:
        pass

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        check_is_fitted(self)
        meta = {
            "resolved_params": self.resolved_params_,
            "input_shape": list(self.input_shape_),
            "prediction_seed": self.prediction_seed_,
            "n_inducing": getattr(self, "n_inducing_", None),
            "n_fit": self._n_fit,
            "feature_names": (
                list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
            ),
            "history": [
                {"train_loss": h.train_loss, "valid_loss": h.valid_loss, "best_epoch": h.best_epoch}
                for h in self.history_
            ],
            **self._extra_meta(),
        }
        tensors: dict[str, torch.Tensor] = {}
        if self.x_mean_ is not None and self.x_scale_ is not None:
            tensors["scaler.x_mean"] = self.x_mean_
            tensors["scaler.x_scale"] = self.x_scale_
        for i, module in enumerate(self.members_):
            for key, value in module.state_dict().items():
                tensors[f"member{i}.{key}"] = value
        method = self._method
        for key, value in method.state_tensors(self).items():
            tensors[f"{method.name}.{key}"] = value
        return meta, tensors

    def _restore_fitted(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.resolved_params_ = self._resolved()
        saved = dict(meta["resolved_params"])
        if "n_samples" in saved and "n_draws" not in saved:  # saved before the rename
            saved["n_draws"] = saved.pop("n_samples")
        for name, value in self._resolved_before_saved.items():
            saved.setdefault(name, value)
        if saved != self.resolved_params_:
            raise ValueError(
                "saved resolved parameters do not match the saved constructor parameters."
            )
        self.input_shape_ = tuple(meta["input_shape"])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self.prediction_seed_ = int(meta["prediction_seed"])
        self._n_fit = int(meta["n_fit"])
        if meta.get("feature_names") is not None:
            self.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
        if meta.get("n_inducing") is not None:
            self.n_inducing_ = int(meta["n_inducing"])
        self._restore_extra(meta)
        tensors = dict(tensors)
        scaled_width = self._scaled_width()
        if scaled_width is not None:  # tabular inputs: the scaler is required
            width = (scaled_width,)
            self.x_mean_ = _take_tensor(tensors, "scaler.x_mean", width, torch.float32)
            self.x_scale_ = _take_tensor(tensors, "scaler.x_scale", width, torch.float32)
            if not bool(torch.isfinite(self.x_mean_).all()) or not bool(
                (self.x_scale_ > 0).all() & torch.isfinite(self.x_scale_).all()
            ):
                raise ValueError(
                    "tensor 'scaler.x_scale' or 'scaler.x_mean' is not finite/positive."
                )
        else:
            self.x_mean_ = self.x_scale_ = None
        members = []
        for i in range(self.resolved_params_["n_members"]):
            prefix = f"member{i}."
            module = self._seeded_build(torch_generator(0))
            state = {
                key: _take_tensor(tensors, prefix + key, tuple(ref.shape), ref.dtype)
                for key, ref in module.state_dict().items()
            }
            module.load_state_dict(state, strict=True)
            module.eval()
            members.append(module)
        self.members_ = members
        method = self._method
        prefix = f"{method.name}."
        method.restore_state(
            self, {k[len(prefix) :]: tensors.pop(k) for k in list(tensors) if k.startswith(prefix)}
        )
        if tensors:
            raise ValueError(
                f"unexpected tensor(s) {sorted(tensors)[:4]} that this "
                f"{type(self).__name__} does not use."
            )
        self.members_ = members
        self.history_ = [TrainingHistory(**h) for h in meta["history"]]
        self.device_ = torch.device("cpu")

    def _scaled_width(self) -> int | None:
        """Width of the standardised input (the scaler's length), None for images."""
        return int(self.input_shape_[0]) if len(self.input_shape_) == 1 else None

    def save(self, path: str | Path, *, include_training_data: bool = True) -> Path:
        """Save the fitted model as ``weights.safetensors`` + ``config.json`` in folder ``path``.

        ``weights.safetensors`` holds every network weight and, for TARNet,
        DragonNet and DoseResponse, the **training covariate matrix**
        (``fit.X``, shape ``(n, d)``: the default population of ``ate()`` and
        ``dose_response()``). Save with ``include_training_data=False`` before
        sharing a folder: predictions are unchanged, and those methods then
        need ``X``. (DUE's inducing points are learned locations in feature
        space, initialised from training features; they are kept.)

        Parameters
        ----------
        path : str or pathlib.Path
            Target folder.
        include_training_data : bool
            Keep the training covariates (default True).

        Returns
        -------
        pathlib.Path
        """
        return save(self, path, include_training_data=include_training_data)

    @classmethod
    def load(cls, path: str | Path) -> Any:
        """Load a model saved with :meth:`save` (never unpickles).

        Parameters
        ----------
        path : str or pathlib.Path
            Folder written by :meth:`save`.

        Returns
        -------
        estimator
        """
        return load(path, expected=cls)
