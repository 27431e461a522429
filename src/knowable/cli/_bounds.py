"""``knowable bounds``: CATE bounds under hidden confounding from a table of data."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
)
from ._output import fmt, to_jsonable
from ._prepare import ESTIMANDS, estimand_mask, load_table, overlap_summary

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

__all__ = ["bounds_command", "lam_label", "parse_lambdas", "plot_bounds"]


def lam_label(value: float) -> str:
    """The text of one Λ in column names and messages (12 significant digits).

    Shared by every command, so that two Λ values that differ are never given
    the same column (``1.5`` and ``1.5000001`` stay apart).

    Parameters
    ----------
    value : float
        Λ.

    Returns
    -------
    str
    """
    return f"{float(value):.12g}"


def parse_lambdas(text: str) -> list[float]:
    """Parse ``"1,1.5,2"`` into sorted, unique, finite Λ values ≥ 1.

    Parameters
    ----------
    text : str
        Comma-separated numbers.

    Returns
    -------
    list of float
    """
    try:
        values = sorted({float(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ValueError(
            f"--lam must be comma-separated numbers such as 1,1.5,2; got {text!r}."
        ) from None
    if not values:
        raise ValueError("--lam needs at least one value.")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"--lam values must be finite numbers; got {text!r}.")
    if len({lam_label(v) for v in values}) < len(values):
        raise ValueError(f"--lam values must differ in their first 12 digits; got {text!r}.")
    if values[0] < 1:
        raise ValueError(
            f"--lam values must be >= 1 (Λ = 1 means no hidden confounding); got {values[0]}."
        )
    return values


def plot_bounds(
    lam: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    robustness: float,
    title: str,
    estimand: str = "ATE",
) -> Figure:
    """Average-effect bounds against Λ with the robustness value marked.

    Parameters
    ----------
    lam : numpy.ndarray of shape (L,)
        Λ grid.
    lower, upper : numpy.ndarray of shape (L,)
        Bounds on the average effect.
    robustness : float
        Smallest Λ at which the interval contains zero (``inf``: none up to the search limit).
    title : str
        Figure title.
    estimand : str
        Name of the average effect (ATE, ATT, ATC) for the legend.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.fill_between(lam, lower, upper, alpha=0.3, label=f"{estimand} bounds")
    ax.plot(lam, lower, color="C0")
    ax.plot(lam, upper, color="C0")
    ax.axhline(0.0, color="black", lw=0.8)
    if np.isfinite(robustness):
        ax.axvline(robustness, color="C3", ls="--", label=f"robustness Λ = {robustness:.4g}")
    ax.set_xscale("log")
    # plain tick labels (1, 2, 5) instead of 2×10⁰ on a log axis spanning one decade
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain if lam.max() / lam.min() < 30 else NullFormatter())
    ax.set_xlabel("Λ (strength of hidden confounding)")
    ax.set_ylabel(f"{estimand} (average effect)")
    ax.set_title(title)
    ax.legend(loc="best")
    return fig


_BOUND_METHODS = ("sharp", "kallus", "blearner")


class _FixedMethod:
    """An MSMBounds whose ``ate_bounds`` uses the command's --method (for the report)."""

    def __init__(self, est: Any, method: str) -> None:
        self._est, self._method = est, method

    def ate_bounds(self, lam: Any) -> Any:
        return self._est.ate_bounds(lam, method=self._method)


def bounds_command(
    data: Data,
    treatment: Annotated[str, typer.Option("--treatment", help="Binary treatment column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file for the per-unit bounds.")] = Path(
        "bounds.csv"
    ),
    lam: Annotated[str, typer.Option("--lam", help="Comma-separated Λ values ≥ 1.")] = "1,1.5,2,3",
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="sharp or kallus (MSMBounds on a mixture-density ensemble) or blearner.",
        ),
    ] = "sharp",
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates", help="Comma-separated covariate columns (default: all others)."
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
    figure: Annotated[
        Path | None, typer.Option("--figure", help="PNG/PDF/SVG figure of the bounds against Λ.")
    ] = None,
    max_epochs: Annotated[
        int, typer.Option("--max-epochs", help="Training epochs of the density networks.")
    ] = 300,
    n_members: Annotated[
        int, typer.Option("--n-members", help="Members of each density ensemble (sharp, kallus).")
    ] = 5,
    lam_max: Annotated[
        float, typer.Option("--lam-max", help="Largest Λ searched for the robustness value.")
    ] = 20.0,
    cv: Annotated[int, typer.Option("--cv", help="B-Learner cross-fitting folds (>= 2).")] = 5,
    n_bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            help="B-Learner: final-stage bootstrap refits for a band (0 = none, else >= 2).",
        ),
    ] = 0,
    n_grid: Annotated[
        int,
        typer.Option("--grid", help="B-Learner: Λ grid size of the robustness search (>= 2)."),
    ] = 12,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (>= 0).")] = 0,
    save_model: Annotated[
        Path | None,
        typer.Option(
            "--save-model",
            help="sharp, kallus: folder for the two fitted outcome-density ensembles (arm0/ "
            "and arm1/, each loadable with knowable.models.UncertainRegressor.load, with its "
            "preprocessing.json); the propensity model is not saved.",
        ),
    ] = None,
    report_path: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="JSON file for the ATE sensitivity report of this run (robustness values and "
            "benchmarked bias bounds of long story short, sensemakr's OLS statistics, the "
            "E-value, and the Λ-robustness of these bounds); its Markdown tables go to the same "
            "name with .md. ATE over all units only.",
        ),
    ] = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Bound the CATE and the average effect under hidden confounding (marginal sensitivity model).

    Λ bounds the odds ratio between the true and the estimated propensity
    (Λ = 1: no hidden confounding). The per-unit columns bound the CATE; the
    printed summary bounds the --estimand (ATE, ATT or ATC) over the --where
    units, and its robustness value is the smallest Λ whose interval contains 0.
    """
    check_choice(method, "--method", _BOUND_METHODS)
    check_choice(estimand, "--estimand", ESTIMANDS)
    lams_list = parse_lambdas(lam)
    if not math.isfinite(lam_max) or lam_max <= 1:
        raise ValueError(f"--lam-max must be a finite number > 1, got {lam_max}.")
    for name, value, low in (
        ("--max-epochs", max_epochs, 1),
        ("--n-members", n_members, 1),
        ("--cv", cv, 2),
        ("--bootstrap", n_bootstrap, 0),
        ("--grid", n_grid, 2),
        ("--seed", seed, 0),
    ):
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}.")
    if report_path is not None and (estimand != "ate" or where):
        raise ValueError(
            "--report summarises the ATE over all units; drop --estimand/--where or run "
            "knowable sensitivity separately."
        )
    if method == "blearner" and save_model is not None:
        raise ValueError(
            "--save-model needs --method sharp or kallus; the B-Learner's scikit-learn models "
            "cannot be saved without pickle."
        )
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
    where_rows = estimand_mask(prepared, "ate", where, data)
    report.covariates(list(prepared.X.columns), prepared.preprocessing.covariates)

    import numpy as np
    import pandas as pd

    from knowable.bounds import BLearner, MSMBounds, default_outcome_model

    lams = np.asarray(lams_list)
    x, t, y = prepared.X, prepared.t, prepared.y
    report.stage(f"fitting {method} bounds on {len(x)} units ({int(t.sum())} treated)")
    if method == "blearner":
        est: Any = BLearner(cv=cv, n_bootstrap=n_bootstrap, random_state=seed).fit(x, t, y)
        b = est.bounds(x, lams)
        report.stage("robustness search")
        # per unit: the CATE; the average: the --estimand over the --where training units
        rob = est.robustness(
            x, lam_max=lam_max, n_grid=n_grid, estimand=estimand, subset=where_rows
        )
        ate = est.ate_bounds(lams, estimand=estimand, subset=where_rows)
        effect = b.lower[0] if lams[0] == 1.0 else est.effect(x)
        propensity = est.propensity_
        rob_value = rob.ate
    else:
        outcome_model = default_outcome_model().set_params(
            max_epochs=max_epochs, n_members=n_members, verbose=report.progress_bar
        )
        est = MSMBounds(outcome_model, random_state=seed).fit(x, t, y)
        for arm, fitted in zip(("control", "treated"), est.outcome_models_, strict=True):
            report.early_stopping(fitted, f"{arm} outcome model: ")
        b = est.bounds(x, lams, method=method)
        population = x.iloc[np.flatnonzero(where_rows)]
        t_pop = t[where_rows]
        ate = est.ate_bounds(lams, method=method, X=population, t=t_pop, estimand=estimand)
        report.stage("robustness search")
        rob = est.robustness(x, method, lam_max=lam_max)  # per unit: the CATE
        rob_value = (
            est.robustness(population, method, lam_max=lam_max, t=t_pop, estimand=estimand).ate
            if estimand != "ate" or where
            else rob.ate
        )
        effect = est.effect(x)
        propensity = est.propensity_model_.predict_proba(x.to_numpy())[:, 1]
    report.info(overlap_summary(propensity, t, estimand))
    if save_model is not None:
        for index, fitted in enumerate(est.outcome_models_):
            fitted.save(save_model / f"arm{index}")
            prepared.preprocessing.save(save_model / f"arm{index}")
        report.info(f"outcome models: {save_model}/arm0, {save_model}/arm1")
    table: dict[str, Any] = {"treatment": t.astype(int), "effect": effect}
    for i, lv in enumerate(lams):
        table[f"lower_lam{lam_label(lv)}"] = b.lower[i]
        table[f"upper_lam{lam_label(lv)}"] = b.upper[i]
    if b.lower_spread is not None and b.upper_spread is not None:
        for i, lv in enumerate(lams):  # ensemble or bootstrap sd: the band is bound ∓ k·sd
            table[f"lower_sd_lam{lam_label(lv)}"] = b.lower_spread[i]
            table[f"upper_sd_lam{lam_label(lv)}"] = b.upper_spread[i]
    table["robustness"] = rob.unit
    if estimand != "ate" or where:
        table["in_estimand"] = mask
    if prepared.truth is not None:
        table["true_effect"] = prepared.truth
    frame = pd.concat([prepared.id_frame(), pd.DataFrame(table)], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    name = estimand.upper()
    scope = f" where {where}" if where else ""
    summary = {
        "method": method,
        "estimand": estimand,
        "where": where,
        "n_units": int(mask.sum()),
        "lam": lams.tolist(),
        "lower": np.atleast_1d(ate.lower).tolist(),
        "upper": np.atleast_1d(ate.upper).tolist(),
        "robustness": rob_value,
        "lam_max": lam_max,
        "columns": "per-unit bounds on the CATE at each Λ; robustness: the smallest Λ at which "
        "the unit's CATE interval contains 0 (inf: none up to --lam-max)",
    }
    notes = out.with_suffix(".json")
    notes.write_text(json.dumps(summary, indent=2, default=to_jsonable))
    report.info(
        f"bounds ({method}) for {len(frame)} units written to {out}; {name} over "
        f"{int(mask.sum())} units{scope}:"
    )
    for i, lv in enumerate(lams):
        lo, hi = float(np.atleast_1d(ate.lower)[i]), float(np.atleast_1d(ate.upper)[i])
        report.info(f"  Λ = {lam_label(lv)}: {name} in [{fmt(lo)}, {fmt(hi)}]")
    report.info(
        f"  robustness ({name}): Λ = {fmt(rob_value)}"
        + (f" (none up to --lam-max {fmt(lam_max)})" if not math.isfinite(rob_value) else "")
    )
    if report_path is not None:
        from ._sensitivity import write_sensitivity_report

        report.stage("sensitivity report")
        source = est if method == "blearner" else _FixedMethod(est, method)
        rep = write_sensitivity_report(
            x,
            t,
            y,
            report_path,
            table=report_path.with_suffix(".md"),
            lam_max=lam_max,
            bounds=source,
            seed=seed,
        )
        report.info(
            f"sensitivity report: RV {fmt(rep.rv_)}, E-value {fmt(rep.e_value_)}, ATE "
            f"Λ-robustness {fmt(rep.lam_robustness_)}; written to {report_path} and "
            f"{report_path.with_suffix('.md')}"
        )
    if figure is not None:
        if method == "blearner":  # reuse the Λ stages already fitted for the robustness search
            fine = np.exp(np.linspace(0.0, np.log(lam_max), n_grid))
        else:
            top = max(float(lams[-1]), 2.0)
            if np.isfinite(rob_value):
                top = max(top, min(lam_max, 1.5 * rob_value))
            fine = np.exp(np.linspace(0.0, np.log(top), 40))
        fine = np.unique(np.concatenate([fine, lams]))
        if method == "blearner":
            a = est.ate_bounds(fine, estimand=estimand, subset=where_rows)
        else:
            a = est.ate_bounds(fine, method=method, X=population, t=t_pop, estimand=estimand)
        fig = plot_bounds(fine, a.lower, a.upper, rob_value, f"{method} bounds on the {name}", name)
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(figure, dpi=120)
        report.info(f"figure written to {figure}")
