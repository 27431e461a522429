"""Networks of the neural CATE estimators: a two-arm outcome head with a propensity head.

``TARNet`` and ``DragonNet`` share one representation ``phi(x)``; the outcome of
arm ``t`` is read by that arm's own sub-network (ensemble / MC dropout) or by a
GP on ``[phi(x), t]`` (DUE). A Bernoulli head on ``phi(x)`` estimates the
propensity: TARNet's modules (:class:`CATEHead`, :class:`CausalDeepKernel`)
train it on detached features, so that it never changes the representation;
DragonNet's subclasses (:class:`DragonHead`, :class:`DragonDeepKernel`) train it
jointly and add the targeted-regularisation parameter ``epsilon``, a trainable
scalar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn
from torch.nn import functional as F

from ..models._gp import VariationalGP
from ..models._heads import BernoulliHead, GaussianOutput, TwoArmHead
from ..models._networks import DeepKernel

__all__ = [
    "CATEHead",
    "CATEOutput",
    "CausalDeepKernel",
    "DragonDeepKernel",
    "DragonHead",
    "targeted_term",
]


@dataclass
class CATEOutput:
    """Outcome distribution of both arms ``(n, 2)`` and the propensity logit ``(n,)``."""

    outcome: GaussianOutput
    logit: torch.Tensor


class CATEHead(nn.Module):
    """TARNet's head: two arm sub-networks plus a propensity head on detached features.

    Parameters
    ----------
    in_features : int
        Width of the shared representation.
    hidden_size, depth : int
        Width and number of layers of each arm's sub-network.
    activation : str
        Activation of the arm layers.
    dropout : float
        Dropout in the arm layers.
    heteroscedastic : bool
        Noise scale predicted per input (True) or learned per arm.
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        depth: int,
        activation: str,
        dropout: float,
        heteroscedastic: bool,
    ) -> None:
        super().__init__()
        self.outcome = TwoArmHead(
            in_features,
            hidden_size,
            depth,
            heteroscedastic=heteroscedastic,
            activation=activation,
            dropout=dropout,
        )
        self.propensity = BernoulliHead(in_features)

    def propensity_features(self, features: torch.Tensor) -> torch.Tensor:
        """What the propensity head reads: the features, detached (TARNet)."""
        return features.detach()

    def forward(self, features: torch.Tensor) -> CATEOutput:
        """Shared features ``(n, h)`` to a :class:`CATEOutput`."""
        logit = self.propensity(self.propensity_features(features)).logit
        return CATEOutput(self.outcome(features), logit)


class DragonHead(CATEHead):
    """DragonNet's head: the propensity head trained jointly, and a trainable ``epsilon``.

    Same parameters as :class:`CATEHead`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epsilon = nn.Parameter(torch.zeros(1))

    def propensity_features(self, features: torch.Tensor) -> torch.Tensor:
        """The features themselves: the propensity loss shapes the representation."""
        return features


class CausalDeepKernel(DeepKernel):
    """DUE for effects: a variational GP on ``[phi(x), t_scale * t]`` with two noise scales.

    The treatment enters after the extractor as one extra GP input, so
    ``f(x, 0)`` and ``f(x, 1)`` are two correlated points of one GP and their
    exact joint posterior gives the CATE variance
    ``Var f(x,1) + Var f(x,0) - 2 Cov``. ``t_scale`` (a buffer, the initial
    length-scale) places the arms one length-scale apart under the prior.

    Parameters
    ----------
    extractor : torch.nn.Module
        Spectral-normalised residual extractor with ``out_features``.
    gp : VariationalGP
        One latent GP over ``out_features + 1`` inputs.
    t_scale : float
        Distance between the arms in GP input space.

    The propensity head reads detached features (TARNet); see
    :class:`DragonDeepKernel` for DragonNet.
    """

    t_scale: torch.Tensor  # a buffer

    def __init__(self, extractor: nn.Module, gp: VariationalGP, t_scale: float) -> None:
        super().__init__(extractor, gp, n_noise=2)
        self.register_buffer("t_scale", torch.tensor(float(t_scale)))
        self.propensity = BernoulliHead(cast(int, extractor.out_features))

    def gp_inputs(self, features: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``[phi(x), t_scale * t]``, shape ``(n, h + 1)``."""
        return torch.cat([features, (t.float() * self.t_scale).unsqueeze(-1)], dim=-1)

    def blocks(self, features: torch.Tensor) -> torch.Tensor:
        """Both arms of every unit as GP input blocks, shape ``(n, 2, h + 1)``."""
        zeros = torch.zeros(features.shape[0], dtype=features.dtype, device=features.device)
        return torch.stack(
            [self.gp_inputs(features, zeros), self.gp_inputs(features, zeros + 1)], dim=1
        )

    def propensity_features(self, features: torch.Tensor) -> torch.Tensor:
        """What the propensity head reads: the features, detached (TARNet)."""
        return features.detach()

    def propensity_logit(self, features: torch.Tensor) -> torch.Tensor:
        """Propensity logit from the features, shape ``(n,)``."""
        return self.propensity(self.propensity_features(features)).logit

    def factual_elbo(
        self, features: torch.Tensor, t: torch.Tensor, y: torch.Tensor, n_data: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Negative ELBO per datum of the factual outcomes, and the GP mean at ``(x, t)``."""
        mean, var = self.gp.marginals(self.gp_inputs(features, t))  # (1, n)
        mean, var = mean[0], var[0]
        noise_var = self.noise_scale()[t.long()].pow(2)
        expected_ll = -0.5 * torch.log(2 * math.pi * noise_var) - ((y - mean) ** 2 + var) / (
            2 * noise_var
        )
        return -expected_ll.mean() + self.gp.kl() / n_data, mean


class DragonDeepKernel(CausalDeepKernel):
    """DUE for DragonNet: the propensity head trained jointly, and a trainable ``epsilon``.

    Same parameters as :class:`CausalDeepKernel`.
    """

    def __init__(self, extractor: nn.Module, gp: VariationalGP, t_scale: float) -> None:
        super().__init__(extractor, gp, t_scale)
        self.epsilon = nn.Parameter(torch.zeros(1))

    def propensity_features(self, features: torch.Tensor) -> torch.Tensor:
        """The features themselves: the propensity loss shapes the representation."""
        return features


def targeted_term(
    q_factual: torch.Tensor,
    logit: torch.Tensor,
    t: torch.Tensor,
    y: torch.Tensor,
    eps: torch.Tensor,
) -> torch.Tensor:
    """DragonNet's targeted regularisation ``mean((y - q - eps * h)^2)``.

    ``h = t / g - (1 - t) / (1 - g)`` with ``g = (sigmoid(logit) + 0.01) / 1.02``
    (the DragonNet clipping), so that ``g`` stays in ``[0.0098, 0.9902]``.

    Parameters
    ----------
    q_factual : torch.Tensor of shape (n,)
        Predicted factual outcome (standardised units).
    logit : torch.Tensor of shape (n,)
        Propensity logit.
    t, y : torch.Tensor of shape (n,)
        Treatment and standardised outcome.
    eps : torch.Tensor of shape (1,)
        The trainable ``epsilon``.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    g = (torch.sigmoid(logit) + 0.01) / 1.02
    t = t.float()
    h = t / g - (1 - t) / (1 - g)
    return ((y - q_factual - eps * h) ** 2).mean()


def propensity_loss(logit: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of the propensity head."""
    return F.binary_cross_entropy_with_logits(logit, t.float())
