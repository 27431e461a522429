"""``knowable effects``: fit a CATE estimator on a table, and report error versus deferral."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ._options import (
    Categorical,
    Data,
    Estimand,
    Exclude,
    IdColumn,
    Quiet,
    Reporter,
    Sep,
    TreatedValue,
    Truth,
    Verbose,
    Where,
    check_choice,
    uncertainty_names,
)
from ._output import fmt, make_console, to_jsonable
from ._prepare import ESTIMANDS, estimand_mask, load_table, overlap_summary
from ._tables import read_table, require_columns

__all__ = ["effects_app"]

effects_app = typer.Typer(
    name="effects",
    help="Conditional average treatment effects with uncertainty, and deferral.",
    no_args_is_help=True,
)


INTERVAL_NOTE = (
    "epistemic {level}% interval (model uncertainty; not a confidence interval under hidden "
    "confounding: see `knowable bounds`)"
)
_MODELS = ("tarnet", "dragonnet")


@effects_app.command("fit")
def fit_command(
    data: Data,
    treatment: Annotated[str, typer.Option("--treatment", help="Binary treatment column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV of per-unit effects.")] = Path(
        "effects.csv"
    ),
    uncertainty: Annotated[
        str,
        typer.Option(
            "--uncertainty",
            help=f"Epistemic uncertainty method: {', '.join(uncertainty_names())}.",
        ),
    ] = "due",
    model: Annotated[str, typer.Option("--model", help="tarnet or dragonnet.")] = "tarnet",
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates", help="Comma-separated covariate columns (default: all other columns)."
        ),
    ] = None,
    id_column: IdColumn = None,
    exclude: Exclude = None,
    truth: Truth = None,
    categorical: Categorical = None,
    treated_value: TreatedValue = None,
    estimand: Estimand = "ate",
    where: Where = None,
    sep: Sep = None,
    defer_rate: Annotated[
        float,
        typer.Option("--defer-rate", help="Share of the most uncertain units flagged to defer."),
    ] = 0.1,
    alpha: Annotated[float, typer.Option("--alpha", help="Interval miscoverage.")] = 0.05,
    save_model: Annotated[
        Path | None,
        typer.Option(
            "--save-model", help="Folder to save the fitted model (with preprocessing.json)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    n_members: Annotated[
        int | None,
        typer.Option(
            "--n-members",
            help="Members: networks of an ensemble (default 5) or DUE models mixed (default 3).",
        ),
    ] = None,
    max_epochs: Annotated[
        int | None, typer.Option("--max-epochs", help="Training epochs cap.")
    ] = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fit TARNet/DragonNet and write effect, epistemic interval and defer flag per unit.

    The intervals are epistemic (model uncertainty): they are not confidence
    intervals under hidden confounding; `knowable bounds` gives those bounds.
    """
    # every option is checked before the slow imports (torch) below
    check_choice(uncertainty, "--uncertainty", uncertainty_names())
    check_choice(model, "--model", _MODELS)
    check_choice(estimand, "--estimand", ESTIMANDS)
    if not 0 <= defer_rate <= 1:
        raise ValueError(f"--defer-rate must lie in [0, 1], got {defer_rate}.")
    if not 0 < alpha < 1:
        raise ValueError(f"--alpha must lie in (0, 1), got {alpha}.")
    if max_epochs is not None and max_epochs < 1:
        raise ValueError(f"--max-epochs must be >= 1, got {max_epochs}.")
    if n_members is not None and n_members < 1:
        raise ValueError(f"--n-members must be >= 1, got {n_members}.")
    report = Reporter(quiet, verbose)
    prepared = load_table(
        data,
        treatment=treatment,
        outcome=outcome,
        covariates=covariates,
        id_column=id_column,
        exclude=exclude,
        truth=truth,
        categorical=categorical,
        treated_value=treated_value,
        sep=sep,
    )
    mask = estimand_mask(prepared, estimand, where, data)
    report.covariates(list(prepared.X.columns), prepared.preprocessing.covariates)

    import numpy as np
    import pandas as pd

    from knowable.decide import defer_mask, sign_scores, variance_scores
    from knowable.effects import DragonNet, TARNet

    classes = {"tarnet": TARNet, "dragonnet": DragonNet}
    params: dict[str, Any] = {"random_state": seed, "verbose": report.progress_bar}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    if n_members is not None:
        params["gp_members" if uncertainty == "due" else "n_members"] = n_members
    est = classes[model](uncertainty, **params)
    X = prepared.X
    report.stage(
        f"fitting {type(est).__name__} ({uncertainty}) on {len(X)} units "
        f"({int(prepared.t.sum())} treated)"
    )
    est.fit(X, prepared.t, prepared.y)
    report.early_stopping(est)
    report.stage("fitted; predicting")
    tau, var = est.effect(X), est.effect_var(X)
    lower, upper = est.effect_interval(X, alpha=alpha)
    score = variance_scores(effect_var=var)
    propensity = est.propensity(X)
    report.info(overlap_summary(propensity, prepared.t, estimand))
    result = {
        "effect": tau,
        "lower": lower,
        "upper": upper,
        "effect_std": np.sqrt(var),
        "sign_flip_prob": sign_scores(effect_mean=tau, effect_var=var),
        "propensity": propensity,
        # ranked, so ties at the top (e.g. DUE units at the prior variance) still fill the rate
        "defer": defer_mask(score, defer_rate),
    }
    table = pd.concat([prepared.id_frame(), pd.DataFrame(result)], axis=1)
    table.insert(1, "treatment", prepared.t.astype(int))
    if estimand != "ate" or where:
        table["in_estimand"] = mask
    if prepared.truth is not None:
        table["true_effect"] = prepared.truth
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    population = X.iloc[np.flatnonzero(mask)]
    value = est.ate(population)
    lo, hi = est.ate_interval(population, alpha=alpha)
    level = f"{100 * (1 - alpha):g}"
    note = INTERVAL_NOTE.format(level=level)
    summary = {
        "estimand": estimand,
        "where": where,
        "n_units": int(mask.sum()),
        "value": value,
        "interval": [lo, hi],
        "alpha": alpha,
        "interval_kind": note,
        "columns": {
            "lower/upper": f"per-unit CATE, {note}",
            "effect_std": "posterior standard deviation of the CATE (epistemic)",
            "sign_flip_prob": "posterior probability that the CATE has the other sign",
            "defer": f"the {defer_rate:g} share of units with the largest CATE variance",
        },
    }
    if prepared.truth is not None:
        summary["true_value"] = float(prepared.truth[mask].mean())
    notes = out.with_suffix(".json")
    notes.write_text(json.dumps(summary, indent=2, default=to_jsonable))
    if save_model is not None:
        est.save(save_model)
        prepared.preprocessing.save(save_model)
        report.info(f"model: {save_model}")
    who = {"ate": "all", "att": "treated", "atc": "control"}[estimand]
    scope = f" where {where}" if where else ""
    report.info(
        f"{estimand.upper()} {fmt(value)} over {int(mask.sum())} {who} units{scope}; "
        f"{note}: {fmt(lo)} to {fmt(hi)}"
    )
    report.info(f"{int(result['defer'].sum())} of {len(table)} units flagged to defer")
    report.info(f"effects: {out} (notes: {notes})")


@effects_app.command("report")
def report_command(
    effects: Annotated[
        Path, typer.Option("--effects", help="CSV written by 'knowable effects fit'.")
    ] = Path("effects.csv"),
    out: Annotated[
        Path,
        typer.Option(
            "--out", help="Figure file (png, pdf, svg); .json and .md tables are written beside it."
        ),
    ] = Path("deferral.png"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random policy.")] = 0,
) -> None:
    """Error versus deferral rate: a figure plus the same curves as JSON and Markdown.

    With a 'true_effect' column the errors are the true ones; without it they are
    the model's own expected errors, and every label says so.
    """
    import numpy as np
    from matplotlib.figure import Figure

    from knowable.decide import DEFAULT_RATES, deferral_curve, overlap_scores

    table = read_table(effects, "effects")
    require_columns(table, ["effect", "effect_std", "sign_flip_prob", "propensity"], effects)
    tau = table["effect"].to_numpy(float)
    var = table["effect_std"].to_numpy(float) ** 2
    rates = np.asarray(DEFAULT_RATES)
    policies = {
        "most uncertain": var,
        "sign uncertainty": table["sign_flip_prob"].to_numpy(float),
        "low overlap": overlap_scores(table["propensity"].to_numpy(float)),
    }
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    ax_pehe, ax_err = fig.subplots(1, 2)
    has_truth = "true_effect" in table.columns
    console = make_console()
    curves: dict[str, dict[str, list[float]]] = {}
    for name, score in [*policies.items(), ("random", None)]:
        if has_truth:
            curve = deferral_curve(
                tau,
                table["true_effect"].to_numpy(float),
                "random" if score is None else score,
                rates,
                train_scores=None if score is None else score,
                random_state=seed,
            )
            pehe, err = curve.sqrt_pehe, curve.error_rate
        else:  # no truth: the model's own expected error on the kept units
            order = (
                np.random.default_rng(seed).permutation(len(tau))
                if score is None
                else np.argsort(-score, kind="stable")
            )
            flip = policies["sign uncertainty"]
            pehe_kept, err_kept = [], []
            for r in rates:
                keep = np.ones(len(tau), dtype=bool)
                keep[order[: round(r * len(tau))]] = False
                pehe_kept.append(np.sqrt(var[keep].mean()))
                err_kept.append(flip[keep].sum() / len(tau))
            pehe, err = np.asarray(pehe_kept), np.asarray(err_kept)
        curves[name] = {
            "sqrt_pehe": [float(v) for v in pehe],
            "error_rate": [float(v) for v in err],
        }
        ax_pehe.plot(rates, pehe, marker="o", ms=3, label=name)
        ax_err.plot(rates, err, marker="o", ms=3, label=name)
        label = "√PEHE" if has_truth else "model's expected √PEHE (no true_effect column)"
        console.print(
            f"{name:>16}: {label} {fmt(pehe[0])} → {fmt(pehe[2])} at 10% deferral",
            soft_wrap=True,
            markup=False,
        )
    kind = "" if has_truth else "expected "
    ax_pehe.set(xlabel="deferral rate", ylabel=f"{kind}√PEHE on kept units")
    ax_err.set(xlabel="deferral rate", ylabel=f"{kind}wrong-sign kept / all units")
    ax_pehe.legend(fontsize=8)
    fig.suptitle("Error versus deferral" + ("" if has_truth else " (model's own estimate)"))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    kind_text = "true" if has_truth else "model's expected (no true_effect column)"
    doc = {"rates": rates.tolist(), "errors": kind_text, "policies": curves}
    out.with_suffix(".json").write_text(json.dumps(doc, indent=2))
    lines = [
        f"# Error versus deferral ({kind_text})",
        "",
        "| policy | rate | √PEHE on kept units | wrong-sign kept / all units |",
        "|---|---:|---:|---:|",
    ]
    for name, values in curves.items():
        for r, p, e in zip(rates, values["sqrt_pehe"], values["error_rate"], strict=True):
            lines.append(f"| {name} | {r:g} | {fmt(p)} | {fmt(e)} |")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    console.print(
        f"figure: {out}; tables: {out.with_suffix('.json')}, {out.with_suffix('.md')}",
        soft_wrap=True,
        markup=False,
    )
