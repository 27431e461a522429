"""Deep ensemble: ``n_members`` independently initialised and trained networks."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ..._validation import check_positive_int
from ._contract import UncertaintyMethod, register_uncertainty

__all__ = ["DeepEnsemble"]


@register_uncertainty
class DeepEnsemble(UncertaintyMethod):
    """Deep ensemble (Lakshminarayanan et al., 2017): one draw per member."""

    name: ClassVar[str] = "ensemble"
    draws_are_members: ClassVar[bool] = True

    def n_members(self, model: Any) -> int:
        return check_positive_int(model.n_members, "n_members")

    def outputs(self, model: Any, x: torch.Tensor) -> list[Any]:
        outs = []
        with torch.no_grad():
            for module in model.members_:
                module.eval()
                outs.append(module(x))
        return outs
