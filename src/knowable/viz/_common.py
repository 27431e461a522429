"""Shared helpers: pyplot-free figure creation and array checks."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["as_1d", "figure_and_axes"]


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Return ``ax`` and its figure, or a new one-panel ``Figure`` (no pyplot).

    Parameters
    ----------
    ax : matplotlib.axes.Axes or None
        Axes to draw into; ``None`` creates a fresh figure.
    figsize : tuple of float
        Size in inches of a fresh figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    """
    if ax is not None:
        fig = ax.get_figure()
        if not isinstance(fig, Figure):  # a SubFigure: walk up to the root figure
            fig = fig.figure  # type: ignore[union-attr]
        return fig, ax  # type: ignore[return-value]
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def as_1d(value: Any, name: str, n: int | None = None) -> np.ndarray:
    """Flatten ``value`` to a finite float vector of shape ``(n,)``.

    Parameters
    ----------
    value : array-like of shape (n,) or (n, 1)
        Values to check.
    name : str
        Name used in error messages.
    n : int, optional
        Required length.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (n,) or (n, 1), got {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} entries, expected {n}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr
