"""Saving fitted estimators as safetensors weights plus a JSON config.

Nothing is ever pickled: a saved model is a folder with ``config.json`` (the
class name, its constructor parameters, the fitted metadata, the name, shape
and dtype of every tensor, and the library version) and ``weights.safetensors``
(every tensor). Loading rebuilds the class from the config and copies the
tensors in, so a file from an untrusted source cannot execute code; a folder
whose config is malformed, or whose weights lack a tensor, hold an extra one or
one of another shape or dtype, is refused with one error naming the file.
``weights.safetensors`` records the SHA-256 of ``config.json`` and the config
records the SHA-256 of the tensors, so an edit to either file after saving (or
a byte flipped on disk) is refused rather than loaded with wrong predictions.
These digests detect corruption and accidental edits, not a deliberate forger,
who can recompute them: load models only from sources you trust.

**Training data.** Tensors whose names start with ``fit.`` are training data:
TARNet, DragonNet and DoseResponse keep their training covariate matrix
(``fit.X``, shape ``(n, d)``) as the default population of ``ate()`` and
``dose_response()``. A shared model folder therefore discloses the training
covariates unless it is saved with ``include_training_data=False``; such a
model predicts exactly as before, but methods that default to the training
units then need ``X`` passed explicitly.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ._version import __version__

__all__ = ["load", "register_persistable", "save"]

CONFIG_NAME = "config.json"
TRAINING_DATA_PREFIX = "fit."
CONFIG_DIGEST_KEY = "knowable_config_sha256"
WEIGHTS_NAME = "weights.safetensors"
_REGISTRY: dict[str, type] = {}


class Persistable(Protocol):
    """What an estimator implements to be saved and loaded."""

    def get_params(self, deep: bool = ...) -> dict[str, Any]: ...

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, Any]]: ...

    def _restore_fitted(self, meta: dict[str, Any], tensors: dict[str, Any]) -> None: ...


def register_persistable(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by name from a saved config."""
    _REGISTRY[cls.__name__] = cls
    return cls


def _jsonable_param(name: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, (list, tuple)) and all(
        isinstance(v, (bool, str, Integral, Real)) for v in value
    ):
        return list(value)
    warnings.warn(
        f"parameter {name}={type(value).__name__} cannot be stored in JSON; it is saved as None.",
        UserWarning,
        stacklevel=3,
    )
    return None


def save(estimator: Persistable, path: str | Path, *, include_training_data: bool = True) -> Path:
    """Save a fitted estimator to the folder ``path``.

    Parameters
    ----------
    estimator : estimator
        A fitted knowable estimator.
    path : str or pathlib.Path
        Folder to create (or overwrite files in).
    include_training_data : bool
        Keep the training data some estimators store (the tensors named
        ``fit.*``, e.g. the covariate matrix ``fit.X`` of shape ``(n, d)`` of
        TARNet, DragonNet and DoseResponse). With False they are left out:
        predictions are unchanged, but ``ate()`` / ``dose_response()`` of the
        loaded model need ``X``. Use False before sharing a model folder.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import torch
    from safetensors.torch import save_file

    cls_name = type(estimator).__name__
    if cls_name not in _REGISTRY:
        raise TypeError(f"{cls_name} cannot be saved (not a registered knowable estimator).")
    if not isinstance(include_training_data, bool):
        raise TypeError(
            f"include_training_data must be True or False, got {include_training_data!r}."
        )
    meta, tensors = estimator._fitted_state()
    if not include_training_data:
        tensors = {k: v for k, v in tensors.items() if not k.startswith(TRAINING_DATA_PREFIX)}
    meta = {**meta, "training_data": bool(include_training_data)}
    params = {k: _jsonable_param(k, v) for k, v in estimator.get_params(deep=False).items()}
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    clean = {
        k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v)
        .detach()
        .cpu()
        .contiguous()
        .clone()
        for k, v in tensors.items()
    }
    config = {
        "library": "knowable",
        "version": __version__,
        "class": cls_name,
        "params": params,
        "fitted": meta,
        "tensors": {
            k: {"shape": list(v.shape), "dtype": str(v.dtype).removeprefix("torch.")}
            for k, v in clean.items()
        },
        "tensors_sha256": _tensors_digest(clean),
    }
    text = json.dumps(config, indent=2, sort_keys=True)
    save_file(
        clean,
        str(folder / WEIGHTS_NAME),
        metadata={
            "knowable_version": __version__,
            "class": cls_name,
            CONFIG_DIGEST_KEY: hashlib.sha256(text.encode("utf-8")).hexdigest(),
        },
    )
    (folder / CONFIG_NAME).write_text(text, encoding="utf-8")
    return folder


def _tensors_digest(tensors: dict[str, Any]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes (in name order)."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{list(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch_uint8()).numpy().tobytes())
    return digest.hexdigest()


def torch_uint8() -> Any:
    """``torch.uint8`` (imported lazily, as torch is heavy)."""
    import torch

    return torch.uint8


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_config(config_file: Path) -> dict[str, Any]:
    """The parsed config, refusing anything but a knowable JSON object with the needed keys."""
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{config_file} is not valid JSON: {err}") from err
    if not isinstance(config, dict):
        raise ValueError(
            f"{config_file} must hold a JSON object, got a JSON {type(config).__name__}; "
            "it was not written by knowable."
        )
    if config.get("library") != "knowable" or not isinstance(config.get("class"), str):
        raise ValueError(f"{config_file} was not written by knowable.")
    for key in ("params", "fitted"):
        if not isinstance(config.get(key), dict):
            raise ValueError(
                f"{config_file} lacks the JSON object {key!r}; the model folder is incomplete or "
                "was edited."
            )
    manifest = config.get("tensors")
    if manifest is not None and not (
        isinstance(manifest, dict)
        and all(
            isinstance(v, dict)
            and isinstance(v.get("shape"), list)
            and isinstance(v.get("dtype"), str)
            for v in manifest.values()
        )
    ):
        raise ValueError(f"{config_file} has a malformed 'tensors' entry.")
    return config


def _check_tensors(tensors: dict[str, Any], manifest: dict[str, Any], weights_file: Path) -> None:
    """Every tensor the config lists, with its shape and dtype, and no other."""
    missing = sorted(set(manifest) - set(tensors))
    extra = sorted(set(tensors) - set(manifest))
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                f"lacks {len(missing)} tensor(s) the config lists ({', '.join(missing[:4])}"
                f"{', ...' if len(missing) > 4 else ''})"
            )
        if extra:
            parts.append(
                f"holds {len(extra)} tensor(s) the config does not list "
                f"({', '.join(extra[:4])}{', ...' if len(extra) > 4 else ''})"
            )
        raise ValueError(f"{weights_file} {' and '.join(parts)}; the model folder was altered.")
    for name, spec in manifest.items():
        value = tensors[name]
        shape, dtype = list(value.shape), str(value.dtype).removeprefix("torch.")
        if shape != spec["shape"] or dtype != spec["dtype"]:
            raise ValueError(
                f"{weights_file}: tensor {name!r} has shape {shape} and dtype {dtype}, but the "
                f"config says {spec['shape']} and {spec['dtype']}; the model folder was altered."
            )


def load(path: str | Path, expected: type | None = None) -> Any:
    """Load an estimator saved with :func:`save`.

    Parameters
    ----------
    path : str or pathlib.Path
        Folder holding ``config.json`` and ``weights.safetensors``.
    expected : type, optional
        Raise unless the saved class is ``expected`` (or a subclass).

    Returns
    -------
    estimator
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    FileNotFoundError
        If a file is missing.
    ValueError
        If the config or the weights are malformed, incomplete or inconsistent
        (the message names the file).
    TypeError
        If the folder holds another class than ``expected``.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    folder = Path(path)
    config_file, weights_file = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not config_file.is_file() or not weights_file.is_file():
        raise FileNotFoundError(
            f"{folder} is not a saved knowable model (needs {CONFIG_NAME} and {WEIGHTS_NAME})."
        )
    config = _read_config(config_file)
    cls = _REGISTRY.get(config["class"])
    if cls is None:
        raise ValueError(f"unknown model class {config['class']!r} in {config_file}.")
    if expected is not None and not issubclass(cls, expected):
        raise TypeError(f"{folder} holds a {cls.__name__}, not a {expected.__name__}.")
    if config.get("version") != __version__:
        warnings.warn(
            f"model saved with knowable {config.get('version')}, loading with {__version__}.",
            UserWarning,
            stacklevel=2,
        )
    try:
        tensors = load_file(str(weights_file))
        with safe_open(str(weights_file), framework="pt") as handle:
            header = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{weights_file} is not a readable safetensors file: {first}") from err
    saved_digest = header.get(CONFIG_DIGEST_KEY)
    if saved_digest is not None and saved_digest != _file_digest(config_file):
        raise ValueError(
            f"{config_file} differs from the config saved with {weights_file} (edited after "
            "saving, or the two files come from different saves); re-save the model."
        )
    if config.get("tensors") is not None:
        _check_tensors(tensors, config["tensors"], weights_file)
    if config.get("tensors_sha256") is not None and config["tensors_sha256"] != _tensors_digest(
        tensors
    ):
        raise ValueError(
            f"{weights_file}: the tensor data differ from what was saved (the file is corrupted "
            "or was edited); re-save the model."
        )
    # parameters that older versions did not save take the value that reproduces them
    params = {**getattr(cls, "_params_before_saved", {}), **config["params"]}
    try:
        estimator = cls(**params)
    except TypeError as err:
        raise ValueError(
            f"{config_file}: the saved parameters do not fit {cls.__name__}: {err}"
        ) from err
    try:
        estimator._restore_fitted(config["fitted"], tensors)
    except KeyError as err:
        raise ValueError(
            f"{config_file} lacks the fitted entry {err}; the model folder is incomplete or was "
            "edited."
        ) from err
    except (TypeError, ValueError, IndexError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{folder} does not hold a consistent saved {cls.__name__}: {first}"
        ) from err
    return estimator


def save_module_file(module: Any, payload: dict[str, Any], path: str | Path) -> Path:
    """Write a torch module's state as ``path`` (safetensors) and ``payload`` beside it (JSON).

    For shipped networks (the PFN, the induction transformer): one weights file
    plus ``path.with_suffix(".json")`` holding what rebuilds the module.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    payload : dict
        JSON-serialisable config and records.
    path : str or Path
        The ``.safetensors`` file to write.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    from safetensors.torch import save_file

    weights = Path(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(weights))
    weights.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n")
    return weights


def read_module_file(path: str | Path, what: str, script: str) -> tuple[dict[str, Any], Any]:
    """The state dict and JSON payload written by :func:`save_module_file`.

    Parameters
    ----------
    path : str or Path
        The ``.safetensors`` file.
    what : str
        What the file holds, for the error message (``"PFN weights"``).
    script : str
        The script that writes it, named in the error message.

    Returns
    -------
    state : dict of str to torch.Tensor
    payload : dict
    """
    from safetensors.torch import load_file

    weights = Path(path)
    if not weights.is_file() or not weights.with_suffix(".json").is_file():
        raise FileNotFoundError(
            f"{what} {str(weights)!r} (and its .json config) not found; train them with {script}."
        )
    return load_file(str(weights)), json.loads(weights.with_suffix(".json").read_text())
