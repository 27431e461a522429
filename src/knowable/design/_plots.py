"""Metric curves of design runs (returns a Figure; never shows it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_design_curves"]

_LABELS = {
    "expected_shd": "expected SHD (lower is better)",
    "edge_auroc": "edge AUROC",
    "expected_f1": "expected orientation F1",
    "i_mmd": "interventional MMD²",
}


def plot_design_curves(
    curves: Mapping[str, Sequence[Mapping[str, float]] | Sequence[Sequence[Mapping[str, float]]]],
    metrics: Sequence[str] = ("expected_shd", "edge_auroc", "expected_f1", "i_mmd"),
) -> Figure:
    """One panel per metric, one line per strategy (mean ± standard error over runs).

    Parameters
    ----------
    curves : mapping
        Strategy name -> a run's per-round metric dicts, or a list of such runs
        (seeds).
    metrics : sequence of str
        Metric keys to plot (missing ones are skipped).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    runs_by: dict[str, list[Any]] = {
        k: ([v] if v and isinstance(v[0], Mapping) else list(v)) for k, v in curves.items()
    }
    present = [m for m in metrics if any(m in r[0][0] for r in runs_by.values() if r and r[0])]
    fig = Figure(figsize=(4.0 * max(len(present), 1), 3.2), layout="constrained")
    axes = fig.subplots(1, max(len(present), 1), squeeze=False)[0]
    for ax, metric in zip(axes, present, strict=False):
        for name, runs in runs_by.items():
            arr = np.array([[m.get(metric, np.nan) for m in run] for run in runs], dtype=float)
            mean = np.nanmean(arr, axis=0)
            x = np.arange(arr.shape[1])
            ax.plot(x, mean, marker="o", ms=3, label=name)
            if arr.shape[0] > 1:
                se = np.nanstd(arr, axis=0, ddof=1) / np.sqrt(arr.shape[0])
                ax.fill_between(x, mean - se, mean + se, alpha=0.2)
        ax.set_xlabel("round")
        ax.set_title(_LABELS.get(metric, metric), fontsize=10)
    if present:
        axes[0].legend(fontsize=8)
    return fig
