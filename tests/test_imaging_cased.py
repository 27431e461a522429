"""CASED sampler schedule, hard-example mining, FROC/CPM on hand-built detections, U-Net, data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from knowable.imaging import (
    CASEDSampler,
    Detection,
    UNet,
    crop_patches,
    curriculum_probability,
    detect,
    froc,
    hardest,
    make_nodule_scans,
    make_patch_pool,
    sphere_masks,
)


def test_schedule_end_points_and_geometric_decay():
    T, pe = 100, 0.02
    p = curriculum_probability(np.arange(0, 201), T, pe)
    assert p[0] == 1.0
    assert p[T] == pytest.approx(pe)
    assert np.all(p[T:] == pytest.approx(pe))
    ratios = p[1 : T + 1] / p[:T]
    np.testing.assert_allclose(ratios, pe ** (1 / T))  # constant ratio: geometric
    s = CASEDSampler(np.r_[np.ones(5, bool), np.zeros(95, bool)], 4, T, strategy="curriculum")
    assert s.p_end == pytest.approx(0.05)  # default: the pool's positive fraction
    assert s.probability(0) == 1.0 and s.probability(T) == pytest.approx(0.05)


def _branch_counts(strategy, T, seed, n_bins=10):
    pos = np.zeros(200, bool)
    pos[:10] = True
    s = CASEDSampler(pos, 1, T, strategy=strategy, p_end=0.01, random_state=seed)
    branch = np.empty(T, bool)
    for t in range(T):
        s.next_batch()
        branch[t] = s.history_[-1] == "positive"
    bins = np.array_split(np.arange(T), n_bins)
    return branch, bins


@pytest.mark.parametrize("seed", [0, 1])
def test_empirical_branch_frequency_follows_p_t(seed):
    T = 3000
    branch, bins = _branch_counts("curriculum", T, seed)
    p = curriculum_probability(np.arange(T), T, 0.01)
    obs = np.array([[branch[b].sum(), (~branch[b]).sum()] for b in bins]).ravel()
    exp = np.array([[p[b].sum(), (1 - p[b]).sum()] for b in bins]).ravel()
    # chi-square goodness of fit, 2 cells per bin, one constraint per bin
    chi2 = ((obs - exp) ** 2 / exp).sum()
    assert stats.chi2.sf(chi2, df=len(bins)) > 1e-3
    # the same test rejects a linear schedule from 1 to 0.01 (power check)
    lin = 1 - (1 - 0.01) * np.arange(T) / T
    exp_lin = np.array([[lin[b].sum(), (1 - lin[b]).sum()] for b in bins]).ravel()
    assert stats.chi2.sf(((obs - exp_lin) ** 2 / exp_lin).sum(), df=len(bins)) < 1e-6


def test_hard_miner_picks_highest_losses():
    assert hardest([0.1, 0.9, 0.5, 0.9, 0.2], 3).tolist() == [1, 3, 2]
    rng = np.random.default_rng(0)
    loss = rng.random(500)
    pos = np.zeros(500, bool)
    pos[:5] = True
    seen = {}

    def loss_fn(idx):
        seen["cand"] = idx.copy()
        return loss[idx]

    s = CASEDSampler(pos, 8, 1, strategy="cased", p_end=1e-9, n_candidates=64, random_state=1)
    s.next_batch(loss_fn)  # step 0: p = 1, positive branch
    assert s.history_ == ["positive"]
    for _ in range(5):
        batch = s.next_batch(loss_fn)
        assert s.history_[-1] == "mined"
        cand = seen["cand"]
        assert len(cand) == 64 and len(set(cand)) == 64
        rest = np.setdiff1d(cand, batch)
        assert set(batch) <= set(cand)
        assert loss[batch].min() >= loss[rest].max()
        np.testing.assert_array_equal(np.sort(loss[batch]), np.sort(loss[cand])[-8:])
    with pytest.raises(ValueError, match="loss_fn"):
        s.next_batch()


def test_baseline_strategies():
    pos = np.zeros(1000, bool)
    pos[:20] = True
    bal = CASEDSampler(pos, 10, 50, strategy="balanced", random_state=0)
    for _ in range(20):
        assert pos[bal.next_batch()].sum() == 5
    uni = CASEDSampler(pos, 100, 50, strategy="uniform", random_state=0)
    share = np.mean([pos[uni.next_batch()].mean() for _ in range(200)])
    assert share == pytest.approx(0.02, abs=0.006)
    assert set(uni.history_) == {"uniform"}
    with pytest.raises(ValueError, match="strategy"):
        CASEDSampler(pos, 10, 50, strategy="focal")


def test_froc_and_cpm_on_hand_built_detections():
    # 2 scans; 4 nodules (radius 3); detections listed with their score.
    nodules = [(0, (10, 10), 3.0), (0, (40, 40), 3.0), (1, (20, 20), 3.0), (1, (50, 10), 3.0)]
    dets = [
        Detection(0, (11.0, 10.0), 0.9),  # hit nodule 0
        Detection(0, (10.0, 12.0), 0.85),  # second hit on nodule 0: neither TP nor FP
        Detection(1, (30.0, 30.0), 0.8),  # FP
        Detection(1, (20.0, 22.9), 0.7),  # hit nodule 2 (distance 2.9)
        Detection(0, (43.5, 40.0), 0.6),  # miss (distance 3.5 > 3): FP
        Detection(1, (5.0, 5.0), 0.5),  # FP
        Detection(0, (40.0, 41.0), 0.4),  # hit nodule 1
    ]
    res = froc(dets, nodules, n_scans=2)
    # operating points after each score: FP/scan and sensitivity by hand
    np.testing.assert_allclose(res.fp_per_scan, [0, 0, 0, 0.5, 0.5, 1.0, 1.5, 1.5])
    np.testing.assert_allclose(res.sensitivity, [0, 0.25, 0.25, 0.25, 0.5, 0.5, 0.5, 0.75])
    # at 1/8 and 1/4 FP/scan: 0.25; 1/2: 0.5; 1: 0.5; 2, 4, 8: 0.75
    np.testing.assert_allclose(res.sensitivity_at, [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 0.75])
    assert res.cpm == pytest.approx((0.25 * 2 + 0.5 * 2 + 0.75 * 3) / 7)
    # anisotropic spacing: 2.9 voxels along axis 1 at 1.2 mm is 3.48 mm > 3 mm: no longer a hit
    res_mm = froc(dets, nodules, n_scans=2, spacing=(1.0, 1.2))
    assert res_mm.sensitivity[-1] == pytest.approx(0.5)
    assert froc([], nodules, 2).cpm == 0.0


def test_detect_components():
    p = np.zeros((20, 20))
    p[2:5, 2:5] = 0.6
    p[3, 3] = 0.9
    p[10:12, 14:16] = 0.7
    dets = detect(p, scan=3, threshold=0.5)
    assert len(dets) == 2 and all(d.scan == 3 for d in dets)
    by_score = sorted(dets, key=lambda d: -d.score)
    assert by_score[0].score == 0.9 and by_score[0].center == pytest.approx((3.0, 3.0))
    assert by_score[1].center == pytest.approx((10.5, 14.5))
    assert detect(p, threshold=0.95) == []


@pytest.mark.parametrize("norm", ["none", "batch", "instance"])
@pytest.mark.parametrize("dim,shape", [(2, (3, 1, 32, 32)), (3, (2, 1, 16, 16, 16))])
def test_unet_shapes_and_gradients(dim, shape, norm):
    torch.manual_seed(0)
    net = UNet(dim=dim, base_channels=4, depth=2, norm=norm)
    x = torch.randn(*shape)
    y = net(x)
    assert y.shape == x.shape
    y.mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_synthetic_scans_and_patches():
    a = make_nodule_scans(6, (64, 64), nodules_per_scan=1.5, random_state=4)
    b = make_nodule_scans(6, (64, 64), nodules_per_scan=1.5, random_state=4)
    np.testing.assert_array_equal(a.images, b.images)
    assert len(a.nodules) > 0 and 0 < a.masks.mean() < 0.02
    for s, c, _ in a.nodules:
        assert a.masks[(s, *np.rint(c).astype(int))]  # each centre lies in its mask
    spheres = sphere_masks((64, 64), a.nodules, 6)
    inter = (spheres & a.masks).sum() / a.masks.sum()
    assert inter > 0.7  # point + radius annotation overlaps the true masks
    pool = make_patch_pool((64, 64), 6, a.nodules, stride=16, n_jitter=4, random_state=0)
    assert len(pool) == 6 * 16 + 4 * len(a.nodules)
    assert pool.is_positive.sum() == 4 * len(a.nodules)
    # positive-centred patches lie within their nodule's radius (plus rounding)
    nod_c = np.repeat(np.array([c for _, c, _ in a.nodules]), 4, axis=0)
    nod_r = np.repeat(np.array([r for _, _, r in a.nodules]), 4)
    dist = np.linalg.norm(pool.centers[pool.is_positive] - nod_c, axis=1)
    assert np.all(dist <= nod_r + 0.75)
    patches = crop_patches(a.images, pool.scans, pool.centers, 16)
    assert patches.shape == (len(pool), 16, 16)
    i = 0
    s, c = pool.scans[i], pool.centers[i]
    assert patches[i][8, 8] == a.images[(s, *c)]
    corner = crop_patches(a.images, np.array([0]), np.array([[0, 0]]), 16)
    assert np.all(corner[0, :8, :] == 0)  # zero padding outside the scan
    vol = make_nodule_scans(1, (32, 32, 32), nodules_per_scan=2.0, random_state=1)
    assert vol.images.shape == (1, 32, 32, 32)


def test_3d_pipeline_end_to_end():
    """CT-like volumes: 3-D pool and patches, CASED batches, a Conv3d U-Net step, 3-D FROC."""
    shape = (24, 24, 24)
    vols = make_nodule_scans(2, shape, nodules_per_scan=2.0, radius=(2.0, 3.0), random_state=2)
    assert vols.images.shape == (2, *shape) and vols.masks.shape == (2, *shape)
    assert len(vols.nodules) > 0 and all(len(c) == 3 for _, c, _ in vols.nodules)
    for s, c, _ in vols.nodules:
        assert vols.masks[(s, *np.rint(c).astype(int))]
    pool = make_patch_pool(shape, 2, vols.nodules, stride=8, n_jitter=3, random_state=0)
    assert pool.centers.shape[1] == 3 and pool.is_positive.sum() == 3 * len(vols.nodules)
    X = torch.as_tensor(crop_patches(vols.images, pool.scans, pool.centers, 8))[:, None]
    Y = torch.as_tensor(crop_patches(vols.masks.astype(np.float32), pool.scans, pool.centers, 8))
    assert X.shape == (len(pool), 1, 8, 8, 8)
    # every positive-centred patch (centre within the radius) holds nodule voxels
    assert all(Y[i].sum() > 0 for i in np.flatnonzero(pool.is_positive))
    g = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = UNet(dim=3, base_channels=4, depth=2)
    assert any(isinstance(m, torch.nn.Conv3d) for m in net.modules())
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def loss_fn(idx):
        with torch.no_grad():
            out = net(X[idx])[:, 0]
            return bce(out, Y[idx], reduction="none").mean((1, 2, 3)).numpy()

    sampler = CASEDSampler(pool.is_positive, 4, 3, n_candidates=8, random_state=g.initial_seed())
    losses = []
    for _ in range(6):
        idx = sampler.next_batch(loss_fn)
        assert idx.shape == (4,)
        loss = bce(net(X[idx])[:, 0], Y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sampler.history_[0] == "positive" and "mined" in sampler.history_
    assert np.all(np.isfinite(losses))
    with torch.no_grad():
        prob = torch.sigmoid(net(torch.as_tensor(vols.images[:1, None]))[0, 0]).numpy()
    assert prob.shape == shape
    # 3-D detection and FROC: the true masks as a perfect probability map find every nodule
    dets = [d for s in range(2) for d in detect(vols.masks[s].astype(float), scan=s)]
    assert all(len(d.center) == 3 for d in dets)
    res = froc(dets, vols.nodules, n_scans=2, spacing=(1.0, 1.0, 1.0))
    assert res.sensitivity[-1] == pytest.approx(1.0)
