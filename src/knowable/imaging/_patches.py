"""Patch pools for patch-based segmentation: a grid over every scan plus positive-centred patches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_positive_int

__all__ = ["PatchPool", "crop_patches", "make_patch_pool"]


@dataclass(frozen=True)
class PatchPool:
    """Patch centres over a set of scans.

    Attributes
    ----------
    scans : numpy.ndarray of int, shape (m,)
        Scan of every patch.
    centers : numpy.ndarray of int, shape (m, ndim)
        Patch centres in voxel coordinates.
    is_positive : numpy.ndarray of bool, shape (m,)
        True for the positive-centred patches (``G_n``); the grid patches come first.
    """

    scans: np.ndarray
    centers: np.ndarray
    is_positive: np.ndarray

    def __len__(self) -> int:
        return int(self.scans.size)


def make_patch_pool(
    shape: tuple[int, ...],
    n_scans: int,
    nodules: list[tuple[int, Any, float]],
    *,
    stride: int = 16,
    n_jitter: int = 8,
    random_state: Any = None,
) -> PatchPool:
    """Grid patches over every scan (``G_r``) plus jittered patches centred on each nodule (``G_n``).

    Parameters
    ----------
    shape : tuple of int
        Scan shape.
    n_scans : int
        Number of scans.
    nodules : list of (scan, centre, radius)
        Annotations; ``n_jitter`` centres are drawn uniformly within each radius.
    stride : int
        Grid spacing of the ``G_r`` centres.
    n_jitter : int
        Positive-centred patches per nodule.
    random_state : None, int or numpy.random.Generator
        Seed of the jitter.

    Returns
    -------
    PatchPool
    """
    st = check_positive_int(stride, "stride")
    nj = check_positive_int(n_jitter, "n_jitter")
    ns = check_positive_int(n_scans, "n_scans")
    rng = check_random_state(random_state)
    axes = [np.arange(st // 2, s, st) for s in shape]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(shape))
    scans = [np.repeat(np.arange(ns), len(grid))]
    centers = [np.tile(grid, (ns, 1))]
    for s, c, r in nodules:
        u = rng.normal(size=(nj, len(shape)))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        rad = float(r) * rng.uniform(0, 1, (nj, 1)) ** (1 / len(shape))
        pts = np.rint(np.asarray(c, dtype=float) + u * rad).astype(int)
        pts = np.clip(pts, 0, np.asarray(shape) - 1)
        scans.append(np.full(nj, int(s)))
        centers.append(pts)
    sc = np.concatenate(scans)
    ce = np.concatenate(centers).astype(int)
    pos = np.zeros(sc.size, bool)
    pos[ns * len(grid) :] = True
    return PatchPool(sc, ce, pos)


def crop_patches(
    volumes: np.ndarray, scans: np.ndarray, centers: np.ndarray, size: int
) -> np.ndarray:
    """Crop cubic patches of side ``size`` around centres (zero padding outside the scan).

    Parameters
    ----------
    volumes : numpy.ndarray, shape (n_scans, *shape)
        Images or masks.
    scans : numpy.ndarray of int, shape (m,)
        Scan of each patch.
    centers : numpy.ndarray of int, shape (m, ndim)
        Centres.
    size : int
        Patch side (even sizes put the centre at ``size // 2``).

    Returns
    -------
    numpy.ndarray, shape (m, size, ..., size)
    """
    sz = check_positive_int(size, "size")
    ndim = volumes.ndim - 1
    half = sz // 2
    padded = np.pad(volumes, [(0, 0)] + [(half, sz - half)] * ndim)
    out = np.empty((len(scans), *([sz] * ndim)), dtype=volumes.dtype)
    for i, (s, c) in enumerate(zip(scans, centers, strict=True)):
        sl: tuple[Any, ...] = (int(s), *(slice(int(ci), int(ci) + sz) for ci in c))
        out[i] = padded[sl]
    return out
