"""The PFN as an in-context learner: predictive gap, PHR against THR and exact PHR, p-values.

The PFN was trained (``scripts/train_pfn.py``) on the cubic Normal-Inverse-Gamma prior of
:class:`knowable.generative.BayesianPolynomialRegression`, so that oracle is its exact target:

* NLL gap: mean over prior tasks of ``NLL(PFN) - NLL(exact Student-t predictive)`` per query
  point (nats; an estimate of KL(exact || PFN) per point), by context size;
* PHR: for contexts D_n from the prior and 4 queries each, the PFN's Doob PHR (its own
  completions; ``n_generated`` capped so contexts stay within the training length) against the
  THR of the true f* and against the oracle's exact PHR; MAE and R² pooled over n;
* p-values (lite NLL, and full NLL): share flagged at alpha = 0.05 on in-prior tasks (cubics)
  and out-of-prior tasks (a step ``sign(x)``; a sine ``sin(12 pi x)``), noise sd 0.3.

Usage::

    python benchmarks/generative_pfn.py --weights src/knowable/generative/weights/pfn_poly3.safetensors
    python benchmarks/generative_pfn.py --quick ...

Writes ``benchmarks/results/generative_pfn[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from knowable.generative import (
    BayesianPolynomialRegression,
    GaussianMechanism,
    PFNRegression,
    exact_phr,
    gpv,
    load_pfn_module,
    phr,
    thr,
)

RESULTS = Path(__file__).resolve().parent / "results"
EPSILON = 0.1
ALPHA = 0.05


def r2(target: np.ndarray, estimate: np.ndarray) -> float:
    ss = float(np.sum((target - target.mean()) ** 2))
    return float("nan") if ss == 0 else 1.0 - float(np.sum((target - estimate) ** 2)) / ss


def nll_gap(module, sizes, n_tasks: int, seed: int = 123) -> list[dict]:
    prior = BayesianPolynomialRegression(3)
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        state = prior.prior_state(n_tasks)
        x = prior.sample_x(state, n + 16, rng)
        y = prior.sample_mechanism(state, x, 1, rng).sample(rng)[:, 0]
        with torch.no_grad():
            mean, sd = module(
                torch.from_numpy(x[:, :n]).float(),
                torch.from_numpy(y[:, :n]).float(),
                torch.from_numpy(x[:, n:]).float(),
            )
        nll_pfn = -torch.distributions.Normal(mean.double(), sd.double()).log_prob(
            torch.from_numpy(y[:, n:])
        )
        nll_exact = -prior.log_prob_y(prior.condition(x[:, :n], y[:, :n]), y[:, n:], x[:, n:])
        gap = nll_pfn.numpy() - nll_exact
        rows.append(
            {
                "n": n,
                "nll_pfn": float(nll_pfn.mean()),
                "nll_exact": float(nll_exact.mean()),
                "gap": float(gap.mean()),
                "gap_se": float(gap.std() / np.sqrt(gap.size)),
            }
        )
    return rows


def phr_rows(cgm, sizes, contexts, n_generated, n_completions, max_context) -> list[dict]:
    oracle = BayesianPolynomialRegression(3)
    rows = []
    for n in sizes:
        n_gen = max(0, min(n_generated, max_context - n))
        for c in range(contexts):
            seed = 1000 * n + c
            rng = np.random.default_rng(seed)
            prior = oracle.prior_state(1)
            x = oracle.sample_x(prior, n + 4, rng)
            mech = oracle.sample_mechanism(prior, x, 1, rng)
            y = mech.sample(rng)[0, 0]
            ctx, xq = (x[0, :n], y[:n]), x[0, n:]
            f_star = GaussianMechanism(mech.loc[0, 0, n:], mech.scale[0, 0, n:])
            est = phr(cgm, ctx, xq, EPSILON, n_gen, n_completions, 100, random_state=seed + 1)
            ex = exact_phr(oracle, ctx, xq, EPSILON, n_draws=4000, random_state=seed + 2)
            t_pfn = thr(cgm, ctx, xq, f_star, EPSILON, n_responses=4000, random_state=seed + 3)
            t_orc = thr(oracle, ctx, xq, f_star, EPSILON)
            for j in range(4):
                rows.append(
                    {
                        "n": n,
                        "n_generated": n_gen,
                        "phr_pfn": float(est.estimate[j]),
                        "thr_pfn": float(t_pfn[j]),
                        "exact_phr_oracle": float(ex.estimate[j]),
                        "thr_oracle": float(t_orc[j]),
                    }
                )
    return rows


def pvalue_rows(cgm, seeds: int, n: int = 20, m: int = 20, n_generated: int = 40) -> list[dict]:
    oracle = BayesianPolynomialRegression(3)
    truths = {"prior": None, "step": np.sign, "sine": lambda x: np.sin(12 * np.pi * x)}
    rows = []
    for name, fn in truths.items():
        for s in range(seeds):
            rng = np.random.default_rng(s)
            prior = oracle.prior_state(1)
            x = oracle.sample_x(prior, n + m, rng)
            if fn is None:
                y = oracle.sample_mechanism(prior, x, 1, rng).sample(rng)[0, 0]
            else:
                y = fn(x[0, :, 0]) + 0.3 * rng.standard_normal(n + m)
            ctx, held = (x[0, :n], y[:n]), (x[0, n:], y[n:])
            row = {"truth": name, "seed": s}
            for variant in ("lite", "full"):
                res = gpv(
                    cgm,
                    ctx,
                    held,
                    variant=variant,
                    n_generated=n_generated,
                    n_completions=100,
                    random_state=s + 1,
                )
                row[variant] = res.p_value
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    module, config = load_pfn_module(args.weights)
    max_context = int(config["training"]["max_context"])
    cgm = PFNRegression(args.weights)
    sizes = [0, 2, 5, 10, 20, 40]
    gap = nll_gap(module, [s for s in sizes if s <= max_context], 200 if args.quick else 1000)
    for row in gap:
        print(json.dumps(row), flush=True)
    psizes = [2, 5, 10, 20, 40] if not args.quick else [2, 10, 40]
    rows = phr_rows(cgm, psizes, 3 if args.quick else 10, 60, 100, max_context)
    est = np.array([r["phr_pfn"] for r in rows])
    summary = {
        "instances": len(rows),
        "mae_vs_thr_pfn": float(np.mean(np.abs(est - [r["thr_pfn"] for r in rows]))),
        "r2_vs_thr_pfn": r2(np.array([r["thr_pfn"] for r in rows]), est),
        "mae_vs_exact_phr_oracle": float(
            np.mean(np.abs(est - [r["exact_phr_oracle"] for r in rows]))
        ),
        "r2_vs_exact_phr_oracle": r2(np.array([r["exact_phr_oracle"] for r in rows]), est),
        "by_n": {
            n: {
                "phr_pfn": float(np.mean([r["phr_pfn"] for r in rows if r["n"] == n])),
                "thr_pfn": float(np.mean([r["thr_pfn"] for r in rows if r["n"] == n])),
                "exact_phr_oracle": float(
                    np.mean([r["exact_phr_oracle"] for r in rows if r["n"] == n])
                ),
            }
            for n in psizes
        },
    }
    print(json.dumps(summary), flush=True)
    prow = pvalue_rows(cgm, 5 if args.quick else 20)
    flags = {
        t: {
            v: float(np.mean([r[v] <= ALPHA for r in prow if r["truth"] == t]))
            for v in ("lite", "full")
        }
        for t in ("prior", "step", "sine")
    }
    print(json.dumps(flags), flush=True)
    command = f"python benchmarks/generative_pfn.py --weights {args.weights}" + (
        " --quick" if args.quick else ""
    )
    meta = {"command": command, "seconds": time.perf_counter() - start, "pfn_config": config}
    stem = "generative_pfn_quick" if args.quick else "generative_pfn"
    RESULTS.mkdir(exist_ok=True)
    payload = {"meta": meta, "nll_gap": gap, "phr": summary, "pvalue": flags, "rows": rows}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    lines = [
        "# PFN in-context learner vs the exact NIG oracle",
        "",
        f"Command: `{command}` ({meta['seconds']:.0f} s). PFN: {config['architecture']}, "
        f"trained {config['training']}.",
        "",
        "| n | NLL PFN | NLL exact | gap (nats/point) | se |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['n']} | {r['nll_pfn']:.3f} | {r['nll_exact']:.3f} | {r['gap']:.4f} | "
        f"{r['gap_se']:.4f} |"
        for r in gap
    ]
    lines += [
        "",
        f"PHR (epsilon = {EPSILON}; n_generated = min(60, max_context - n), 100 completions,"
        f" 100 responses) over {summary['instances']} (D_n, x) instances:"
        f" MAE vs the PFN's THR {summary['mae_vs_thr_pfn']:.3f}, R² {summary['r2_vs_thr_pfn']:.3f};"
        f" MAE vs the oracle's exact PHR {summary['mae_vs_exact_phr_oracle']:.3f},"
        f" R² {summary['r2_vs_exact_phr_oracle']:.3f}.",
        "",
        "| n | mean PHR (PFN) | mean THR (PFN) | mean exact PHR (oracle) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {v['phr_pfn']:.3f} | {v['thr_pfn']:.3f} | {v['exact_phr_oracle']:.3f} |"
        for n, v in summary["by_n"].items()
    ]
    lines += [
        "",
        f"Share of tasks flagged at alpha = {ALPHA} (n = 20, m = 20, noise 0.3 off-prior):",
        "",
        "| data | lite NLL | full NLL |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {v['lite']:.2f} | {v['full']:.2f} |" for t, v in flags.items()]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {RESULTS / stem}.md")


if __name__ == "__main__":
    main()
