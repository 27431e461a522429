"""Generative-model reliability on exact Bayesian oracles: PHR accuracy and p-value power.

(a) Hallucination rate. For each oracle (NIG cubic regression, GP regression, Dirichlet-
categorical with 3 labels and 4 input categories, Beta-Bernoulli with 4 input categories) and
each context size n, draw f* from the prior, a context D_n and 4 queries x from p(x); compute

* the exact PHR (4,000 exact posterior draws of f, closed-form inner probability),
* the Doob estimate :func:`knowable.generative.phr` at its **default budget**
  (n_generated = 200, n_completions = 300, n_responses = 100; exact-sum for label oracles),
* the THR of the true f*.

Reported per oracle and n: MAE and R^2 of the estimate against the exact PHR, and of the
estimate against the THR (R^2 = 1 - SSE / total sum of squares of the target).

(b) Generative predictive p-value at alpha = 0.05 (n_generated = 100, n_completions = 100),
context n = 20, held-out m = 20: the false-alarm rate on tasks drawn from the oracle's prior,
and the power on out-of-prior tasks (a step ``sign(x)`` and a high-frequency sine
``sin(12 pi x)``, noise sd 0.1), for the full and lite variants with NLL and NLML.

Usage::

    python benchmarks/generative.py            # 25 contexts (GP: 10) x 4 queries; 40 seeds
    python benchmarks/generative.py --quick    # 5 contexts per (oracle, n), n in {2, 10, 50, 100}

Writes ``benchmarks/results/generative[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from knowable.generative import (
    BayesianPolynomialRegression,
    BetaBernoulli,
    CategoricalMechanism,
    DirichletCategorical,
    GaussianMechanism,
    GaussianProcessRegression,
    exact_phr,
    gpv,
    phr,
    thr,
)

RESULTS = Path(__file__).resolve().parent / "results"
EPSILON = 0.1
ALPHA = 0.05
N_QUERIES = 4


def oracles() -> dict[str, Any]:
    return {
        "nig_cubic": BayesianPolynomialRegression(3),
        "gp_rbf": GaussianProcessRegression(0.3),
        "dirichlet_3x4": DirichletCategorical(3, n_inputs=4),
        "beta_bernoulli_4": BetaBernoulli(n_inputs=4),
    }


def phr_instance(oracle: Any, n: int, seed: int) -> list[dict[str, float]]:
    """One context D_n and N_QUERIES queries: exact PHR, Doob PHR (default budget) and THR."""
    rng = np.random.default_rng(seed)
    prior = oracle.prior_state(1)
    x = oracle.sample_x(prior, n + N_QUERIES, rng)
    mech = oracle.sample_mechanism(prior, x, 1, rng)
    y = mech.sample(rng)[0, 0]
    ctx, xq = (x[0, :n], y[:n]), x[0, n:]
    if isinstance(mech, GaussianMechanism):
        f_star: Any = GaussianMechanism(mech.loc[0, 0, n:], mech.scale[0, 0, n:])
    else:
        f_star = CategoricalMechanism(mech.probs[0, 0, n:])
    t0 = time.perf_counter()
    est = phr(oracle, ctx, xq, EPSILON, random_state=seed + 1)
    seconds = time.perf_counter() - t0
    exact = exact_phr(oracle, ctx, xq, EPSILON, n_draws=4000, random_state=seed + 2)
    true = thr(oracle, ctx, xq, f_star, EPSILON)
    return [
        {
            "n": n,
            "seed": seed,
            "phr": float(est.estimate[j]),
            "phr_se": float(est.std_error[j]),
            "exact_phr": float(exact.estimate[j]),
            "thr": float(true[j]),
            "seconds": seconds / N_QUERIES,
        }
        for j in range(N_QUERIES)
    ]


def r2(target: np.ndarray, estimate: np.ndarray) -> float:
    ss = float(np.sum((target - target.mean()) ** 2))
    return float("nan") if ss == 0 else 1.0 - float(np.sum((target - estimate) ** 2)) / ss


def pooled(rows: list[dict[str, float]]) -> dict[str, float]:
    """MAE and R^2 over all instances of an oracle (every n pooled)."""
    return summarise_phr(rows)


def summarise_phr(rows: list[dict[str, float]]) -> dict[str, float]:
    est = np.array([r["phr"] for r in rows])
    ex = np.array([r["exact_phr"] for r in rows])
    tr = np.array([r["thr"] for r in rows])
    return {
        "instances": len(rows),
        "mean_exact_phr": float(ex.mean()),
        "mae_vs_exact": float(np.mean(np.abs(est - ex))),
        "r2_vs_exact": r2(ex, est),
        "mean_thr": float(tr.mean()),
        "mae_vs_thr": float(np.mean(np.abs(est - tr))),
        "r2_vs_thr": r2(tr, est),
        "exact_mae_vs_thr": float(np.mean(np.abs(ex - tr))),
        "seconds_per_query": float(np.mean([r["seconds"] for r in rows])),
    }


TRUTHS = {
    "prior": None,
    "step": lambda x: np.sign(x),
    "sine": lambda x: np.sin(12 * np.pi * x),
}
VARIANTS = [("full", "nll"), ("full", "nlml"), ("lite", "nll"), ("lite", "nlml")]


def pvalue_instance(oracle: Any, truth: str, seed: int, n: int = 20, m: int = 20) -> dict:
    rng = np.random.default_rng(seed)
    prior = oracle.prior_state(1)
    x = oracle.sample_x(prior, n + m, rng)
    fn = TRUTHS[truth]
    if fn is None:
        y = oracle.sample_mechanism(prior, x, 1, rng).sample(rng)[0, 0]
    else:
        y = fn(x[0, :, 0]) + 0.1 * rng.standard_normal(n + m)
    ctx, held = (x[0, :n], y[:n]), (x[0, n:], y[n:])
    out: dict[str, Any] = {"truth": truth, "seed": seed}
    for variant, kind in VARIANTS:
        res = gpv(
            oracle,
            ctx,
            held,
            discrepancy=kind,
            variant=variant,
            n_generated=100,
            n_completions=100,
            alpha=ALPHA,
            random_state=seed + 1,
        )
        out[f"{variant}_{kind}"] = res.p_value
    return out


def summarise_pvalues(rows: list[dict]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for truth in TRUTHS:
        sel = [r for r in rows if r["truth"] == truth]
        out[truth] = {
            f"{v}_{k}": float(np.mean([r[f"{v}_{k}"] <= ALPHA for r in sel])) for v, k in VARIANTS
        }
        out[truth]["tasks"] = len(sel)
    return out


def markdown(meta: dict, phr_summary: dict, pv_summary: dict) -> str:
    lines = [
        "# Generative-model reliability on exact oracles",
        "",
        f"Command: `{meta['command']}` ({meta['seconds']:.0f} s, {meta['machine']}).",
        "",
        f"## (a) PHR at the default budget (epsilon = {EPSILON})",
        "",
        "Doob estimate `phr(...)` with n_generated = 200, n_completions = 300, n_responses = 100"
        " (exact-sum for label oracles) against the exact PHR (4,000 exact posterior draws) and"
        " the THR of the true f*; each (oracle, n) row pools contexts x 4 queries.",
        "",
        "| oracle | n | instances | mean exact PHR | MAE vs exact | R² vs exact | mean THR |"
        " MAE vs THR | R² vs THR | exact PHR: MAE vs THR | s / query |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, by_n in phr_summary.items():
        for n, s in by_n.items():
            if n == "all":
                continue
            lines.append(
                f"| {name} | {n} | {s['instances']} | {s['mean_exact_phr']:.3f} | "
                f"{s['mae_vs_exact']:.4f} | {s['r2_vs_exact']:.3f} | {s['mean_thr']:.3f} | "
                f"{s['mae_vs_thr']:.3f} | {s['r2_vs_thr']:.3f} | {s['exact_mae_vs_thr']:.3f} | "
                f"{s['seconds_per_query']:.3f} |"
            )
    lines += [
        "",
        "Pooled over every n (the spread of the PHR across n makes R² informative):",
        "",
        "| oracle | instances | MAE vs exact | R² vs exact | MAE vs THR | R² vs THR |",
        "|---|---|---|---|---|---|",
    ]
    for name, by_n in phr_summary.items():
        s = by_n["all"]
        lines.append(
            f"| {name} | {s['instances']} | {s['mae_vs_exact']:.4f} | {s['r2_vs_exact']:.3f} | "
            f"{s['mae_vs_thr']:.3f} | {s['r2_vs_thr']:.3f} |"
        )
    lines += [
        "",
        f"## (b) Generative predictive p-value: share of tasks flagged at alpha = {ALPHA}",
        "",
        "Context n = 20, held-out m = 20, n_generated = 100, n_completions = 100. `prior`: tasks"
        " drawn from the oracle's own prior (false-alarm rate); `step`, `sine`: out-of-prior"
        " tasks (power).",
        "",
        "| oracle | data | tasks | full NLL | full NLML | lite NLL | lite NLML |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, by_truth in pv_summary.items():
        for truth, s in by_truth.items():
            lines.append(
                f"| {name} | {truth} | {s['tasks']} | {s['full_nll']:.2f} | {s['full_nlml']:.2f}"
                f" | {s['lite_nll']:.2f} | {s['lite_nlml']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 contexts per (oracle, n)")
    parser.add_argument(
        "--oracles", default=None, help="comma-separated subset of " + ",".join(oracles())
    )
    parser.add_argument(
        "--summarise", action="store_true", help="rewrite the .md (and pooled rows) from the .json"
    )
    args = parser.parse_args()
    quick = args.quick
    chosen = list(oracles()) if args.oracles is None else args.oracles.split(",")
    unknown = sorted(set(chosen) - set(oracles()))
    if unknown:
        parser.error(f"unknown oracles {unknown}; choose from {list(oracles())}")
    stem = "generative_quick" if quick else "generative"
    if args.oracles is not None:
        stem += "_" + "-".join(chosen)
    if args.summarise:
        payload = json.loads((RESULTS / f"{stem}.json").read_text())
        for name, rows in payload["rows"]["phr"].items():
            payload["phr"][name]["all"] = pooled(rows)
        (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2))
        (RESULTS / f"{stem}.md").write_text(
            markdown(payload["meta"], payload["phr"], payload["pvalue"])
        )
        return
    ns = [2, 10, 50, 100] if quick else [2, 5, 10, 20, 50, 100]
    contexts = 5 if quick else 25
    # the exact GP's completions cost O(B N^2) per generated example: fewer GP contexts
    gp_contexts = 5 if quick else 10
    pv_seeds = 10 if quick else 40
    start = time.perf_counter()
    phr_summary: dict[str, dict[int, dict]] = {}
    rows_out: dict[str, Any] = {"phr": {}, "pvalue": {}}
    for name, oracle in oracles().items():
        if name not in chosen:
            continue
        phr_summary[name] = {}
        rows_out["phr"][name] = []
        for n in ns:
            rows: list[dict[str, float]] = []
            for c in range(gp_contexts if name.startswith("gp") else contexts):
                rows += phr_instance(oracle, n, seed=1000 * n + c)
            phr_summary[name][n] = summarise_phr(rows)
            rows_out["phr"][name] += rows
            phr_summary[name]["all"] = pooled(rows_out["phr"][name])
            s = phr_summary[name][n]
            print(
                f"{name:18s} n={n:3d} MAE vs exact {s['mae_vs_exact']:.4f} "
                f"R2 {s['r2_vs_exact']:.3f} | vs THR MAE {s['mae_vs_thr']:.3f} "
                f"R2 {s['r2_vs_thr']:.3f}",
                flush=True,
            )
    pv_summary = {}
    for name in [o for o in ("nig_cubic", "gp_rbf") if o in chosen]:
        oracle = oracles()[name]
        rows = [pvalue_instance(oracle, t, s) for t in TRUTHS for s in range(pv_seeds)]
        pv_summary[name] = summarise_pvalues(rows)
        rows_out["pvalue"][name] = rows
        print(name, json.dumps(pv_summary[name]), flush=True)
    meta = {
        "command": "python benchmarks/generative.py"
        + (" --quick" if quick else "")
        + (f" --oracles {args.oracles}" if args.oracles else ""),
        "seconds": time.perf_counter() - start,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, OMP_NUM_THREADS=1",
        "epsilon": EPSILON,
        "alpha": ALPHA,
    }
    RESULTS.mkdir(exist_ok=True)
    payload = {"meta": meta, "phr": phr_summary, "pvalue": pv_summary, "rows": rows_out}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    (RESULTS / f"{stem}.md").write_text(markdown(meta, phr_summary, pv_summary))
    print(f"wrote {RESULTS / stem}.json and .md")


if __name__ == "__main__":
    main()
