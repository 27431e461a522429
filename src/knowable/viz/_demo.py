"""The two-panel figure of ``knowable demo``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matplotlib.figure import Figure

from ._cate import plot_cate_intervals
from ._regression import plot_regression_posterior

__all__ = ["plot_demo"]


def plot_demo(
    cate: Mapping[str, Any],
    regression: Mapping[str, Any],
    *,
    figsize: tuple[float, float] = (12.0, 4.8),
) -> Figure:
    """Two panels: (a) CATE intervals on test units, (b) a 1-D regression posterior.

    Parameters
    ----------
    cate : mapping
        Keyword arguments of :func:`plot_cate_intervals` (``tau_hat``,
        ``lower``, ``upper``, ``tau_true`` and optionally ``deferred`` and
        ``title``), arrays of shape (n,).
    regression : mapping
        Keyword arguments of :func:`plot_regression_posterior` (``x_grid``,
        ``means``, ``stds`` and optionally ``x_data``, ``y_data``, ``truth``,
        ``title``), arrays of shape (m,) on the grid.
    figsize : tuple of float
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        A figure with two Axes.
    """
    fig = Figure(figsize=figsize, layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    plot_cate_intervals(ax=ax_a, **cate)
    plot_regression_posterior(ax=ax_b, **regression)
    return fig
