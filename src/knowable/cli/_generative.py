"""``knowable generative``: hallucination rate and generative p-value of a built-in CGM.

The in-context examples come from a CSV/Parquet table (one row per example); the CGM is one of
the exact Bayesian oracles of :mod:`knowable.generative`, chosen with ``--model``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._output import make_console, to_jsonable
from ._tables import read_table, require_columns

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

__all__ = ["generative_app", "plot_phr", "plot_pvalue"]

generative_app = typer.Typer(
    help="Reliability of a generative in-context learner: hallucination rate and p-value.",
    no_args_is_help=True,
)

MODELS = ("poly", "gp", "categorical")

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        help="Built-in CGM: poly (Normal-Inverse-Gamma polynomial regression), gp (RBF GP "
        "regression) or categorical (Dirichlet per input category; x must be codes 0..K-1).",
    ),
]
XOpt = Annotated[str, typer.Option("--x", help="Comma-separated input column(s).")]
YOpt = Annotated[str, typer.Option("--y", help="Response column.")]
DegreeOpt = Annotated[int, typer.Option("--degree", min=1, help="poly: polynomial degree.")]
LengthOpt = Annotated[float, typer.Option("--lengthscale", help="gp: RBF lengthscale.")]
NoiseOpt = Annotated[float, typer.Option("--noise-scale", help="gp: noise standard deviation.")]
ClassesOpt = Annotated[
    int | None,
    typer.Option("--n-classes", min=2, help="categorical: labels (default: largest label + 1)."),
]
RangeOpt = Annotated[
    str | None,
    typer.Option(
        "--x-range",
        help="lo,hi of the query distribution p(x) (default: the range of all x in the files).",
    ),
]
GenOpt = Annotated[int, typer.Option("--n-generated", min=0, help="Examples per completion.")]
CompOpt = Annotated[int, typer.Option("--n-completions", min=2, help="Completions M.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, help="Random seed.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Result file: .json or .csv.")]
FigOpt = Annotated[Path | None, typer.Option("--figure", help="PNG/PDF/SVG figure.")]


def _columns(text: str, option: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise ValueError(f"{option} needs at least one column name.")
    return cols


def _read_xy(path: Path, x_cols: list[str], y_col: str | None, what: str):
    import numpy as np

    frame = read_table(path, what)
    require_columns(frame, x_cols + ([y_col] if y_col else []), path)
    x = frame[x_cols].to_numpy(dtype=float)
    y = frame[y_col].to_numpy(dtype=float) if y_col else None
    if not np.isfinite(x).all() or (y is not None and not np.isfinite(y).all()):
        raise ValueError(
            f"{what} file {path} has missing or non-finite values in the columns used."
        )
    return x, y


def _x_range(text: str | None, arrays: list[np.ndarray]) -> tuple[float, float]:
    import numpy as np

    if text is not None:
        try:
            lo, hi = (float(v) for v in text.split(","))
        except ValueError:
            raise ValueError(f"--x-range must be two numbers lo,hi; got {text!r}.") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError(f"--x-range needs finite lo < hi; got {text!r}.")
        return lo, hi
    allx = np.concatenate([a.ravel() for a in arrays if a.size])
    lo, hi = float(allx.min()), float(allx.max())
    return (lo - 1.0, hi + 1.0) if lo == hi else (lo, hi)


def build_cgm(
    model: str,
    d: int,
    labels: np.ndarray | None,
    x_all: list[np.ndarray],
    *,
    degree: int,
    lengthscale: float,
    noise_scale: float,
    n_classes: int | None,
    x_range: str | None,
) -> Any:
    """The built-in CGM named ``model`` for inputs of dimension ``d``.

    Parameters
    ----------
    model : {"poly", "gp", "categorical"}
        Which oracle.
    d : int
        Number of input columns.
    labels : numpy.ndarray or None
        Responses seen (categorical: to infer the label count).
    x_all : list of numpy.ndarray
        Every input array (for the default query range, or the input categories).
    degree, lengthscale, noise_scale, n_classes, x_range
        Model options from the command line.

    Returns
    -------
    knowable.generative.BayesianOracle
    """
    import numpy as np

    from knowable.generative import (
        BayesianPolynomialRegression,
        DirichletCategorical,
        GaussianProcessRegression,
    )

    if model not in MODELS:
        raise ValueError(f"--model must be one of {list(MODELS)}, got {model!r}.")
    if model == "categorical":
        if d != 1:
            raise ValueError("--model categorical takes one input column of category codes.")
        allx = np.concatenate([a.ravel() for a in x_all if a.size])
        seen = np.zeros(0) if labels is None else labels
        c = n_classes if n_classes is not None else int(np.max(seen, initial=0)) + 1
        return DirichletCategorical(max(c, 2), n_inputs=int(allx.max(initial=0)) + 1)
    lo, hi = _x_range(x_range, x_all)
    if model == "poly":
        if d > 1 and degree != 1:
            raise ValueError("--model poly with several x columns needs --degree 1.")
        return BayesianPolynomialRegression(degree, x_low=lo, x_high=hi, input_dim=d)
    return GaussianProcessRegression(
        lengthscale, noise_scale=noise_scale, x_low=lo, x_high=hi, input_dim=d
    )


def _write(out: Path, payload: dict[str, Any], table: dict[str, Any]) -> None:
    import pandas as pd

    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".json":
        out.write_text(json.dumps(payload, indent=2, default=to_jsonable))
    elif suffix == ".csv":
        pd.DataFrame(table).to_csv(out, index=False)
    else:
        raise ValueError(f"--out must end in .json or .csv, got {out.name!r}.")


def plot_phr(
    x_ctx: np.ndarray, y_ctx: np.ndarray, xq: np.ndarray, estimate: np.ndarray, se: np.ndarray
) -> Figure:
    """Context examples (top) and the PHR with 2-standard-error bars at each query (bottom).

    Parameters
    ----------
    x_ctx : numpy.ndarray of shape (n, d)
        Context inputs (the first column is plotted).
    y_ctx : numpy.ndarray of shape (n,)
        Context responses.
    xq : numpy.ndarray of shape (q, d)
        Queries.
    estimate, se : numpy.ndarray of shape (q,)
        PHR and its standard error.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 5.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.scatter(x_ctx[:, 0], y_ctx, s=12, color="C0", label="context")
    top.set_ylabel("y")
    top.legend(loc="best")
    bottom.errorbar(xq[:, 0], estimate, yerr=2 * se, fmt="o", color="C3", capsize=3)
    bottom.set_ylim(-0.02, max(0.1, float((estimate + 2 * se).max()) * 1.1))
    bottom.set_xlabel("x (first input column)")
    bottom.set_ylabel("posterior hallucination rate")
    return fig


def plot_pvalue(observed: np.ndarray, replicated: np.ndarray, p_value: float) -> Figure:
    """Histogram of replicated minus observed discrepancy; the p-value is the share >= 0.

    Parameters
    ----------
    observed, replicated : numpy.ndarray of shape (M,)
        Discrepancies per completion.
    p_value : float
        The p-value (for the title).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(replicated - observed, bins=30, color="C0", alpha=0.7)
    ax.axvline(0.0, color="C3", ls="--")
    ax.set_xlabel("g(replicate) - g(held-out)")
    ax.set_ylabel("completions")
    ax.set_title(f"generative predictive p-value = {p_value:.3f}")
    return fig


@generative_app.command("phr")
def phr_command(
    data: Annotated[Path, typer.Option("--data", help="CSV/Parquet of in-context examples.")],
    x: XOpt,
    y: YOpt,
    out: OutOpt,
    query: Annotated[
        str | None, typer.Option("--query", help="Comma-separated query values (one x column).")
    ] = None,
    queries: Annotated[
        Path | None, typer.Option("--queries", help="CSV/Parquet of queries with the x columns.")
    ] = None,
    model: ModelOpt = "poly",
    epsilon: Annotated[float, typer.Option("--epsilon", help="Level of the likely set.")] = 0.05,
    n_generated: GenOpt = 200,
    n_completions: CompOpt = 300,
    n_responses: Annotated[
        int, typer.Option("--n-responses", min=1, help="Responses per completion (real y).")
    ] = 100,
    degree: DegreeOpt = 3,
    lengthscale: LengthOpt = 0.3,
    noise_scale: NoiseOpt = 0.1,
    n_classes: ClassesOpt = None,
    x_range: RangeOpt = None,
    figure: FigOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Posterior hallucination rate of a built-in CGM at query points, given a context."""
    import numpy as np

    from knowable.generative import phr

    x_cols = _columns(x, "--x")
    if (query is None) == (queries is None):
        raise ValueError("give the queries with exactly one of --query and --queries.")
    x_ctx, y_ctx = _read_xy(data, x_cols, y, "data")
    if queries is not None:
        xq, _ = _read_xy(queries, x_cols, None, "queries")
    else:
        if len(x_cols) != 1:
            raise ValueError("--query takes values of one x column; use --queries for several.")
        assert query is not None
        try:
            xq = np.array([float(v) for v in query.split(",") if v.strip()]).reshape(-1, 1)
        except ValueError:
            raise ValueError(f"--query must be comma-separated numbers; got {query!r}.") from None
        if xq.size == 0:
            raise ValueError("--query needs at least one value.")
    cgm = build_cgm(
        model,
        len(x_cols),
        y_ctx,
        [x_ctx, xq],
        degree=degree,
        lengthscale=lengthscale,
        noise_scale=noise_scale,
        n_classes=n_classes,
        x_range=x_range,
    )
    res = phr(
        cgm,
        (x_ctx, y_ctx),
        xq,
        epsilon,
        n_generated,
        n_completions,
        n_responses,
        random_state=seed,
        progress=True,
    )
    payload = {
        "command": "phr",
        "model": type(cgm).__name__,
        "model_params": cgm.get_params(),
        "n_context": len(y_ctx),
        "n_generated": n_generated,
        "n_completions": n_completions,
        "n_responses": n_responses,
        "seed": seed,
        "queries": xq.tolist(),
        **res.to_dict(),
    }
    table = {c: xq[:, j] for j, c in enumerate(x_cols)}
    table.update({"phr": res.estimate, "std_error": res.std_error})
    _write(out, payload, table)
    console = make_console()
    console.print(
        f"PHR (epsilon = {epsilon:g}) at {len(xq)} queries written to {out}",
        soft_wrap=True,
        markup=False,
    )
    for j in range(min(len(xq), 10)):
        console.print(
            f"  x = {xq[j].tolist()}: {res.estimate[j]:.4f} ± {res.std_error[j]:.4f}",
            soft_wrap=True,
            markup=False,
        )
    if figure is not None:
        fig = plot_phr(x_ctx, y_ctx, xq, res.estimate, res.std_error)
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(figure, dpi=120)
        console.print(f"figure written to {figure}", soft_wrap=True, markup=False)


@generative_app.command("pvalue")
def pvalue_command(
    data: Annotated[Path, typer.Option("--data", help="CSV/Parquet of in-context examples.")],
    heldout: Annotated[
        Path, typer.Option("--heldout", help="CSV/Parquet of held-out examples (same columns).")
    ],
    x: XOpt,
    y: YOpt,
    out: OutOpt,
    model: ModelOpt = "poly",
    discrepancy: Annotated[
        str, typer.Option("--discrepancy", help="nll or nlml (negative log marginal likelihood).")
    ] = "nll",
    variant: Annotated[
        str, typer.Option("--variant", help="full (with completions) or lite (without).")
    ] = "full",
    alpha: Annotated[float, typer.Option("--alpha", help="Level of the decision.")] = 0.05,
    n_generated: GenOpt = 100,
    n_completions: CompOpt = 200,
    degree: DegreeOpt = 3,
    lengthscale: LengthOpt = 0.3,
    noise_scale: NoiseOpt = 0.1,
    n_classes: ClassesOpt = None,
    x_range: RangeOpt = None,
    figure: FigOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Generative predictive p-value of held-out examples; flags "out of capability" at alpha."""
    import numpy as np

    from knowable.generative import gpv

    x_cols = _columns(x, "--x")
    x_ctx, y_ctx = _read_xy(data, x_cols, y, "data")
    x_h, y_h = _read_xy(heldout, x_cols, y, "heldout")
    if len(y_h) == 0:
        raise ValueError(f"heldout file {heldout} has no rows.")
    cgm = build_cgm(
        model,
        len(x_cols),
        np.concatenate([y_ctx, y_h]),
        [x_ctx, x_h],
        degree=degree,
        lengthscale=lengthscale,
        noise_scale=noise_scale,
        n_classes=n_classes,
        x_range=x_range,
    )
    res = gpv(
        cgm,
        (x_ctx, y_ctx),
        (x_h, y_h),
        discrepancy=discrepancy,
        variant=variant,
        n_generated=n_generated,
        n_completions=n_completions,
        alpha=alpha,
        random_state=seed,
        progress=True,
    )
    payload = {
        "command": "pvalue",
        "model": type(cgm).__name__,
        "model_params": cgm.get_params(),
        "n_context": len(y_ctx),
        "n_heldout": len(y_h),
        "n_generated": n_generated,
        "n_completions": n_completions,
        "seed": seed,
        **res.to_dict(),
    }
    _write(out, payload, {k: [v] for k, v in res.to_dict().items()})
    console = make_console()
    verdict = "OUT OF CAPABILITY" if res.out_of_capability else "no evidence against the CGM"
    console.print(
        f"p = {res.p_value:.4f} ± {res.std_error:.4f} ({variant}, {discrepancy}): {verdict} "
        f"at alpha = {alpha:g}; written to {out}",
        soft_wrap=True,
        markup=False,
    )
    if figure is not None:
        fig = plot_pvalue(res.observed, res.replicated, res.p_value)
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(figure, dpi=120)
        console.print(f"figure written to {figure}", soft_wrap=True, markup=False)
