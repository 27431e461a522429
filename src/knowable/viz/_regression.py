"""A 1-D regression posterior: data, mean and ±k std bands, optionally the truth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import as_1d, figure_and_axes

__all__ = ["plot_regression_posterior"]


def plot_regression_posterior(
    x_grid: Any,
    means: Mapping[str, Any],
    stds: Mapping[str, Any],
    *,
    x_data: Any = None,
    y_data: Any = None,
    truth: Any = None,
    n_std: float = 2.0,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Plot one or more 1-D posteriors (mean ± ``n_std`` epistemic std) on a grid.

    Parameters
    ----------
    x_grid : array-like of shape (m,)
        Sorted grid of inputs.
    means : mapping of str to array-like of shape (m,)
        Posterior mean per model, keyed by the legend label.
    stds : mapping of str to array-like of shape (m,)
        Epistemic standard deviation per model; same keys as ``means``.
    x_data, y_data : array-like of shape (n,), optional
        Training data, drawn as small grey points.
    truth : array-like of shape (m,), optional
        True function on ``x_grid``, drawn as a black line.
    n_std : float
        Half-width of the bands in standard deviations.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; by default a new figure is created.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax``'s figure when ``ax`` is given).
    """
    x_grid = as_1d(x_grid, "x_grid")
    m = x_grid.shape[0]
    if set(means) != set(stds):
        raise ValueError(
            f"means and stds need the same keys, got {sorted(means)} and {sorted(stds)}."
        )
    fig, ax = figure_and_axes(ax, (6.0, 4.5))
    if x_data is not None or y_data is not None:
        if x_data is None or y_data is None:
            raise ValueError("x_data and y_data must be given together.")
        xd = as_1d(x_data, "x_data")
        yd = as_1d(y_data, "y_data", xd.shape[0])
        ax.scatter(xd, yd, s=6, color="0.6", alpha=0.5, label=f"data (n={xd.shape[0]})", zorder=1)
    if truth is not None:
        ax.plot(
            x_grid, as_1d(truth, "truth", m), color="black", linewidth=1.5, label="truth", zorder=4
        )
    for i, (label, mean) in enumerate(means.items()):
        mu = as_1d(mean, f"means[{label!r}]", m)
        sd = as_1d(stds[label], f"stds[{label!r}]", m)
        if (sd < 0).any():
            raise ValueError(f"stds[{label!r}] must be non-negative.")
        colour = f"C{i}"
        ax.plot(x_grid, mu, color=colour, linewidth=1.5, label=f"{label} mean", zorder=3)
        ax.fill_between(
            x_grid,
            mu - n_std * sd,
            mu + n_std * sd,
            color=colour,
            alpha=0.2,
            linewidth=0,
            label=f"{label} ±{n_std:g} std",
            zorder=2,
        )
    ax.set_xlim(float(np.min(x_grid)), float(np.max(x_grid)))
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return fig
