"""DUE: a spectral-normalised residual extractor feeding an inducing-point variational GP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from ..._random import torch_generator
from ..._validation import check_positive_int
from ._contract import UncertaintyMethod, register_uncertainty

__all__ = ["DUE", "initial_features"]


def initial_features(
    extractor: nn.Module, x_train: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features of up to 1,000 random training inputs through the untrained extractor.

    DUE's initialisation reads them: the inducing points start at their k-means
    centres and the kernel length-scale at their mean pairwise distance. Every
    DUE builder (regressor, classifier, CATE, dose response) starts here.

    Parameters
    ----------
    extractor : torch.nn.Module
        The initialised, untrained extractor.
    x_train : torch.Tensor of shape (n, ...)
        Standardised training inputs.
    generator : torch.Generator
        Picks the subsample.

    Returns
    -------
    features : torch.Tensor of shape (min(n, 1000), h)
    pick : torch.Tensor of shape (min(n, 1000),)
        The rows of ``x_train`` they came from.
    """
    n = x_train.shape[0]
    pick = torch.randperm(n, generator=generator)[: min(n, 1000)]
    extractor.eval()
    with torch.no_grad():
        return extractor(x_train[pick]), pick


@register_uncertainty
class DUE(UncertaintyMethod):
    """Deterministic Uncertainty Estimation (van Amersfoort et al., 2021).

    One deep-kernel member (or ``gp_members`` independently initialised ones,
    mixed with equal weights, where the estimator offers that parameter:
    TARNet and DragonNet); the draws are ``n_draws`` joint functions of the GP
    posterior, and its exact Gaussian moments are used where an estimator can
    (``gp_head``). The GP parameters train at twice the learning rate and
    without weight decay; the classifier's Monte Carlo ELBO is seeded per member.
    """

    name: ClassVar[str] = "due"
    default_learning_rate: ClassVar[float] = 5e-3  # the GP is trained jointly: larger steps
    default_extractor: ClassVar[str] = "resnet"
    default_spectral_coeff: ClassVar[float | None] = 0.95
    gp_head: ClassVar[bool] = True
    needs_training_inputs: ClassVar[bool] = True

    def n_members(self, model: Any) -> int:
        return check_positive_int(model._param("gp_members", 1), "gp_members")

    def build(self, model: Any, generator: torch.Generator, x_train: Any = None) -> nn.Module:
        return model._build_gp_member(generator, x_train)

    def setup(
        self, model: Any, module: nn.Module, seed: int, learning_rate: float
    ) -> list[dict[str, Any]] | None:
        # the builders may place fewer centres than asked (a subsample of the
        # inputs, repeated inputs); loading rebuilds the GP with this many
        gp: Any = module.gp
        model.n_inducing_ = int(gp.variational_strategy.inducing_points.shape[-2])
        module.mc_generator = torch_generator(seed + 1)  # type: ignore[assignment]
        gp_params = list(gp.parameters()) + (
            [module.log_noise] if module.log_noise is not None else []
        )
        gp_ids = {id(p) for p in gp_params}
        return [
            {"params": [p for p in module.parameters() if id(p) not in gp_ids]},
            {"params": gp_params, "lr": 2 * learning_rate, "weight_decay": 0.0},
        ]

    def loss(self, model: Any) -> Callable[[nn.Module, Mapping[str, torch.Tensor]], torch.Tensor]:
        return model._due_loss

    def finish(
        self, model: Any, members: list[nn.Module], data: Mapping[str, torch.Tensor]
    ) -> None:
        # members trained in worker processes set n_inducing_ on the workers' copies
        gps: list[Any] = [m.gp for m in members]
        counts = {int(gp.variational_strategy.inducing_points.shape[-2]) for gp in gps}
        if len(counts) != 1:
            raise RuntimeError(
                f"the DUE members placed different numbers of inducing points {sorted(counts)}."
            )
        model.n_inducing_ = counts.pop()
