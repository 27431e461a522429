"""Synthetic CT-like scans with rare nodules and hard negatives (2-D slices or 3-D volumes).

No real CT is available offline (LUNA16 needs a download), so the CASED demo
runs on this generator. A scan is a smooth random "anatomy" field plus white
noise; on top of it:

* **nodules** (the positives): solid, slightly elongated ellipses / ellipsoids
  with semi-axes ``r * U(0.75, 1.0)`` along random directions, ``r`` drawn from
  ``radius``; intensity profile ``amp * (1 - d²)``; a Poisson number per scan
  (many scans have none), so positives are a tiny fraction of voxels;
* **vessels** (hard negatives): thin bright tubes along random lines, as bright
  as nodules but elongated;
* **blobs** (hard negatives): large bright round structures, as bright as
  nodules but much larger.

Each nodule is also reported as ``(scan, centre, radius)``, the point-plus-radius
annotation of LUNA16.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from .._random import check_random_state
from .._validation import check_positive_int, check_real

__all__ = ["SyntheticScans", "make_nodule_scans", "sphere_masks"]


@dataclass(frozen=True)
class SyntheticScans:
    """Scans, voxel masks and point-plus-radius annotations.

    Attributes
    ----------
    images : numpy.ndarray of float32, shape (n_scans, *shape)
    masks : numpy.ndarray of bool, shape (n_scans, *shape)
        True nodule voxels.
    nodules : list of (int, tuple of float, float)
        ``(scan, centre, radius)`` per nodule (radius in voxels).
    """

    images: np.ndarray
    masks: np.ndarray
    nodules: list[tuple[int, tuple[float, ...], float]]


def _coords(shape: tuple[int, ...]) -> np.ndarray:
    return np.stack(np.meshgrid(*[np.arange(s, dtype=float) for s in shape], indexing="ij"), -1)


def _random_rotation(rng: np.random.Generator, ndim: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(ndim, ndim)))
    return q * np.sign(np.diag(r))


def make_nodule_scans(
    n_scans: int,
    shape: tuple[int, ...] = (128, 128),
    *,
    nodules_per_scan: float = 1.0,
    radius: tuple[float, float] = (2.0, 4.0),
    vessels_per_scan: int = 4,
    blobs_per_scan: int = 2,
    amplitude: float = 1.0,
    noise: float = 0.25,
    random_state: Any = None,
) -> SyntheticScans:
    """Generate synthetic scans with rare nodules and nodule-bright hard negatives.

    Parameters
    ----------
    n_scans : int
        Number of scans.
    shape : tuple of int
        Scan shape, 2-D ``(X, Y)`` or 3-D ``(X, Y, Z)``.
    nodules_per_scan : float
        Poisson mean of nodules per scan.
    radius : tuple of float
        Range of nodule radii in voxels.
    vessels_per_scan, blobs_per_scan : int
        Hard negatives per scan.
    amplitude : float
        Peak intensity of nodules, vessels and blobs above the background.
    noise : float
        White-noise standard deviation.
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    SyntheticScans
    """
    n = check_positive_int(n_scans, "n_scans")
    shp = tuple(int(s) for s in shape)
    if len(shp) not in (2, 3) or min(shp) < 16:
        raise ValueError(f"shape must be 2-D or 3-D with every side >= 16, got {shape}.")
    lam = check_real(nodules_per_scan, "nodules_per_scan", low=0.0)
    r_lo, r_hi = (check_real(r, "radius", low=0.5) for r in radius)
    if r_hi < r_lo:
        raise ValueError("radius must be (low, high) with low <= high.")
    amp = check_real(amplitude, "amplitude", low=0.0, low_inclusive=False)
    sd = check_real(noise, "noise", low=0.0)
    rng = check_random_state(random_state)
    ndim = len(shp)
    grid = _coords(shp)
    images = np.empty((n, *shp), np.float32)
    masks = np.zeros((n, *shp), bool)
    nodules: list[tuple[int, tuple[float, ...], float]] = []
    size = np.array(shp, dtype=float)
    for s in range(n):
        img = ndimage.gaussian_filter(rng.normal(size=shp), 6.0)
        img = 0.3 * img / (img.std() + 1e-12)
        # vessels: tubes of radius ~1-1.5 along random lines through the scan
        for _ in range(vessels_per_scan):
            p0 = rng.uniform(0, 1, ndim) * size
            u = rng.normal(size=ndim)
            u /= np.linalg.norm(u)
            rel = grid - p0
            along = rel @ u
            perp = np.sqrt(np.maximum((rel**2).sum(-1) - along**2, 0.0))
            w = rng.uniform(1.0, 1.6)
            img += amp * rng.uniform(0.8, 1.1) * np.exp(-0.5 * (perp / w) ** 2)
        # large blobs
        for _ in range(blobs_per_scan):
            c = rng.uniform(0.1, 0.9, ndim) * size
            rb = rng.uniform(8.0, 14.0)
            d2 = ((grid - c) ** 2).sum(-1) / rb**2
            img += amp * rng.uniform(0.8, 1.1) * np.clip(1 - d2, 0, None)
        # nodules
        for _ in range(rng.poisson(lam)):
            r = rng.uniform(r_lo, r_hi)
            c = rng.uniform(0.1, 0.9, ndim) * size
            rot = _random_rotation(rng, ndim)
            axes = r * rng.uniform(0.75, 1.0, ndim)
            local = (grid - c) @ rot
            d2 = ((local / axes) ** 2).sum(-1)
            inside = d2 <= 1
            img += amp * np.clip(1 - d2, 0, None)
            masks[s] |= inside
            nodules.append((s, tuple(float(v) for v in c), float(axes.mean())))
        img += sd * rng.normal(size=shp)
        images[s] = img
    return SyntheticScans(images, masks, nodules)


def sphere_masks(
    shape: tuple[int, ...], nodules: list[tuple[int, Any, float]], n_scans: int
) -> np.ndarray:
    """Masks from point-plus-radius annotations: a ball of the given radius per nodule.

    Parameters
    ----------
    shape : tuple of int
        Scan shape.
    nodules : list of (scan, centre, radius)
        Annotations (voxel units).
    n_scans : int
        Number of scans.

    Returns
    -------
    numpy.ndarray of bool, shape (n_scans, *shape)
    """
    out = np.zeros((check_positive_int(n_scans, "n_scans"), *shape), bool)
    grid = _coords(tuple(shape))
    for s, c, r in nodules:
        out[int(s)] |= ((grid - np.asarray(c, dtype=float)) ** 2).sum(-1) <= float(r) ** 2
    return out
