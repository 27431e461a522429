"""Causal active learning benchmark: √PEHE learning curves of the Causal-BALD strategies.

Two tasks, each with a TARNet re-fitted from scratch every round on the
acquired units only (factual outcomes): DUE on IHDP, MC dropout on the 1-D task
(see ``ESTIMATORS``):

* ``ihdp``: the standard IHDP realisations (CFRNet 672/75 split); the 672
  training units are split 470 pool / 202 validation by a permutation seeded
  with the realisation. As in the paper the 202 validation units are labelled
  (factual outcomes) and used only for early stopping; every acquired unit is
  trained on (``--ihdp-no-validation``: early-stop on 20 % of the acquired units
  instead, so nothing is labelled for free). 100 random units to start, then 10
  per step until the 470-unit pool is exhausted (``--ihdp-max-labels`` stops
  earlier); at 470 every strategy holds the same units, so random's final √PEHE
  is the whole pool's. √PEHE on the 75 test units.
* ``synthetic``: Causal-BALD's 1-D task (β = 2): pool 10,000 (seed = trial),
  test 2,000 (seed = trial + 2); 10 random units to start, then 10 per step up
  to 310.

Strategies: random, mu-bald, tau-bald, rho-bald, mu-rho-bald, pi-bald (the
pool propensity from a logistic regression on the pool's (x, t)) and Sundin,
temperature 0.25 (Sundin: 1). All strategies of a trial share the warm start
and every round's model seed, and each fit sees the acquired units in pool
order, so strategies holding the same units fit the same model (at 470 IHDP
labels every strategy's √PEHE is the same number). Reported: mean ± s.e.m. √PEHE per step, the steps after
the 5th at which mu-rho-BALD is below random, the labels mu-rho-BALD needs to
reach random's final √PEHE, and (synthetic) the fraction of acquired units
with 0.1 < π(x) < 0.9.

Usage::

    python benchmarks/causal_active.py --quick        # smoke run (CI)
    python benchmarks/causal_active.py --workers 2    # 10 IHDP realisations + 10 synthetic trials

Writes ``benchmarks/results/causal_active{suffix}.{json,md,png}``. Jobs run
through :func:`knowable.parallel.run_jobs`: each finished curve is one JSON file
in ``causal_active{suffix}.jobs/`` and is skipped when the same command is run
again (``--fresh`` forgets them). Each curve records a hash of the library
source it ran on; curves from other library code run again unless
``--mix-library``, and the report names the hashes.
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

RESULTS = Path(__file__).parent / "results"
# every registered causal strategy is run by default, except these
NOT_BY_DEFAULT = ("mu-pi-bald",)  # not among the paper's curves


def _registered() -> list[str]:
    """The causal strategies of the acquisition registry, in registry order."""
    from knowable.acquire import CAUSAL_STRATEGIES

    return list(CAUSAL_STRATEGIES)


ESTIMATORS: dict[str, dict[str, Any]] = {
    # DUE TARNet, sized for the 2-core budget (one DUE model, hidden 100, 50 inducing points)
    "ihdp": {
        "uncertainty": "due",
        "gp_members": 1,
        "hidden_size": 100,
        "n_inducing": 50,
        "batch_size": 64,
        "max_epochs": 100,
        "patience": 10,
    },
    # MC-dropout TARNet (√PEHE ~0.8 at n = 150 on one seed). DUE under-fits this 1-D task at
    # these sizes: with the library's DUE learning rate (5e-3) the features drift away from
    # the inducing points within the first steps and the GP falls back to its prior
    # (τ̂ = 0, √PEHE 3.35-3.42 at n = 150); at 1e-3-2e-3 with 10+ steps per epoch it
    # trains but stays over-smooth, and the arms, one initial length-scale apart in GP input
    # space, share their trends where one arm has no data (√PEHE 1.6-2.0 at n = 150, against
    # 0.72 for an exact GP per arm). A 5-member ensemble costs 5x as much as MC dropout.
    "synthetic": {
        "uncertainty": "dropout",
        "dropout": 0.1,
        "hidden_size": 100,
        "batch_size": 64,
        "max_epochs": 100,
        "patience": 10,
        "min_steps_per_epoch": 10,
        "n_draws": 20,
    },
}


def _ihdp_task(realisation: int) -> tuple[Any, Any, Any]:
    """(pool of 470, test of 75, validation of 202) for one realisation."""
    from knowable.data import Dataset, load_ihdp_train_test

    train, test = load_ihdp_train_test(realisation)
    perm = np.random.default_rng(realisation).permutation(len(train))

    def subset(idx: np.ndarray, name: str) -> Any:
        return Dataset(
            train.x[idx],
            t=train.t[idx],
            y=train.y[idx],
            truth={k: np.asarray(v)[idx] for k, v in train.truth.items() if np.ndim(v) == 1},
            name=f"ihdp-{realisation}-{name}",
        )

    return subset(np.sort(perm[:470]), "pool"), test, subset(np.sort(perm[470:]), "valid")


def _synthetic_task(trial: int, quick: bool) -> tuple[Any, Any]:
    from knowable.data import simulate_causal_bald_1d

    n_pool, n_test = (2_000, 500) if quick else (10_000, 2_000)
    return (
        simulate_causal_bald_1d(n_pool, random_state=trial),
        simulate_causal_bald_1d(n_test, random_state=trial + 2),
    )


def run_job(job: tuple[str, int, str, bool, int | None, bool]) -> dict[str, Any]:
    """One learning curve: (task, trial, strategy, quick, max_labels, use_validation) -> row."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    from threadpoolctl import threadpool_limits

    from knowable.campaign import CausalActiveLoop
    from knowable.effects import TARNet

    torch.set_num_threads(1)
    task, trial, strategy, quick, max_labels, use_validation = job
    validation = None
    if task == "ihdp":
        pool, test, valid = _ihdp_task(trial)
        validation = valid if use_validation else None
        n_initial = 100
    else:
        pool, test = _synthetic_task(trial, quick)
        n_initial = 10
    params = ESTIMATORS[task]
    start, cpu_start = time.perf_counter(), time.process_time()
    with threadpool_limits(1):
        loop = CausalActiveLoop(
            lambda seed: TARNet(random_state=seed, **params),
            pool,
            test,
            validation=validation,
            strategy=strategy,
            batch_size=10,
            n_initial=n_initial,
            max_labels=max_labels,
            temperature=1.0 if strategy == "sundin" else 0.25,
            random_state=trial,
        )
        result = loop.run()
    pehe = result.metric("pehe")
    fit_s = result.metric("fit_seconds")["value"].sum()
    acq = result.acquisitions
    row: dict[str, Any] = {
        "task": task,
        "trial": trial,
        "strategy": strategy,
        "n_labels": pehe["n_labels"].tolist(),
        "pehe": pehe["value"].tolist(),
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu_start,
        "fit_seconds": float(fit_s),
    }
    if "propensity" in pool.truth and len(acq):
        true_pi = np.asarray(pool.truth["propensity"])[acq["index"].to_numpy()]
        row["overlap_fraction"] = float(np.mean((true_pi > 0.1) & (true_pi < 0.9)))
    return row


def _run(jobs: list[tuple], store: Path, args: Any) -> list[dict]:
    """The shared runner: one JSON per finished curve in ``store``; finished curves resume."""
    from knowable.parallel import run_jobs, runner_options

    keyed = {
        f"{task}-{trial}-{strategy}-cap{cap}-val{int(val)}": (task, trial, strategy, q, cap, val)
        for task, trial, strategy, q, cap, val in jobs
    }

    def describe(record: Any) -> str:
        row = record.result
        return (
            f"{row['task']:>9} {row['trial']:>3} {row['strategy']:>12} "
            f"final √PEHE {row['pehe'][-1]:.3f}  {row['seconds']:.0f}s"
        )

    report = run_jobs(
        run_job,
        keyed,
        store,
        describe=describe,
        **runner_options(args),
    )
    return [r.result | {"library": r.library} for r in report.records.values()]


def _curves(rows: list[dict[str, Any]], task: str) -> dict[str, Any]:
    """Per strategy: n_labels, mean and s.e.m. of √PEHE over the trials every strategy finished."""
    task_rows = [r for r in rows if r["task"] == task]
    strategies = sorted({r["strategy"] for r in task_rows}, key=_registered().index)
    trials = sorted(
        set.intersection(
            *({r["trial"] for r in task_rows if r["strategy"] == s} for s in strategies)
        )
    )
    out: dict[str, Any] = {"trials": trials, "strategies": {}}
    for s in strategies:
        by_trial = {r["trial"]: r for r in task_rows if r["strategy"] == s}
        curves = np.array([by_trial[k]["pehe"] for k in trials])
        entry = {
            "n_labels": by_trial[trials[0]]["n_labels"],
            "mean": curves.mean(0).tolist(),
            "sem": (curves.std(0, ddof=1) / np.sqrt(len(trials))).tolist()
            if len(trials) > 1
            else [0.0] * curves.shape[1],
            "median": np.median(curves, 0).tolist(),
            "seconds_mean": float(np.mean([by_trial[k]["seconds"] for k in trials])),
            "seconds_total": float(np.sum([by_trial[k]["seconds"] for k in trials])),
            "cpu_seconds_total": float(np.sum([by_trial[k]["cpu_seconds"] for k in trials])),
        }
        fractions = [by_trial[k].get("overlap_fraction") for k in trials]
        if all(f is not None for f in fractions):
            entry["overlap_fraction"] = float(np.mean(fractions))
        out["strategies"][s] = entry
    return out


def _reading(n: np.ndarray, rnd: np.ndarray, mr: np.ndarray, n_initial: int) -> dict[str, Any]:
    """Steps after the 5th where mu-rho is lower; labels it needs to reach random's final value."""
    after = np.arange(len(n)) > 5  # step 0 = warm start
    below = mr[after] < rnd[after]
    reached = np.flatnonzero(mr <= rnd[-1])
    labels = int(n[reached[0]]) if reached.size else None
    return {
        "steps_after_5th": int(after.sum()),
        "steps_mu_rho_below_random": int(below.sum()),
        "all_below": bool(below.all()),
        "labels_where_not_below": [int(v) for v in n[after][~below]],
        # equal means both held the same units: common model seeds make the fits identical
        "labels_where_equal": [int(v) for v in n[after][mr[after] == rnd[after]]],
        "random_final_pehe": float(rnd[-1]),
        "random_final_labels": int(n[-1]),
        "mu_rho_labels_to_reach_random_final": labels,
        "fraction_of_random_labels": labels / int(n[-1]) if labels else None,
        "fraction_of_random_acquired": _acquired_fraction(labels, n, n_initial),
    }


def _acquired_fraction(labels: int | None, n: np.ndarray, n_initial: int) -> float | None:
    if labels is None or n[-1] <= n_initial:
        return None
    return (labels - n_initial) / int(n[-1] - n_initial)


def _compare(curves: dict[str, Any], n_initial: int) -> dict[str, Any] | None:
    """mu-rho-BALD against random on the mean curves (plus the median and a last-5 reading)."""
    s = curves["strategies"]
    if "random" not in s or "mu-rho-bald" not in s:
        return None
    n = np.asarray(s["random"]["n_labels"])
    rnd, mr = np.asarray(s["random"]["mean"]), np.asarray(s["mu-rho-bald"]["mean"])
    out = _reading(n, rnd, mr, n_initial)
    if "median" in s["random"]:
        med_r, med_m = (np.asarray(s[k]["median"]) for k in ("random", "mu-rho-bald"))
        out["median"] = _reading(n, med_r, med_m, n_initial)
    # a less noisy target: random's mean √PEHE over its last 5 steps
    target5 = float(rnd[-5:].mean())
    reached5 = np.flatnonzero(mr <= target5)
    labels5 = int(n[reached5[0]]) if reached5.size else None
    out["random_last5_pehe"] = target5
    out["mu_rho_labels_to_reach_random_last5"] = labels5
    out["fraction_of_random_acquired_last5"] = _acquired_fraction(labels5, n, n_initial)
    return out


def _paired(rows: list[dict[str, Any]], task: str) -> dict[str, Any] | None:
    """Per step, the mu-rho-BALD / random √PEHE ratio paired by trial, with a 95 % t-interval.

    Both strategies of a trial share the warm start and every model seed, so
    pairing removes the between-trial spread. The comparison is on log √PEHE
    because trials can differ in scale by orders of magnitude (on IHDP, see
    ``random_final_by_trial`` in the report): a difference of means is then one
    trial's difference, a ratio is every trial's. Reported as geometric-mean
    ratios; the interval says at which steps the two strategies are
    distinguishable at all with this many trials.
    """
    from scipy import stats

    by = {
        s: {
            r["trial"]: np.asarray(r["pehe"])
            for r in rows
            if r["task"] == task and r["strategy"] == s
        }
        for s in ("random", "mu-rho-bald")
    }
    trials = sorted(set(by["random"]) & set(by["mu-rho-bald"]))
    if len(trials) < 2:
        return None
    log_ratio = np.array([np.log(by["mu-rho-bald"][k] / by["random"][k]) for k in trials])
    t = stats.t.ppf(0.975, len(trials) - 1) / np.sqrt(len(trials))
    mean, half = log_ratio.mean(0), t * log_ratio.std(0, ddof=1)
    after = np.arange(log_ratio.shape[1]) > 5  # step 0 = warm start
    n_labels = np.asarray(
        next(r["n_labels"] for r in rows if r["task"] == task and r["strategy"] == "random")
    )
    # one number per trial: the log ratio averaged over the steps after the 5th
    overall = log_ratio[:, after].mean(1)
    overall_mean, overall_half = overall.mean(), t * overall.std(ddof=1)
    return {
        "trials": trials,
        "n_labels": n_labels.tolist(),
        "random_final_by_trial": [float(by["random"][k][-1]) for k in trials],
        "ratio": np.exp(mean).tolist(),
        "ratio_ci95": [np.exp(mean - half).tolist(), np.exp(mean + half).tolist()],
        "trials_mu_rho_lower": (log_ratio < 0).sum(0).tolist(),
        "steps_after_5th": int(after.sum()),
        "labels_significantly_below": n_labels[after][(mean + half)[after] < 0].tolist(),
        "labels_significantly_above": n_labels[after][(mean - half)[after] > 0].tolist(),
        "labels_ratio_not_below_1": n_labels[after][mean[after] >= 0].tolist(),
        "ratio_after_5th": float(np.exp(overall_mean)),
        "ratio_after_5th_ci95": [
            float(np.exp(overall_mean - overall_half)),
            float(np.exp(overall_mean + overall_half)),
        ],
        "trials_lower_after_5th": int((overall < 0).sum()),
    }


def _figure(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [t for t in ("ihdp", "synthetic") if t in result["curves"]]
    # mean ± s.e.m. (the criterion) and the per-step median (robust to one wild trial)
    fig, axes = plt.subplots(3, len(tasks), figsize=(6 * len(tasks), 12), squeeze=False)
    for col, task in enumerate(tasks):
        curves = result["curves"][task]
        for row, stat in enumerate(("mean", "median")):
            ax = axes[row, col]
            for s, c in curves["strategies"].items():
                if stat not in c:
                    continue
                n, m = np.asarray(c["n_labels"]), np.asarray(c[stat])
                ax.plot(n, m, label=s, lw=2.2 if s in ("mu-rho-bald", "random") else 1.2)
                if stat == "mean":
                    e = np.asarray(c["sem"])
                    ax.fill_between(n, m - e, m + e, alpha=0.08)
            ax.set_yscale("log")
            ax.set_xlabel("acquired outcomes (labels)")
            ax.set_ylabel("test √PEHE (" + ("mean ± s.e.m." if stat == "mean" else "median") + ")")
            ax.set_title(f"{task} ({len(curves['trials'])} trials): {stat}")
            ax.legend(fontsize=8)
        ax = axes[2, col]
        paired = result.get("paired", {}).get(task)
        if paired:
            n = np.asarray(paired["n_labels"])
            lo, hi = (np.asarray(v) for v in paired["ratio_ci95"])
            ax.plot(n, paired["ratio"], color="C4")
            ax.fill_between(n, lo, hi, color="C4", alpha=0.2)
            ax.axhline(1.0, color="k", lw=0.8)
            ax.set_yscale("log")
            ax.set_xlabel("acquired outcomes (labels)")
            ax.set_ylabel("mu-rho-BALD / random √PEHE (paired, 95 % CI)")
            ax.set_title(f"{task}: paired ratio over {len(paired['trials'])} trials")
        else:
            ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Causal active learning benchmark{' (quick)' if result['quick'] else ''}",
        "",
        f"Command: `{result['command']}`  ",
        f"Machine: {result['machine']}; {result['workers']} workers; {result['wall_s']:.0f} s wall "
        "for the jobs run by this invocation (others may come from an earlier, resumed run).",
        "",
        "TARNet re-fitted from scratch every round on the acquired units (IHDP: DUE, "
        + (
            "early stopping on the 202 labelled validation units"
            if result["ihdp_validation"]
            else "early stopping on 20 % of the acquired units"
        )
        + "; synthetic: MC dropout, early stopping on 20 % of the acquired units); "
        "temperature 0.25 (Sundin 1.0); mean ± s.e.m. of test √PEHE over trials.",
        "",
        "Library source hash (curves): "
        + ", ".join(f"`{h}` ({k})" for h, k in result["library_hashes"].items())
        + (
            " — curves from different library code are mixed."
            if len(result["library_hashes"]) > 1
            else "."
        ),
        "",
    ]
    for task, curves in result["curves"].items():
        strategies = list(curves["strategies"])
        n = curves["strategies"][strategies[0]]["n_labels"]
        show = sorted({0, 1, 3, 5, 10, 15, 20, len(n) // 2, len(n) - 1} & set(range(len(n))))
        lines += [
            f"## {task}: {len(curves['trials'])} trials ({curves['trials']})",
            "",
            "| strategy | " + " | ".join(f"n={n[i]}" for i in show) + " | s / curve |",
            "|---|" + "---|" * (len(show) + 1),
        ]
        for s in strategies:
            c = curves["strategies"][s]
            cells = [f"{c['mean'][i]:.3f} ± {c['sem'][i]:.3f}" for i in show]
            lines.append(f"| {s} | " + " | ".join(cells) + f" | {c['seconds_mean']:.0f} |")
        cmp = result["comparison"].get(task)
        if cmp:
            lines += [
                "",
                f"- mu-rho-BALD below random at {cmp['steps_mu_rho_below_random']} of the "
                f"{cmp['steps_after_5th']} steps after the 5th (all: {cmp['all_below']}).",
                f"- random's final √PEHE {cmp['random_final_pehe']:.3f} at {cmp['random_final_labels']} "
                f"labels; mu-rho-BALD first reaches it at "
                f"{cmp['mu_rho_labels_to_reach_random_final']} labels "
                f"({_pct(cmp['fraction_of_random_labels'])} of random's labels, "
                f"{_pct(cmp['fraction_of_random_acquired'])} of its acquired ones).",
            ]
            if cmp.get("labels_where_not_below"):
                lines.append(
                    "- Steps after the 5th where mu-rho-BALD is not below random: "
                    + ", ".join(str(v) for v in cmp["labels_where_not_below"])
                    + " labels"
                    + (
                        " (equal at "
                        + ", ".join(str(v) for v in cmp["labels_where_equal"])
                        + ": the same units, so the same model)."
                        if cmp.get("labels_where_equal")
                        else "."
                    )
                )
            if cmp.get("random_last5_pehe") is not None:
                lines.append(
                    f"- Against random's mean √PEHE over its last 5 steps "
                    f"({cmp['random_last5_pehe']:.3f}): mu-rho-BALD reaches it at "
                    f"{cmp['mu_rho_labels_to_reach_random_last5']} labels "
                    f"({_pct(cmp['fraction_of_random_acquired_last5'])} of random's acquired ones)."
                )
            med = cmp.get("median")
            if med:
                lines.append(
                    f"- On the per-step median over trials: mu-rho-BALD below random at "
                    f"{med['steps_mu_rho_below_random']} of the {cmp['steps_after_5th']} steps "
                    f"after the 5th"
                    + (
                        f" (not at {', '.join(str(v) for v in med['labels_where_not_below'])} labels)"
                        if med["labels_where_not_below"]
                        else ""
                    )
                    + f"; it reaches random's final median ({med['random_final_pehe']:.3f}) at "
                    f"{med['mu_rho_labels_to_reach_random_final']} labels "
                    f"({_pct(med['fraction_of_random_acquired'])} of random's acquired ones)."
                )
        paired = result.get("paired", {}).get(task)
        if paired:
            below, above = (
                paired["labels_significantly_below"],
                paired["labels_significantly_above"],
            )
            lo, hi = paired["ratio_after_5th_ci95"]
            lines.append(
                f"- Paired by trial, on the ratio mu-rho-BALD / random √PEHE (geometric mean, 95 % "
                f"t-interval over {len(paired['trials'])} trials): averaged over the "
                f"{paired['steps_after_5th']} steps after the 5th, {paired['ratio_after_5th']:.3f} "
                f"[{lo:.3f}, {hi:.3f}], lower in {paired['trials_lower_after_5th']} of "
                f"{len(paired['trials'])} trials. Per step: below 1 at "
                f"{paired['steps_after_5th'] - len(paired['labels_ratio_not_below_1'])} steps (not "
                f"at {', '.join(str(v) for v in paired['labels_ratio_not_below_1']) or 'any'}), "
                f"significantly below 1 at {len(below)} "
                f"steps, significantly above at {len(above)}"
                + (f" ({', '.join(str(v) for v in above)} labels)" if above else "")
                + ", indistinguishable at the rest."
            )
            finals = paired["random_final_by_trial"]
            lines.append(
                "- random's final √PEHE by trial (the scale the ratio removes): "
                + ", ".join(f"{k}: {v:.3g}" for k, v in zip(paired["trials"], finals, strict=True))
                + "."
            )
        totals = [c.get("seconds_total") for c in curves["strategies"].values()]
        if all(t is not None for t in totals):
            cpu = sum(c["cpu_seconds_total"] for c in curves["strategies"].values())
            lines.append(
                f"- All {len(totals) * len(curves['trials'])} curves: {sum(totals):.0f} s of "
                f"curve wall time summed ({sum(totals) / result['workers']:.0f} s on "
                f"{result['workers']} workers if run in one go), {cpu / 3600:.2f} CPU-hours."
            )
        fractions = {
            s: c["overlap_fraction"]
            for s, c in curves["strategies"].items()
            if "overlap_fraction" in c
        }
        if fractions:
            lines += [
                "- Fraction of acquired units with 0.1 < π(x) < 0.9: "
                + ", ".join(f"{s} {f:.3f}" for s, f in fractions.items())
                + ".",
            ]
        lines.append("")
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-test size")
    parser.add_argument("--tasks", default="ihdp,synthetic")
    parser.add_argument("--realisations", default=None, help="IHDP realisations, e.g. 1-10")
    parser.add_argument("--trials", default=None, help="synthetic trials, e.g. 0-9")
    parser.add_argument(
        "--strategies",
        default=",".join(s for s in _registered() if s not in NOT_BY_DEFAULT),
        help="comma-separated names from knowable.acquire.CAUSAL_STRATEGIES",
    )
    parser.add_argument("--ihdp-max-labels", type=int, default=None, help="default: whole pool")
    parser.add_argument(
        "--ihdp-no-validation",
        action="store_true",
        help="early-stop on 20%% of the acquired units instead of the 202 validation units",
    )
    add_runner_arguments(parser, workers=2)
    parser.add_argument("--suffix", default=None)
    args = parser.parse_args(argv)

    quick = args.quick
    tasks = args.tasks.split(",")
    strategies = args.strategies.split(",") if not quick else ["random", "mu-rho-bald"]
    realisations = parse_range(args.realisations or ("1" if quick else "1-10"))
    trials = parse_range(args.trials or ("0" if quick else "0-9"))
    ihdp_cap = args.ihdp_max_labels or (150 if quick else 470)
    synth_cap = 60 if quick else 310
    suffix = args.suffix if args.suffix is not None else ("_quick" if quick else "")
    RESULTS.mkdir(exist_ok=True)
    store = RESULTS / f"causal_active{suffix}.jobs"

    jobs: list[tuple] = []
    for task in tasks:
        ids = realisations if task == "ihdp" else trials
        cap = ihdp_cap if task == "ihdp" else synth_cap
        for k in ids:
            for s in strategies:
                jobs.append((task, k, s, quick, cap, not args.ihdp_no_validation))
    start = time.perf_counter()
    rows = _run(jobs, store, args)
    wall = time.perf_counter() - start
    curves = {t: _curves(rows, t) for t in tasks if any(r["task"] == t for r in rows)}
    result = {
        "quick": quick,
        "command": "python benchmarks/causal_active.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "workers": args.workers,
        "wall_s": wall,
        "estimators": {t: ESTIMATORS[t] for t in tasks},
        "ihdp_validation": not args.ihdp_no_validation,
        "library_hashes": {
            h: sum(r.get("library", "unrecorded") == h for r in rows)
            for h in sorted({r.get("library", "unrecorded") for r in rows})
        },
        "curves": curves,
        "comparison": {t: _compare(c, 100 if t == "ihdp" else 10) for t, c in curves.items()},
        "paired": {t: _paired(rows, t) for t in curves},
        "rows": rows,
    }
    (RESULTS / f"causal_active{suffix}.json").write_text(json.dumps(result, indent=1))
    (RESULTS / f"causal_active{suffix}.md").write_text(_markdown(result))
    _figure(result, RESULTS / f"causal_active{suffix}.png")
    print(_markdown(result))
    return result


if __name__ == "__main__":
    main()
