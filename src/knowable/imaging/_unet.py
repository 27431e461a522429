"""A small 2-D / 3-D U-Net (Ronneberger et al., 2015) for patch segmentation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .._validation import check_in_options, check_positive_int

__all__ = ["UNet"]


def _block(conv: Any, norm: Callable[[int], nn.Module], c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        conv(c_in, c_out, kernel_size=3, padding=1),
        norm(c_out),
        nn.ReLU(inplace=True),
        conv(c_out, c_out, kernel_size=3, padding=1),
        norm(c_out),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net with ``depth`` down/up levels, channels doubling per level, logits out.

    Parameters
    ----------
    in_channels : int
        Input channels.
    out_channels : int
        Output channels (one logit per voxel for binary segmentation).
    base_channels : int
        Channels of the first level.
    depth : int
        Number of 2x poolings; input sizes must be divisible by ``2**depth``.
    dim : {2, 3}
        Spatial dimension.
    norm : {"none", "batch", "instance"}
        Normalisation after each convolution. The default ``"none"`` suits
        patch training with whole-image inference: batch statistics differ
        between the positive-only and mixed minibatches of a curriculum, and
        instance statistics between a patch and a whole scan.

    Notes
    -----
    Input shape ``(N, in_channels, *spatial)``, output ``(N, out_channels, *spatial)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        *,
        base_channels: int = 8,
        depth: int = 2,
        dim: int = 2,
        norm: str = "none",
    ) -> None:
        super().__init__()
        check_in_options(str(dim), "dim", ("2", "3"))
        c0 = check_positive_int(base_channels, "base_channels")
        self.depth = check_positive_int(depth, "depth")
        check_positive_int(in_channels, "in_channels")
        check_positive_int(out_channels, "out_channels")
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        up = nn.ConvTranspose2d if dim == 2 else nn.ConvTranspose3d
        check_in_options(norm, "norm", ("none", "batch", "instance"))
        norm_cls: dict[str, type[nn.Module]] = {
            "batch": nn.BatchNorm2d if dim == 2 else nn.BatchNorm3d,
            "instance": nn.InstanceNorm2d if dim == 2 else nn.InstanceNorm3d,
        }
        kind = norm

        def make_norm(c: int) -> nn.Module:
            if kind == "none":
                return nn.Identity()
            return norm_cls[kind](c, affine=True)  # type: ignore[call-arg]

        self.pool = nn.MaxPool2d(2) if dim == 2 else nn.MaxPool3d(2)
        chans = [c0 * 2**i for i in range(self.depth + 1)]
        self.down = nn.ModuleList()
        c_prev = in_channels
        for c in chans:
            self.down.append(_block(conv, make_norm, c_prev, c))  # type: ignore[arg-type]
            c_prev = c
        self.up = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for c in reversed(chans[:-1]):
            self.up.append(up(c * 2, c, kernel_size=2, stride=2))
            self.up_blocks.append(_block(conv, make_norm, c * 2, c))  # type: ignore[arg-type]
        self.out = conv(chans[0], out_channels, kernel_size=1)
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Voxel logits, shape ``(N, out_channels, *spatial)``."""
        skips = []
        h = x
        for i, block in enumerate(self.down):
            h = block(h)
            if i < self.depth:
                skips.append(h)
                h = self.pool(h)
        for upconv, block, skip in zip(self.up, self.up_blocks, reversed(skips), strict=True):
            h = block(torch.cat([upconv(h), skip], dim=1))
        return self.out(h)
