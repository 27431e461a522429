"""Hidden-confounding benchmark: coverage and width of MSM bounds at the true Λ*.

Runs on ``knowable.data.simulate_hidden_confounding`` (binary hidden
confounder, MSM holds with exactly Λ*):

1. coverage of the true CATE at Λ* and mean width for the Kallus (valid,
   conservative) and sharp bounds of ``MSMBounds`` (mixture-density ensemble,
   sorting estimator on 300 draws) and for the ``BLearner``; plus the oracle
   bounds computed from the true conditional densities (closed form);
2. the B-Learner's bound error (RMSE against the oracle sharp bounds) as n grows;
3. the speed of the O(m log m) sorting estimator against the O(m²) brute force
   at m = 2000 draws.

Usage::

    python benchmarks/hidden_confounding.py            # full: 20 seeds, n up to 16,000
    python benchmarks/hidden_confounding.py --quick    # 3 seeds, small n

Writes ``benchmarks/results/hidden_confounding[_quick].json`` and ``.md``.
The IHDP hidden-confounder variant is not implemented yet.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from scipy.special import expit

RESULTS = Path(__file__).resolve().parent / "results"


# --------------------------------------------------------------------------- oracle
def oracle_bounds(x: np.ndarray, lam: float, theta: float = 4.0) -> dict[str, np.ndarray]:
    """Oracle Kallus and sharp CATE bounds from the true p(y | x, t) (a 2-component mixture)."""
    from knowable.bounds import msm

    e = expit(0.75 * x + 0.5)
    hi = lam * e / (1 + (lam - 1) * e)
    lo = e / (lam * (1 - e) + e)
    q = np.full_like(e, 0.5) if lam == 1.0 else np.clip((e - lo) / (hi - lo), 0, 1)

    def mu(t: float, u: float) -> np.ndarray:
        s = 2 * t - 1
        return s * x + s - 2 * np.sin((4 * t - 2) * x) - (theta * u - 2) * (1 + 0.5 * x)

    out = {}
    for method, fn in (("kallus", msm.kallus_bound_mixture), ("sharp", msm.sharp_bound_mixture)):
        arms = {}
        for t in (0, 1):
            pu1 = q * hi / e if t == 1 else q * (1 - hi) / (1 - e)
            w = np.stack([1 - pu1, pu1], -1)
            loc = np.stack([mu(t, 0.0), mu(t, 1.0)], -1)
            sc = np.ones_like(loc)
            arms[t] = (
                fn(w, loc, sc, e, lam, "upper", arm=t),
                fn(w, loc, sc, e, lam, "lower", arm=t),
            )
        lower, upper = msm.cate_bounds(arms[1][0], arms[1][1], arms[0][0], arms[0][1])
        out[method] = np.stack([lower, upper])
    return out


def _set_threads() -> None:
    import torch

    torch.set_num_threads(1)


# --------------------------------------------------------------------------- jobs
def coverage_job(args: tuple[int, float, int, int]) -> dict[str, Any]:
    seed, lam_star, n_train, n_test = args
    _set_threads()
    from knowable.bounds import BLearner, MSMBounds
    from knowable.data import simulate_hidden_confounding

    train = simulate_hidden_confounding(n_train, lam_star=lam_star, random_state=1000 + seed)
    test = simulate_hidden_confounding(n_test, lam_star=lam_star, random_state=2000 + seed)
    cate = test.cate
    oracle = oracle_bounds(test.x[:, 0], lam_star)
    row: dict[str, Any] = {"seed": seed, "lam_star": lam_star}

    def record(name: str, lower: np.ndarray, upper: np.ndarray, ref: np.ndarray | None) -> None:
        row[f"{name}_coverage"] = float(np.mean((lower <= cate) & (cate <= upper)))
        row[f"{name}_width"] = float(np.mean(upper - lower))
        if ref is not None:
            err = np.concatenate([lower - ref[0], upper - ref[1]])
            row[f"{name}_rmse_vs_oracle"] = float(np.sqrt(np.mean(err**2)))

    for method in ("kallus", "sharp"):
        record(f"oracle_{method}", oracle[method][0], oracle[method][1], None)
    t0 = time.perf_counter()
    model = MSMBounds(random_state=seed).fit(train.x, train.t, train.y)
    row["msm_fit_seconds"] = time.perf_counter() - t0
    for method in ("kallus", "sharp"):
        b = model.bounds(test.x, lam_star, method=method)
        record(method, b.lower, b.upper, oracle[method])
        w = b.widened(2.0)
        record(f"{method}_ignorance", w.lower, w.upper, None)
    t0 = time.perf_counter()
    bl = BLearner(random_state=seed).fit(train.x, train.t, train.y)
    b = bl.bounds(test.x, lam_star)
    row["blearner_fit_seconds"] = time.perf_counter() - t0
    record("blearner", b.lower, b.upper, oracle["sharp"])
    return row


def scaling_job(args: tuple[int, int, float]) -> dict[str, Any]:
    n, seed, lam_star = args
    from knowable.bounds import BLearner
    from knowable.data import simulate_hidden_confounding

    train = simulate_hidden_confounding(n, lam_star=lam_star, random_state=5000 + seed)
    x_grid = np.linspace(-2, 2, 801)
    oracle = oracle_bounds(x_grid, lam_star)["sharp"]
    t0 = time.perf_counter()
    bl = BLearner(random_state=seed).fit(train.x, train.t, train.y)
    b = bl.bounds(x_grid[:, None], lam_star)
    seconds = time.perf_counter() - t0
    mse_u = float(np.mean((b.upper - oracle[1]) ** 2))
    mse_l = float(np.mean((b.lower - oracle[0]) ** 2))
    return {"n": n, "seed": seed, "mse_upper": mse_u, "mse_lower": mse_l, "seconds": seconds}


def speed_benchmark(m: int = 2000, n_units: int = 20, repeats: int = 3) -> dict[str, Any]:
    from knowable.bounds import msm

    rng = np.random.default_rng(0)
    y = rng.standard_normal((n_units, m))
    e = rng.uniform(0.1, 0.9, n_units)
    fast_t, slow_t = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fast = msm.bound_from_samples(y, e, 2.0, "upper")
        fast_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        slow = msm.bound_from_samples_bruteforce(y, e, 2.0, "upper")
        slow_t.append(time.perf_counter() - t0)
    return {
        "m": m,
        "n_units": n_units,
        "sorted_seconds": min(fast_t),
        "bruteforce_seconds": min(slow_t),
        "speedup": min(slow_t) / min(fast_t),
        "max_abs_diff": float(np.max(np.abs(fast - slow))),
    }


# --------------------------------------------------------------------------- report
def _mean_sem(values: list[float]) -> tuple[float, float]:
    a = np.asarray(values, float)
    sem = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else float("nan")
    return float(a.mean()), sem


def summarise(rows: list[dict[str, Any]], scaling: list[dict[str, Any]]) -> dict[str, Any]:
    names = ["oracle_kallus", "oracle_sharp", "kallus", "sharp", "kallus_ignorance",
             "sharp_ignorance", "blearner"]  # fmt: skip
    cov = {}
    for name in names:
        entry = {}
        for metric in ("coverage", "width", "rmse_vs_oracle"):
            key = f"{name}_{metric}"
            if key in rows[0]:
                entry[metric] = _mean_sem([r[key] for r in rows])
        cov[name] = entry
    by_n: dict[int, list[dict[str, Any]]] = {}
    for r in scaling:
        by_n.setdefault(r["n"], []).append(r)
    scale = {
        n: {
            "rmse_upper": _mean_sem([np.sqrt(r["mse_upper"]) for r in rs]),
            "rmse_lower": _mean_sem([np.sqrt(r["mse_lower"]) for r in rs]),
            "seconds": _mean_sem([r["seconds"] for r in rs]),
            "seeds": len(rs),
        }
        for n, rs in sorted(by_n.items())
    }
    return {"coverage": cov, "scaling": scale}


def markdown(summary: dict[str, Any], speed: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"# Hidden-confounding benchmark ({meta['mode']})",
        "",
        f"Command: `{meta['command']}`  ",
        f"Machine: {meta['machine']}; {meta['seconds']:.0f} s wall.",
        "",
        f"## Coverage of the true CATE at Λ* = {meta['lam_star']} "
        f"({meta['n_seeds']} seeds, n_train = {meta['n_train']}, n_test = {meta['n_test']})",
        "",
        "Mean ± s.e. over seeds. *ignorance* = bounds widened by 2 ensemble sd (Quince). "
        "RMSE is against the oracle bounds of the same kind (sharp for the B-Learner).",
        "",
        "| bounds | coverage | mean width | RMSE vs oracle |",
        "|---|---|---|---|",
    ]
    for name, entry in summary["coverage"].items():
        cells = []
        for metric in ("coverage", "width", "rmse_vs_oracle"):
            if metric in entry:
                m, s = entry[metric]
                cells.append(f"{m:.3f} ± {s:.3f}")
            else:
                cells.append("–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## B-Learner bound error against the oracle sharp bounds (Λ* = {meta['lam_star']})",
        "",
        "| n | seeds | RMSE upper | RMSE lower | seconds |",
        "|---|---|---|---|---|",
    ]
    for n, e in summary["scaling"].items():
        lines.append(
            f"| {n} | {e['seeds']} | {e['rmse_upper'][0]:.3f} ± {e['rmse_upper'][1]:.3f} | "
            f"{e['rmse_lower'][0]:.3f} ± {e['rmse_lower'][1]:.3f} | {e['seconds'][0]:.1f} |"
        )
    lines += [
        "",
        f"## Sorting estimator vs brute force (m = {speed['m']} draws, {speed['n_units']} units)",
        "",
        "| sorted (s) | brute force (s) | speed-up | max abs diff |",
        "|---|---|---|---|",
        f"| {speed['sorted_seconds']:.4f} | {speed['bruteforce_seconds']:.3f} | "
        f"{speed['speedup']:.0f}x | {speed['max_abs_diff']:.1e} |",
        "",
        "The IHDP hidden-confounder variant is not implemented yet.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 seeds and small n.")
    parser.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    parser.add_argument("--lam-star", type=float, default=2.0)
    parser.add_argument("--seeds", type=int, default=None, help="Override the number of seeds.")
    args = parser.parse_args()
    start = time.perf_counter()
    n_seeds = args.seeds or (3 if args.quick else 20)
    n_train, n_test = (1000, 500) if args.quick else (2000, 1000)
    ns = [500, 2000] if args.quick else [500, 1000, 2000, 4000, 8000, 16000]
    scaling_seeds = 2 if args.quick else 5
    cov_jobs = [(s, args.lam_star, n_train, n_test) for s in range(n_seeds)]
    scale_jobs = [(n, s, args.lam_star) for n in ns for s in range(scaling_seeds)]
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        cov_future = [pool.submit(coverage_job, j) for j in cov_jobs]
        scale_future = [pool.submit(scaling_job, j) for j in scale_jobs]
        rows = [f.result() for f in cov_future]
        scaling = [f.result() for f in scale_future]
    speed = speed_benchmark()
    summary = summarise(rows, scaling)
    mode = "quick" if args.quick else "full"
    meta = {
        "mode": mode,
        "command": "python benchmarks/hidden_confounding.py" + (" --quick" if args.quick else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {args.workers} workers",
        "lam_star": args.lam_star,
        "n_seeds": n_seeds,
        "n_train": n_train,
        "n_test": n_test,
        "seconds": time.perf_counter() - start,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "hidden_confounding" + ("_quick" if args.quick else "")
    payload = {"meta": meta, "summary": summary, "speed": speed, "rows": rows, "scaling": scaling}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=float))
    (RESULTS / f"{stem}.md").write_text(markdown(summary, speed, meta))
    print(markdown(summary, speed, meta))


if __name__ == "__main__":
    main()
