"""Hidden-confounding benchmark: coverage, width, error and deferral of MSM bounds.

Three parts, each with fixed seeds:

1. **Coverage at the true Λ*** on ``knowable.data.simulate_hidden_confounding``
   (MSM holds with exactly Λ*), for both confounder kinds: ``binary`` (the sharp
   bound is nearly attained: the true CATE sits on the upper bound) and
   ``continuous`` (bound valid with slack). Coverage of the true CATE, mean width
   and RMSE to the oracle bounds for the Kallus (valid, conservative) and sharp
   bounds of ``MSMBounds`` (mixture-density ensemble, sorting estimator on 300
   draws), their "ignorance" versions (widened by 2 ensemble sd) and the
   ``BLearner`` with its band (widened by 2 sd of 50 final-stage bootstrap
   refits); oracle bounds from the true p(y | x, t) in closed form. Also the
   error rate versus deferral when units are deferred in the order in which their
   Λ-bounds come to straddle zero (``knowable.decide.ignorance_scores``).
2. **B-Learner scaling**: RMSE of the B-Learner bounds against the oracle sharp
   bounds on a grid of x, n = 500 ... 16,000 (binary confounder).
3. **IHDP with a hidden confounder** (Quince's protocol, notes §2.4): Hill's 747
   units of the raw npci table, ``b.marr`` (mother married; treated share 0.24 vs
   0.13) hidden, response surface B with a fresh draw of coefficients per seed;
   75 test units. Coverage of the unit-level CATE and width over a Λ grid, and
   error rate versus deferral for the three kinds of bounds. Λ* is not known here.

Plus the speed of the O(m log m) sorting estimator against the O(m²) brute force.

Usage::

    python benchmarks/hidden_confounding.py --workers 2          # full
    python benchmarks/hidden_confounding.py --quick --workers 2  # CI smoke run
    python benchmarks/hidden_confounding.py --summarise-only     # from the finished jobs

Each finished job is one JSON file in ``benchmarks/results/hidden_confounding[_quick].jobs/``
(:func:`knowable.parallel.run_jobs`; a re-run on the same library code resumes, ``--fresh``
starts over, and the rows of parts not asked for are kept); the summary goes to
``hidden_confounding[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from scipy.special import expit

from knowable.parallel import add_runner_arguments

RESULTS = Path(__file__).resolve().parent / "results"
RATES = tuple(np.round(np.arange(0.0, 1.0, 0.05), 2))
SIM_GRID = (1.0, 1.25, 1.5, 2.0, 3.0, 5.0)  # Λ grid for the MSMBounds deferral order
IHDP_GRID = (1.0, 1.5, 2.0, 3.0, 5.0)
BLEARNER_BOOTSTRAP = 50  # final-stage bootstrap refits for the B-Learner band (coverage part)


# --------------------------------------------------------------------------- oracle
_U_NODES = 400  # midpoint rule over u ~ U(0, 1) for the continuous confounder


def oracle_arm_mixture(
    x: np.ndarray, arm: int, lam: float, confounder: str = "binary", theta: float = 4.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The true p(y | x, t = arm) of ``simulate_hidden_confounding`` as a Gaussian mixture.

    Binary u: two components with weights P(u | x, t). Continuous u ~ U(0, 1): the
    continuous mixture over u discretised by the midpoint rule on ``_U_NODES`` nodes,
    weights ∝ π(x, u) (treated) or 1 − π(x, u) (controls).
    """
    from knowable.data._simulators import (
        _continuous_u_exponent,
        _msm_extreme_propensities,
        _quince_mu,
    )

    e = expit(0.75 * x + 0.5)
    hi, lo = _msm_extreme_propensities(e, lam)
    q = np.full_like(e, 0.5) if lam == 1.0 else np.clip((e - lo) / (hi - lo), 0, 1)
    if confounder == "binary":
        u = np.array([0.0, 1.0])
        pi = np.stack([lo, hi], -1)
        prior = np.stack([1 - q, q], -1)
    else:
        u = (np.arange(_U_NODES) + 0.5) / _U_NODES
        pi = lo[:, None] + (hi - lo)[:, None] * u[None, :] ** _continuous_u_exponent(q)[:, None]
        prior = np.full_like(pi, 1.0 / _U_NODES)
    w = prior * (pi if arm == 1 else 1.0 - pi)
    w = w / w.sum(-1, keepdims=True)
    loc = _quince_mu(x[:, None], float(arm), u[None, :], theta)
    return w, loc, np.ones_like(loc)


def oracle_bounds(
    x: np.ndarray, lam: float, confounder: str = "binary", theta: float = 4.0
) -> dict[str, np.ndarray]:
    """Oracle Kallus and sharp CATE bounds, shape (2, n) each, from the true p(y | x, t)."""
    from knowable.bounds import msm

    e = expit(0.75 * x + 0.5)
    out = {}
    for method, fn in (("kallus", msm.kallus_bound_mixture), ("sharp", msm.sharp_bound_mixture)):
        arms = {}
        for t in (0, 1):
            w, loc, sc = oracle_arm_mixture(x, t, lam, confounder, theta)
            arms[t] = (
                fn(w, loc, sc, e, lam, "upper", arm=t),
                fn(w, loc, sc, e, lam, "lower", arm=t),
            )
        lower, upper = msm.cate_bounds(arms[1][0], arms[1][1], arms[0][0], arms[0][1])
        out[method] = np.stack([lower, upper])
    return out


def _set_threads() -> None:
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)


def _grid_with(grid: tuple[float, ...], lam: float) -> np.ndarray:
    return np.array(sorted(set(grid) | {float(lam)}))


def _deferral(
    lower: np.ndarray, upper: np.ndarray, grid: np.ndarray, estimate: np.ndarray, truth: np.ndarray
) -> dict[str, Any]:
    """Error rate vs deferral (ignorance order) and error rate / deferred share vs Λ."""
    from knowable.decide import deferral_curve, error_rate_vs_lambda, ignorance_scores

    scores = ignorance_scores(lower, upper, grid)
    curve = deferral_curve(estimate, truth, scores, RATES)
    by_lam = error_rate_vs_lambda(lower, upper, grid, truth)
    return {
        "error_rate": curve.error_rate.tolist(),
        "sqrt_pehe": curve.sqrt_pehe.tolist(),
        "lam": by_lam.lam.tolist(),
        "lam_error_rate": by_lam.error_rate.tolist(),
        "lam_deferred": by_lam.deferred_fraction.tolist(),
    }


def _record(
    row: dict[str, Any],
    name: str,
    lower: np.ndarray,
    upper: np.ndarray,
    truth: np.ndarray,
    ref: np.ndarray | None,
) -> None:
    row[f"{name}_coverage"] = float(np.mean((lower <= truth) & (truth <= upper)))
    row[f"{name}_width"] = float(np.mean(upper - lower))
    if ref is not None:
        err = np.concatenate([lower - ref[0], upper - ref[1]])
        row[f"{name}_rmse_vs_oracle"] = float(np.sqrt(np.mean(err**2)))


# --------------------------------------------------------------------------- jobs
def _msm_coverage(
    row: dict[str, Any], train: Any, test: Any, lam_star: float, oracle: dict[str, Any]
) -> None:
    from knowable.bounds import MSMBounds

    cate = test.cate
    t0 = time.perf_counter()
    model = MSMBounds(random_state=row["seed"]).fit(train.x, train.t, train.y)
    row["msm_fit_seconds"] = time.perf_counter() - t0
    grid = _grid_with(SIM_GRID, lam_star)
    i_star = int(np.flatnonzero(grid == lam_star)[0])
    effect = model.effect(test.x)
    widths = {}
    for method in ("kallus", "sharp"):
        b = model.bounds(test.x, grid, method=method)
        at = model.bounds(test.x, lam_star, method=method)
        _record(row, method, at.lower, at.upper, cate, oracle[method])
        w = at.widened(2.0)
        _record(row, f"{method}_ignorance", w.lower, w.upper, cate, None)
        widths[method] = at.width
        row[f"{method}_deferral"] = _deferral(b.lower, b.upper, grid, effect, cate)
        bw = b.widened(2.0)
        row[f"{method}_ignorance_deferral"] = _deferral(bw.lower, bw.upper, grid, effect, cate)
        assert np.allclose(b.lower[i_star], at.lower) and np.allclose(b.upper[i_star], at.upper)
    row["sharp_narrower_share"] = float(np.mean(widths["sharp"] <= widths["kallus"] + 1e-12))


def coverage_job(args: tuple[Any, ...]) -> dict[str, Any]:
    kind, seed, lam_star, n_train, n_test, confounder, estimators = args
    _set_threads()
    from knowable.bounds import BLearner
    from knowable.data import simulate_hidden_confounding

    start = time.perf_counter()
    sim = {"lam_star": lam_star, "confounder": confounder}
    train = simulate_hidden_confounding(n_train, random_state=1000 + seed, **sim)
    test = simulate_hidden_confounding(n_test, random_state=2000 + seed, **sim)
    cate = test.cate
    oracle = oracle_bounds(test.x[:, 0], lam_star, confounder)
    row: dict[str, Any] = {"kind": kind, "seed": seed, "confounder": confounder}
    for method in ("kallus", "sharp"):
        _record(row, f"oracle_{method}", oracle[method][0], oracle[method][1], cate, None)
    if "msm" in estimators:
        _msm_coverage(row, train, test, lam_star, oracle)
    if "blearner" not in estimators:
        row["seconds"] = time.perf_counter() - start
        return row
    # The B-Learner refits per Λ: here only at Λ* (its deferral curves are on IHDP).
    t0 = time.perf_counter()
    bl = BLearner(n_bootstrap=BLEARNER_BOOTSTRAP, random_state=seed)
    b = bl.fit(train.x, train.t, train.y).bounds(test.x, lam_star)
    row["blearner_fit_seconds"] = time.perf_counter() - t0
    _record(row, "blearner", b.lower, b.upper, cate, oracle["sharp"])
    w = b.widened(2.0)
    _record(row, "blearner_ignorance", w.lower, w.upper, cate, None)
    row["seconds"] = time.perf_counter() - start
    return row


def scaling_job(args: tuple[str, int, int, float]) -> dict[str, Any]:
    kind, n, seed, lam_star = args
    _set_threads()
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
    return {
        "kind": kind,
        "n": n,
        "seed": seed,
        "mse_upper": mse_u,
        "mse_lower": mse_l,
        "seconds": seconds,
    }


_IHDP_CONT = ["bw", "b.head", "preterm", "birth.o", "nnhealth", "momage"]
_IHDP_BIN = ["sex", "twin", "mom.lths", "mom.hs", "mom.scoll", "cig", "first", "booze", "drugs",
             "work.dur", "prenatal", "ark", "ein", "har", "mia", "pen", "tex", "was"]  # fmt: skip
IHDP_HIDDEN = "b.marr"


def ihdp_hidden(seed: int) -> dict[str, np.ndarray]:
    """Quince's IHDP-hidden process (notes §2.4): 747 units, b.marr hidden, surface B."""
    from knowable.data import load_ihdp_raw

    raw = load_ihdp_raw()
    raw = raw[~((raw["treat"] == 1) & (raw["momwhite"] == 0))].reset_index(drop=True)
    cont = raw[_IHDP_CONT].to_numpy(float)
    cont = (cont - cont.mean(0)) / cont.std(0)
    x = np.concatenate([cont, raw[_IHDP_BIN].to_numpy(float)], axis=1)  # (747, 24)
    u = raw[IHDP_HIDDEN].to_numpy(float)
    t = raw["treat"].to_numpy(float)
    rng = np.random.default_rng(seed)
    beta_x = rng.choice([0.0, 0.1, 0.2, 0.3, 0.4], size=x.shape[1], p=[0.6, 0.1, 0.1, 0.1, 0.1])
    beta_u = rng.choice([0.1, 0.2, 0.3, 0.4, 0.5])
    lin = (x + 0.5) @ beta_x + (u + 0.5) * beta_u
    mu0 = np.exp(lin)
    mu1 = lin
    omega = np.mean((mu1 - mu0)[t == 1]) - 4.0
    mu1 = mu1 - omega
    eps = rng.standard_normal(len(x))
    y = np.where(t == 1, mu1, mu0) + eps
    return {"x": x, "t": t, "y": y, "cate": mu1 - mu0, "u": u}


def ihdp_job(args: tuple[str, int]) -> dict[str, Any]:
    kind, seed = args
    _set_threads()
    from sklearn.model_selection import train_test_split

    from knowable.bounds import BLearner, MSMBounds

    start = time.perf_counter()
    d = ihdp_hidden(seed)
    tr, te = train_test_split(np.arange(len(d["y"])), test_size=0.1, random_state=seed)
    x, t, y, cate = d["x"], d["t"], d["y"], d["cate"]
    grid = np.array(IHDP_GRID)
    row: dict[str, Any] = {"kind": kind, "seed": seed, "n_train": len(tr), "n_test": len(te)}
    model = MSMBounds(random_state=seed).fit(x[tr], t[tr], y[tr])
    effect = model.effect(x[te])
    row["point_rmse"] = float(np.sqrt(np.mean((effect - cate[te]) ** 2)))
    out = {}
    for method in ("kallus", "sharp"):
        b = model.bounds(x[te], grid, method=method)
        out[method] = (b.lower, b.upper, effect)
        bw = b.widened(2.0)
        out[f"{method}_ignorance"] = (bw.lower, bw.upper, effect)
    bl = BLearner(random_state=seed).fit(x[tr], t[tr], y[tr])
    b = bl.bounds(x[te], grid)
    out["blearner"] = (b.lower, b.upper, b.lower[0])
    for name, (lo, up, est) in out.items():
        truth = cate[te]
        row[f"{name}_coverage"] = np.mean((lo <= truth) & (truth <= up), axis=1).tolist()
        row[f"{name}_width"] = np.mean(up - lo, axis=1).tolist()
        row[f"{name}_deferral"] = _deferral(lo, up, grid, est, truth)
    row["lam"] = grid.tolist()
    row["seconds"] = time.perf_counter() - start
    return row


def speed_benchmark(m: int = 2000, n_units: int = 20, repeats: int = 3) -> dict[str, Any]:
    from knowable.bounds import msm
    from knowable.testing import bound_from_samples_bruteforce

    rng = np.random.default_rng(0)
    y = rng.standard_normal((n_units, m))
    e = rng.uniform(0.1, 0.9, n_units)
    fast_t, slow_t = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fast = msm.bound_from_samples(y, e, 2.0, "upper")
        fast_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        slow = bound_from_samples_bruteforce(y, e, 2.0, "upper")
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
def _mean_sem(values: Any) -> tuple[float, float]:
    a = np.asarray(values, float)
    sem = float(a.std(ddof=1) / np.sqrt(a.shape[0])) if a.shape[0] > 1 else float("nan")
    return float(a.mean()), sem


def _mean_sem_axis0(values: list[list[float]]) -> dict[str, list[float]]:
    a = np.asarray(values, float)
    sem = a.std(0, ddof=1) / np.sqrt(a.shape[0]) if a.shape[0] > 1 else np.full(a.shape[1:], np.nan)
    return {"mean": a.mean(0).tolist(), "sem": sem.tolist()}


COV_NAMES = ["oracle_kallus", "oracle_sharp", "kallus", "sharp", "kallus_ignorance",
             "sharp_ignorance", "blearner", "blearner_ignorance"]  # fmt: skip
DEFER_NAMES = ["kallus", "sharp", "kallus_ignorance", "sharp_ignorance", "blearner"]


def _summarise_deferral(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        key = f"{name}_deferral"
        if rows and key in rows[0]:
            out[name] = {
                "error_rate": _mean_sem_axis0([r[key]["error_rate"] for r in rows]),
                "sqrt_pehe": _mean_sem_axis0([r[key]["sqrt_pehe"] for r in rows]),
                "lam_error_rate": _mean_sem_axis0([r[key]["lam_error_rate"] for r in rows]),
                "lam_deferred": _mean_sem_axis0([r[key]["lam_deferred"] for r in rows]),
                "lam": rows[0][key]["lam"],
            }
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"coverage": {}, "deferral": {}, "scaling": {}, "ihdp": {}}
    for conf in ("binary", "continuous"):
        cov_rows = sorted(
            (r for r in rows if r["kind"] == "coverage" and r["confounder"] == conf),
            key=lambda r: r["seed"],
        )
        if not cov_rows:
            continue
        cov = {"seeds": len(cov_rows)}
        for name in COV_NAMES:
            cov[name] = {
                m: _mean_sem([r[f"{name}_{m}"] for r in cov_rows])
                for m in ("coverage", "width", "rmse_vs_oracle")
                if f"{name}_{m}" in cov_rows[0]
            }
        if "sharp_narrower_share" in cov_rows[0]:
            share = _mean_sem([r["sharp_narrower_share"] for r in cov_rows])
            cov["sharp_narrower_share"] = share
        cov["seconds"] = _mean_sem([r["seconds"] for r in cov_rows])
        summary["coverage"][conf] = cov
        summary["deferral"][conf] = _summarise_deferral(cov_rows, DEFER_NAMES)
    by_n: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        if r["kind"] == "scaling":
            by_n.setdefault(r["n"], []).append(r)
    summary["scaling"] = {
        n: {
            "rmse_upper": _mean_sem([np.sqrt(r["mse_upper"]) for r in rs]),
            "rmse_lower": _mean_sem([np.sqrt(r["mse_lower"]) for r in rs]),
            "seconds": _mean_sem([r["seconds"] for r in rs]),
            "seeds": len(rs),
        }
        for n, rs in sorted(by_n.items())
    }
    ihdp_rows = sorted((r for r in rows if r["kind"] == "ihdp"), key=lambda r: r["seed"])
    if ihdp_rows:
        names = DEFER_NAMES
        summary["ihdp"] = {
            "seeds": len(ihdp_rows),
            "lam": ihdp_rows[0]["lam"],
            "point_rmse": _mean_sem([r["point_rmse"] for r in ihdp_rows]),
            "coverage": {
                n: _mean_sem_axis0([r[f"{n}_coverage"] for r in ihdp_rows]) for n in names
            },
            "width": {n: _mean_sem_axis0([r[f"{n}_width"] for r in ihdp_rows]) for n in names},
            "deferral": _summarise_deferral(ihdp_rows, names),
            "seconds": _mean_sem([r["seconds"] for r in ihdp_rows]),
        }
    return summary


def _pm(entry: tuple[float, float] | None) -> str:
    if entry is None:
        return "–"
    m, s = entry
    return f"{m:.3f} ± {s:.3f}"


def _deferral_table(defer: dict[str, Any], rates_shown: tuple[float, ...]) -> list[str]:
    idx = [RATES.index(r) for r in rates_shown]
    lines = [
        "| bounds | " + " | ".join(f"{int(100 * r)} %" for r in rates_shown) + " |",
        "|---" * (len(rates_shown) + 1) + "|",
    ]
    for name, entry in defer.items():
        m, s = entry["error_rate"]["mean"], entry["error_rate"]["sem"]
        lines.append(f"| {name} | " + " | ".join(f"{m[i]:.3f} ± {s[i]:.3f}" for i in idx) + " |")
    return lines


def _lambda_table(defer: dict[str, Any]) -> list[str]:
    lines = ["| bounds | Λ | deferred | error rate |", "|---|---|---|---|"]
    for name, entry in defer.items():
        for k, lam in enumerate(entry["lam"]):
            d, e = entry["lam_deferred"], entry["lam_error_rate"]
            lines.append(
                f"| {name} | {lam:g} | {d['mean'][k]:.3f} ± {d['sem'][k]:.3f} | "
                f"{e['mean'][k]:.3f} ± {e['sem'][k]:.3f} |"
            )
    return lines


def markdown(summary: dict[str, Any], speed: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    lam_star = meta["lam_star"]
    shown = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
    lines = [
        f"# Hidden-confounding benchmark ({meta['mode']})",
        "",
        f"Command: `{meta['command']}`  ",
        *(
            f"Rows of part `{part}` from: " + "; ".join(f"`{c}`" for c in cmds) + "  "
            for part, cmds in meta.get("commands_by_part", {}).items()
        ),
        f"Machine: {meta['machine']}; {meta['seconds']:.0f} s wall (shared, loaded machine).  ",
        f"Jobs finished: {meta['jobs_done']} of {meta['jobs_total']}.",
        "",
    ]
    for conf, cov in summary["coverage"].items():
        lines += [
            f'## Coverage of the true CATE at Λ* = {lam_star}, `confounder="{conf}"` '
            f"({cov['seeds']} seeds, n_train = {meta['n_train']}, n_test = {meta['n_test']})",
            "",
            "Mean ± s.e. over seeds. *ignorance* = bounds widened by 2 ensemble sd of the "
            "bounds (for the B-Learner: 2 sd of 50 bootstrap refits of its final stage on "
            "the fixed cross-fitted pseudo-outcomes). RMSE is against the oracle bounds of "
            "the same kind (sharp for the B-Learner). The B-Learner refits per Λ, so its "
            "deferral curves are reported on IHDP only.",
            "",
            "| bounds | coverage | mean width | RMSE vs oracle |",
            "|---|---|---|---|",
        ]
        for name in COV_NAMES:
            e = cov[name]
            lines.append(
                f"| {name} | {_pm(e.get('coverage'))} | {_pm(e.get('width'))} | "
                f"{_pm(e.get('rmse_vs_oracle'))} |"
            )
        lines += [
            "",
            f"Share of test units where the estimated sharp interval is no wider than the "
            f"Kallus one: {_pm(cov.get('sharp_narrower_share'))}.",
            "",
            f"Error rate (wrong-sign kept units / all units) vs deferral rate, units deferred "
            f'in the order their Λ-bounds straddle zero (`confounder="{conf}"`):',
            "",
            *_deferral_table(summary["deferral"][conf], shown),
            "",
        ]
    if summary["scaling"]:
        lines += [
            f"## B-Learner bound error against the oracle sharp bounds (Λ* = {lam_star}, binary)",
            "",
            "RMSE over 801 grid points x ∈ [−2, 2]; mean ± s.e. over seeds; seconds per fit.",
            "",
            "| n | seeds | RMSE upper | RMSE lower | seconds |",
            "|---|---|---|---|---|",
        ]
        for n, e in summary["scaling"].items():
            lines.append(
                f"| {n} | {e['seeds']} | {_pm(e['rmse_upper'])} | {_pm(e['rmse_lower'])} | "
                f"{e['seconds'][0]:.1f} |"
            )
        lines.append("")
    ih = summary.get("ihdp")
    if ih:
        lines += [
            f"## IHDP with a hidden confounder (b.marr hidden; {ih['seeds']} seeds, "
            "672 train / 75 test)",
            "",
            f"Point CATE √PEHE of the ensemble: {_pm(ih['point_rmse'])}. Coverage is of the "
            "unit-level CATE τ(x, u) (Quince's convention), which the bounds on "
            "E[τ | x] need not contain even at the right Λ. Λ* is unknown.",
            "",
            "| bounds | " + " | ".join(f"Λ = {v:g}" for v in ih["lam"]) + " |",
            "|---" * (len(ih["lam"]) + 1) + "|",
        ]
        for name, e in ih["coverage"].items():
            w = ih["width"][name]
            lines.append(
                f"| {name} | "
                + " | ".join(
                    f"{c:.2f} (w {wm:.2f})" for c, wm in zip(e["mean"], w["mean"], strict=True)
                )
                + " |"
            )
        lines += [
            "",
            "Cells: coverage (mean width). Error rate vs deferral (ignorance order):",
            "",
            *_deferral_table(ih["deferral"], shown),
            "",
            "Error rate and deferred share when deferring every unit whose Λ-bounds straddle zero:",
            "",
            *_lambda_table(ih["deferral"]),
            "",
        ]
    if speed:
        lines += [
            f"## Sorting estimator vs brute force (m = {speed['m']} draws, "
            f"{speed['n_units']} units)",
            "",
            "| sorted (s) | brute force (s) | speed-up | max abs diff |",
            "|---|---|---|---|",
            f"| {speed['sorted_seconds']:.4f} | {speed['bruteforce_seconds']:.3f} | "
            f"{speed['speedup']:.0f}x | {speed['max_abs_diff']:.1e} |",
        ]
    return "\n".join(lines) + "\n"


def _commands_by_part(rows: list[dict[str, Any]], command: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in rows:
        cmds = out.setdefault(r["kind"], [])
        c = r.get("command") or command
        if c not in cmds:
            cmds.append(c)
    return out


def _one_job(payload: tuple[tuple[Any, ...], str]) -> dict[str, Any]:
    job, command = payload
    fns = {"coverage": coverage_job, "scaling": scaling_job, "ihdp": ihdp_job}
    return fns[job[0]](job) | {"command": command}


def _job_key(job: tuple[Any, ...]) -> str:
    if job[0] == "coverage":
        _, s, lam, n_train, n_test, confounder, estimators = job
        return f"coverage-s{s}-lam{lam}-n{n_train}-{n_test}-{confounder}-" + estimators.replace(
            ",", "+"
        )
    if job[0] == "scaling":
        _, n, s, lam = job
        return f"scaling-n{n}-s{s}-lam{lam}"
    return f"ihdp-s{job[1]}"


def _run(jobs: list[tuple[Any, ...]], store: Path, args: Any, command: str) -> list[dict]:
    """The shared runner: one JSON per finished job; rows of parts not asked for are kept."""
    from knowable.parallel import load_records, run_jobs, runner_options

    keyed = {_job_key(job): (job, command) for job in jobs}
    report = run_jobs(
        _one_job,
        keyed,
        store,
        describe=lambda record: f"{record.result['kind']} done",
        **runner_options(args),
    )
    parts = {job[0] for job in jobs}
    others = [
        r.result
        for key, r in load_records(store).items()
        if key not in keyed and r.result["kind"] not in parts
    ]
    return others + report.results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: few seeds, small n.")
    add_runner_arguments(parser, workers=min(2, os.cpu_count() or 1))
    parser.add_argument("--lam-star", type=float, default=2.0)
    parser.add_argument("--seeds", type=int, default=None, help="Seeds for the coverage part.")
    parser.add_argument("--scaling-seeds", type=int, default=None)
    parser.add_argument("--ihdp-seeds", type=int, default=None)
    parser.add_argument("--ns", type=str, default=None, help="Comma-separated n for scaling.")
    parser.add_argument("--parts", type=str, default="coverage,scaling,ihdp")
    parser.add_argument("--n-train", type=int, default=None,
                        help="Coverage part: training units (default 1000; other values write "
                             "hidden_confounding_n<N>.*).")  # fmt: skip
    parser.add_argument("--confounders", type=str, default="binary,continuous")
    parser.add_argument("--estimators", type=str, default="msm,blearner",
                        help="Coverage part: msm (Kallus and sharp MSMBounds), blearner.")  # fmt: skip
    parser.add_argument("--summarise-only", action="store_true")
    parser.add_argument("--run-command", type=str, default=None,
                        help="With --summarise-only: the command that produced the finished jobs.")  # fmt: skip
    args = parser.parse_args()
    start = time.perf_counter()
    q = args.quick
    n_seeds = args.seeds or (2 if q else 20)
    n_train, n_test = (500, 300) if q else (1000, 1000)
    default_n_train = n_train
    if args.n_train is not None:
        n_train = args.n_train
    confounders = [c for c in args.confounders.split(",") if c]
    ns = [int(v) for v in args.ns.split(",")] if args.ns else (
        [500, 2000] if q else [500, 1000, 2000, 4000, 8000, 16000]
    )  # fmt: skip
    scaling_seeds = args.scaling_seeds or (1 if q else 3)
    ihdp_seeds = args.ihdp_seeds or (2 if q else 10)
    parts = set(args.parts.split(","))
    jobs: list[tuple[Any, ...]] = []
    if "coverage" in parts:
        for s in range(n_seeds):
            jobs += [
                ("coverage", s, args.lam_star, n_train, n_test, c, args.estimators)
                for c in confounders
            ]
    if "scaling" in parts:  # largest n first, so the long fits start early
        jobs += [
            ("scaling", n, s, args.lam_star) for n in sorted(ns)[::-1] for s in range(scaling_seeds)
        ]
    if "ihdp" in parts:
        jobs += [("ihdp", s) for s in range(ihdp_seeds)]
    stem = "hidden_confounding" + ("_quick" if q else "")
    if n_train != default_n_train:
        stem += f"_n{n_train}"
    if set(args.estimators.split(",")) != {"msm", "blearner"}:
        stem += "_" + args.estimators.replace(",", "_")
    RESULTS.mkdir(parents=True, exist_ok=True)
    store = RESULTS / f"{stem}.jobs"
    command = " ".join(["python benchmarks/hidden_confounding.py", *sys.argv[1:]])
    if args.summarise_only and args.run_command:
        command = args.run_command
    if args.summarise_only:  # the finished jobs only; the speed of the last full summary
        args.time_budget_min = -1.0
        previous = RESULTS / f"{stem}.json"
        speed = json.loads(previous.read_text()).get("speed") if previous.exists() else None
    rows = _run(jobs, store, args, command)
    if not args.summarise_only:
        speed = speed_benchmark()
        speed.update(kind="speed", run_seconds=time.perf_counter() - start)
    summary = summarise(rows)
    meta = {
        "mode": "quick" if q else "full",
        "command": command,
        "commands_by_part": _commands_by_part(rows, command),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {args.workers} workers",
        "lam_star": args.lam_star,
        "n_seeds": n_seeds,
        "n_train": n_train,
        "n_test": n_test,
        "jobs_total": len(jobs),
        "jobs_done": sum(r["kind"] in parts for r in rows),
        "seconds": speed["run_seconds"] if speed else time.perf_counter() - start,
    }
    payload = {"meta": meta, "summary": summary, "speed": speed, "rows": rows}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2, default=float))
    (RESULTS / f"{stem}.md").write_text(markdown(summary, speed, meta))
    print(markdown(summary, speed, meta))


if __name__ == "__main__":
    main()
