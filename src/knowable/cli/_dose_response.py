"""``knowable dose-response``: a dose-response curve, its epistemic band and CMSM bounds.

Fits :class:`knowable.effects.DoseResponse` on a table with a continuous
treatment, writes the curve on a grid with its epistemic band, the
continuous-MSM bounds for every Λ (with the ensemble band on each bound) and,
by default, the share of units with treatment support at each grid value
(:class:`knowable.effects.TreatmentDensity`); optionally a figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._bounds import lam_label, parse_lambdas
from ._options import (
    Categorical,
    Data,
    Exclude,
    IdColumn,
    Quiet,
    Reporter,
    Sep,
    Verbose,
    check_choice,
    uncertainty_names,
)
from ._output import fmt
from ._prepare import load_table

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

    from knowable.bounds import DoseResponseBounds
    from knowable.effects import DoseResponseCurve

__all__ = ["dose_response_command", "plot_dose_response"]

_METHODS = ("overcast", "sharp", "both")


def plot_dose_response(
    curve: DoseResponseCurve,
    bounds: DoseResponseBounds | None = None,
    *,
    extra_bounds: DoseResponseBounds | None = None,
    support: np.ndarray | None = None,
    band_alpha: float = 0.05,
    xlabel: str = "treatment",
    ylabel: str = "average potential outcome",
) -> Figure:
    """Figure of the curve, its epistemic band and the Λ-bound bands.

    Parameters
    ----------
    curve : DoseResponseCurve
        Estimated curve on a grid of g values.
    bounds : DoseResponseBounds, optional
        Bounds on the same grid; each Λ > 1 is drawn as a shaded band between
        the lower ``band_alpha/2`` quantile of member lower bounds and the
        upper quantile of member upper bounds, with the mean bounds as lines.
    extra_bounds : DoseResponseBounds, optional
        A second estimator's bounds on the same grid and Λ (``--method both``),
        drawn as dashed lines in the same colours, without bands.
    support : numpy.ndarray of shape (g,), optional
        Share of units with treatment support per grid value (lower panel).
    band_alpha : float
        Miscoverage of the ensemble band on the bounds.
    xlabel, ylabel : str
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 5.2 if support is not None else 4.2), layout="constrained")
    if support is not None:
        ax, ax_s = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    else:
        ax, ax_s = fig.subplots(1, 1), None
    t = curve.t
    if bounds is not None:
        lo_band, hi_band = bounds.band(band_alpha)
        lams = [(i, lv) for i, lv in enumerate(bounds.lam) if lv > 1.0]
        colours = [f"C{k + 1}" for k in range(len(lams))]
        for (i, lv), colour in reversed(list(zip(lams, colours, strict=True))):
            ax.fill_between(t, lo_band[i], hi_band[i], color=colour, alpha=0.18, lw=0)
            ax.plot(
                t,
                bounds.lower[i],
                color=colour,
                lw=1,
                label=f"Λ = {lam_label(lv)} ({bounds.label})",
            )
            ax.plot(t, bounds.upper[i], color=colour, lw=1)
            if extra_bounds is not None:
                ax.plot(
                    t,
                    extra_bounds.lower[i],
                    color=colour,
                    lw=1,
                    ls="--",
                    label=f"Λ = {lam_label(lv)} ({extra_bounds.label})",
                )
                ax.plot(t, extra_bounds.upper[i], color=colour, lw=1, ls="--")
    level = round(100 * (1 - curve.alpha))
    ax.fill_between(
        t, curve.lower, curve.upper, color="C0", alpha=0.35, lw=0, label=f"{level}% epistemic band"
    )
    ax.plot(t, curve.mean, color="C0", lw=2, label="estimated curve")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, loc="best")
    if ax_s is not None:
        ax_s.plot(t, support, color="k", lw=1)
        ax_s.set_ylim(-0.02, 1.02)
        ax_s.set_ylabel("share supported")
        ax_s.set_xlabel(xlabel)
    else:
        ax.set_xlabel(xlabel)
    return fig


def dose_response_command(
    data: Data,
    treatment: Annotated[str, typer.Option("--treatment", help="Continuous treatment column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    lam: Annotated[
        str, typer.Option("--lam", help="Comma-separated Λ ≥ 1 of the continuous MSM.")
    ] = "1.1,1.2,1.6",
    out: Annotated[Path, typer.Option("--out", help="Output CSV, one row per grid value.")] = Path(
        "curve.csv"
    ),
    figure: Annotated[
        Path | None, typer.Option("--figure", help="Figure file (png, pdf, svg).")
    ] = None,
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates", help="Comma-separated covariate columns (default: all other columns)."
        ),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="overcast (valid, conservative), sharp, or both.")
    ] = "overcast",
    grid_size: Annotated[int, typer.Option("--grid-size", help="Grid values.")] = 50,
    t_min: Annotated[
        float | None, typer.Option("--t-min", help="Grid start (default: observed minimum).")
    ] = None,
    t_max: Annotated[
        float | None, typer.Option("--t-max", help="Grid end (default: observed maximum).")
    ] = None,
    allow_extrapolation: Annotated[
        bool,
        typer.Option("--allow-extrapolation", help="Allow a grid outside the observed range."),
    ] = False,
    overlap: Annotated[
        bool,
        typer.Option("--overlap/--no-overlap", help="Fit p(t | x) and report the supported share."),
    ] = True,
    alpha: Annotated[float, typer.Option("--alpha", help="Band miscoverage.")] = 0.05,
    n_samples: Annotated[
        int, typer.Option("--n-samples", help="Outcome draws per unit for the bounds.")
    ] = 100,
    uncertainty: Annotated[
        str,
        typer.Option(
            "--uncertainty",
            help="Epistemic uncertainty of the curve: "
            f"{', '.join(uncertainty_names())} (with a GP head such as due, p(t | x) uses an "
            "ensemble).",
        ),
    ] = "ensemble",
    n_members: Annotated[int, typer.Option("--n-members", help="Ensemble size.")] = 5,
    max_epochs: Annotated[
        int | None, typer.Option("--max-epochs", help="Training epochs cap.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    save_model: Annotated[
        Path | None,
        typer.Option(
            "--save-model", help="Folder to save the fitted model (with preprocessing.json)."
        ),
    ] = None,
    id_column: IdColumn = None,
    exclude: Exclude = None,
    truth: Annotated[
        str | None,
        typer.Option(
            "--truth",
            help="Column with a simulation's true values: never a covariate. The output has "
            "one row per dose, not per unit, so the column is not copied.",
        ),
    ] = None,
    categorical: Categorical = None,
    sep: Sep = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fit a dose-response curve with an epistemic band and continuous-MSM bounds.

    The band is epistemic (model uncertainty), not a confidence band under
    hidden confounding; the Λ bounds are for that.
    """
    check_choice(method, "--method", _METHODS)
    check_choice(uncertainty, "--uncertainty", uncertainty_names())
    if grid_size < 2:
        raise ValueError(f"--grid-size must be at least 2, got {grid_size}.")
    if n_members < 1:
        raise ValueError(f"--n-members must be >= 1, got {n_members}.")
    if max_epochs is not None and max_epochs < 1:
        raise ValueError(f"--max-epochs must be >= 1, got {max_epochs}.")
    if not 0 < alpha < 1:
        raise ValueError(f"--alpha must lie in (0, 1), got {alpha}.")
    lams = parse_lambdas(lam)
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
        sep=sep,
        binary=False,
    )
    import numpy as np

    levels = np.unique(prepared.t)
    if levels.size <= 2:
        raise ValueError(
            f"the treatment column {treatment!r} of {data} takes only {levels.size} value(s) "
            f"{[fmt(v) for v in levels]} ({'constant' if levels.size == 1 else 'binary'}); "
            "dose-response needs a continuous treatment "
            "(for a binary one use `knowable effects fit` or `knowable bounds`)."
        )
    report.covariates(list(prepared.X.columns), prepared.preprocessing.covariates)
    import pandas as pd

    from knowable.bounds import ContinuousMSMBounds
    from knowable.effects import DoseResponse, TreatmentDensity
    from knowable.models import get_uncertainty

    X, t, y = prepared.X, prepared.t, prepared.y
    params: dict[str, Any] = {"n_members": n_members, "random_state": seed}
    if max_epochs is not None:
        params["max_epochs"] = max_epochs
    report.stage(f"fitting DoseResponse ({uncertainty}) on {len(X)} units")
    model = DoseResponse(uncertainty, verbose=report.progress_bar, **params).fit(X, t, y)
    report.early_stopping(model)
    report.stage("fitted; computing the curve and bounds")
    lo_t, hi_t = model.t_range_
    grid = np.linspace(
        lo_t if t_min is None else t_min, hi_t if t_max is None else t_max, grid_size
    )
    curve = model.dose_response(grid, alpha=alpha, allow_extrapolation=allow_extrapolation)
    methods = ("overcast", "sharp") if method == "both" else (method,)
    all_bounds = ContinuousMSMBounds(
        model, n_samples=n_samples, random_state=seed
    ).dose_response_all(grid, lams, methods=methods, allow_extrapolation=True)
    table = pd.DataFrame(
        {"t": grid, "apo": curve.mean, "apo_lower": curve.lower, "apo_upper": curve.upper}
    )
    if overlap:
        # the treatment density needs a mixture head, which DUE's GP does not give
        density_uncertainty = "ensemble" if get_uncertainty(uncertainty).gp_head else uncertainty
        report.stage("fitting the treatment density p(t | x) for the support")
        density = TreatmentDensity(density_uncertainty, **params).fit(X, t)
        table["support"] = density.support_fraction(grid, X)
    for name, b in all_bounds.items():
        band_lo, band_hi = b.band(alpha)
        for i, lv in enumerate(b.lam):
            table[f"{name}_lower_lam{lam_label(lv)}"] = b.lower[i]
            table[f"{name}_upper_lam{lam_label(lv)}"] = b.upper[i]
            table[f"{name}_band_lower_lam{lam_label(lv)}"] = band_lo[i]
            table[f"{name}_band_upper_lam{lam_label(lv)}"] = band_hi[i]
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    if save_model is not None:
        model.save(save_model)
        prepared.preprocessing.save(save_model)
        report.info(f"model: {save_model}")
    first = all_bounds[methods[0]]
    widths = ", ".join(
        f"Λ={lam_label(lv)}: {fmt(np.mean(first.upper[i] - first.lower[i]))}"
        for i, lv in enumerate(first.lam)
    )
    report.info(
        f"curve on {grid_size} values of {treatment} in [{fmt(grid[0])}, {fmt(grid[-1])}] "
        f"with an epistemic {round(100 * (1 - alpha))}% band (model uncertainty; not a "
        f"confidence band under hidden confounding); mean bound width ({first.label}) {widths}"
    )
    if overlap:
        weak = int((table["support"] < 0.5).sum())
        report.info(
            f"{weak} of {grid_size} grid values have treatment support for under half the units"
        )
    report.info(f"curve: {out}")
    if figure is not None:
        fig = plot_dose_response(
            curve,
            first,
            extra_bounds=all_bounds[methods[1]] if len(methods) > 1 else None,
            support=table["support"].to_numpy() if overlap else None,
            band_alpha=alpha,
            xlabel=treatment,
            ylabel=f"E[{outcome}({treatment})]",
        )
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(figure, dpi=120)
        report.info(f"figure: {figure}")
