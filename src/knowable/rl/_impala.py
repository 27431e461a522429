"""IMPALA-CNN encoders for ProcGen: the 2D baseline and the 3D frame-stack variant.

The 3D variant (Jesson & Jiang, "Improving Generalization on the ProcGen
Benchmark with Simple Architectural Changes and Scale") turns every Conv2d into a
Conv3d over (time, height, width), halves time with the pooling as well as space,
and sums the features over the remaining time axis. With one frame and a temporal
kernel of 1 it computes exactly what the 2D network computes on the same weights.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from knowable.models import SeededDropout, SpectralLinear

__all__ = ["ImpalaActorCritic", "ImpalaCNN", "ImpalaCNN3D"]

_BASE_CHANNELS = (16, 32, 32)


class _Residual(nn.Module):
    def __init__(self, conv: type[nn.Module], channels: int, kernel: tuple[int, ...]) -> None:
        super().__init__()
        pad = tuple(k // 2 for k in kernel)
        self.conv0 = conv(channels, channels, kernel, padding=pad)
        self.conv1 = conv(channels, channels, kernel, padding=pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class _ConvSequence(nn.Module):
    def __init__(
        self,
        conv: type[nn.Module],
        pool: type[nn.Module],
        c_in: int,
        c_out: int,
        kernel: tuple[int, ...],
        pool_kernel: tuple[int, ...],
        pool_stride: tuple[int, ...],
    ) -> None:
        super().__init__()
        pad = tuple(k // 2 for k in kernel)
        self.conv = conv(c_in, c_out, kernel, padding=pad)
        self.pool = pool(
            pool_kernel, stride=pool_stride, padding=tuple(k // 2 for k in pool_kernel)
        )
        self.res0 = _Residual(conv, c_out, kernel)
        self.res1 = _Residual(conv, c_out, kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res1(self.res0(self.pool(self.conv(x))))


def _out_size(size: int, n_pools: int) -> int:
    for _ in range(n_pools):
        size = (size + 1) // 2
    return size


class ImpalaCNN(nn.Module):
    """The IMPALA-CNN on single frames.

    Parameters
    ----------
    in_channels : int
        Image channels (3 for ProcGen).
    image_size : int
        Height = width of the input (64 for ProcGen).
    width : int
        Channel multiplier: channels ``(16, 32, 32) * width``.

    Notes
    -----
    Input ``(n, H, W, C)`` uint8 or float in [0, 255]; output ``(n, out_features)``
    where ``out_features = 32 * width * (H / 8) ** 2`` after the three poolings.
    """

    def __init__(self, in_channels: int = 3, image_size: int = 64, width: int = 1) -> None:
        super().__init__()
        channels = [c * width for c in _BASE_CHANNELS]
        blocks, c_in = [], in_channels
        for c_out in channels:
            blocks.append(
                _ConvSequence(nn.Conv2d, nn.MaxPool2d, c_in, c_out, (3, 3), (3, 3), (2, 2))
            )
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.out_features = c_in * _out_size(image_size, len(channels)) ** 2

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Map ``(n, H, W, C)`` frames to ``(n, out_features)`` features."""
        x = frames.permute(0, 3, 1, 2).float() / 255.0
        return torch.flatten(self.blocks(x), 1)


class ImpalaCNN3D(nn.Module):
    """The IMPALA-CNN with Conv3d over stacked frames, summed over time.

    Parameters
    ----------
    in_channels : int
        Image channels.
    image_size : int
        Height = width of each frame.
    width : int
        Channel multiplier (the paper's default is 2).
    temporal_kernel : int
        Temporal extent of every convolution (3 in the paper; 1 makes each frame
        independent, which with one frame is the 2D network).

    Notes
    -----
    Input ``(n, S, H, W, C)`` with S stacked frames, oldest first; output
    ``(n, out_features)``, the same size as the 2D network's.
    """

    def __init__(
        self, in_channels: int = 3, image_size: int = 64, width: int = 2, temporal_kernel: int = 3
    ) -> None:
        super().__init__()
        if temporal_kernel < 1 or temporal_kernel % 2 == 0:
            raise ValueError(f"temporal_kernel must be an odd integer >= 1, got {temporal_kernel}.")
        channels = [c * width for c in _BASE_CHANNELS]
        kernel = (temporal_kernel, 3, 3)
        pool_stride = (2 if temporal_kernel > 1 else 1, 2, 2)
        blocks, c_in = [], in_channels
        for c_out in channels:
            blocks.append(
                _ConvSequence(nn.Conv3d, nn.MaxPool3d, c_in, c_out, kernel, kernel, pool_stride)
            )
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.out_features = c_in * _out_size(image_size, len(channels)) ** 2

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Map ``(n, S, H, W, C)`` frame stacks to ``(n, out_features)`` features."""
        x = frames.permute(0, 4, 1, 2, 3).float() / 255.0
        return torch.flatten(self.blocks(x).sum(dim=2), 1)


class ImpalaActorCritic(nn.Module):
    """Discrete-action actor-critic on an IMPALA encoder (ProcGen's 15 actions).

    Features -> ReLU -> dropout -> Linear(hidden) (spectral cap 1) -> ReLU -> dropout
    -> policy logits and value, as in the ProcGen 3D model.

    Parameters
    ----------
    encoder : ImpalaCNN or ImpalaCNN3D
        Feature extractor.
    n_actions : int
        Number of discrete actions.
    hidden_size : int
        Width of the dense layer (256 x width in the paper).
    dropout : float
        Drop probability; masks are shared across the batch (Thompson sampling).
    generator : torch.Generator
        Source of every dropout mask.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_actions: int,
        hidden_size: int,
        dropout: float,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.drop0 = SeededDropout(dropout, shared=True)
        self.dense = SpectralLinear(cast(int, encoder.out_features), hidden_size, 1.0)
        self.drop1 = SeededDropout(dropout, shared=True)
        self.policy = nn.Linear(hidden_size, n_actions)
        self.value = nn.Linear(hidden_size, 1)
        for drop in (self.drop0, self.drop1):
            drop.generator = generator
        self.dense.reset_power_iteration(generator)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Policy logits ``(n, n_actions)`` and values ``(n,)`` for a batch of observations."""
        h = self.drop0(F.relu(self.encoder(frames)))
        h = self.drop1(F.relu(self.dense(h)))
        return self.policy(h), self.value(h).squeeze(-1)
