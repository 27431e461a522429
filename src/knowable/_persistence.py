"""Saving fitted estimators as safetensors weights plus a JSON config.

Nothing is ever pickled: a saved model is a folder with ``config.json`` (the
class name, its constructor parameters, the fitted metadata and the library
version) and ``weights.safetensors`` (every tensor). Loading rebuilds the class
from the config and copies the tensors in, so a file from an untrusted source
cannot execute code.
"""

from __future__ import annotations

import json
import warnings
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ._version import __version__

__all__ = ["load", "register_persistable", "save"]

CONFIG_NAME = "config.json"
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


def save(estimator: Persistable, path: str | Path) -> Path:
    """Save a fitted estimator to the folder ``path``.

    Parameters
    ----------
    estimator : estimator
        A fitted knowable estimator.
    path : str or pathlib.Path
        Folder to create (or overwrite files in).

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
    meta, tensors = estimator._fitted_state()
    params = {k: _jsonable_param(k, v) for k, v in estimator.get_params(deep=False).items()}
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "library": "knowable",
        "version": __version__,
        "class": cls_name,
        "params": params,
        "fitted": meta,
    }
    clean = {
        k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v)
        .detach()
        .cpu()
        .contiguous()
        .clone()
        for k, v in tensors.items()
    }
    save_file(
        clean,
        str(folder / WEIGHTS_NAME),
        metadata={"knowable_version": __version__, "class": cls_name},
    )
    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True))
    return folder


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
    """
    from safetensors.torch import load_file

    folder = Path(path)
    config_file, weights_file = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    if not config_file.is_file() or not weights_file.is_file():
        raise FileNotFoundError(
            f"{folder} is not a saved knowable model (needs {CONFIG_NAME} and {WEIGHTS_NAME})."
        )
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_file} is not valid JSON: {err}") from err
    if config.get("library") != "knowable" or "class" not in config:
        raise ValueError(f"{config_file} was not written by knowable.")
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
    estimator = cls(**config["params"])
    estimator._restore_fitted(config["fitted"], load_file(str(weights_file)))
    return estimator
