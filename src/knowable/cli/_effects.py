"""``knowable effects``: fit a CATE estimator on a table, and report error versus deferral."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._output import make_console
from ._tables import covariate_columns, read_table, require_columns

__all__ = ["effects_app"]

effects_app = typer.Typer(
    name="effects",
    help="Conditional average treatment effects with uncertainty, and deferral.",
    no_args_is_help=True,
)


@effects_app.command("fit")
def fit_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet table, one row per unit.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Binary (0/1) treatment column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="Output CSV of per-unit effects.")] = Path(
        "effects.csv"
    ),
    uncertainty: Annotated[
        str, typer.Option("--uncertainty", help="ensemble, dropout or due.")
    ] = "due",
    model: Annotated[str, typer.Option("--model", help="tarnet or dragonnet.")] = "tarnet",
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates", help="Comma-separated covariate columns (default: all other columns)."
        ),
    ] = None,
    truth: Annotated[
        str | None,
        typer.Option("--truth", help="Column with the true CATE (simulations): copied to --out."),
    ] = None,
    defer_rate: Annotated[
        float,
        typer.Option("--defer-rate", help="Share of the most uncertain units flagged to defer."),
    ] = 0.1,
    alpha: Annotated[float, typer.Option("--alpha", help="Interval miscoverage.")] = 0.05,
    save_model: Annotated[
        Path | None, typer.Option("--save-model", help="Folder to save the fitted model.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    max_epochs: Annotated[
        int | None, typer.Option("--max-epochs", help="Training epochs cap.")
    ] = None,
) -> None:
    """Fit TARNet/DragonNet and write effect, interval and defer flag per unit."""
    import numpy as np

    from knowable.decide import defer_mask, sign_scores, variance_scores
    from knowable.effects import DragonNet, TARNet

    if not 0 <= defer_rate <= 1:
        raise ValueError(f"--defer-rate must lie in [0, 1], got {defer_rate}.")
    if not 0 < alpha < 1:  # checked before the fit, which can take long
        raise ValueError(f"--alpha must lie in (0, 1), got {alpha}.")
    classes = {"tarnet": TARNet, "dragonnet": DragonNet}
    if model not in classes:
        raise ValueError(f"--model must be 'tarnet' or 'dragonnet', got {model!r}.")
    frame = read_table(data)
    special = [treatment, outcome] + ([truth] if truth else [])
    require_columns(frame, special, data)
    cols = covariate_columns(frame, covariates, special, data)
    params: dict[str, Any] = {"random_state": seed}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    est = classes[model](uncertainty, **params)
    X = frame[cols]
    est.fit(X, frame[treatment], frame[outcome])
    tau, var = est.effect(X), est.effect_var(X)
    lower, upper = est.effect_interval(X, alpha=alpha)
    score = variance_scores(effect_var=var)
    result = {
        "effect": tau,
        "lower": lower,
        "upper": upper,
        "effect_std": np.sqrt(var),
        "sign_flip_prob": sign_scores(effect_mean=tau, effect_var=var),
        "propensity": est.propensity(X),
        # ranked, so ties at the top (e.g. DUE units at the prior variance) still fill the rate
        "defer": defer_mask(score, defer_rate),
    }
    import pandas as pd

    table = pd.DataFrame(result, index=frame.index)
    if truth:
        table["true_effect"] = frame[truth].to_numpy()
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    console = make_console()
    if save_model is not None:
        est.save(save_model)
        console.print(f"model: {save_model}", soft_wrap=True, markup=False)
    lo, hi = est.ate_interval()
    console.print(
        f"ATE {est.ate():.4g} ({100 * (1 - alpha):.0f}% interval {lo:.4g} to {hi:.4g}); "
        f"{int(result['defer'].sum())} of {len(table)} units flagged to defer",
        soft_wrap=True,
        markup=False,
    )
    console.print(f"effects: {out}", soft_wrap=True, markup=False)


@effects_app.command("report")
def report_command(
    effects: Annotated[
        Path, typer.Option("--effects", help="CSV written by 'knowable effects fit'.")
    ] = Path("effects.csv"),
    out: Annotated[Path, typer.Option("--out", help="Figure file (png, pdf, svg).")] = Path(
        "deferral.png"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random policy.")] = 0,
) -> None:
    """Figure of error versus deferral rate (true error when the table has 'true_effect')."""
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

    from knowable.decide import DEFAULT_RATES, deferral_curve, overlap_scores

    if not effects.is_file():
        raise FileNotFoundError(f"effects file {effects} does not exist.")
    table = pd.read_csv(effects)
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
            pehe, err = [], []
            for r in rates:
                keep = np.ones(len(tau), dtype=bool)
                keep[order[: round(r * len(tau))]] = False
                pehe.append(np.sqrt(var[keep].mean()))
                err.append(flip[keep].sum() / len(tau))
        ax_pehe.plot(rates, pehe, marker="o", ms=3, label=name)
        ax_err.plot(rates, err, marker="o", ms=3, label=name)
        console.print(
            f"{name:>16}: √PEHE {pehe[0]:.4g} → {pehe[2]:.4g} at 10% deferral",
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
    console.print(f"figure: {out}", soft_wrap=True, markup=False)
