"""MC dropout: one network, ``n_draws`` dropout masks at prediction."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..._random import torch_generator
from .._layers import attach_generator, set_mc_dropout
from ._contract import UncertaintyMethod, register_uncertainty

__all__ = ["MCDropout"]


@register_uncertainty
class MCDropout(UncertaintyMethod):
    """MC dropout (Gal and Ghahramani, 2016): one shared mask per pass.

    Pass ``s`` re-seeds the masks with ``prediction_seed_ + s``, so every chunk
    of inputs sees the same ``n_draws`` networks.
    """

    name: ClassVar[str] = "dropout"
    default_dropout: ClassVar[float] = 0.1

    def check_params(self, model: Any, params: dict[str, Any]) -> None:
        super().check_params(model, params)
        if params["dropout"] == 0:
            raise ValueError("uncertainty='dropout' needs dropout > 0 (the MC-dropout rate).")

    def outputs(self, model: Any, x: torch.Tensor) -> list[Any]:
        module = model.members_[0]
        module.eval()
        set_mc_dropout(module, True)
        outs = []
        try:
            with torch.no_grad():
                for s in range(model.resolved_params_["n_draws"]):
                    attach_generator(module, torch_generator(model.prediction_seed_ + s))
                    outs.append(module(x))
        finally:
            set_mc_dropout(module, False)
        return outs
