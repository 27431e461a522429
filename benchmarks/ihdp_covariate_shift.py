"""IHDP covariate-shift (IHDP-Cov) deferral benchmark of the default TARNet-DUE.

Split (``knowable.data.load_ihdp_covariate_shift``): all 747 units of a
realisation; train on the 389 married mothers (``b.marr == 1``), test on the
358 unmarried ones; ``b.marr`` is removed from the features. For each
realisation the default ``TARNet()`` (DUE) is fitted on the training units and
the test units are deferred by four policies from ``knowable.decide``:

* ``uncertainty``: posterior CATE variance (``variance_scores``);
* ``sign``: posterior probability of the wrong sign (``sign_scores``);
* ``overlap``: lack of propensity overlap ``0.5 - min(p, 1 - p)``
  (``overlap_scores`` of the estimator's propensity);
* ``random``: ``round(r * n)`` test units without replacement (mean of 50 draws).

Thresholds of the score policies are training-set ``1 - r`` quantiles applied
to the test scores (as ``knowable.decide`` does), so the realised deferred
share of test units differs from ``r`` under shift; it is reported. As a
secondary view, ``*_topk`` rows defer exactly ``round(r * n)`` test units by
rank (equal deferred share for every policy).

Usage::

    python benchmarks/ihdp_covariate_shift.py --quick          # realisations 1-3
    python benchmarks/ihdp_covariate_shift.py --realisations 1-50 --workers 2
    python benchmarks/ihdp_covariate_shift.py --render benchmarks/results/ihdp_covariate_shift.json

Writes ``benchmarks/results/ihdp_covariate_shift{suffix}.json`` and ``.md``; each
finished realisation is one JSON file in ``ihdp_covariate_shift{suffix}.jobs/``
(:func:`knowable.parallel.run_jobs`), not run again on the same library code.
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

import numpy as np

from knowable.parallel import add_runner_arguments, parse_range

RATES = tuple(float(r) for r in np.round(np.arange(0.0, 1.0, 0.05), 2))
REPORT_RATE = 0.5
RESULTS = Path(__file__).parent / "results"
POLICIES = ("uncertainty", "sign", "overlap", "random")


def run_one(k: int, fast: bool) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from knowable.data import load_ihdp_covariate_shift
    from knowable.decide import deferral_curve, overlap_scores, sign_scores, variance_scores
    from knowable.effects import TARNet
    from knowable.effects.metrics import ate_error, sqrt_pehe

    tr, te = load_ihdp_covariate_shift(k)
    extra = {"max_epochs": 30} if fast else {}
    est = TARNet(**extra, device="cpu", random_state=1000 + k)
    t0 = time.perf_counter()
    est.fit(tr.x, tr.t, tr.y)
    fit_s = time.perf_counter() - t0
    tau_te, tau_tr = est.effect(te.x), est.effect(tr.x)
    var_te, var_tr = est.effect_var(te.x), est.effect_var(tr.x)
    lo, hi = est.effect_interval(te.x)
    truth = te.truth["cate"]
    scores = {
        "uncertainty": (variance_scores(effect_var=var_te), variance_scores(effect_var=var_tr)),
        "sign": (
            sign_scores(effect_mean=tau_te, effect_var=var_te),
            sign_scores(effect_mean=tau_tr, effect_var=var_tr),
        ),
        "overlap": (overlap_scores(est.propensity(te.x)), overlap_scores(est.propensity(tr.x))),
    }
    curves: dict[str, Any] = {}
    for name, (s_te, s_tr) in scores.items():
        curves[name] = deferral_curve(tau_te, truth, s_te, RATES, train_scores=s_tr).to_dict()
        curves[f"{name}_topk"] = deferral_curve(tau_te, truth, s_te, RATES).to_dict()
    rand = [
        deferral_curve(tau_te, truth, "random", RATES, random_state=k * 100 + i) for i in range(50)
    ]
    curves["random"] = {
        "rates": list(RATES),
        "deferred_fraction": np.mean([c.deferred_fraction for c in rand], 0).tolist(),
        "sqrt_pehe": np.mean([c.sqrt_pehe for c in rand], 0).tolist(),
        "error_rate": np.mean([c.error_rate for c in rand], 0).tolist(),
        "n_total": len(truth),
    }
    i50 = RATES.index(REPORT_RATE)
    row: dict[str, Any] = {
        "realisation": k,
        "fit_s": fit_s,
        "n_train": len(tr.y),
        "n_test": len(te.y),
        "cate_sd_test": float(truth.std()),
        "pehe_out": sqrt_pehe(tau_te, truth),
        "pehe_in": sqrt_pehe(tau_tr, tr.truth["cate"]),
        "ate_err_out": ate_error(tau_te, truth),
        "coverage95_out": float(np.mean((truth >= lo) & (truth <= hi))),
        "mean_var_test_over_train": float(var_te.mean() / var_tr.mean()),
    }
    for name, c in curves.items():
        row[f"pehe50_{name}"] = float(c["sqrt_pehe"][i50])
        row[f"deferred50_{name}"] = float(c["deferred_fraction"][i50])
        row[f"error50_{name}"] = float(c["error_rate"][i50])
    row["curves"] = curves
    return row


def _job(job: tuple[int, bool]) -> dict[str, Any]:
    return run_one(*job)


def _run(ks: list[int], store: Path, args: Any) -> list[dict[str, Any]]:
    """The shared runner: one JSON per finished realisation; finished ones resume."""
    from knowable.parallel import run_jobs, runner_options

    def describe(record: Any) -> str:
        row = record.result
        return (
            f"r{row['realisation']:<3} √PEHE {row['pehe_out']:.3f}  @50%: "
            + "  ".join(
                f"{p} {row[f'pehe50_{p}']:.3f} ({row[f'deferred50_{p}']:.2f})" for p in POLICIES
            )
            + f"  fit {row['fit_s']:.0f}s"
        )

    jobs = {f"r{k}" + ("-fast" if args.fast else ""): (k, args.fast) for k in ks}
    report = run_jobs(_job, jobs, store, describe=describe, **runner_options(args))
    return sorted(report.results, key=lambda r: r["realisation"])


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    s: dict[str, Any] = {"n_realisations": len(rows)}
    for key in rows[0]:
        if key in ("realisation", "curves"):
            continue
        vals = np.array([r[key] for r in rows], dtype=float)
        s[f"{key}_mean"] = float(np.nanmean(vals))
        s[f"{key}_median"] = float(np.nanmedian(vals))
        s[f"{key}_sem"] = (
            float(np.nanstd(vals, ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else 0.0
        )
    wins = {}
    for base, other in (
        ("uncertainty", "overlap"),
        ("uncertainty", "random"),
        ("uncertainty_topk", "overlap_topk"),
    ):
        a = np.array([r[f"pehe50_{base}"] for r in rows])
        b = np.array([r[f"pehe50_{other}"] for r in rows])
        wins[f"{base}_beats_{other}"] = int(np.sum(a < b))
    s["wins_at_50"] = wins
    base = np.array([r["pehe_out"] for r in rows])
    for name in rows[0]["curves"]:
        rel = np.array([r[f"pehe50_{name}"] for r in rows]) / base - 1
        s[f"pehe50_{name}_rel_change_mean"] = float(np.nanmean(rel))
        s[f"pehe50_{name}_rel_change_median"] = float(np.nanmedian(rel))
    curves = {}
    for name in rows[0]["curves"]:
        curves[name] = {
            field: np.nanmean([r["curves"][name][field] for r in rows], 0).tolist()
            for field in ("deferred_fraction", "sqrt_pehe", "error_rate")
        }
    s["mean_curves"] = curves
    return s


def _markdown(result: dict[str, Any]) -> str:
    s = result["summary"]

    def g(key: str) -> str:
        v = s.get(key)
        return "-" if v is None else f"{v:.3f}"

    lines = [
        "# IHDP covariate-shift (IHDP-Cov) deferral benchmark",
        "",
        f"Command: `{result['command']}`  ",
        f"Realisations ({s['n_realisations']}): {result['realisations']}  ",
        f"Not run (time budget): {result['not_run'] or 'none'}  ",
        f"Machine: {result['machine']}; wall {result['wall_s'] / 60:.1f} min; {result['versions']}",
        "",
        f"Split: {result['shift_rule']}",
        "",
        f"Default `TARNet()` (DUE). Test √PEHE without deferral: mean {g('pehe_out_mean')} ± "
        f"{g('pehe_out_sem')} (median {g('pehe_out_median')}); in-sample (train) mean "
        f"{g('pehe_in_mean')}; ATE error (test) mean {g('ate_err_out_mean')}; coverage of 95 % "
        f"intervals on test units {g('coverage95_out_mean')}; mean CATE variance test/train "
        f"{g('mean_var_test_over_train_mean')} (median {g('mean_var_test_over_train_median')}).",
        "",
        "## √PEHE on kept test units at 50 % deferral",
        "",
        "| policy | thresholds | √PEHE mean ± SEM | median | Δ vs none (mean) | "
        "Δ (median) | realised deferred share | rec. error rate |",
        "|---|---|---|---|---|---|---|---|",
        f"| none | - | {g('pehe_out_mean')} ± {g('pehe_out_sem')} | {g('pehe_out_median')} | "
        "0 | 0 | 0 | - |",
    ]
    for p in ("uncertainty", "sign", "overlap", "random"):
        lines.append(
            f"| {p} | {'train quantile' if p != 'random' else 'exact count'} | "
            f"{g(f'pehe50_{p}_mean')} ± {g(f'pehe50_{p}_sem')} | {g(f'pehe50_{p}_median')} | "
            f"{g(f'pehe50_{p}_rel_change_mean')} | {g(f'pehe50_{p}_rel_change_median')} | "
            f"{g(f'deferred50_{p}_mean')} | {g(f'error50_{p}_mean')} |"
        )
    for p in ("uncertainty", "sign", "overlap"):
        lines.append(
            f"| {p} | test top-k | {g(f'pehe50_{p}_topk_mean')} ± {g(f'pehe50_{p}_topk_sem')} | "
            f"{g(f'pehe50_{p}_topk_median')} | {g(f'pehe50_{p}_topk_rel_change_mean')} | "
            f"{g(f'pehe50_{p}_topk_rel_change_median')} | {g(f'deferred50_{p}_topk_mean')} | "
            f"{g(f'error50_{p}_topk_mean')} |"
        )
    w = s["wins_at_50"]
    n = s["n_realisations"]
    lines += [
        "",
        f"Realisations where uncertainty beats overlap at 50 % (train-quantile thresholds): "
        f"{w['uncertainty_beats_overlap']}/{n}; beats random: {w['uncertainty_beats_random']}/{n}; "
        f"with test top-k (equal deferred share): {w['uncertainty_topk_beats_overlap_topk']}/{n}.",
        "",
        "Recommendation error rate = wrong-sign recommendations among kept units / all test "
        "units. Δ = per-realisation √PEHE at 50 % / √PEHE without deferral − 1, averaged. "
        "Realised deferred share: with training-set thresholds the share of *test* "
        "units deferred at nominal rate 50 % differs from 0.5 under covariate shift.",
        "",
        "## Mean deferral curves (√PEHE of kept test units; realised deferred share)",
        "",
        "| nominal rate | " + " | ".join(POLICIES) + " |",
        "|---|" + "---|" * len(POLICIES),
    ]
    mc = s["mean_curves"]
    for i, r in enumerate(RATES):
        cells = [
            f"{mc[p]['sqrt_pehe'][i]:.3f} ({mc[p]['deferred_fraction'][i]:.2f})" for p in POLICIES
        ]
        lines.append(f"| {r:.2f} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Curve cells average over realisations (NaN-skipping where no test unit is kept).",
        "",
        "## Per realisation",
        "",
        "| realisation | CATE sd (test) | √PEHE | unc @50 | sign @50 | overlap @50 | random @50 | "
        "unc deferred | overlap deferred | fit s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['realisation']} | {r['cate_sd_test']:.2f} | {r['pehe_out']:.3f} | "
            f"{r['pehe50_uncertainty']:.3f} | {r['pehe50_sign']:.3f} | {r['pehe50_overlap']:.3f} | "
            f"{r['pehe50_random']:.3f} | {r['deferred50_uncertainty']:.2f} | "
            f"{r['deferred50_overlap']:.2f} | {r['fit_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="realisations 1-3")
    parser.add_argument("--realisations", default="1-50")
    parser.add_argument("--fast", action="store_true", help="tiny training (smoke test only)")
    add_runner_arguments(parser, workers=max(1, (os.cpu_count() or 1)))
    parser.add_argument("--suffix", default="")
    parser.add_argument(
        "--render",
        metavar="JSON",
        help="recompute the summary and Markdown from a results JSON (no fitting)",
    )
    args = parser.parse_args(argv)
    if args.render:
        result = json.loads(Path(args.render).read_text())
        result["summary"] = _summary(result["rows"])
        stem = Path(args.render).with_suffix("")
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
        stem.with_suffix(".md").write_text(_markdown(result))
        print(_markdown(result))
        return result
    import torch

    import knowable
    from knowable.data import load_ihdp_covariate_shift

    ks = [1, 2, 3] if args.quick else parse_range(args.realisations)
    RESULTS.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rows = _run(ks, RESULTS / f"ihdp_covariate_shift{args.suffix}.jobs", args)
    done = [r["realisation"] for r in rows]
    exe = Path(sys.executable)
    if exe.is_relative_to(Path.cwd()):
        exe = exe.relative_to(Path.cwd())
    result = {
        "command": f"{exe} benchmarks/ihdp_covariate_shift.py {' '.join(argv or [])}".strip(),
        "python": sys.executable,
        "realisations": done,
        "not_run": [k for k in ks if k not in done],
        "shift_rule": load_ihdp_covariate_shift(1)[0].meta["shift_rule"],
        "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, "
        f"{args.workers} workers, torch threads 1/worker",
        "versions": f"knowable {knowable.__version__}, torch {torch.__version__}",
        "wall_s": time.perf_counter() - t0,
        "rates": list(RATES),
        "summary": _summary(rows),
        "rows": rows,
    }
    stem = RESULTS / f"ihdp_covariate_shift{args.suffix}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
    stem.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
