"""Contour figure of a :class:`~knowable.bounds.SensitivityReport`."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_sensitivity_contours"]


def plot_sensitivity_contours(report: Any, *, n: int = 60, cf_max: float | None = None) -> Figure:
    """Two panels: the long-story-short bound on θ over (cf_d, cf_y), and sensemakr's OLS contour.

    Left: θ moved towards zero by the bias bound |ρ|·sqrt(cf_y·cf_d/(1 − cf_d))·S,
    with the null contour drawn thick and every benchmark covariate's
    (cf_d, cf_y) marked. Right: the OLS adjusted estimate over
    (R²_{D~Z|X}, R²_{Y~Z|D,X}) with the sensemakr benchmark bounds (k = 1).

    Parameters
    ----------
    report : knowable.bounds.SensitivityReport
        A fitted report.
    n : int
        Grid points per axis.
    cf_max : float, optional
        Largest strength shown (both panels).

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = report.contour_grid(n=n, cf_max=cf_max)
    fig = Figure(figsize=(10.0, 4.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    cs = ax1.contour(g["cf_d"], g["cf_y"], g["theta"], levels=10, colors="0.4", linewidths=0.8)
    ax1.clabel(cs, fontsize=7)
    if g["theta"].min() < g["null"] < g["theta"].max():
        ax1.contour(g["cf_d"], g["cf_y"], g["theta"], levels=[g["null"]], colors="C3", linewidths=2)
    for b in report.benchmarks_:
        if b.cf_d <= g["cf_d"][-1] and b.cf_y <= g["cf_y"][-1]:
            ax1.plot(b.cf_d, b.cf_y, "D", color="C0", ms=4)
            ax1.annotate(
                b.name, (b.cf_d, b.cf_y), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
    ax1.set_xlabel("cf_d (gain in Riesz-representer variation)")
    ax1.set_ylabel("cf_y (share of outcome residual variation)")
    ax1.set_title(f"long story short: θ bound (θ̂ = {g['estimate']:.3g}; red: null)")
    ols = report.ols_
    top = g["cf_d"][-1]
    r2 = np.linspace(0.0, top, n)
    rd, ry = np.meshgrid(r2, r2)
    adj = ols.adjusted_estimate(np.minimum(rd, 0.999), ry)
    cs2 = ax2.contour(r2, r2, adj, levels=10, colors="0.4", linewidths=0.8)
    ax2.clabel(cs2, fontsize=7)
    if adj.min() < 0 < adj.max():
        ax2.contour(r2, r2, adj, levels=[0.0], colors="C3", linewidths=2)
    bt = ols.benchmarks
    for _, row in bt.iterrows():
        if row["r2dz_x"] <= top and row["r2yz_dx"] <= top:
            ax2.plot(row["r2dz_x"], row["r2yz_dx"], "D", color="C0", ms=4)
            ax2.annotate(
                str(row["benchmark"]),
                (row["r2dz_x"], row["r2yz_dx"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    ax2.set_xlabel("partial R² of confounder with treatment")
    ax2.set_ylabel("partial R² of confounder with outcome")
    ax2.set_title(f"sensemakr (OLS): adjusted estimate (β̂ = {ols.estimate:.3g})")
    return fig
