"""Experimental design for causal discovery: expected SHD after rounds of interventions.

Worlds: random SCMs (``knowable.design.random_scm``) on Erdos-Renyi or
scale-free DAGs (1 expected parent per node), linear-Gaussian (weights ±U(0.5, 2))
or nonlinear additive (tanh mechanisms), noise sd 0.5, intervention values in
[-10, 10]. Each seed draws the world and 100 observational samples; the
posterior is a DAG bootstrap of causal-learn's PC (``n_bootstrap`` resamples x
4 random extensions, reweighted by the interventional BIC plus the ER graph prior
with the true edge density; at the fit and after each batch the support is
moved by an order-based hill climb from the top 3 particles and an iterated
one-edge search around the top 3 (until they stop changing; the defaults of
``BootstrapPosterior``); linear basis for linear worlds,
additive tanh basis for nonlinear ones), fitted once per seed and copied to
every strategy, so strategies are paired by seed (same world, same data, same
starting posterior).

Strategies: random (target and value), greedy (CBED), soft (soft top-k, T=0.2),
differentiable (DiffCBED single-target). Each round: ``batch`` single-sample
interventions, posterior update, metrics (expected SHD, edge AUROC/AUPRC,
expected orientation F1, i-MMD on held-out interventions at ±20 on 5 nodes,
graph entropy) and the design wall time.

Reported: per configuration and strategy, mean final metrics, mean design
seconds per round, and the paired-by-seed difference of final expected SHD to
random with a 95 % t-interval.

Usage::

    python benchmarks/causal_design.py --quick
    python benchmarks/causal_design.py --graphs er --nodes 20 --kinds linear --seeds 5

Writes ``benchmarks/results/causal_design{suffix}.{json,md,png}``.
Needs ``knowable[design]`` (causal-learn).
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

RESULTS = Path(__file__).parent / "results"
STRATEGIES = ("random", "greedy", "soft", "differentiable")


def run_config(
    graph: str,
    d: int,
    kind: str,
    seeds: list[int],
    strategies: list[str],
    rounds: int,
    batch: int,
    n_bootstrap: int,
    diff_steps: int,
    log: Any,
    diff_rescore: int = 0,
    diff_warm_start: int = 0,
) -> list[dict[str, Any]]:
    from knowable.design import BootstrapPosterior, random_scm, run_design

    out = []
    for seed in seeds:
        scm = random_scm(d, graph, kind, noise_std=0.5, random_state=seed)
        data = scm.sample(100, random_state=10_000 + seed)
        t0 = time.perf_counter()
        est = BootstrapPosterior(
            n_bootstrap=n_bootstrap,
            n_extensions=4,
            basis="linear" if kind == "linear" else "additive",
            graph_prior="er",
            expected_degree=1.0,
            random_state=seed,
        ).fit(data)
        fit_s = time.perf_counter() - t0
        mmd_targets = np.random.default_rng(seed).choice(d, size=min(5, d), replace=False)
        for strategy in strategies:
            params = (
                {"n_steps": diff_steps, "n_rescore": diff_rescore, "warm_start": diff_warm_start}
                if strategy == "differentiable"
                else {}
            )
            t0 = time.perf_counter()
            hist = run_design(
                scm,
                copy.deepcopy(est),
                strategy,
                batch_size=batch,
                n_rounds=rounds,
                strategy_params=params,
                mmd_targets=mmd_targets,
                mmd_samples=50,
                initial_data=data,
                random_state=seed,
            )
            rec = {
                "graph": graph,
                "nodes": d,
                "kind": kind,
                "seed": seed,
                "strategy": strategy,
                "n_edges": int(scm.adjacency.sum()),
                "bootstrap_fit_seconds": fit_s,
                "run_seconds": time.perf_counter() - t0,
                "metrics": hist.metrics,
                "designs": hist.designs,
            }
            out.append(rec)
            m = hist.metrics[-1]
            print(
                f"{graph}-{d}-{kind} seed {seed} {strategy:>14}: E-SHD {hist.metrics[0]['expected_shd']:.2f}"
                f" -> {m['expected_shd']:.2f}, AUROC {m['edge_auroc']:.3f}, "
                f"design {np.mean([r['design_seconds'] for r in hist.metrics[1:]]):.2f}s/round",
                file=log,
                flush=True,
            )
    return out


def _ci(diff: np.ndarray) -> list[float]:
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    t = stats.t.ppf(0.975, len(diff) - 1)
    return [float(diff.mean() - t * se), float(diff.mean() + t * se)]


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    keys = sorted({(r["graph"], r["nodes"], r["kind"]) for r in records})
    for key in keys:
        recs = [r for r in records if (r["graph"], r["nodes"], r["kind"]) == key]
        base = {
            r["seed"]: r["metrics"][-1]["expected_shd"] for r in recs if r["strategy"] == "random"
        }
        for strategy in STRATEGIES:
            rs = sorted((r for r in recs if r["strategy"] == strategy), key=lambda r: r["seed"])
            if not rs:
                continue
            final = {
                m: [r["metrics"][-1][m] for r in rs]
                for m in ("expected_shd", "edge_auroc", "edge_auprc", "expected_f1", "i_mmd")
            }
            start = [r["metrics"][0]["expected_shd"] for r in rs]
            area = {r["seed"]: np.mean([m["expected_shd"] for m in r["metrics"][1:]]) for r in rs}
            secs = [np.mean([m["design_seconds"] for m in r["metrics"][1:]]) for r in rs]
            cpu = [
                np.mean([m.get("design_cpu_seconds", np.nan) for m in r["metrics"][1:]]) for r in rs
            ]
            row = {
                "graph": key[0],
                "nodes": key[1],
                "kind": key[2],
                "strategy": strategy,
                "seeds": len(rs),
                "start_eshd": float(np.mean(start)),
                **{f"final_{m}": float(np.nanmean(v)) for m, v in final.items()},
                "design_seconds_per_round": float(np.mean(secs)),
                "design_cpu_seconds_per_round": float(np.mean(cpu)),
            }
            paired = [
                r["metrics"][-1]["expected_shd"] - base[r["seed"]] for r in rs if r["seed"] in base
            ]
            row["mean_eshd_over_rounds"] = float(np.mean(list(area.values())))
            if strategy != "random" and len(paired) >= 2:
                diff = np.asarray(paired)
                row.update(eshd_diff_vs_random=float(diff.mean()), eshd_diff_ci=_ci(diff))
                base_area = {
                    r["seed"]: np.mean([m["expected_shd"] for m in r["metrics"][1:]])
                    for r in recs
                    if r["strategy"] == "random"
                }
                da = np.asarray([area[s] - base_area[s] for s in area if s in base_area])
                row.update(area_diff_vs_random=float(da.mean()), area_diff_ci=_ci(da))
            rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], command: str, meta: dict[str, Any]) -> str:
    lines = [
        "# Causal experimental design benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"Rounds {meta['rounds']}, batch {meta['batch']} single-sample interventions, "
        f"{meta['n_bootstrap']} PC bootstraps x 4 extensions, 100 observational samples, "
        f"differentiable: {meta['diff_steps']} Adam steps. Total wall time {meta['seconds']:.0f} s, "
        f"CPU time {meta.get('cpu_seconds', float('nan')):.0f} s "
        f"on {meta['machine']} (load average at the end: {meta.get('loadavg_end')}).",
        "",
        "E-SHD: expected SHD (lower is better). Δ vs random: paired-by-seed mean difference of "
        "final E-SHD with a 95 % t-interval (negative = better than random); mean E-SHD: "
        "E-SHD averaged over rounds 1..R (area under the curve), with its paired difference.",
        "",
        "| graph | d | SCM | strategy | seeds | E-SHD start | E-SHD final | Δ final vs random [95 % CI] | mean E-SHD | Δ mean vs random [95 % CI] | AUROC | AUPRC | F1 | i-MMD | design s/round | design CPU s/round |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ci = (
            f"{r['eshd_diff_vs_random']:+.2f} [{r['eshd_diff_ci'][0]:+.2f}, {r['eshd_diff_ci'][1]:+.2f}]"
            if "eshd_diff_vs_random" in r
            else "—"
        )
        ca = (
            f"{r['area_diff_vs_random']:+.2f} [{r['area_diff_ci'][0]:+.2f}, {r['area_diff_ci'][1]:+.2f}]"
            if "area_diff_vs_random" in r
            else "—"
        )
        lines.append(
            f"| {r['graph']} | {r['nodes']} | {r['kind']} | {r['strategy']} | {r['seeds']} | "
            f"{r['start_eshd']:.2f} | {r['final_expected_shd']:.2f} | {ci} | "
            f"{r['mean_eshd_over_rounds']:.2f} | {ca} | "
            f"{r['final_edge_auroc']:.3f} | {r['final_edge_auprc']:.3f} | {r['final_expected_f1']:.3f} | "
            f"{r['final_i_mmd']:.3f} | {r['design_seconds_per_round']:.2f} | "
            f"{r.get('design_cpu_seconds_per_round', float('nan')):.2f} |"
        )
    return "\n".join(lines) + "\n"


def figure(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from knowable.design import plot_design_curves

    keys = sorted({(r["graph"], r["nodes"], r["kind"]) for r in records})
    # one figure: the largest linear ER configuration if present, else the first
    pick = next(
        (k for k in keys if k[0] == "er" and k[2] == "linear" and k[1] == max(x[1] for x in keys)),
        keys[0],
    )
    curves = {
        s: [
            r["metrics"]
            for r in records
            if (r["graph"], r["nodes"], r["kind"]) == pick and r["strategy"] == s
        ]
        for s in STRATEGIES
    }
    fig = plot_design_curves({k: v for k, v in curves.items() if v})
    fig.suptitle(
        f"{pick[0].upper()} {pick[1]} nodes, {pick[2]} (mean ± s.e. over seeds)", fontsize=10
    )
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="3 rounds of 5, 5 PC bootstraps, 15 Adam steps; 5 seeds, all 8 configurations",
    )
    ap.add_argument("--graphs", default="er,sf")
    ap.add_argument("--nodes", default="10,20")
    ap.add_argument("--kinds", default="linear,nonlinear")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--seed-start", type=int, default=0, help="first seed (seeds are consecutive)")
    ap.add_argument(
        "--merge",
        nargs="+",
        default=None,
        help="only combine the runs of these result JSONs into causal_design{suffix}",
    )
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--n-bootstrap", type=int, default=10)
    ap.add_argument("--diff-steps", type=int, default=30)
    ap.add_argument(
        "--diff-rescore",
        type=int,
        default=0,
        help="differentiable: score the best N batches again on fresh common random numbers",
    )
    ap.add_argument(
        "--diff-warm-start",
        type=int,
        default=0,
        help="differentiable: start from a single-design value search on N values (0: off)",
    )
    ap.add_argument("--suffix", default=None)
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.batch, args.diff_steps, args.n_bootstrap = 3, 5, 15, 5
    suffix = args.suffix if args.suffix is not None else ("_quick" if args.quick else "")
    command = " ".join(
        ["python benchmarks/causal_design.py", *(sys.argv[1:] if argv is None else argv)]
    )
    # torch.optim imports torch._dynamo on first use (seconds); pay it before any timing
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    t0, c0 = time.perf_counter(), time.process_time()
    records: list[dict[str, Any]] = []
    if args.merge:
        docs = [json.loads(Path(f).read_text()) for f in args.merge]
        records = [r for doc in docs for r in doc["runs"]]
        meta = dict(
            docs[0]["meta"],
            seconds=sum(doc["meta"]["seconds"] for doc in docs),
            cpu_seconds=sum(doc["meta"].get("cpu_seconds", np.nan) for doc in docs),
            loadavg_end=[doc["meta"].get("loadavg_end") for doc in docs],
        )
        command = " + ".join(doc["command"] for doc in docs)
        _write(records, command, meta, suffix)
        return
    for graph in args.graphs.split(","):
        for d in (int(x) for x in args.nodes.split(",")):
            for kind in args.kinds.split(","):
                records += run_config(
                    graph,
                    d,
                    kind,
                    list(range(args.seed_start, args.seed_start + args.seeds)),
                    args.strategies.split(","),
                    args.rounds,
                    args.batch,
                    args.n_bootstrap,
                    args.diff_steps,
                    sys.stdout,
                    args.diff_rescore,
                    args.diff_warm_start,
                )
    meta = {
        "rounds": args.rounds,
        "batch": args.batch,
        "n_bootstrap": args.n_bootstrap,
        "diff_steps": args.diff_steps,
        "diff_rescore": args.diff_rescore,
        "diff_warm_start": args.diff_warm_start,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "loadavg_end": Path("/proc/loadavg").read_text().split()[:3]
        if Path("/proc/loadavg").exists()
        else None,
        "machine": f"{platform.machine()} ({platform.system()}), OMP threads 1",
    }
    _write(records, command, meta, suffix)


def _write(records: list[dict[str, Any]], command: str, meta: dict[str, Any], suffix: str) -> None:
    rows = summarise(records)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"causal_design{suffix}"
    stem.with_suffix(".json").write_text(
        json.dumps({"command": command, "meta": meta, "summary": rows, "runs": records}, indent=1)
    )
    stem.with_suffix(".md").write_text(markdown(rows, command, meta))
    figure(records, stem.with_suffix(".png"))
    print(markdown(rows, command, meta))


if __name__ == "__main__":
    main()
