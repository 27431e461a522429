"""CASED on synthetic CT-like slices: uniform vs balanced vs curriculum vs full CASED.

Data: ``knowable.imaging.make_nodule_scans`` 2-D scans of 128 x 128 (smooth
anatomy + noise, Poisson(1) nodules of radius 2-4 per scan, four nodule-bright
vessels and two large bright blobs per scan as hard negatives; nodule pixels
≈ 0.1 % of the image). Per seed: 40 training scans and 20 test scans, drawn afresh.

Training: a 2-D U-Net (base 8 channels, 2 levels, no normalisation) on 32 x 32
patches, pixel-mean binary cross-entropy, Adam (lr 3e-3), batches of 16, the
same number of steps for every sampler. The patch pool is a stride-16 grid over
every training scan (``G_r``) plus 8 jittered patches centred on every nodule
(``G_n``). Samplers (``CASEDSampler``): ``uniform`` (uniform from ``G_r``),
``balanced`` (half ``G_n``, half negatives), ``curriculum`` (p_t decays
geometrically from 1 to the pool's positive fraction over the run) and ``cased``
(curriculum + the 16 highest-loss patches of 64 uniform candidates scored by the
current model). Ablation ``cased_point_radius``: full CASED trained on discs
from the point + radius annotations instead of the true (elliptical) masks.

Evaluation: whole-scan inference on the test scans, components of
``prob >= 0.05``, score = component maximum; FROC and CPM (mean sensitivity at
1/8 ... 8 FPs per scan; a hit is a centroid within the nodule radius).
Intervals: mean ± t(0.975, n-1) s.d. / sqrt(n) over seeds.

Usage::

    python benchmarks/cased.py            # 3 seeds, 800 steps
    python benchmarks/cased.py --quick    # 3 seeds, 300 steps

Writes ``benchmarks/results/cased[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from knowable.imaging import (
    CASEDSampler,
    UNet,
    crop_patches,
    detect,
    froc,
    make_nodule_scans,
    make_patch_pool,
    sphere_masks,
)

RESULTS = Path(__file__).resolve().parent / "results"
SHAPE = (128, 128)
PATCH, BATCH, N_TRAIN, N_TEST = 32, 16, 40, 20
STRATEGIES = ("uniform", "balanced", "curriculum", "cased", "cased_point_radius")


def run(strategy: str, seed: int, steps: int) -> dict:
    torch.set_num_threads(1)
    train = make_nodule_scans(N_TRAIN, SHAPE, random_state=1000 + seed)
    test = make_nodule_scans(N_TEST, SHAPE, random_state=2000 + seed)
    sampler_name = "cased" if strategy == "cased_point_radius" else strategy
    targets = (
        sphere_masks(SHAPE, train.nodules, N_TRAIN)
        if strategy == "cased_point_radius"
        else train.masks
    )
    pool = make_patch_pool(SHAPE, N_TRAIN, train.nodules, stride=16, n_jitter=8, random_state=seed)
    X = torch.as_tensor(crop_patches(train.images, pool.scans, pool.centers, PATCH))[:, None]
    Y = torch.as_tensor(crop_patches(targets, pool.scans, pool.centers, PATCH).astype(np.float32))[
        :, None
    ]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = UNet(base_channels=8, depth=2)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")

    def loss_fn(idx: np.ndarray) -> np.ndarray:
        net.eval()
        with torch.no_grad():
            i = torch.as_tensor(idx)
            out = bce(net(X[i]), Y[i]).mean(dim=(1, 2, 3)).numpy()
        net.train()
        return out

    sampler = CASEDSampler(
        pool.is_positive, BATCH, steps, strategy=sampler_name, n_candidates=64, random_state=seed
    )
    t0 = time.perf_counter()
    net.train()
    for _ in range(steps):
        idx = torch.as_tensor(sampler.next_batch(loss_fn if sampler_name == "cased" else None))
        loss = bce(net(X[idx]), Y[idx]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        prob = torch.sigmoid(net(torch.as_tensor(test.images)[:, None]))[:, 0].numpy()
    dets = [d for s in range(N_TEST) for d in detect(prob[s], s, threshold=0.05)]
    res = froc(dets, test.nodules, N_TEST)
    pred = prob >= 0.5
    dice = 2 * (pred & test.masks).sum() / max(pred.sum() + test.masks.sum(), 1)
    shares = {b: sampler.history_.count(b) / steps for b in set(sampler.history_)}
    return {
        "strategy": strategy,
        "seed": seed,
        "cpm": res.cpm,
        "sensitivity_at": res.sensitivity_at.tolist(),
        "max_sensitivity": float(res.sensitivity.max()),
        "n_detections": len(dets),
        "n_test_nodules": len(test.nodules),
        "pixel_dice_at_0.5": float(dice),
        "train_seconds": train_s,
        "branch_shares": shares,
        "positive_fraction_of_pool": float(pool.is_positive.mean()),
    }


def _interval(v: np.ndarray) -> tuple[float, float, float]:
    m = float(v.mean())
    if v.size < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return m, m - h, m + h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    args = ap.parse_args()
    n_seeds = args.seeds or 3
    steps = args.steps or (300 if args.quick else 800)
    rows = []
    for seed in range(n_seeds):
        for strategy in STRATEGIES:
            r = run(strategy, seed, steps)
            rows.append(r)
            print(
                f"{strategy:20s} seed {seed}: CPM {r['cpm']:.3f} ({r['train_seconds']:.0f} s)",
                flush=True,
            )
    cmd = "python benchmarks/cased.py" + (" --quick" if args.quick else "")
    if args.seeds:
        cmd += f" --seeds {args.seeds}"
    if args.steps:
        cmd += f" --steps {args.steps}"
    summary = {}
    for s in STRATEGIES:
        v = np.array([r["cpm"] for r in rows if r["strategy"] == s])
        sens = np.array([r["sensitivity_at"] for r in rows if r["strategy"] == s])
        summary[s] = {
            "cpm": _interval(v),
            "cpm_per_seed": v.tolist(),
            "sensitivity_at_mean": sens.mean(0).tolist(),
        }
    # paired differences against uniform and curriculum (same data per seed)
    paired = {}
    for a, b in (
        ("cased", "uniform"),
        ("cased", "balanced"),
        ("cased", "curriculum"),
        ("curriculum", "uniform"),
        ("cased_point_radius", "cased"),
    ):
        va = np.array([r["cpm"] for r in rows if r["strategy"] == a])
        vb = np.array([r["cpm"] for r in rows if r["strategy"] == b])
        paired[f"{a} - {b}"] = _interval(va - vb)
    res = {
        "command": cmd,
        "steps": steps,
        "seeds": n_seeds,
        "rows": rows,
        "summary": summary,
        "paired": paired,
    }
    RESULTS.mkdir(exist_ok=True)
    tag = "cased" + ("_quick" if args.quick else "")
    (RESULTS / f"{tag}.json").write_text(json.dumps(res, indent=2))
    lines = [
        f"# CASED on synthetic CT-like slices ({n_seeds} seeds, {steps} steps of {BATCH} patches)",
        "",
        f"`{cmd}`. CPM = mean sensitivity at 1/8 ... 8 FPs/scan on {N_TEST} fresh test scans per seed;"
        " 95 % t-intervals over seeds.",
        "",
        "| sampler | CPM mean [95 % CI] | per seed | sens. @1/8 | @1 | @8 |",
        "|---|---|---|---|---|---|",
    ]
    for s in STRATEGIES:
        m, lo, hi = summary[s]["cpm"]
        sa = summary[s]["sensitivity_at_mean"]
        per = ", ".join(f"{x:.3f}" for x in summary[s]["cpm_per_seed"])
        lines.append(
            f"| {s} | {m:.3f} [{lo:.3f}, {hi:.3f}] | {per} | {sa[0]:.3f} | {sa[3]:.3f} | {sa[6]:.3f} |"
        )
    lines += [
        "",
        "Paired CPM differences (same data and seed):",
        "",
        "| difference | mean [95 % CI] |",
        "|---|---|",
    ]
    for k, (m, lo, hi) in paired.items():
        lines.append(f"| {k} | {m:+.3f} [{lo:+.3f}, {hi:+.3f}] |")
    (RESULTS / f"{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
