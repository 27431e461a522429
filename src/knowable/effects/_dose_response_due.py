"""DUE for dose-response curves: a deep-kernel GP on ``[φ(x), t_scale · t]``.

The covariates go through a spectral-normalised (bi-Lipschitz) residual
extractor φ; the standardised treatment is appended *after* the extractor as
one more GP input, scaled by ``t_scale`` (the mean pairwise distance of the
initial features, so a change of one standard deviation in t moves the GP
input as far as the typical distance between two units). The GP is the shared
:class:`~knowable.models._gp.VariationalGP` with a stationary kernel, so the
function is smooth in t, and the observation model is Gaussian with one noise
scale. Training reuses :class:`~knowable.models._networks.DeepKernel` (its
Gaussian ELBO) and the shared training loop.

Draws are *joint across units and chunks*: see
:meth:`~knowable.models._gp.VariationalGP.sample_blocks`.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from ..models._gp import VariationalGP, init_inducing_points
from ..models._layers import init_parameters
from ..models._networks import DeepKernel
from ..models.uncertainty.due import initial_features

__all__ = [
    "AppendTreatment",
    "build_dose_response_kernel",
]


class AppendTreatment(nn.Module):
    """``[extractor(x), t_scale · t]`` from standardised inputs ``[x, t]`` (t in the last column).

    Parameters
    ----------
    extractor : torch.nn.Module
        Feature extractor over x with ``out_features``.
    t_scale : float
        Factor of the standardised treatment in GP input space (a buffer, saved
        with the weights).
    """

    t_scale: torch.Tensor  # a buffer

    def __init__(self, extractor: nn.Module, t_scale: float) -> None:
        super().__init__()
        self.extractor = extractor
        self.out_features = int(cast(int, extractor.out_features)) + 1
        self.register_buffer("t_scale", torch.tensor(float(t_scale)))

    def forward(self, xt: torch.Tensor) -> torch.Tensor:
        """Standardised ``(n, d + 1)`` inputs to GP inputs ``(n, h + 1)``."""
        feats = self.extractor(xt[:, :-1])
        return torch.cat([feats, xt[:, -1:] * self.t_scale], dim=1)


def build_dose_response_kernel(
    extractor: nn.Module,
    kernel: str,
    n_inducing: int,
    generator: torch.Generator,
    xt_train: torch.Tensor | None,
) -> DeepKernel:
    """A :class:`DeepKernel` whose extractor appends the treatment, initialised as in DUE.

    With training inputs: the extractor is initialised from ``generator``; the
    features φ(x) of up to 1,000 random training units give ``t_scale`` (their
    mean pairwise distance); the inducing points are k-means centres of the
    GP inputs ``[φ(x_i), t_scale · t_i]`` of those units (observed pairs, so
    they start where the data are) and the initial length-scale is the mean
    pairwise distance of those GP inputs. There is no rescaling layer between
    extractor and GP. Without training inputs only the shapes are built (the
    weights come from a saved state dict).

    Parameters
    ----------
    extractor : torch.nn.Module
        Spectral-normalised extractor over x with ``out_features``.
    kernel : {"rbf", "matern32", "matern52"}
        GP kernel.
    n_inducing : int
        Inducing points (capped at the number of distinct initial inputs).
    generator : torch.Generator
        Seed of the initialisation.
    xt_train : torch.Tensor of shape (n, d + 1), optional
        Standardised training inputs, t in the last column.

    Returns
    -------
    DeepKernel
        One latent GP and one Gaussian noise scale.
    """
    if xt_train is None:
        wrapped = AppendTreatment(extractor, 1.0)
        centres = torch.zeros(n_inducing, wrapped.out_features)
        return DeepKernel(wrapped, VariationalGP(centres, 1, kernel, 1.0), n_noise=1)
    init_parameters(extractor, generator)
    feats, pick = initial_features(extractor, xt_train[:, :-1], generator)
    _, t_scale = init_inducing_points(feats, 1, 0)
    wrapped = AppendTreatment(extractor, t_scale)
    with torch.no_grad():
        inputs = wrapped(xt_train[pick])
    centres, lengthscale = init_inducing_points(
        inputs, n_inducing, int(torch.randint(2**31, (1,), generator=generator))
    )
    return DeepKernel(wrapped, VariationalGP(centres, 1, kernel, lengthscale), n_noise=1)
