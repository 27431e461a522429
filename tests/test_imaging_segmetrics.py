"""BraTS segmentation metrics: closed forms on spheres/ellipsoids, empty masks, cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from knowable.imaging import (
    brats_regions,
    dice,
    hausdorff,
    image_diagonal,
    segmentation_metrics,
    sensitivity,
    specificity,
    surface_distances,
)


def ellipsoid(shape, spacing, center, axes):
    grids = np.meshgrid(
        *[np.arange(n) * s for n, s in zip(shape, spacing, strict=True)], indexing="ij"
    )
    return sum(((g - c) / a) ** 2 for g, c, a in zip(grids, center, axes, strict=True)) <= 1


def sphere_dice(r, d):
    """Dice of two balls of radius r whose centres are d apart (lens volume)."""
    lens = np.pi * (4 * r + d) * (2 * r - d) ** 2 / 12
    return lens / (4 / 3 * np.pi * r**3)


def sphere_hd(r, d, q):
    """Directed q-th percentile distance between sphere surfaces shifted by d.

    On a sphere cos(theta) is uniform on [-1, 1] under surface area, and the distance
    from the point at angle theta to the shifted sphere, sqrt(r^2 + d^2 - 2 r d cos) - r,
    decreases in cos, so the q-quantile sits at cos = 1 - 2 q.
    """
    c = 1 - 2 * q / 100
    return np.sqrt(r * r + d * d - 2 * r * d * c) - r


SPACINGS = [(1.0, 1.0, 1.0), (0.8, 1.0, 1.5)]


@pytest.mark.parametrize("spacing", SPACINGS)
@pytest.mark.parametrize("d", [2.0, 5.0])
def test_sphere_dice_and_hd95_match_closed_forms(spacing, d):
    r = 10.0
    shape = tuple(int(40 / s) for s in spacing)
    a = ellipsoid(shape, spacing, (20, 20, 20), (r, r, r))
    b = ellipsoid(shape, spacing, (20 + d, 20, 20), (r, r, r))
    assert dice(a, b) == pytest.approx(sphere_dice(r, d), abs=0.01)
    tol = max(spacing) / 2 + 0.05
    for surface in ("voxel", "surfel"):
        for definition in ("max-directed", "pooled"):
            hd = hausdorff(a, b, spacing, surface=surface, definition=definition)
            assert hd == pytest.approx(sphere_hd(r, d, 95), abs=tol)
        assert hausdorff(a, b, spacing, percentile=100, surface=surface) == pytest.approx(
            d, abs=tol
        )


def test_ellipsoid_dice_reduces_to_unit_sphere():
    # x -> x / a maps the ellipsoid pair to unit balls shifted by d / a.
    spacing = (0.5, 1.0, 1.0)
    axes = (12.0, 8.0, 6.0)
    d = 4.0
    shape = (80, 30, 30)
    a = ellipsoid(shape, spacing, (20, 15, 15), axes)
    b = ellipsoid(shape, spacing, (20 + d, 15, 15), axes)
    assert dice(a, b) == pytest.approx(sphere_dice(1.0, d / axes[0]), abs=0.01)


def test_integer_shift_of_a_box_is_exact():
    a = np.zeros((20, 20, 20), bool)
    a[5:12, 5:12, 5:12] = True
    b = np.roll(a, 3, axis=2)
    spacing = (1.0, 2.0, 0.7)
    assert dice(a, b) == pytest.approx(2 * 7 * 7 * 4 / (2 * 343))
    assert hausdorff(a, b, spacing, percentile=100) == pytest.approx(3 * 0.7)
    assert sensitivity(a, b) == pytest.approx(4 / 7)
    assert specificity(a, b) == pytest.approx(1 - 3 * 49 / (8000 - 343))


def test_empty_mask_conventions():
    e = np.zeros((240, 240, 155), bool)
    f = e.copy()
    f[100:110, 100:110, 70:80] = True
    assert dice(e, e) == 1.0
    assert hausdorff(e, e) == 0.0
    assert dice(e, f) == 0.0 and dice(f, e) == 0.0
    assert hausdorff(e, f) == pytest.approx(373.13, abs=0.01)  # the BraTS table value
    assert hausdorff(f, e, (1, 1, 2)) == pytest.approx(image_diagonal(e.shape, (1, 1, 2)))
    assert hausdorff(f, e, empty_penalty=50.0) == 50.0
    assert sensitivity(f, e) == 1.0 and sensitivity(e, f) == 0.0
    assert specificity(e, f) == 1.0
    sd = surface_distances(e, e)
    assert sd.pred_to_truth.size == 0 and sd.truth_to_pred.size == 0


def test_regions_follow_brats_labels():
    lab = np.array([[0, 1, 2, 4], [0, 1, 2, 4]])
    reg = brats_regions(lab)
    assert reg["WT"][0].tolist() == [False, True, True, True]
    assert reg["TC"][0].tolist() == [False, True, False, True]
    assert reg["ET"][0].tolist() == [False, False, False, True]
    with pytest.raises(ValueError, match="outside the BraTS set"):
        brats_regions(lab + 5)
    m = segmentation_metrics(lab, lab)
    assert set(m) == {"WT", "TC", "ET"}
    assert all(v["dice"] == 1.0 and v["hd95"] == 0.0 for v in m.values())


def test_input_errors_are_clear():
    with pytest.raises(ValueError, match="resample"):
        dice(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="spacing"):
        hausdorff(np.ones((3, 3)), np.ones((3, 3)), (1.0, -1.0))
    with pytest.raises(ValueError, match="definition"):
        hausdorff(np.ones((3, 3)), np.ones((3, 3)), definition="mean")


masks2d = st.integers(0, 2**31 - 1).map(
    lambda s: ndimage.gaussian_filter(np.random.default_rng(s).normal(size=(24, 24)), 2) > 0.05
)


@settings(max_examples=30, deadline=None)
@given(masks2d, masks2d, st.sampled_from(["voxel", "surfel"]))
def test_symmetry_and_ordering(a, b, surface):
    assert dice(a, b) == pytest.approx(dice(b, a))
    assert 0.0 <= dice(a, b) <= 1.0
    for definition in ("max-directed", "pooled"):
        h50 = hausdorff(a, b, (1.0, 1.3), percentile=50, surface=surface, definition=definition)
        h95 = hausdorff(a, b, (1.0, 1.3), percentile=95, surface=surface, definition=definition)
        h100 = hausdorff(a, b, (1.0, 1.3), percentile=100, surface=surface, definition=definition)
        assert h50 <= h95 <= h100
        assert h95 == pytest.approx(
            hausdorff(b, a, (1.0, 1.3), surface=surface, definition=definition)
        )
    # pooled percentile never exceeds the larger directed one
    assert (
        hausdorff(a, b, surface=surface, definition="pooled")
        <= hausdorff(a, b, surface=surface) + 1e-12
    )


def _blobs(seed, shape, sigma, thr):
    return ndimage.gaussian_filter(np.random.default_rng(seed).normal(size=shape), sigma) > thr


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("shape,spacing", [((40, 36), (1.0, 0.6)), ((24, 20, 16), (1.2, 0.9, 2.5))])
def test_surfel_mode_agrees_with_surface_distance(seed, shape, spacing):
    sdist = pytest.importorskip(
        "surface_distance", reason="needs the surface-distance package (test-only cross-check)"
    )
    a = _blobs(seed, shape, 2.0, 0.05)
    b = _blobs(seed + 100, shape, 2.0, 0.05)
    ref = sdist.compute_surface_distances(a, b, spacing)  # (gt, pred) = (a, b)
    ours = surface_distances(b, a, spacing, surface="surfel")
    for d, w, rd, rw in (
        (ours.truth_to_pred, ours.truth_weights, "distances_gt_to_pred", "surfel_areas_gt"),
        (ours.pred_to_truth, ours.pred_weights, "distances_pred_to_gt", "surfel_areas_pred"),
    ):
        order = np.lexsort((w, d))
        np.testing.assert_allclose(d[order], ref[rd], atol=1e-6)
        np.testing.assert_allclose(w[order], ref[rw], atol=1e-6)
    for q in (50, 95, 100):
        assert hausdorff(b, a, spacing, percentile=q, surface="surfel") == pytest.approx(
            sdist.compute_robust_hausdorff(ref, q), abs=1e-6
        )
    assert dice(a, b) == pytest.approx(sdist.compute_dice_coefficient(a, b), abs=1e-6)
