"""Output heads: map features to the parameters of an observation distribution.

Each head returns a small distribution object with a negative log-likelihood
(the training loss) and an analytic mean. ``k`` is the number of outputs, ``C``
the number of mixture components or classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "BernoulliHead",
    "BernoulliOutput",
    "CategoricalOutput",
    "ClassifierHead",
    "GaussianHead",
    "GaussianOutput",
    "MixtureDensityHead",
    "MixtureOutput",
]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_MIN_SCALE = 1e-4


@dataclass
class GaussianOutput:
    """``N(mean, scale**2)`` per input and output; tensors of shape ``(n, k)``."""

    mean: torch.Tensor
    scale: torch.Tensor

    def nll(self, y: torch.Tensor) -> torch.Tensor:
        """Negative log density of ``y`` (shape ``(n, k)``), shape ``(n, k)``."""
        return _HALF_LOG_2PI + torch.log(self.scale) + 0.5 * ((y - self.mean) / self.scale) ** 2

    def select(self, index: torch.Tensor) -> GaussianOutput:
        """Pick output ``index[i]`` for row ``i`` (e.g. the factual arm); shapes become ``(n, 1)``."""
        idx = index.long().view(-1, 1)
        return GaussianOutput(self.mean.gather(1, idx), self.scale.gather(1, idx))


@dataclass
class MixtureOutput:
    """Gaussian mixture per input and output; tensors of shape ``(n, k, C)``."""

    logits: torch.Tensor
    loc: torch.Tensor
    scale: torch.Tensor

    @property
    def mean(self) -> torch.Tensor:
        """Analytic mixture mean, shape ``(n, k)``."""
        return (torch.softmax(self.logits, -1) * self.loc).sum(-1)

    def nll(self, y: torch.Tensor) -> torch.Tensor:
        """Negative log density of ``y`` (shape ``(n, k)``), shape ``(n, k)``."""
        z = (y.unsqueeze(-1) - self.loc) / self.scale
        comp = -_HALF_LOG_2PI - torch.log(self.scale) - 0.5 * z**2
        return -torch.logsumexp(torch.log_softmax(self.logits, -1) + comp, dim=-1)

    def select(self, index: torch.Tensor) -> MixtureOutput:
        """Pick output ``index[i]`` for row ``i``; shapes become ``(n, 1, C)``."""
        idx = index.long().view(-1, 1, 1).expand(-1, 1, self.logits.shape[-1])
        return MixtureOutput(
            self.logits.gather(1, idx), self.loc.gather(1, idx), self.scale.gather(1, idx)
        )


@dataclass
class CategoricalOutput:
    """Class logits, shape ``(n, C)``."""

    logits: torch.Tensor

    @property
    def probs(self) -> torch.Tensor:
        """Class probabilities, shape ``(n, C)``."""
        return torch.softmax(self.logits, -1)

    def nll(self, y: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of integer labels ``y`` (shape ``(n,)``), shape ``(n,)``."""
        return F.cross_entropy(self.logits, y.long(), reduction="none")


@dataclass
class BernoulliOutput:
    """Logit of ``P(t = 1)``, shape ``(n,)``."""

    logit: torch.Tensor

    @property
    def prob(self) -> torch.Tensor:
        """``P(t = 1)``, shape ``(n,)``."""
        return torch.sigmoid(self.logit)

    def nll(self, t: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy of 0/1 targets ``t`` (shape ``(n,)``), shape ``(n,)``."""
        return F.binary_cross_entropy_with_logits(self.logit, t.float(), reduction="none")


class GaussianHead(nn.Module):
    """Gaussian output with learned mean and (hetero- or homoscedastic) scale.

    Parameters
    ----------
    in_features : int
        Feature width.
    n_outputs : int
        Number of outputs ``k``.
    heteroscedastic : bool
        Predict the scale from the features (True) or learn one scale per output.
    """

    def __init__(self, in_features: int, n_outputs: int, heteroscedastic: bool = True) -> None:
        super().__init__()
        self.heteroscedastic = heteroscedastic
        self.mean = nn.Linear(in_features, n_outputs)
        if heteroscedastic:
            self.raw_scale = nn.Linear(in_features, n_outputs)
        else:
            self.log_scale = nn.Parameter(torch.zeros(n_outputs))

    def forward(self, features: torch.Tensor) -> GaussianOutput:
        """Features ``(n, h)`` to a :class:`GaussianOutput` of shape ``(n, k)``."""
        mean = self.mean(features)
        if self.heteroscedastic:
            scale = F.softplus(self.raw_scale(features)) + _MIN_SCALE
        else:
            scale = (torch.exp(self.log_scale) + _MIN_SCALE).expand_as(mean)
        return GaussianOutput(mean, scale)


class MixtureDensityHead(nn.Module):
    """Mixture-density head: a ``C``-component Gaussian mixture per output.

    Parameters
    ----------
    in_features : int
        Feature width.
    n_outputs : int
        Number of outputs ``k``.
    n_components : int
        Mixture components ``C``.
    """

    def __init__(self, in_features: int, n_outputs: int, n_components: int = 5) -> None:
        super().__init__()
        self.n_outputs = n_outputs
        self.n_components = n_components
        self.logits = nn.Linear(in_features, n_outputs * n_components)
        self.loc = nn.Linear(in_features, n_outputs * n_components)
        self.raw_scale = nn.Linear(in_features, n_outputs * n_components)

    def forward(self, features: torch.Tensor) -> MixtureOutput:
        """Features ``(n, h)`` to a :class:`MixtureOutput` of shape ``(n, k, C)``."""
        shape = (features.shape[0], self.n_outputs, self.n_components)
        return MixtureOutput(
            self.logits(features).view(shape),
            self.loc(features).view(shape),
            F.softplus(self.raw_scale(features)).view(shape) + _MIN_SCALE,
        )


class ClassifierHead(nn.Module):
    """Linear classifier head producing logits for ``n_classes`` classes.

    Parameters
    ----------
    in_features : int
        Feature width.
    n_classes : int
        Number of classes ``C``.
    """

    def __init__(self, in_features: int, n_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, n_classes)

    def forward(self, features: torch.Tensor) -> CategoricalOutput:
        """Features ``(n, h)`` to logits ``(n, C)``."""
        return CategoricalOutput(self.linear(features))


class BernoulliHead(nn.Module):
    """Propensity head: the logit of ``P(t = 1 | x)``.

    Parameters
    ----------
    in_features : int
        Feature width.
    """

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, features: torch.Tensor) -> BernoulliOutput:
        """Features ``(n, h)`` to a logit of shape ``(n,)``."""
        return BernoulliOutput(self.linear(features).squeeze(-1))


def _stack_outputs(
    outputs: list[GaussianOutput] | list[MixtureOutput],
) -> GaussianOutput | MixtureOutput:
    first = outputs[0]
    if isinstance(first, GaussianOutput):
        return GaussianOutput(
            torch.cat([o.mean for o in outputs], dim=1),  # type: ignore[union-attr]
            torch.cat([o.scale for o in outputs], dim=1),  # type: ignore[union-attr]
        )
    return MixtureOutput(
        torch.cat([o.logits for o in outputs], dim=1),  # type: ignore[union-attr]
        torch.cat([o.loc for o in outputs], dim=1),  # type: ignore[union-attr]
        torch.cat([o.scale for o in outputs], dim=1),  # type: ignore[union-attr]
    )


class TwoArmHead(nn.Module):
    """Treatment-conditioned outcome head (TARNet style): one sub-network per arm.

    The shared features feed ``n_arms`` separate MLPs, each ending in its own
    Gaussian or mixture-density head with one output; the arms are stacked as
    the ``k = n_arms`` outputs (``mu0, mu1`` for a binary treatment). Training
    picks the factual arm with ``output.select(t)``.

    Parameters
    ----------
    in_features : int
        Shared feature width.
    hidden_size : int
        Width of each arm's layers.
    depth : int
        Hidden layers per arm (0 puts the head directly on the shared features).
    likelihood : {"gaussian", "mixture"}
        Per-arm output distribution.
    n_components : int
        Mixture components when ``likelihood="mixture"``.
    heteroscedastic : bool
        Gaussian scale predicted per input (True) or learned per arm.
    activation : str
        Activation of the arm layers.
    dropout : float
        Dropout probability in the arm layers.
    spectral_coeff : float, optional
        Soft spectral-norm bound of the arm layers.
    n_arms : int
        Number of treatment arms.
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        depth: int,
        likelihood: str = "gaussian",
        n_components: int = 5,
        heteroscedastic: bool = True,
        activation: str = "relu",
        dropout: float = 0.0,
        spectral_coeff: float | None = None,
        n_arms: int = 2,
    ) -> None:
        from ._layers import MLP

        super().__init__()
        self.arms = nn.ModuleList()
        for _ in range(n_arms):
            body: nn.Module = (
                MLP(in_features, hidden_size, depth, activation, dropout, spectral_coeff)
                if depth > 0
                else nn.Identity()
            )
            width = hidden_size if depth > 0 else in_features
            head: nn.Module = (
                MixtureDensityHead(width, 1, n_components)
                if likelihood == "mixture"
                else GaussianHead(width, 1, heteroscedastic)
            )
            self.arms.append(nn.Sequential(body, head))

    def forward(self, features: torch.Tensor) -> GaussianOutput | MixtureOutput:
        """Shared features ``(n, h)`` to an output with ``k = n_arms``."""
        return _stack_outputs([arm(features) for arm in self.arms])
