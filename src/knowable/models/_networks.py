"""Networks assembled from an extractor and a head, and the DUE deep-kernel model."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._gp import VariationalGP
from ._layers import MLP, ConvNet, ResidualMLP

__all__ = ["DeepKernel", "FeedForward", "build_extractor"]


def build_extractor(
    kind: str,
    input_shape: tuple[int, ...],
    hidden_size: int,
    depth: int,
    activation: str,
    dropout: float,
    spectral_coeff: float | None,
) -> nn.Module:
    """Feature extractor by name.

    Parameters
    ----------
    kind : {"mlp", "resnet", "cnn"}
        Architecture. ``"cnn"`` expects images of shape ``(C, 28, 28)``.
    input_shape : tuple of int
        Shape of one input (``(d,)`` or ``(C, H, W)``).
    hidden_size, depth : int
        Width and number of hidden layers / residual blocks.
    activation : str
        Activation name.
    dropout : float
        Dropout probability.
    spectral_coeff : float, optional
        Soft spectral-norm bound (mlp and resnet only).

    Returns
    -------
    torch.nn.Module
        With an ``out_features`` attribute.
    """
    if kind == "mlp":
        return MLP(input_shape[0], hidden_size, depth, activation, dropout, spectral_coeff)
    if kind == "resnet":
        return ResidualMLP(input_shape[0], hidden_size, depth, activation, dropout, spectral_coeff)
    if kind == "cnn":
        if len(input_shape) != 3 or input_shape[1:] != (28, 28):
            raise ValueError(
                f"extractor='cnn' expects images of shape (n, C, 28, 28), got inputs of shape (n, *{input_shape})."
            )
        return ConvNet(input_shape[0], hidden_size, activation, dropout)
    raise ValueError(f"extractor must be 'mlp', 'resnet' or 'cnn', got {kind!r}.")


class FeedForward(nn.Module):
    """``head(extractor(x))``: one deterministic network (an ensemble member or a dropout net)."""

    def __init__(self, extractor: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.extractor = extractor
        self.head = head

    def forward(self, x: torch.Tensor):
        """Inputs to the head's distribution object."""
        return self.head(self.extractor(x))


class DeepKernel(nn.Module):
    """DUE: a (spectral-normalised, residual) extractor feeding a variational GP.

    There is deliberately no rescaling layer between the extractor and the GP:
    the GP's initial length-scale is fitted to the raw features (see DUE).

    Parameters
    ----------
    extractor : torch.nn.Module
        Feature extractor with ``out_features``.
    gp : VariationalGP
        GP over the features (plus any appended inputs).
    n_noise : int
        Number of Gaussian noise scales to learn (one per regression output;
        0 for classification).
    """

    def __init__(self, extractor: nn.Module, gp: VariationalGP, n_noise: int) -> None:
        super().__init__()
        self.extractor = extractor
        self.gp = gp
        self.log_noise = nn.Parameter(torch.full((n_noise,), math.log(0.5))) if n_noise else None

    def noise_scale(self) -> torch.Tensor:
        """Observation noise standard deviations, shape ``(n_noise,)``."""
        if self.log_noise is None:
            raise ValueError("this DeepKernel has no Gaussian noise (classification).")
        return torch.exp(self.log_noise).clamp_min(1e-4)

    def gaussian_elbo_loss(self, x: torch.Tensor, y: torch.Tensor, n_data: int) -> torch.Tensor:
        """Negative ELBO per datum for Gaussian regression; ``y`` of shape ``(n, k)``."""
        mean, var = self.gp.marginals(self.extractor(x))  # (k, n)
        noise_var = self.noise_scale().pow(2).unsqueeze(-1)
        expected_ll = -0.5 * torch.log(2 * math.pi * noise_var) - ((y.T - mean) ** 2 + var) / (
            2 * noise_var
        )
        return -expected_ll.sum(0).mean() + self.gp.kl() / n_data

    def softmax_elbo_loss(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        n_data: int,
        generator: torch.Generator,
        n_mc: int = 16,
    ) -> torch.Tensor:
        """Negative ELBO per datum for classification (Monte Carlo over the latent GPs)."""
        mean, var = self.gp.marginals(self.extractor(x))  # (C, n)
        eps = torch.randn((n_mc, *mean.shape), generator=generator).to(mean.device)
        f = mean + var.clamp_min(1e-10).sqrt() * eps  # (mc, C, n)
        log_p = torch.log_softmax(f, dim=1)  # over classes
        picked = log_p.gather(1, y.long().view(1, 1, -1).expand(n_mc, 1, -1)).squeeze(1)
        return -picked.mean() + self.gp.kl() / n_data
