"""Learning-curve figures from :class:`~knowable.campaign.ActiveLoopResult` histories."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["learning_curve_figure", "learning_curve_table"]


def learning_curve_table(history: Any, metric: str = "accuracy") -> pd.DataFrame:
    """Mean, standard deviation and count over seeds per (strategy, n_labels).

    Parameters
    ----------
    history : pandas.DataFrame or iterable of them
        Tidy histories (``ActiveLoopResult.history``), possibly of several
        strategies and seeds.
    metric : str
        Which metric.

    Returns
    -------
    pandas.DataFrame
        Columns ``strategy``, ``n_labels``, ``mean``, ``std``, ``n_seeds``.
    """
    frame = history if isinstance(history, pd.DataFrame) else pd.concat(list(history))
    needed = {"strategy", "n_labels", "metric", "value"}
    if not needed <= set(frame.columns):
        raise ValueError(f"history needs columns {sorted(needed)}, got {list(frame.columns)}.")
    rows = frame[frame["metric"] == metric]
    if rows.empty:
        raise ValueError(
            f"no rows for metric {metric!r}; available: {sorted(frame['metric'].unique())}."
        )
    out = (
        rows.groupby(["strategy", "n_labels"])["value"]
        .agg(
            mean="mean",
            std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
            n_seeds="count",
        )
        .reset_index()
    )
    return out


def learning_curve_figure(
    history: pd.DataFrame | Iterable[pd.DataFrame],
    metric: str = "accuracy",
    *,
    title: str | None = None,
) -> Figure:
    """Learning curves (mean ± sd over seeds) per strategy; never calls ``show()``.

    Parameters
    ----------
    history : pandas.DataFrame or iterable of them
        Tidy histories.
    metric : str
        Metric on the y axis.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    table = learning_curve_table(history, metric)
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    for name, rows in table.groupby("strategy", sort=False):
        ax.plot(rows["n_labels"], rows["mean"], marker="o", ms=2.5, label=str(name))
        ax.fill_between(
            rows["n_labels"], rows["mean"] - rows["std"], rows["mean"] + rows["std"], alpha=0.2
        )
    ax.set(xlabel="labelled points", ylabel=metric)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return fig
