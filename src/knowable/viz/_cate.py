"""Estimated vs true CATE with interval error bars."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ._common import as_1d, figure_and_axes

__all__ = ["plot_cate_intervals"]


def plot_cate_intervals(
    tau_hat: Any,
    lower: Any,
    upper: Any,
    tau_true: Any,
    deferred: Any = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    interval_label: str = "95% interval",
) -> Figure:
    """Scatter estimated against true CATE, with per-unit interval error bars.

    Parameters
    ----------
    tau_hat : array-like of shape (n,)
        Point estimates of the CATE.
    lower, upper : array-like of shape (n,)
        Interval bounds around ``tau_hat`` (``lower <= upper``).
    tau_true : array-like of shape (n,)
        True CATE of the same units.
    deferred : array-like of bool of shape (n,), optional
        Units that a deferral rule hands to a human; drawn in a second colour.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; by default a new figure is created.
    title : str, optional
        Axes title.
    interval_label : str
        Legend text for the error bars.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax``'s figure when ``ax`` is given).
    """
    tau_hat = as_1d(tau_hat, "tau_hat")
    n = tau_hat.shape[0]
    lower = as_1d(lower, "lower", n)
    upper = as_1d(upper, "upper", n)
    tau_true = as_1d(tau_true, "tau_true", n)
    if (lower > upper).any():
        raise ValueError("lower must not exceed upper.")
    if deferred is None:
        mask = np.zeros(n, dtype=bool)
    else:
        mask = np.asarray(deferred, dtype=bool).reshape(-1)
        if mask.shape[0] != n:
            raise ValueError(f"deferred has {mask.shape[0]} entries, expected {n}.")
    fig, ax = figure_and_axes(ax, (5.0, 4.5))
    # error bars are distances from the point estimate; clip in case tau_hat lies outside
    yerr = np.vstack([np.maximum(tau_hat - lower, 0.0), np.maximum(upper - tau_hat, 0.0)])
    groups = [(~mask, "C0", "o", "kept"), (mask, "C3", "s", "deferred")]
    for sel, colour, marker, label in groups:
        if not sel.any():
            continue
        ax.errorbar(
            tau_true[sel],
            tau_hat[sel],
            yerr=yerr[:, sel],
            fmt=marker,
            color=colour,
            ecolor=colour,
            elinewidth=0.8,
            alpha=0.8,
            markersize=4,
            capsize=0,
            label=f"{label} (n={int(sel.sum())})" if mask.any() else interval_label,
        )
    lo = float(min(tau_true.min(), lower.min()))
    hi = float(max(tau_true.max(), upper.max()))
    ax.plot([lo, hi], [lo, hi], color="0.4", linestyle="--", linewidth=1, label="y = x")
    ax.set_xlabel("true CATE τ(x)")
    ax.set_ylabel(f"estimated CATE τ̂(x) ± {interval_label}")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return fig
