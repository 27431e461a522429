"""``knowable sensitivity``: ATE-level sensitivity report (long story short, sensemakr, E-value, Λ)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ._output import make_console
from ._tables import covariate_columns, read_table, require_columns

__all__ = ["sensitivity_command", "write_sensitivity_report"]


def write_sensitivity_report(
    x: Any,
    t: Any,
    y: Any,
    out: Path,
    *,
    table: Path | None = None,
    figure: Path | None = None,
    benchmark: list[str] | None = None,
    cf_y: float | None = None,
    cf_d: float | None = None,
    lam_max: float = 10.0,
    bounds: Any = None,
    seed: int = 0,
) -> Any:
    """Fit a :class:`~knowable.bounds.SensitivityReport` and write JSON (+ Markdown, figure).

    Shared by ``knowable sensitivity`` and (for the integrator) ``knowable bounds --report``,
    which passes its fitted bounds object so the Λ-robustness comes from it.

    Parameters
    ----------
    x, t, y : array-like
        Covariates (a DataFrame labels the benchmarks), binary treatment, outcome.
    out : pathlib.Path
        JSON file.
    table, figure : pathlib.Path, optional
        Markdown table and contour figure.
    benchmark : list of str, optional
        Covariates to benchmark (default all).
    cf_y, cf_d : float, optional
        An extra scenario.
    lam_max : float
        Largest Λ searched.
    bounds : fitted MSMBounds or BLearner, optional
        Source of the Λ-robustness.
    seed : int
        Random seed.

    Returns
    -------
    knowable.bounds.SensitivityReport
    """
    from knowable.bounds import SensitivityReport

    rep = SensitivityReport(
        bounds=bounds,
        benchmark=benchmark,
        cf_y=cf_y,
        cf_d=cf_d,
        lam_max=lam_max,
        random_state=seed,
    ).fit(x, t, y)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep.to_dict(), indent=1, default=float))
    if table is not None:
        table.parent.mkdir(parents=True, exist_ok=True)
        table.write_text(rep.to_markdown() + "\n")
    if figure is not None:
        from knowable.viz import plot_sensitivity_contours

        figure.parent.mkdir(parents=True, exist_ok=True)
        plot_sensitivity_contours(rep).savefig(figure, dpi=120)
    return rep


def sensitivity_command(
    data: Annotated[Path, typer.Option("--data", help="CSV or Parquet file, one row per unit.")],
    treatment: Annotated[str, typer.Option("--treatment", help="Binary (0/1) treatment column.")],
    outcome: Annotated[str, typer.Option("--outcome", help="Outcome column.")],
    out: Annotated[Path, typer.Option("--out", help="JSON file for the report.")],
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates", help="Comma-separated covariate columns (default: all others)."
        ),
    ] = None,
    benchmark: Annotated[
        str | None,
        typer.Option("--benchmark", help="Comma-separated covariates to benchmark (default: all)."),
    ] = None,
    table: Annotated[
        Path | None, typer.Option("--table", help="Markdown file for the tables.")
    ] = None,
    figure: Annotated[
        Path | None, typer.Option("--figure", help="PNG/PDF/SVG contour figure.")
    ] = None,
    cf_y: Annotated[float | None, typer.Option("--cf-y", help="Scenario: cf_y in [0, 1).")] = None,
    cf_d: Annotated[float | None, typer.Option("--cf-d", help="Scenario: cf_d in [0, 1).")] = None,
    lam_max: Annotated[
        float, typer.Option("--lam-max", help="Largest Λ searched for the robustness value.")
    ] = 10.0,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """ATE sensitivity report: robustness values, benchmarked bias bounds, E-value and Λ."""
    if (cf_y is None) != (cf_d is None):
        raise ValueError("--cf-y and --cf-d go together; pass both or neither.")
    if not lam_max > 1:
        raise ValueError(f"--lam-max must be > 1, got {lam_max}.")
    frame = read_table(data)
    require_columns(frame, [treatment, outcome], data)
    cols = covariate_columns(frame, covariates, [treatment, outcome], data)
    bench = None if benchmark is None else [c.strip() for c in benchmark.split(",") if c.strip()]
    rep = write_sensitivity_report(
        frame[cols],
        frame[treatment],
        frame[outcome],
        out,
        table=table,
        figure=figure,
        benchmark=bench,
        cf_y=cf_y,
        cf_d=cf_d,
        lam_max=lam_max,
        seed=seed,
    )
    console = make_console()
    console.print(
        f"ATE {rep.lss_.theta:.4g} (se {rep.lss_.se:.3g}); RV {rep.rv_:.3g}, RVa {rep.rva_:.3g}; "
        f"E-value {rep.e_value_:.3g}; Λ-robustness {rep.lam_robustness_:.3g}",
        soft_wrap=True,
        markup=False,
    )
    console.print(f"report written to {out}", soft_wrap=True, markup=False)
