"""IHDP benchmark of the knowable CATE estimators, with 10 % deferral.

For each IHDP realisation (standard 672/75 split) and each knowable
configuration: out-of-sample (test) and in-sample (train) √PEHE and ATE error,
coverage of the 95 % effect intervals on test units, and √PEHE after deferring
10 % of test units by posterior CATE variance (threshold: training-set
quantile) versus random deferral (without replacement, mean over 50 draws).
EconML peers (CausalForestDML, DRLearner with gradient-boosting nuisances) run
in the same benchmark when ``econml`` is importable; otherwise they are
reported as unavailable.

Usage::

    python benchmarks/ihdp_effects.py --quick            # realisations 1-3
    python benchmarks/ihdp_effects.py                    # realisations 1-50
    python benchmarks/ihdp_effects.py --realisations 1-10 --configs tarnet-ensemble

Writes ``benchmarks/results/ihdp_effects{suffix}.json`` and ``.md``.
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

import numpy as np

CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "tarnet-ensemble": ("TARNet", {"uncertainty": "ensemble"}),
    "dragonnet-ensemble": ("DragonNet", {"uncertainty": "ensemble"}),
    "tarnet-dropout": ("TARNet", {"uncertainty": "dropout"}),
    "tarnet-due": ("TARNet", {"uncertainty": "due"}),
    "dragonnet-due": ("DragonNet", {"uncertainty": "due"}),
}
DEFER_RATE = 0.10
RESULTS = Path(__file__).parent / "results"


def _parse_realisations(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out.extend(range(int(lo), int(hi) + 1))
        else:
            out.append(int(part))
    return out


def _score(tau_test, tau_train, truth_test, truth_train, var_test, var_train, lo, hi, seed):
    from knowable.decide import deferral_curve, variance_scores
    from knowable.effects.metrics import ate_error, sqrt_pehe

    unc = deferral_curve(
        tau_test,
        truth_test,
        variance_scores(effect_var=var_test),
        [0.0, DEFER_RATE],
        train_scores=variance_scores(effect_var=var_train),
    )
    rand = [
        deferral_curve(tau_test, truth_test, "random", [DEFER_RATE], random_state=seed + i)
        for i in range(50)
    ]
    return {
        "pehe_out": sqrt_pehe(tau_test, truth_test),
        "pehe_in": sqrt_pehe(tau_train, truth_train),
        "ate_err_out": ate_error(tau_test, truth_test),
        "ate_err_in": ate_error(tau_train, truth_train),
        "coverage95_out": float(np.mean((truth_test >= lo) & (truth_test <= hi))),
        "pehe_defer10_uncertainty": float(unc.sqrt_pehe[1]),
        "deferred_fraction_uncertainty": float(unc.deferred_fraction[1]),
        "pehe_defer10_random": float(np.mean([c.sqrt_pehe[0] for c in rand])),
    }


def run_knowable(
    config: str, k: int, fast: bool, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    import knowable.effects as eff
    from knowable.data import load_ihdp_train_test

    cls_name, kwargs = CONFIGS[config]
    extra = {"max_epochs": 30, "n_members": 2} if fast else {}
    extra.update(overrides or {})
    tr, te = load_ihdp_train_test(k)
    est = getattr(eff, cls_name)(**kwargs, **extra, device="cpu", random_state=1000 + k)
    t0 = time.perf_counter()
    est.fit(tr.x, tr.t, tr.y)
    fit_s = time.perf_counter() - t0
    lo, hi = est.effect_interval(te.x)
    row = _score(
        est.effect(te.x),
        est.effect(tr.x),
        te.truth["cate"],
        tr.truth["cate"],
        est.effect_var(te.x),
        est.effect_var(tr.x),
        lo,
        hi,
        seed=k,
    )
    return {"method": config, "realisation": k, "fit_s": fit_s, **row}


def run_peer(name: str, k: int) -> dict[str, Any]:
    from econml.dml import CausalForestDML
    from econml.dr import DRLearner
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    from knowable.data import load_ihdp_train_test
    from knowable.effects.metrics import ate_error, sqrt_pehe

    tr, te = load_ihdp_train_test(k)
    if name == "econml-causalforestdml":
        est = CausalForestDML(
            model_y=GradientBoostingRegressor(),
            model_t=GradientBoostingClassifier(),
            discrete_treatment=True,
            random_state=k,
        )
    else:
        est = DRLearner(
            model_propensity=GradientBoostingClassifier(),
            model_regression=GradientBoostingRegressor(),
            model_final=GradientBoostingRegressor(),
            random_state=k,
        )
    t0 = time.perf_counter()
    est.fit(tr.y, tr.t.astype(int), X=tr.x)
    fit_s = time.perf_counter() - t0
    tau_te, tau_tr = est.effect(te.x), est.effect(tr.x)
    return {
        "method": name,
        "realisation": k,
        "fit_s": fit_s,
        "pehe_out": sqrt_pehe(tau_te, te.truth["cate"]),
        "pehe_in": sqrt_pehe(tau_tr, tr.truth["cate"]),
        "ate_err_out": ate_error(tau_te, te.truth["cate"]),
        "ate_err_in": ate_error(tau_tr, tr.truth["cate"]),
    }


def _job(args: tuple[str, int, bool, dict[str, Any]]) -> dict[str, Any]:
    name, k, fast, overrides = args
    if name.startswith("econml"):
        return run_peer(name, k)
    return run_knowable(name, k, fast, overrides)


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value) if value not in ("", None) else None
    return out


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in dict.fromkeys(r["method"] for r in rows):
        sub = [r for r in rows if r["method"] == method]
        s: dict[str, Any] = {"n_realisations": len(sub)}
        for key in sub[0]:
            if key in ("method", "realisation"):
                continue
            vals = np.array([r[key] for r in sub], dtype=float)
            s[f"{key}_mean"] = float(vals.mean())
            s[f"{key}_median"] = float(np.median(vals))
            s[f"{key}_sem"] = float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else 0.0
        if "pehe_defer10_uncertainty" in sub[0]:
            base = np.array([r["pehe_out"] for r in sub])
            s["defer10_uncertainty_rel_change_mean"] = float(
                np.mean([r["pehe_defer10_uncertainty"] for r in sub] / base - 1)
            )
            s["defer10_random_rel_change_mean"] = float(
                np.mean([r["pehe_defer10_random"] for r in sub] / base - 1)
            )
        for k in (9, 13):
            hit = [r for r in sub if r["realisation"] == k]
            if hit:
                s[f"pehe_out_realisation_{k}"] = hit[0]["pehe_out"]
        out[method] = s
    return out


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "# IHDP effects benchmark",
        "",
        f"Command: `{result['command']}`  ",
        f"Realisations: {result['realisations']}; machine: {result['machine']}; "
        f"peers: {result['peers_status']}",
        "",
        "| method | n | √PEHE out mean | median | √PEHE in mean | ATE err out | ATE err in | "
        "cover95 out | defer10 unc Δ | defer10 rand Δ | r9 | r13 | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, s in result["summary"].items():

        def g(key: str, s: dict[str, Any] = s) -> str:
            v = s.get(key)
            return "-" if v is None else f"{v:.3f}"

        lines.append(
            f"| {method} | {s['n_realisations']} | {g('pehe_out_mean')} ± {g('pehe_out_sem')} | "
            f"{g('pehe_out_median')} | {g('pehe_in_mean')} | {g('ate_err_out_mean')} | "
            f"{g('ate_err_in_mean')} | {g('coverage95_out_mean')} | "
            f"{g('defer10_uncertainty_rel_change_mean')} | {g('defer10_random_rel_change_mean')} | "
            f"{g('pehe_out_realisation_9')} | {g('pehe_out_realisation_13')} | {g('fit_s_mean')} |"
        )
    lines += [
        "",
        "Δ = mean over realisations of (√PEHE after deferring 10 % of test units) / "
        "(√PEHE without deferral) − 1. Uncertainty deferral thresholds are training-set "
        "quantiles of the CATE posterior variance; random deferral is without replacement "
        "(mean of 50 draws).",
        "",
        "## Per realisation (out-of-sample √PEHE)",
        "",
        "| realisation | " + " | ".join(result["summary"]) + " |",
        "|---|" + "---|" * len(result["summary"]),
    ]
    by = {(r["method"], r["realisation"]): r for r in result["rows"]}
    for k in result["realisations"]:
        cells = [
            f"{by[(m, k)]['pehe_out']:.3f}" if (m, k) in by else "-" for m in result["summary"]
        ]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="realisations 1-3")
    parser.add_argument("--realisations", default="1-50")
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--fast", action="store_true", help="tiny training (smoke test only)")
    parser.add_argument("--suffix", default="")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override an estimator parameter for every knowable config (experiments only)",
    )
    args = parser.parse_args(argv)
    ks = [1, 2, 3] if args.quick else _parse_realisations(args.realisations)
    configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown config {c!r}; choose from {sorted(CONFIGS)}")
    try:
        import econml

        peers = ["econml-causalforestdml", "econml-drlearner"]
        peers_status = f"econml {econml.__version__}"
    except ImportError:
        peers, peers_status = [], "econml not importable (optional [peers] extra): peers skipped"
    overrides = _parse_overrides(args.set)
    jobs = [(c, k, args.fast, overrides) for k in ks for c in configs + peers]
    t0 = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    partial = RESULTS / f"ihdp_effects{args.suffix}.partial.jsonl"
    partial.write_text("")
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = []
        for row in pool.map(_job, jobs):
            rows.append(row)
            with partial.open("a") as fh:  # progress survives an interrupted run
                fh.write(json.dumps(row) + "\n")
            print(
                f"{row['method']:>24} r{row['realisation']:<3} √PEHE out {row['pehe_out']:.3f} "
                f"in {row['pehe_in']:.3f}  fit {row['fit_s']:.1f}s",
                flush=True,
            )
    summary = _summary(rows)
    if "econml-causalforestdml" in summary:
        ref = summary["econml-causalforestdml"]["fit_s_mean"]
        for s in summary.values():
            s["fit_time_ratio_to_causalforestdml"] = s["fit_s_mean"] / ref
    result = {
        "command": "python benchmarks/ihdp_effects.py " + " ".join(argv or []),
        "realisations": ks,
        "configs": configs,
        "overrides": overrides,
        "peers_status": peers_status,
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, torch threads 1/worker",
        "wall_s": time.perf_counter() - t0,
        "summary": summary,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"ihdp_effects{args.suffix}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
    stem.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result))
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
