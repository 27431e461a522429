"""The uncertainty-method contract and its registry.

An uncertainty method says how an :class:`~knowable.models._base.UncertainModel`
represents what it does not know: how many networks it trains, how one is built,
which parameter groups and loss train it, what happens after training, and how
the epistemic draws are produced on one chunk of inputs. Estimators hold one
method object (``model._method``) and never branch on its name; they read its
capabilities (``gp_head``: the draws are functions of a Gaussian-process head
with exact moments) instead.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from ..._validation import check_in_options

__all__ = [
    "UncertaintyMethod",
    "get_uncertainty",
    "register_uncertainty",
    "uncertainty_methods",
]

_REGISTRY: dict[str, type[UncertaintyMethod]] = {}


class UncertaintyMethod:
    """Base class of the uncertainty methods (one subclass per method, one file each).

    Subclasses set the class attributes and override what differs from a single
    network trained by its estimator's loss. The ``model`` argument of every
    hook is the :class:`~knowable.models._base.UncertainModel` being fitted or
    queried; a method reads its resolved parameters (``model.resolved_params_``)
    and calls its builders (``model._build_network``, ``model._build_gp_member``)
    and losses (``model._loss``, ``model._due_loss``).

    Attributes
    ----------
    name : str
        The ``uncertainty=`` value (and the module's file name).
    default_learning_rate : float
        Adam step size when ``learning_rate=None``.
    default_dropout : float
        Dropout rate when ``dropout=None``.
    default_extractor : str
        Extractor when ``extractor=None``.
    default_spectral_coeff : float or None
        Spectral-norm bound when ``spectral_coeff=None`` (tabular extractors only).
    draws_are_members : bool
        Every epistemic draw is one trained member evaluated as it is (a deep
        ensemble), so per-member work such as an extractor pass can be cached.
    requires : tuple of str
        Importable modules the method needs beyond the core install (an optional extra).
    install_hint : str
        What to install when one of them is missing.
    gp_head : bool
        The members are :class:`~knowable.models._networks.DeepKernel` modules whose
        draws are GP functions with exact Gaussian moments (estimators use their
        GP path); otherwise every draw is one network's head output.
    """

    name: ClassVar[str] = ""
    default_learning_rate: ClassVar[float] = 1e-3
    default_dropout: ClassVar[float] = 0.0
    default_extractor: ClassVar[str] = "mlp"
    default_spectral_coeff: ClassVar[float | None] = None
    gp_head: ClassVar[bool] = False
    draws_are_members: ClassVar[bool] = False
    requires: ClassVar[tuple[str, ...]] = ()
    install_hint: ClassVar[str] = ""

    @classmethod
    def installed(cls) -> bool:
        """Whether every module in ``requires`` can be imported."""
        return all(importlib.util.find_spec(name) is not None for name in cls.requires)

    # ---------------------------------------------------------------- parameters
    def check_params(self, model: Any, params: dict[str, Any]) -> None:
        """Refuse parameter combinations the method cannot use (``params`` is resolved).

        The default refuses a method whose optional extra is not installed.
        """
        if not self.installed():
            raise ImportError(
                f"uncertainty={self.name!r} needs {', '.join(self.requires)}: {self.install_hint}"
            )

    def n_members(self, model: Any) -> int:
        """Number of independently trained networks."""
        return 1

    # ------------------------------------------------------------------ training
    def build(self, model: Any, generator: torch.Generator, x_train: Any = None) -> nn.Module:
        """One untrained member, initialised from ``generator``.

        ``x_train`` (standardised training inputs) is passed only to methods
        whose initialisation reads data (``needs_training_inputs``); ``None``
        builds the shapes for loading saved weights.
        """
        return model._build_network(generator)

    needs_training_inputs: ClassVar[bool] = False

    def setup(
        self, model: Any, module: nn.Module, seed: int, learning_rate: float
    ) -> list[dict[str, Any]] | None:
        """Before training a member: optimiser parameter groups (None: all parameters)."""
        return None

    def loss(self, model: Any) -> Callable[[nn.Module, Mapping[str, torch.Tensor]], torch.Tensor]:
        """The per-batch training loss of a member."""
        return model._loss

    def finish(
        self, model: Any, members: list[nn.Module], data: Mapping[str, torch.Tensor]
    ) -> None:
        """After every member is trained (``data``: the training tensors, keys ``x`` and targets)."""

    # ---------------------------------------------------------------- prediction
    def outputs(self, model: Any, x: torch.Tensor) -> list[Any]:
        """Head outputs of every epistemic draw on one chunk (network methods)."""
        raise NotImplementedError(f"{type(self).__name__} has a GP head; use its GP path.")

    # --------------------------------------------------------------- persistence
    def state_tensors(self, model: Any) -> dict[str, torch.Tensor]:
        """Fitted tensors beyond the members' weights (saved as ``<name>.<key>``)."""
        return {}

    def restore_state(self, model: Any, tensors: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`state_tensors` saved (keys without the prefix)."""


def register_uncertainty(cls: type[UncertaintyMethod]) -> type[UncertaintyMethod]:
    """Class decorator: make ``cls`` available as ``uncertainty=cls.name``.

    Parameters
    ----------
    cls : type
        A subclass of :class:`UncertaintyMethod` with a non-empty ``name``.

    Returns
    -------
    type
        ``cls`` itself.
    """
    if not (isinstance(cls, type) and issubclass(cls, UncertaintyMethod)) or not cls.name:
        raise TypeError("register_uncertainty takes an UncertaintyMethod subclass with a name.")
    if cls.name in _REGISTRY and _REGISTRY[cls.name].__qualname__ != cls.__qualname__:
        raise ValueError(f"uncertainty method {cls.name!r} is already registered.")
    _REGISTRY[cls.name] = cls
    return cls


def uncertainty_methods(*, installed_only: bool = False) -> tuple[str, ...]:
    """Names of the registered uncertainty methods.

    Parameters
    ----------
    installed_only : bool
        Leave out the methods whose optional extra is not installed.

    Returns
    -------
    tuple of str
    """
    return tuple(n for n, cls in _REGISTRY.items() if not installed_only or cls.installed())


def get_uncertainty(name: Any) -> UncertaintyMethod:
    """The method object for ``uncertainty=name``.

    Parameters
    ----------
    name : str
        A registered name (see :func:`uncertainty_methods`).

    Returns
    -------
    UncertaintyMethod

    Raises
    ------
    ValueError
        For an unknown name, listing the registered ones.
    """
    return _REGISTRY[check_in_options(name, "uncertainty", tuple(_REGISTRY))]()
