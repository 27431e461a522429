"""IHDP benchmark of the knowable CATE estimators, with 10 % deferral.

For each IHDP realisation (standard 672/75 split) and each knowable
configuration: out-of-sample (test) and in-sample (train) √PEHE and ATE error,
coverage of the 95 % effect intervals on test units, and √PEHE after deferring
10 % of test units by posterior CATE variance (threshold: training-set
quantile) versus random deferral (without replacement, mean over 50 draws).
EconML peers (CausalForestDML, DRLearner with gradient-boosting nuisances,
fixed seeds) run in the same benchmark, in the same worker pool, when
``econml`` is importable, and a CausalML X-learner (gradient boosting) when
``causalml`` is; otherwise they are reported as unavailable. Every worker is
single-threaded (torch threads 1, BLAS/OpenMP pools 1, forest ``n_jobs=1``),
so fit times compare like with like; each method's fit time is also reported
per realisation as a ratio to ``CausalForestDML`` on the same realisation.
``--time-budget-min`` stops starting new realisations after that many minutes
and reports only realisations that every method finished.

Usage::

    python benchmarks/ihdp_effects.py --quick            # realisations 1-3
    python benchmarks/ihdp_effects.py                    # realisations 1-50
    python benchmarks/ihdp_effects.py --realisations 1-10 --configs tarnet-ensemble
    .venv-peers/bin/python benchmarks/ihdp_effects.py --configs tarnet-due --workers 2

Writes ``benchmarks/results/ihdp_effects{suffix}.json`` and ``.md`` (``--quick``: suffix
``_quick`` unless one is given). Jobs run
through :func:`knowable.parallel.run_jobs`: each finished (method,
realisation) is one JSON file in ``ihdp_effects{suffix}.jobs/`` and is not
run again by a later command on the same library code (``--fresh`` starts over).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from knowable.parallel import add_runner_arguments, parse_range

CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "tarnet-ensemble": ("TARNet", {"uncertainty": "ensemble"}),
    "dragonnet-ensemble": ("DragonNet", {"uncertainty": "ensemble"}),
    "tarnet-dropout": ("TARNet", {"uncertainty": "dropout"}),
    "tarnet-due": ("TARNet", {"uncertainty": "due"}),
    "dragonnet-due": ("DragonNet", {"uncertainty": "due"}),
    "tarnet-laplace": ("TARNet", {"uncertainty": "laplace"}),
}
DEFER_RATE = 0.10
PEERS_ECONML = ("econml-causalforestdml", "econml-drlearner")
PEER_CAUSALML = "causalml-xlearner"
FOCUS = (9, 13)  # very heterogeneous realisations (CATE sd about 27 and 36)
RESULTS = Path(__file__).parent / "results"


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
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    from knowable.data import load_ihdp_train_test
    from knowable.effects.metrics import ate_error, sqrt_pehe

    tr, te = load_ihdp_train_test(k)
    t_int = tr.t.astype(int)
    with threadpool_limits(1):
        if name == "econml-causalforestdml":
            from econml.dml import CausalForestDML

            est = CausalForestDML(
                model_y=GradientBoostingRegressor(random_state=k),
                model_t=GradientBoostingClassifier(random_state=k),
                discrete_treatment=True,
                n_jobs=1,
                random_state=k,
            )
        elif name == "econml-drlearner":
            from econml.dr import DRLearner

            est = DRLearner(
                model_propensity=GradientBoostingClassifier(random_state=k),
                model_regression=GradientBoostingRegressor(random_state=k),
                model_final=GradientBoostingRegressor(random_state=k),
                random_state=k,
            )
        elif name == PEER_CAUSALML:
            from causalml.inference.meta import BaseXRegressor

            est = BaseXRegressor(learner=GradientBoostingRegressor(random_state=k))
        else:
            raise ValueError(name)
        t0 = time.perf_counter()
        if name == PEER_CAUSALML:
            est.fit(tr.x, t_int, tr.y)
            fit_s = time.perf_counter() - t0
            tau_te = np.ravel(est.predict(te.x))
            tau_tr = np.ravel(est.predict(tr.x))
        else:
            est.fit(tr.y, t_int, X=tr.x)
            fit_s = time.perf_counter() - t0
            tau_te, tau_tr = np.ravel(est.effect(te.x)), np.ravel(est.effect(tr.x))
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
    if name.startswith(("econml", "causalml")):
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
            if key in ("method", "realisation", "fit_ratio_cf"):
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
        for k in FOCUS:
            hit = [r for r in sub if r["realisation"] == k]
            if hit:
                for key in ("pehe_out", "pehe_in", "ate_err_out"):
                    s[f"{key}_realisation_{k}"] = hit[0][key]
        rest = np.array([r["pehe_out"] for r in sub if r["realisation"] not in FOCUS])
        if len(rest):
            s["pehe_out_mean_without_9_13"] = float(rest.mean())
            s["pehe_out_median_without_9_13"] = float(np.median(rest))
        ratios = np.array([r["fit_ratio_cf"] for r in sub if "fit_ratio_cf" in r])
        if len(ratios):
            s["fit_ratio_cf_mean"] = float(ratios.mean())
            s["fit_ratio_cf_median"] = float(np.median(ratios))
        out[method] = s
    return out


def _markdown(result: dict[str, Any]) -> str:
    methods = list(result["summary"])
    lines = [
        "# IHDP effects benchmark",
        "",
        f"Command: `{result['command']}`  ",
        f"Realisations ({len(result['realisations'])}): {result['realisations']}  ",
        f"Not run (time budget or incomplete): {result.get('not_run') or 'none'}  ",
        f"Machine: {result['machine']}; wall {result['wall_s'] / 60:.1f} min  ",
        f"Versions: {result.get('versions', '-')}; peers: {result['peers_status']}",
        "",
        "| method | n | √PEHE out mean ± SEM | median | √PEHE in mean | median | ATE err out | "
        "ATE err in | cover95 out | defer10 unc Δ | defer10 rand Δ | fit s | "
        "fit / CF (median per real.) | fit / CF (ratio of means) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method, s in result["summary"].items():

        def g(key: str, s: dict[str, Any] = s, fmt: str = ".3f") -> str:
            v = s.get(key)
            return "-" if v is None else format(v, fmt)

        lines.append(
            f"| {method} | {s['n_realisations']} | {g('pehe_out_mean')} ± {g('pehe_out_sem')} | "
            f"{g('pehe_out_median')} | {g('pehe_in_mean')} | {g('pehe_in_median')} | "
            f"{g('ate_err_out_mean')} | {g('ate_err_in_mean')} | {g('coverage95_out_mean')} | "
            f"{g('defer10_uncertainty_rel_change_mean')} | {g('defer10_random_rel_change_mean')} | "
            f"{g('fit_s_mean', fmt='.1f')} | {g('fit_ratio_cf_median', fmt='.2f')} | "
            f"{g('fit_time_ratio_to_causalforestdml', fmt='.2f')} |"
        )
    lines += [
        "",
        "Δ = mean over realisations of (√PEHE after deferring 10 % of test units) / "
        "(√PEHE without deferral) − 1. Uncertainty deferral thresholds are training-set "
        "quantiles of the CATE posterior variance; random deferral is without replacement "
        "(mean of 50 draws). fit / CF: fit time divided by CausalForestDML's fit time on the "
        "same realisation (median over realisations), and mean fit time / CausalForestDML's "
        "mean fit time. Fit time excludes prediction.",
        "",
        "## Realisations 9 and 13 (very heterogeneous effects), and the rest",
        "",
        "| method | r9 √PEHE out | r9 √PEHE in | r9 ATE err | r13 √PEHE out | r13 √PEHE in | "
        "r13 ATE err | √PEHE out mean without 9, 13 | median without 9, 13 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for method, s in result["summary"].items():

        def h(key: str, s: dict[str, Any] = s) -> str:
            v = s.get(key)
            return "-" if v is None else f"{v:.3f}"

        lines.append(
            f"| {method} | {h('pehe_out_realisation_9')} | {h('pehe_in_realisation_9')} | "
            f"{h('ate_err_out_realisation_9')} | {h('pehe_out_realisation_13')} | "
            f"{h('pehe_in_realisation_13')} | {h('ate_err_out_realisation_13')} | "
            f"{h('pehe_out_mean_without_9_13')} | {h('pehe_out_median_without_9_13')} |"
        )
    lines += [
        "",
        "## Per realisation",
        "",
        "Cells: out-of-sample √PEHE / in-sample √PEHE / fit time ÷ CausalForestDML fit time.",
        "",
        "| realisation | " + " | ".join(methods) + " |",
        "|---|" + "---|" * len(methods),
    ]
    by = {(r["method"], r["realisation"]): r for r in result["rows"]}
    for k in result["realisations"]:
        cells = []
        for m in methods:
            r = by.get((m, k))
            if r is None:
                cells.append("-")
                continue
            ratio = f"{r['fit_ratio_cf']:.2f}" if "fit_ratio_cf" in r else "-"
            cells.append(f"{r['pehe_out']:.3f} / {r['pehe_in']:.3f} / {ratio}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _run_jobs(jobs: list[tuple[str, int, bool, dict[str, Any]]], store: Path, args: Any):
    """The shared runner: one JSON per finished (method, realisation); finished jobs resume."""
    from knowable.parallel import run_jobs, runner_options

    def key(job: tuple[str, int, bool, dict[str, Any]]) -> str:
        method, k, fast, overrides = job
        tag = f"{method}-r{k}" + ("-fast" if fast else "")
        if overrides:
            text = json.dumps(overrides, sort_keys=True).encode()
            tag += "-set" + hashlib.sha256(text).hexdigest()[:8]
        return tag

    def describe(record: Any) -> str:
        row = record.result
        return (
            f"{row['method']:>24} r{row['realisation']:<3} √PEHE out {row['pehe_out']:.3f} "
            f"in {row['pehe_in']:.3f}  fit {row['fit_s']:.1f}s"
        )

    report = run_jobs(
        _job, {key(j): j for j in jobs}, store, describe=describe, **runner_options(args)
    )
    return report.results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="realisations 1-3")
    parser.add_argument("--realisations", default="1-50")
    parser.add_argument(
        "--configs",
        default=None,
        help="comma-separated configs (default: every config whose uncertainty method is "
        "installed; tarnet-laplace needs knowable[laplace])",
    )
    parser.add_argument("--fast", action="store_true", help="tiny training (smoke test only)")
    parser.add_argument(
        "--suffix",
        default=None,
        help="appended to the result names (default: '_quick' with --quick, else none)",
    )
    add_runner_arguments(parser, workers=max(1, (os.cpu_count() or 1)))
    parser.add_argument(
        "--no-peers", action="store_true", help="skip EconML/CausalML even if importable"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="override an estimator parameter for every knowable config (experiments only)",
    )
    args = parser.parse_args(argv)
    if args.suffix is None:  # a quick run never overwrites the full table
        args.suffix = "_quick" if args.quick else ""
    ks = [1, 2, 3] if args.quick else parse_range(args.realisations)
    from knowable.models import get_uncertainty

    if args.configs is None:
        configs = [c for c in CONFIGS if get_uncertainty(CONFIGS[c][1]["uncertainty"]).installed()]
        for c in sorted(set(CONFIGS) - set(configs)):
            print(f"skipping {c}: its uncertainty method's optional extra is not installed")
    else:
        configs = [c for c in args.configs.split(",") if c]
    for c in configs:
        if c not in CONFIGS:
            raise SystemExit(f"unknown config {c!r}; choose from {sorted(CONFIGS)}")
    import sklearn
    import torch

    import knowable

    versions = [f"knowable {knowable.__version__}", f"torch {torch.__version__}"]
    versions.append(f"scikit-learn {sklearn.__version__}")
    peers: list[str] = []
    status: list[str] = []
    if args.no_peers:
        status.append("peers skipped (--no-peers)")
    else:
        try:
            import econml

            peers += list(PEERS_ECONML)
            versions.append(f"econml {econml.__version__}")
            status.append("econml CausalForestDML, DRLearner")
        except ImportError:
            status.append("econml not importable (optional [peers] extra): skipped")
        try:
            from importlib.metadata import version

            import causalml  # noqa: F401

            peers.append(PEER_CAUSALML)
            versions.append(f"causalml {version('causalml')}")
            status.append("causalml BaseXRegressor")
        except ImportError:
            status.append("causalml not importable: skipped")
    peers_status = "; ".join(status)
    overrides = _parse_overrides(args.set)
    jobs = [(c, k, args.fast, overrides) for k in ks for c in configs + peers]
    t0 = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = _run_jobs(jobs, RESULTS / f"ihdp_effects{args.suffix}.jobs", args)
    methods = configs + peers
    done = {(r["method"], r["realisation"]) for r in rows}
    complete = [k for k in ks if all((m, k) in done for m in methods)]
    not_run = [k for k in ks if k not in complete]
    rows = sorted(
        (r for r in rows if r["realisation"] in complete),
        key=lambda r: (r["realisation"], methods.index(r["method"])),
    )
    cf = {r["realisation"]: r["fit_s"] for r in rows if r["method"] == "econml-causalforestdml"}
    for r in rows:
        if r["realisation"] in cf:
            r["fit_ratio_cf"] = r["fit_s"] / cf[r["realisation"]]
    summary = _summary(rows) if rows else {}
    if "econml-causalforestdml" in summary:
        ref = summary["econml-causalforestdml"]["fit_s_mean"]
        for s in summary.values():
            s["fit_time_ratio_to_causalforestdml"] = s["fit_s_mean"] / ref
    exe = Path(sys.executable)
    if exe.is_relative_to(Path.cwd()):
        exe = exe.relative_to(Path.cwd())
    result = {
        "command": f"{exe} benchmarks/ihdp_effects.py " + " ".join(argv or []),
        "realisations": complete,
        "not_run": not_run,
        "configs": configs,
        "peers": peers,
        "overrides": overrides,
        "peers_status": peers_status,
        "versions": ", ".join(versions),
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, {args.workers} workers, "
        "1 thread per worker",
        "wall_s": time.perf_counter() - t0,
        "summary": summary,
        "rows": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"ihdp_effects{args.suffix}"
    (stem.parent / (stem.name + ".json")).write_text(json.dumps(result, indent=2))
    (stem.parent / (stem.name + ".md")).write_text(_markdown(result))
    print(_markdown(result))
    return result


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
