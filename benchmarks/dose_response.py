"""Dose-response benchmark: curve error, epistemic band coverage and CMSM bound coverage.

Runs ``knowable.effects.DoseResponse`` (appended-treatment mixture-density
ensemble, or DUE with ``--uncertainty``) and ``knowable.bounds.ContinuousMSMBounds`` on
``knowable.data.simulate_dose_response`` (Overcast's task; hidden binary
confounder, true Λ* = 2.639 at γ_t = 0.3). For every seed and n:

* integrated squared error (mean over the grid) of the estimated curve against
  the true APO(t) = mean_i g(x_i, t, u_i), and against the *identified* curve
  mean_i E[Y | x_i, t] (what an unconfounded estimator converges to; it differs
  from the causal curve because of the hidden confounder);
* coverage of the true curve by the epistemic band (normal 95 %, from the draws);
* coverage of the true curve by the CMSM bounds at the true Λ*, for the
  Overcast (valid, conservative) and sharp estimators, their mean width, and
  ``max |bound(Λ = 1) − point curve|`` (must be 0);
* the same coverage for *oracle* bounds computed in closed form from the true
  conditional density p(y | x, t) (a two-component Gaussian mixture), as a
  check of the estimator's validity independent of the fit.

The grid is the 50 treatment values {0.01, 0.03, ..., 0.99} (on the
simulator's lattice, so the identified curve is exact); the curve is averaged
over a fixed evaluation subset of at most 1,000 training units (the truth is
the same subset's sample APO). Coverage is also reported on the central part
t ∈ [0.05, 0.95] of the grid, where the treatment density is not vanishing.

``--scale`` fits on 100,000 units and computes both bounds on a 50-point grid
over all 100,000 units (chunked), reporting wall time and peak RSS.

Usage::

    python benchmarks/dose_response.py            # 10 seeds at n = 1k, 4k; 3 at 16k
    python benchmarks/dose_response.py --quick    # 2 seeds, n = 500, 1k, small ensembles
    python benchmarks/dose_response.py --scale    # 100k units, time and memory
    python benchmarks/dose_response.py --uncertainty ensemble,due --seeds 3 --large-seeds 0

Writes ``benchmarks/results/dose_response[_quick|_scale].json`` and ``.md``;
every uncertainty other than the ensemble adds its name to the file names
(``dose_response_due[_quick|_unconfounded].md``), so a DUE run does not overwrite the
ensemble results. Each finished (seed, n, uncertainty) is one JSON file in
``dose_response{tag}.jobs/`` (:func:`knowable.parallel.run_jobs`): a re-run on the
same library code resumes, ``--fresh`` starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from knowable.parallel import add_runner_arguments, run_jobs, runner_options

RESULTS = Path(__file__).resolve().parent / "results"
GRID = np.round(np.arange(0.01, 1.0, 0.02), 2)  # 50 values on the simulator's lattice
CENTRAL = (GRID >= 0.05) & (GRID <= 0.95)
N_EVAL = 1000


def _model_params(n: int, quick: bool, uncertainty: str = "ensemble") -> dict[str, Any]:
    if uncertainty == "due":  # one deep-kernel GP with 100 function draws
        return {
            "uncertainty": "due",
            "n_draws": 100,
            "max_epochs": 20 if quick else 60 if n < 50_000 else 20,
            "batch_size": 128 if n < 50_000 else 512,
            "patience": 5 if quick or n >= 50_000 else 10,
        }
    if quick:
        return {"n_members": 3, "max_epochs": 20, "batch_size": 128, "patience": 5}
    return {
        "n_members": 5,
        "max_epochs": 60 if n < 50_000 else 20,
        "batch_size": 128 if n < 50_000 else 512,
        "patience": 10 if n < 50_000 else 5,
    }


def _common_params() -> dict[str, Any]:
    return {"hidden_size": 64, "head_hidden_size": 64, "n_components": 10, "device": "cpu"}


# --------------------------------------------------------------------------- truth
def _posterior_u(x: np.ndarray, t: np.ndarray, gamma_t: float) -> np.ndarray:
    """p(u = 1 | x, t) on the lattice (u ~ Bern(1/2) independent of x)."""
    from scipy.stats import betabinom

    k = np.round(t * 100)
    f0 = betabinom.pmf(k, 100, x, 1.0)
    f1 = betabinom.pmf(k, 100, x + gamma_t, 1.0)
    return f1 / (f0 + f1)


def _g(x: np.ndarray, t: np.ndarray, u: Any, gamma_y: float) -> np.ndarray:
    return t + x * np.exp(-x * t) - gamma_y * (u - 0.5) * (0.5 * x + 1.0)


def identified_curve(x: np.ndarray, grid: np.ndarray, gamma_t: float, gamma_y: float) -> np.ndarray:
    """mean_i E[Y | x_i, t] for each t of the grid."""
    xx, tt = x[:, None], grid[None, :]
    p1 = _posterior_u(xx, tt, gamma_t)
    return ((1 - p1) * _g(xx, tt, 0.0, gamma_y) + p1 * _g(xx, tt, 1.0, gamma_y)).mean(0)


def oracle_bounds(
    x: np.ndarray, grid: np.ndarray, lam: float, gamma_t: float, gamma_y: float, sigma: float
) -> dict[str, np.ndarray]:
    """Population CMSM bounds (overcast, sharp) averaged over units, from the true p(y | x, t).

    The CMSM bound is the binary MSM bound in the limit e_t -> 0 (α' -> 1/(Λ² − 1),
    sharp offset -> (1 − 1/Λ)(CVaR − μ)); e_t = 1e-12 is used in the closed forms.
    """
    from knowable.bounds import msm

    xx, tt = x[:, None], grid[None, :]
    p1 = _posterior_u(xx, tt, gamma_t)
    w = np.stack([1 - p1, p1], -1)
    loc = np.stack([_g(xx, tt, 0.0, gamma_y), _g(xx, tt, 1.0, gamma_y)], -1)
    sc = np.full_like(loc, sigma)
    out = {}
    for name, fn in (("overcast", msm.kallus_bound_mixture), ("sharp", msm.sharp_bound_mixture)):
        hi = fn(w, loc, sc, 1e-12, lam, "upper").mean(0)
        lo = fn(w, loc, sc, 1e-12, lam, "lower").mean(0)
        out[name] = np.stack([lo, hi])
    return out


# --------------------------------------------------------------------------- jobs
def _set_threads() -> None:
    import torch

    torch.set_num_threads(1)


def seed_job(args: tuple[int, int, bool, float, float, str]) -> dict[str, Any]:
    seed, n, quick, gamma_t, gamma_y, uncertainty = args
    _set_threads()
    from knowable.bounds import ContinuousMSMBounds
    from knowable.data import simulate_dose_response
    from knowable.effects import DoseResponse

    sigma = 0.2
    ds = simulate_dose_response(n, gamma_t=gamma_t, gamma_y=gamma_y, random_state=seed)
    lam_star = float(ds.truth["lambda_star"])
    t0 = time.perf_counter()
    params = _model_params(n, quick, uncertainty)
    model = DoseResponse(random_state=seed, **params, **_common_params())
    model.fit(ds.x, ds.t, ds.y)
    fit_s = time.perf_counter() - t0
    lo_t, hi_t = model.t_range_
    inside = (lo_t <= GRID) & (hi_t >= GRID)
    grid = GRID[inside]
    idx = np.random.default_rng(seed + 10_000).permutation(n)[: min(n, N_EVAL)]
    ev = ds.subset(idx)
    x_eval = ev.x
    truth = ev.truth["apo"](grid)
    ident = identified_curve(x_eval[:, 0], grid, gamma_t, gamma_y)
    curve = model.dose_response(grid, x_eval)
    t1 = time.perf_counter()
    bounds = ContinuousMSMBounds(model, n_samples=100, random_state=seed).dose_response_all(
        grid, [1.0, lam_star], x_eval
    )
    bound_s = time.perf_counter() - t1
    oracle = oracle_bounds(x_eval[:, 0], grid, lam_star, gamma_t, gamma_y, sigma)
    central = CENTRAL[inside]

    def cov(lo: np.ndarray, hi: np.ndarray, target: np.ndarray, mask: Any = slice(None)) -> float:
        return float(np.mean((lo[mask] <= target[mask]) & (target[mask] <= hi[mask])))

    row: dict[str, Any] = {
        "seed": seed,
        "n": n,
        "uncertainty": uncertainty,
        "lambda_star": lam_star,
        "gamma_t": gamma_t,
        "gamma_y": gamma_y,
        "grid_points": int(grid.size),
        "fit_s": fit_s,
        "bounds_s": bound_s,
        "epochs": [len(h.train_loss) for h in model.history_],
        "ise": float(np.mean((curve.mean - truth) ** 2)),
        "ise_identified": float(np.mean((curve.mean - ident) ** 2)),
        "confounding_gap_sq": float(np.mean((ident - truth) ** 2)),
        "band_cov": cov(curve.lower, curve.upper, truth),
        "band_cov_identified": cov(curve.lower, curve.upper, ident),
        "band_width": float(np.mean(curve.upper - curve.lower)),
    }
    for name, b in bounds.items():
        row[f"{name}_lam1_maxdiff"] = float(
            max(np.abs(b.lower[0] - b.point).max(), np.abs(b.upper[0] - b.point).max())
        )
        row[f"{name}_cov"] = cov(b.lower[1], b.upper[1], truth)
        row[f"{name}_cov_central"] = cov(b.lower[1], b.upper[1], truth, central)
        blo, bhi = b.band()
        row[f"{name}_band_cov"] = cov(blo[1], bhi[1], truth)
        row[f"{name}_width"] = float(np.mean(b.upper[1] - b.lower[1]))
        o = oracle[name]
        row[f"oracle_{name}_cov"] = cov(o[0], o[1], truth)
        row[f"oracle_{name}_width"] = float(np.mean(o[1] - o[0]))
    row["sharp_inside_overcast"] = bool(
        (bounds["sharp"].member_lower >= bounds["overcast"].member_lower - 1e-9).all()
        and (bounds["sharp"].member_upper <= bounds["overcast"].member_upper + 1e-9).all()
    )
    print(
        f"{uncertainty} seed {seed} n {n}: ise {row['ise']:.5f} cov {row['overcast_cov']:.2f}/"
        f"{row['sharp_cov']:.2f} fit {fit_s:.0f}s bounds {bound_s:.0f}s",
        flush=True,
    )
    return row


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    skip = {"lambda_star", "gamma_t", "gamma_y"}
    keys = [k for k, v in rows[0].items() if isinstance(v, float) and k not in skip]
    groups = sorted({(r.get("uncertainty", "ensemble"), r["n"]) for r in rows})
    for uncertainty, n in groups:
        sub = [r for r in rows if r["n"] == n and r.get("uncertainty", "ensemble") == uncertainty]
        s: dict[str, Any] = {"uncertainty": uncertainty, "n": n, "seeds": len(sub)}
        for k in keys:
            vals = np.array([r[k] for r in sub])
            s[k] = float(vals.mean())
            s[k + "_se"] = float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else 0.0
        s["sharp_inside_overcast_all"] = all(r["sharp_inside_overcast"] for r in sub)
        out.append(s)
    return out


def markdown(summary: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"# Dose-response benchmark (`simulate_dose_response`, γ_t = {meta['gamma_t']}, "
        f"γ_y = {meta['gamma_y']}, Λ* = {meta['lambda_star']:.3f})",
        "",
        f"Command: `{meta['command']}`; {meta['machine']}; wall {meta['wall_s']:.0f} s "
        "(machine shared with other jobs: times are indicative only).",
        "",
        "Mean ± s.e. over seeds. ISE = mean over the 50-point grid {0.01, …, 0.99} of the squared "
        "error of the estimated APO curve. Coverage = fraction of grid points where the true "
        "APO lies inside the interval (central = t ∈ [0.05, 0.95]).",
        "",
        "| uncertainty | n | seeds | ISE vs true APO | ISE vs identified curve | confounding gap² | "
        "band cov. (true) | band cov. (identified) | band width | overcast cov. @Λ* | overcast central | "
        "sharp cov. @Λ* | sharp central | width overcast / sharp | oracle cov. overcast / "
        "sharp | max abs(bound(Λ=1) − point) | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {s.get('uncertainty', 'ensemble')} | {s['n']:,} | {s['seeds']} | {s['ise']:.5f} ± {s['ise_se']:.5f} | "
            f"{s['ise_identified']:.5f} ± {s['ise_identified_se']:.5f} | "
            f"{s['confounding_gap_sq']:.5f} | {s['band_cov']:.3f} | "
            f"{s['band_cov_identified']:.3f} | {s.get('band_width', float('nan')):.3f} | "
            f"{s['overcast_cov']:.3f} ± {s['overcast_cov_se']:.3f} | "
            f"{s['overcast_cov_central']:.3f} | {s['sharp_cov']:.3f} ± {s['sharp_cov_se']:.3f} | "
            f"{s['sharp_cov_central']:.3f} | {s['overcast_width']:.3f} / {s['sharp_width']:.3f} | "
            f"{s['oracle_overcast_cov']:.3f} / {s['oracle_sharp_cov']:.3f} | "
            f"{max(s['overcast_lam1_maxdiff'], s['sharp_lam1_maxdiff']):.1e} | {s['fit_s']:.0f} |"
        )
    lines += [
        "",
        "sharp ⊆ overcast for every member, Λ and grid value in every run: "
        + str(all(s["sharp_inside_overcast_all"] for s in summary)),
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- scale
def scale_run(n: int, device: str = "cpu") -> dict[str, Any]:
    """Fit, curve and both bounds at four Λ on ``n`` units, timed; ``device`` trains the model."""
    _set_threads()
    import torch

    from knowable.bounds import ContinuousMSMBounds
    from knowable.data import simulate_dose_response
    from knowable.effects import DoseResponse

    ds = simulate_dose_response(n, random_state=0)
    grid = np.linspace(ds.t.min(), ds.t.max(), 50)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_start = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    params = {**_model_params(n, False), "n_members": 3}  # 3 members: the 2-core budget
    on_gpu = device.startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    model = DoseResponse(random_state=0, **params, **{**_common_params(), "device": device})
    model.fit(ds.x, ds.t, ds.y)
    fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t1, c1 = time.perf_counter(), time.process_time()
    curve = model.dose_response(grid)
    curve_s, curve_cpu = time.perf_counter() - t1, time.process_time() - c1
    t2, c2 = time.perf_counter(), time.process_time()
    bounds = ContinuousMSMBounds(model, n_samples=100, random_state=0).dose_response_all(
        grid, [1.0, 1.2, 1.6, float(ds.truth["lambda_star"])]
    )
    bounds_s, bounds_cpu = time.perf_counter() - t2, time.process_time() - c2
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    truth = ds.truth["apo"](grid)
    b = bounds["overcast"]
    gpu = {"peak_gpu_mib": torch.cuda.max_memory_allocated() / 2**20} if on_gpu else {}
    return {
        **gpu,
        "n": n,
        "device": device,
        "grid_points": int(grid.size),
        "lambdas": [float(v) for v in b.lam],
        "n_members": model.resolved_params_["n_members"],
        "epochs": [len(h.train_loss) for h in model.history_],
        "fit_s": fit_s,
        "curve_s": curve_s,
        "bounds_both_methods_s": bounds_s,
        "total_s": fit_s + curve_s + bounds_s,
        "cpu_s": {"fit": fit_cpu, "curve": curve_cpu, "bounds_both_methods": bounds_cpu},
        "load_average_1_5_15": {"start": list(load_start), "end": list(os.getloadavg())},
        "peak_rss_mib_start": rss0,
        "peak_rss_mib_after_fit": rss_fit,
        "peak_rss_mib_end": rss_end,
        "ise": float(np.mean((curve.mean - truth) ** 2)),
        "overcast_cov_lambda_star": float(np.mean((b.lower[-1] <= truth) & (truth <= b.upper[-1]))),
    }


def scale_markdown(r: dict[str, Any], meta: dict[str, Any]) -> str:
    return "\n".join(
        [
            "# Dose-response at scale (100,000 units, 2-core machine)",
            "",
            f"Command: `{meta['command']}`; {meta['machine']} (shared with other jobs: times "
            "are indicative only).",
            "",
            "| n | members | grid | Λ values | fit s | curve s | bounds s (overcast + sharp, "
            "100 draws) | total s | peak RSS MiB (start / after fit / end) | ISE | "
            "overcast cov. @Λ* |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {r['n']:,} | {r['n_members']} | {r['grid_points']} | {len(r['lambdas'])} | "
            f"{r['fit_s']:.0f} | {r['curve_s']:.0f} | {r['bounds_both_methods_s']:.0f} | "
            f"{r['fit_s'] + r['curve_s'] + r['bounds_both_methods_s']:.0f} | "
            f"{r['peak_rss_mib_start']:.0f} / {r['peak_rss_mib_after_fit']:.0f} / "
            f"{r['peak_rss_mib_end']:.0f} | {r['ise']:.5f} | {r['overcast_cov_lambda_star']:.3f} |",
            "",
            *(
                [
                    f"CPU seconds (this process): fit {r['cpu_s']['fit']:.0f}, curve "
                    f"{r['cpu_s']['curve']:.0f}, bounds {r['cpu_s']['bounds_both_methods']:.0f}; "
                    "load average (1/5/15 min) at start "
                    + " / ".join(f"{v:.2f}" for v in r["load_average_1_5_15"]["start"])
                    + ", at end "
                    + " / ".join(f"{v:.2f}" for v in r["load_average_1_5_15"]["end"])
                    + ".",
                    "",
                ]
                if "cpu_s" in r
                else []
            ),
        ]
    )


# --------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, small n and ensembles")
    parser.add_argument("--scale", action="store_true", help="100k units: time and peak RSS")
    parser.add_argument(
        "--unconfounded", action="store_true", help="γ_t = γ_y = 0 (Λ* = 1): pure estimation error"
    )
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 10)")
    parser.add_argument(
        "--large-seeds", type=int, default=3, help="seeds at the largest n (default 3)"
    )
    add_runner_arguments(parser, workers=2)
    parser.add_argument(
        "--uncertainty",
        default="ensemble",
        help="comma-separated DoseResponse uncertainties to run, e.g. 'ensemble,due'",
    )
    parser.add_argument(
        "--from-partial",
        action="store_true",
        help="summarise the jobs already finished in results/dose_response[_quick].jobs/",
    )
    args = parser.parse_args()
    uncertainties = [u.strip() for u in args.uncertainty.split(",") if u.strip()]
    unknown = sorted(set(uncertainties) - {"ensemble", "dropout", "due"})
    if not uncertainties or unknown:
        parser.error(f"--uncertainty takes ensemble, dropout and/or due; got {args.uncertainty!r}")
    RESULTS.mkdir(exist_ok=True)
    meta = {
        "command": "python benchmarks/dose_response.py"
        + (" --quick" if args.quick else "")
        + (" --scale" if args.scale else "")
        + (" --unconfounded" if args.unconfounded else "")
        + (f" --seeds {args.seeds}" if args.seeds else "")
        + (f" --large-seeds {args.large_seeds}" if args.large_seeds != 3 else "")
        + (f" --workers {args.workers}" if args.workers != 2 else "")
        + (f" --uncertainty {args.uncertainty}" if uncertainties != ["ensemble"] else ""),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    start = time.perf_counter()
    if args.scale:
        r = scale_run(100_000)
        meta["wall_s"] = time.perf_counter() - start
        (RESULTS / "dose_response_scale.json").write_text(
            json.dumps({"meta": meta, "result": r}, indent=2)
        )
        (RESULTS / "dose_response_scale.md").write_text(scale_markdown(r, meta))
        print(scale_markdown(r, meta))
        return
    ns = [500, 1000] if args.quick else [1000, 4000, 16000]
    n_seeds = args.seeds or (2 if args.quick else 10)
    n_large = min(args.large_seeds, n_seeds)
    gammas = (0.0, 0.0) if args.unconfounded else (0.3, 0.5)
    jobs = [
        (s, n, args.quick, *gammas, u)
        for s in range(n_seeds)
        for n in ns
        for u in uncertainties
        if n < max(ns) or s < n_large or args.quick
    ]
    tag = "".join(f"_{u}" for u in uncertainties if u != "ensemble")
    tag += ("_quick" if args.quick else "") + ("_unconfounded" if args.unconfounded else "")
    options = runner_options(args)
    if args.from_partial:  # an interrupted run: summarise what finished, say so in the table
        options["time_budget_s"] = -1.0  # start nothing
        meta["command"] += " (summary of the finished rows of an interrupted run)"
    keyed = {
        f"s{s}-n{n}-{u}-gt{gt}-gy{gy}" + ("-quick" if q else ""): (s, n, q, gt, gy, u)
        for s, n, q, gt, gy, u in jobs
    }
    report = run_jobs(seed_job, keyed, RESULTS / f"dose_response{tag}.jobs", **options)
    rows = report.results
    if args.from_partial:
        tag += "_partial"
    meta["wall_s"] = time.perf_counter() - start
    summary = summarise(rows)
    meta["gamma_t"] = rows[0].get("gamma_t", 0.3)  # rows of older runs lack the gammas
    meta["gamma_y"] = rows[0].get("gamma_y", 0.5)
    meta["lambda_star"] = rows[0]["lambda_star"]
    (RESULTS / f"dose_response{tag}.json").write_text(
        json.dumps({"meta": meta, "summary": summary, "rows": rows}, indent=2)
    )
    md = markdown(summary, meta)
    (RESULTS / f"dose_response{tag}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
