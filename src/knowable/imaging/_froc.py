"""Detection from probability maps, FROC and the LUNA16 competition performance metric (CPM).

Rules (LUNA16 style as summarised in our notes): a detection is a **hit** when
its centroid lies within a nodule's radius (distance <= radius, in mm when a
spacing is given); several hits on one nodule count once and the extra ones are
neither true nor false positives; a detection that hits no nodule is a false
positive. Sweeping the score threshold gives the FROC curve (sensitivity vs
false positives per scan). CPM = mean sensitivity at 1/8, 1/4, 1/2, 1, 2, 4, 8
FPs per scan, where the sensitivity at rate ``r`` is that of the lowest
threshold whose FP/scan is ``<= r`` (a step function; the official LUNA16
script interpolates the curve instead, which can only give equal or higher
values between operating points).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from .._validation import check_positive_int, check_real

__all__ = ["CPM_FP_RATES", "Detection", "FROCResult", "cpm", "detect", "froc"]

CPM_FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class Detection:
    """One candidate detection.

    Attributes
    ----------
    scan : int
        Scan index.
    center : tuple of float
        Centroid in voxel coordinates.
    score : float
        Confidence (higher = more likely a nodule).
    """

    scan: int
    center: tuple[float, ...]
    score: float


def detect(prob: Any, scan: int = 0, *, threshold: float = 0.5) -> list[Detection]:
    """Threshold a probability map and return one detection per connected component.

    Parameters
    ----------
    prob : array-like of float, shape (X, Y) or (X, Y, Z)
        Voxel probabilities.
    scan : int
        Scan index written into the detections.
    threshold : float
        Voxels with ``prob >= threshold`` form the components (face connectivity).

    Returns
    -------
    list of Detection
        Centroid = probability-weighted centre of mass; score = the component's
        maximum probability.
    """
    p = np.asarray(prob, dtype=float)
    if p.ndim not in (2, 3):
        raise ValueError(f"prob must be a 2-D or 3-D map, got shape {p.shape}.")
    thr = check_real(threshold, "threshold")
    lab, n = ndimage.label(p >= thr)
    if n == 0:
        return []
    ids = np.arange(1, n + 1)
    centers = ndimage.center_of_mass(p, lab, ids)
    scores = ndimage.maximum(p, lab, ids)
    return [
        Detection(int(scan), tuple(float(c) for c in ctr), float(s))
        for ctr, s in zip(centers, scores, strict=True)
    ]


@dataclass(frozen=True)
class FROCResult:
    """FROC curve and CPM.

    Attributes
    ----------
    fp_per_scan : numpy.ndarray of shape (m,)
        False positives per scan at each operating point (thresholds descending).
    sensitivity : numpy.ndarray of shape (m,)
        Fraction of nodules hit at each operating point.
    thresholds : numpy.ndarray of shape (m,)
        Score thresholds (detections with score >= threshold kept).
    sensitivity_at : numpy.ndarray of shape (len(fp_rates),)
        Sensitivity at each of ``fp_rates``.
    fp_rates : tuple of float
        The FP/scan rates.
    cpm : float
        Mean of ``sensitivity_at``.
    """

    fp_per_scan: np.ndarray
    sensitivity: np.ndarray
    thresholds: np.ndarray
    sensitivity_at: np.ndarray
    fp_rates: tuple[float, ...]
    cpm: float


def froc(
    detections: list[Detection],
    nodules: list[tuple[int, Any, float]],
    n_scans: int,
    *,
    spacing: Any = None,
    fp_rates: tuple[float, ...] = CPM_FP_RATES,
) -> FROCResult:
    """FROC curve and CPM of detections against nodules.

    Parameters
    ----------
    detections : list of Detection
        All candidates of all scans.
    nodules : list of (scan, center, radius)
        Ground-truth nodules: scan index, centre in voxel coordinates, radius
        (mm when ``spacing`` is given, else voxels).
    n_scans : int
        Number of scans evaluated (the FP/scan denominator).
    spacing : array-like of float, shape (ndim,), optional
        Voxel size in mm for the hit distance (default 1).
    fp_rates : tuple of float
        FP/scan rates averaged by the CPM.

    Returns
    -------
    FROCResult
    """
    ns = check_positive_int(n_scans, "n_scans")
    if not nodules:
        raise ValueError("nodules is empty; sensitivity is undefined without nodules.")
    ndim = len(np.atleast_1d(nodules[0][1]))
    sp = np.ones(ndim) if spacing is None else np.asarray(spacing, dtype=float)
    nod_scan = np.array([int(s) for s, _, _ in nodules])
    nod_c = np.array([np.asarray(c, dtype=float) for _, c, _ in nodules]).reshape(-1, ndim)
    nod_r = np.array([float(r) for _, _, r in nodules])
    order = sorted(range(len(detections)), key=lambda i: -detections[i].score)
    hit_first: dict[int, int] = {}  # nodule -> rank of its first hit
    is_fp = np.zeros(len(order), dtype=bool)
    scores = np.array([detections[i].score for i in order])
    for rank, i in enumerate(order):
        d = detections[i]
        same = np.flatnonzero(nod_scan == d.scan)
        hit = False
        if same.size:
            dist = np.sqrt((((nod_c[same] - np.asarray(d.center)) * sp) ** 2).sum(-1))
            inside = same[dist <= nod_r[same]]
            hit = inside.size > 0
            for j in inside:
                hit_first.setdefault(int(j), rank)
        is_fp[rank] = not hit
    # operating points: after each distinct score (all detections with that score kept)
    if scores.size:
        last_of_score = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    else:
        last_of_score = np.zeros(0, dtype=int)
    cum_fp = np.cumsum(is_fp)
    first_hits = np.array(sorted(hit_first.values()), dtype=int)
    fps = np.concatenate([[0.0], cum_fp[last_of_score] / ns])
    sens = np.concatenate(
        [[0.0], np.searchsorted(first_hits, last_of_score, side="right") / len(nodules)]
    )
    thr = np.concatenate([[np.inf], scores[last_of_score]])
    rates = tuple(float(r) for r in fp_rates)
    at = np.array([sens[fps <= r].max() for r in rates])
    return FROCResult(fps, sens, thr, at, rates, float(at.mean()))


def cpm(
    detections: list[Detection],
    nodules: list[tuple[int, Any, float]],
    n_scans: int,
    *,
    spacing: Any = None,
) -> float:
    """Competition performance metric: mean sensitivity at 1/8 ... 8 FPs per scan.

    Parameters
    ----------
    detections : list of Detection
        All candidates.
    nodules : list of (scan, center, radius)
        Ground truth.
    n_scans : int
        Scans evaluated.
    spacing : array-like of float, optional
        Voxel size in mm.

    Returns
    -------
    float
    """
    return froc(detections, nodules, n_scans, spacing=spacing).cpm
