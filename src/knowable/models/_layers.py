"""Building blocks for feature extractors.

Hand-written where torch has no seeded or *soft* variant: dropout that draws
its masks from an explicit ``torch.Generator`` (so MC-dropout draws are
reproducible and consistent across inputs), and spectral normalisation that
only rescales a weight when its largest singular value exceeds the bound (the
"soft" normalisation DUE needs; ``torch.nn.utils.spectral_norm`` always
divides by the singular value and seeds its power iteration from the global RNG).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "MLP",
    "ConvNet",
    "ResidualMLP",
    "SeededDropout",
    "SpectralLinear",
    "attach_generator",
    "init_parameters",
    "make_activation",
    "set_mc_dropout",
    "set_shared_dropout",
]


def make_activation(name: str) -> nn.Module:
    """An activation module by name: ``relu``, ``elu``, ``leaky_relu``, ``tanh`` or ``gelu``."""
    table: dict[str, Callable[[], nn.Module]] = {
        "relu": nn.ReLU,
        "elu": nn.ELU,
        "leaky_relu": lambda: nn.LeakyReLU(0.1),
        "tanh": nn.Tanh,
        "gelu": nn.GELU,
    }
    if name not in table:
        raise ValueError(f"activation must be one of {sorted(table)}, got {name!r}.")
    return table[name]()


class SeededDropout(nn.Module):
    """Dropout whose masks come from an attached ``torch.Generator``.

    In training mode each element gets its own mask (standard dropout). In
    MC mode (``mc=True``, used for MC-dropout prediction) one mask is drawn per
    forward pass and shared by every row, so a draw is the same sub-network
    for every input: draws are consistent across inputs and across chunks.

    With ``shared=True`` the mask is shared by every row in training mode too
    (VSOP's "consistent" dropout: each forward pass is one sampled sub-network
    for the whole batch, so an action taken in training mode is a Thompson
    sample).

    Parameters
    ----------
    p : float
        Drop probability in [0, 1).
    shared : bool
        Draw one mask per forward pass, shared across rows, in training mode as well.
    """

    def __init__(self, p: float, shared: bool = False) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must lie in [0, 1), got {p}.")
        self.p = float(p)
        self.shared = bool(shared)
        self.mc = False
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0 or not (self.training or self.mc):
            return x
        if self.generator is None:
            raise RuntimeError(
                "SeededDropout needs a generator; call attach_generator(module, gen) first."
            )
        one_mask = self.shared or (self.mc and not self.training)
        shape = (1, *x.shape[1:]) if one_mask else x.shape
        keep = torch.rand(shape, generator=self.generator, device=x.device) >= self.p
        return x * keep / (1.0 - self.p)


def attach_generator(module: nn.Module, generator: torch.Generator) -> None:
    """Let every :class:`SeededDropout` inside ``module`` draw from ``generator``."""
    for sub in module.modules():
        if isinstance(sub, SeededDropout):
            sub.generator = generator


def set_shared_dropout(module: nn.Module, shared: bool) -> None:
    """Make every :class:`SeededDropout` in ``module`` share one mask per forward pass."""
    for sub in module.modules():
        if isinstance(sub, SeededDropout):
            sub.shared = shared


def set_mc_dropout(module: nn.Module, active: bool) -> None:
    """Switch MC-dropout prediction (one shared mask per pass) on or off."""
    for sub in module.modules():
        if isinstance(sub, SeededDropout):
            sub.mc = active


class SpectralLinear(nn.Linear):
    """Linear layer with soft spectral normalisation.

    The weight is divided by ``sigma / coeff`` only when its spectral norm
    ``sigma`` (estimated by one power-iteration step per training forward pass)
    exceeds ``coeff``, which bounds the layer's Lipschitz constant by ``coeff``.

    Parameters
    ----------
    in_features, out_features : int
        Layer sizes.
    coeff : float
        Upper bound on the spectral norm.
    """

    _u: torch.Tensor
    _v: torch.Tensor

    def __init__(self, in_features: int, out_features: int, coeff: float) -> None:
        super().__init__(in_features, out_features)
        if coeff <= 0:
            raise ValueError(f"spectral_coeff must be > 0, got {coeff}.")
        self.coeff = float(coeff)
        self.register_buffer("_u", torch.ones(out_features) / math.sqrt(out_features))
        self.register_buffer("_v", torch.ones(in_features) / math.sqrt(in_features))

    def reset_power_iteration(self, generator: torch.Generator, n_iter: int = 30) -> None:
        """Randomise the power-iteration vectors from ``generator``, then converge them.

        ``n_iter`` power-iteration steps on the current weight follow, so that
        the cap holds from the very first forward pass, in evaluation mode
        too. Without them an untrained layer would be left uncapped in
        evaluation mode (``u^T W v`` of random unit vectors is close to 0),
        and anything computed from the untrained network, such as DUE's
        initial length-scale and inducing points, would be measured on the
        wrong (several times larger) feature scale.

        Parameters
        ----------
        generator : torch.Generator
            Source of the random starting vectors.
        n_iter : int
            Power-iteration steps on the current weight (0: leave them random).
        """
        with torch.no_grad():
            self._u.copy_(F.normalize(torch.randn(self._u.shape, generator=generator), dim=0))
            self._v.copy_(F.normalize(torch.randn(self._v.shape, generator=generator), dim=0))
            w = self.weight.detach()
            for _ in range(n_iter):
                self._v.copy_(F.normalize(w.t() @ self._u, dim=0, eps=1e-12))
                self._u.copy_(F.normalize(w @ self._v, dim=0, eps=1e-12))

    def normalised_weight(self) -> torch.Tensor:
        """The weight after the soft spectral cap."""
        w = self.weight
        if self.training:
            with torch.no_grad():
                v = F.normalize(w.t() @ self._u, dim=0, eps=1e-12)
                u = F.normalize(w @ v, dim=0, eps=1e-12)
                self._u.copy_(u)
                self._v.copy_(v)
        sigma = torch.dot(self._u, w @ self._v)
        factor = torch.clamp(sigma / self.coeff, min=1.0)
        return w / factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalised_weight(), self.bias)


def _linear(in_f: int, out_f: int, spectral_coeff: float | None) -> nn.Linear:
    return (
        nn.Linear(in_f, out_f)
        if spectral_coeff is None
        else SpectralLinear(in_f, out_f, spectral_coeff)
    )


class MLP(nn.Module):
    """Plain multilayer perceptron feature extractor.

    ``depth`` blocks of Linear -> activation -> dropout; output width ``hidden_size``.

    Parameters
    ----------
    in_features : int
        Input width ``d``.
    hidden_size : int
        Width of every hidden layer.
    depth : int
        Number of hidden layers (>= 1).
    activation : str
        Activation name (see :func:`make_activation`).
    dropout : float
        Dropout probability after each activation.
    spectral_coeff : float, optional
        Soft spectral-norm bound for every linear layer.
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        depth: int,
        activation: str = "relu",
        dropout: float = 0.0,
        spectral_coeff: float | None = None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [
                _linear(width, hidden_size, spectral_coeff),
                make_activation(activation),
                SeededDropout(dropout),
            ]
            width = hidden_size
        self.net = nn.Sequential(*layers)
        self.out_features = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(n, d)`` inputs to ``(n, hidden_size)`` features."""
        return self.net(x)


class _ResidualBlock(nn.Module):
    def __init__(
        self, width: int, activation: str, dropout: float, spectral_coeff: float | None
    ) -> None:
        super().__init__()
        self.linear = _linear(width, width, spectral_coeff)
        self.act = make_activation(activation)
        self.drop = SeededDropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop(self.act(self.linear(x)))


class ResidualMLP(nn.Module):
    """Residual MLP (DUE's fully connected ResNet).

    A first linear map to ``hidden_size``, then ``depth`` residual blocks
    ``x + dropout(act(W x))``. With ``spectral_coeff < 1`` every block is
    bi-Lipschitz, so distances in input space are preserved in feature space:
    the property DUE relies on to see inputs far from the data as far.

    Parameters
    ----------
    in_features : int
        Input width ``d``.
    hidden_size : int
        Width of the residual stream.
    depth : int
        Number of residual blocks.
    activation : str
        Activation name.
    dropout : float
        Dropout probability inside each block.
    spectral_coeff : float, optional
        Soft spectral-norm bound for every linear layer.
    """

    def __init__(
        self,
        in_features: int,
        hidden_size: int,
        depth: int,
        activation: str = "relu",
        dropout: float = 0.0,
        spectral_coeff: float | None = None,
    ) -> None:
        super().__init__()
        self.stem = _linear(in_features, hidden_size, spectral_coeff)
        self.blocks = nn.Sequential(
            *[
                _ResidualBlock(hidden_size, activation, dropout, spectral_coeff)
                for _ in range(depth)
            ]
        )
        self.out_features = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(n, d)`` inputs to ``(n, hidden_size)`` features."""
        return self.blocks(self.stem(x))


class ConvNet(nn.Module):
    """Small CNN for 28x28 grey images (two 5x5 conv layers, as in the BatchBALD MNIST model).

    Parameters
    ----------
    in_channels : int
        Image channels.
    hidden_size : int
        Width of the final fully connected feature layer.
    activation : str
        Activation name.
    dropout : float
        Dropout probability after each conv block and the dense layer.
    """

    def __init__(
        self, in_channels: int, hidden_size: int, activation: str = "relu", dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5),
            make_activation(activation),
            nn.MaxPool2d(2),
            SeededDropout(dropout),
            nn.Conv2d(32, 64, 5),
            make_activation(activation),
            nn.MaxPool2d(2),
            SeededDropout(dropout),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, hidden_size),
            make_activation(activation),
            SeededDropout(dropout),
        )
        self.out_features = hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(n, C, 28, 28)`` images to ``(n, hidden_size)`` features."""
        return self.features(x)


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every linear and conv layer of ``module`` from ``generator``.

    Uses torch's default scheme (Kaiming-uniform weights, uniform biases) but
    draws from an explicit generator, so initialisation never touches the
    global RNG.
    """
    for sub in module.modules():
        if isinstance(sub, (nn.Linear, nn.Conv2d)):
            nn.init.kaiming_uniform_(sub.weight, a=math.sqrt(5), generator=generator)
            if sub.bias is not None:
                fan_in = sub.weight[0].numel()
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                nn.init.uniform_(sub.bias, -bound, bound, generator=generator)
        if isinstance(sub, SpectralLinear):
            sub.reset_power_iteration(generator)
