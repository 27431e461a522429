"""``knowable bounds``: CATE bounds under hidden confounding from a table of data."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._output import make_console
from ._tables import covariate_columns, read_table, require_columns

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

__all__ = ["bounds_command", "parse_lambdas", "plot_bounds"]


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
    if len({f"{v:.12g}" for v in values}) < len(values):
        raise ValueError(f"--lam values must differ in their first 12 digits; got {text!r}.")
    if values[0] < 1:
        raise ValueError(
            f"--lam values must be >= 1 (Λ = 1 means no hidden confounding); got {values[0]}."
        )
    return values


def plot_bounds(
    lam: np.ndarray, lower: np.ndarray, upper: np.ndarray, robustness: float, title: str
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

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.fill_between(lam, lower, upper, alpha=0.3, label="ATE bounds")
    ax.plot(lam, lower, color="C0")
    ax.plot(lam, upper, color="C0")
    ax.axhline(0.0, color="black", lw=0.8)
    if np.isfinite(robustness):
        ax.axvline(robustness, color="C3", ls="--", label=f"robustness Λ = {robustness:.3g}")
    ax.set_xscale("log")
    ax.set_xlabel("Λ (strength of hidden confounding)")
    ax.set_ylabel("average effect")
    ax.set_title(title)
    ax.legend(loc="best")
    return fig


def bounds_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet file, one row per unit.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Binary (0/1) treatment column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="CSV file for the per-unit bounds.")],
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
    figure: Annotated[
        Path | None, typer.Option("--figure", help="PNG/PDF/SVG figure of the bounds against Λ.")
    ] = None,
    max_epochs: Annotated[
        int, typer.Option("--max-epochs", min=1, help="Training epochs of the density networks.")
    ] = 300,
    lam_max: Annotated[
        float, typer.Option("--lam-max", help="Largest Λ searched for the robustness value.")
    ] = 20.0,
    cv: Annotated[int, typer.Option("--cv", min=2, help="B-Learner cross-fitting folds.")] = 5,
    n_bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            min=0,
            help="B-Learner: final-stage bootstrap refits for a band (0 = none, else >= 2).",
        ),
    ] = 0,
    n_grid: Annotated[
        int,
        typer.Option("--grid", min=2, help="B-Learner: Λ grid size of the robustness search."),
    ] = 12,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """Bound the CATE under hidden confounding (marginal sensitivity model) for several Λ."""
    import numpy as np
    import pandas as pd

    from knowable.bounds import BLearner, MSMBounds
    from knowable.bounds._msm_bounds import default_outcome_model

    if method not in ("sharp", "kallus", "blearner"):
        raise ValueError(f"--method must be sharp, kallus or blearner, got {method!r}.")
    lams = np.asarray(parse_lambdas(lam))
    if not np.isfinite(lam_max) or lam_max <= 1:
        raise ValueError(f"--lam-max must be a finite number > 1, got {lam_max}.")
    frame = read_table(data)
    require_columns(frame, [treatment, outcome], data)
    cols = covariate_columns(frame, covariates, [treatment, outcome], data)
    x, t, y = frame[cols], frame[treatment], frame[outcome]
    console = make_console()
    if method == "blearner":
        est: Any = BLearner(cv=cv, n_bootstrap=n_bootstrap, random_state=seed).fit(x, t, y)
        b = est.bounds(x, lams)
        rob = est.robustness(x, lam_max=lam_max, n_grid=n_grid)
        ate = est.ate_bounds(lams)
        effect = b.lower[0] if lams[0] == 1.0 else est.effect(x)
    else:
        outcome_model = default_outcome_model().set_params(max_epochs=max_epochs)
        est = MSMBounds(outcome_model, random_state=seed).fit(x, t, y)
        b = est.bounds(x, lams, method=method)
        rob = est.robustness(x, method, lam_max=lam_max)
        ate = est.ate_bounds(lams, method=method)
        effect = est.effect(x)
    table: dict[str, Any] = {"unit": np.arange(len(frame)), "effect": effect}
    for i, lv in enumerate(lams):
        table[f"lower_lam{lv:.12g}"] = b.lower[i]
        table[f"upper_lam{lv:.12g}"] = b.upper[i]
    if b.lower_spread is not None and b.upper_spread is not None:
        for i, lv in enumerate(lams):  # ensemble or bootstrap sd: the band is bound ∓ k·sd
            table[f"lower_sd_lam{lv:.12g}"] = b.lower_spread[i]
            table[f"upper_sd_lam{lv:.12g}"] = b.upper_spread[i]
    table["robustness"] = rob.unit
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(table).to_csv(out, index=False)
    console.print(
        f"bounds ({method}) for {len(frame)} units written to {out}", soft_wrap=True, markup=False
    )
    for i, lv in enumerate(lams):
        console.print(
            f"  Λ = {lv:g}: ATE in [{float(ate.lower[i]):.4g}, {float(ate.upper[i]):.4g}]",
            soft_wrap=True,
            markup=False,
        )
    console.print(f"  robustness (ATE): Λ = {rob.ate:.4g}", soft_wrap=True, markup=False)
    if figure is not None:
        if method == "blearner":  # reuse the Λ stages already fitted for the robustness search
            fine = np.exp(np.linspace(0.0, np.log(lam_max), n_grid))
        else:
            top = max(float(lams[-1]), 2.0)
            if np.isfinite(rob.ate):
                top = max(top, min(lam_max, 1.5 * rob.ate))
            fine = np.exp(np.linspace(0.0, np.log(top), 40))
        fine = np.unique(np.concatenate([fine, lams]))
        a = est.ate_bounds(fine) if method == "blearner" else est.ate_bounds(fine, method=method)
        fig = plot_bounds(fine, a.lower, a.upper, rob.ate, f"{method} bounds on the ATE")
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(figure, dpi=120)
        console.print(f"figure written to {figure}", soft_wrap=True, markup=False)
