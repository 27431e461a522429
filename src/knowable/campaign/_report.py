"""The campaign report: one self-contained HTML page (Jinja2) with embedded PNG figures.

Metrics, per round ``r`` (the batch proposed in round ``r`` and its measurements):

* **best so far**: the largest current measurement among rounds ``0..r``;
* **prospective RMSE**: root mean squared error of the model's predictions for
  round ``r``'s candidates, made *before* they were measured (rounds chosen at
  random have no model and no value);
* **hits**: a measurement is a hit when ``|y| >= threshold``; the threshold is
  given, or the 95th percentile of ``|y|`` over all current measurements (stated
  in the report, since it moves as measurements arrive). The hit ratio after
  round ``r`` is hits found in rounds ``0..r`` over all hits found so far.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ._campaign import Campaign

__all__ = ["round_metrics", "write_report"]

_TEMPLATE = "report.html.j2"


def round_metrics(campaign: Campaign, hit_threshold: float | None = None) -> pd.DataFrame:
    """Per-round learning-curve and hit metrics (see the module docstring).

    Parameters
    ----------
    campaign : Campaign
        The campaign.
    hit_threshold : float, optional
        ``|y|`` at or above which a measurement is a hit (default: the 95th
        percentile of ``|y|`` over the current measurements).

    Returns
    -------
    pandas.DataFrame
        One row per round: ``round``, ``strategy``, ``n_proposed``, ``n_measured``,
        ``best_so_far``, ``prospective_rmse``, ``hits``, ``cumulative_hits``,
        ``hit_ratio``, ``mean_pred_std``; ``attrs["hit_threshold"]`` holds the threshold.
    """
    exp = campaign.export()
    y = campaign.target
    measured = exp[exp[y].notna()]
    if hit_threshold is None:
        hit_threshold = float(np.quantile(np.abs(measured[y]), 0.95)) if len(measured) else np.inf
    rounds = campaign.rounds()
    total_hits = int((np.abs(measured[y]) >= hit_threshold).sum())
    rows, best, cum = [], -np.inf, 0
    for r in rounds.itertuples():
        batch = exp[exp["round"] == r.round]
        got = batch[batch[y].notna()]
        if len(got):
            best = max(best, float(got[y].max()))
        with_pred = got[got["pred_mean"].notna()]
        rmse = (
            float(np.sqrt(np.mean((with_pred["pred_mean"] - with_pred[y]) ** 2)))
            if len(with_pred)
            else np.nan
        )
        hits = int((np.abs(got[y]) >= hit_threshold).sum())
        cum += hits
        rows.append(
            {
                "round": int(r.round),
                "strategy": r.strategy,
                "n_proposed": len(batch),
                "n_measured": len(got),
                "best_so_far": best if np.isfinite(best) else np.nan,
                "prospective_rmse": rmse,
                "hits": hits,
                "cumulative_hits": cum,
                "hit_ratio": cum / total_hits if total_hits else np.nan,
                "mean_pred_std": float(batch["pred_std"].mean()) if len(batch) else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs["hit_threshold"] = float(hit_threshold)
    return out


def _num(value: Any, fmt: str = "%.4g") -> str:
    """Format a number for the page; NaN and missing become an en dash."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return fmt % v if np.isfinite(v) else "–"


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _curves_figure(metrics: pd.DataFrame) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.5, 3.2), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    r = metrics["round"]
    ax1.plot(r, metrics["best_so_far"], "o-", color="C0")
    ax1.set(xlabel="round", ylabel="best measured so far", title="Best measurement")
    ax2.plot(r, metrics["prospective_rmse"], "o-", color="C1")
    ax2.set(xlabel="round", ylabel="RMSE", title="Prediction error before measuring")
    ax3.plot(r, metrics["hit_ratio"], "o-", color="C2")
    ax3.set(xlabel="round", ylabel="share of hits found", title="Hit ratio", ylim=(-0.02, 1.02))
    for ax in (ax1, ax2, ax3):
        ax.grid(alpha=0.3)
        ax.set_xticks(list(r))
    return fig


def _uncertainty_figure(campaign: Campaign, exp: pd.DataFrame) -> Figure | None:
    model = campaign.model()
    if model is None:
        return None
    from matplotlib.figure import Figure

    X = campaign.candidates()[campaign.feature_names].to_numpy()
    post = model.posterior(X, batch_size=4096)
    mean, std = post.mean()[:, 0], post.std()[:, 0]
    fig = Figure(figsize=(9.5, 3.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    proposed = exp["round"].notna().to_numpy()
    ax1.scatter(mean[~proposed], std[~proposed], s=6, alpha=0.4, color="0.5", label="not proposed")
    ax1.scatter(mean[proposed], std[proposed], s=14, color="C3", label="proposed")
    ax1.set(
        xlabel="predicted mean",
        ylabel="epistemic std",
        title="Latest model over all candidates",
    )
    ax1.legend(loc="best", fontsize=8)
    rounds = sorted(exp["round"].dropna().unique())
    data = [exp.loc[exp["round"] == k, "pred_std"].dropna().to_numpy() for k in rounds]
    keep = [(k, d) for k, d in zip(rounds, data, strict=True) if len(d)]
    if keep:
        ax2.boxplot([d for _, d in keep], tick_labels=[str(int(k)) for k, _ in keep])
    ax2.set(xlabel="round", ylabel="std at proposal", title="Uncertainty of chosen candidates")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    return fig


def write_report(
    campaign: Campaign, path: str | Path, *, hit_threshold: float | None = None
) -> Path:
    """Write the campaign report as one self-contained HTML file.

    Parameters
    ----------
    campaign : Campaign
        The campaign.
    path : str or pathlib.Path
        Output file (written atomically: a temporary file, then renamed).
    hit_threshold : float, optional
        See :func:`round_metrics`.

    Returns
    -------
    pathlib.Path
        The file.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    metrics = round_metrics(campaign, hit_threshold)
    exp = campaign.export()
    status = campaign.status()
    figures: list[dict[str, Any]] = []
    if len(metrics):
        figures.append(
            {
                "title": "Learning curves",
                "png": _png(_curves_figure(metrics)),
                "caption": (
                    "Best measurement so far; RMSE of the model's predictions for each batch, "
                    "made before it was measured; share of all hits found so far "
                    f"(|{campaign.target}| ≥ {metrics.attrs['hit_threshold']:.4g})."
                ),
            }
        )
    unc = _uncertainty_figure(campaign, exp)
    if unc is not None:
        figures.append(
            {
                "title": "Model uncertainty",
                "png": _png(unc),
                "caption": (
                    "Left: the latest model's predicted mean and epistemic standard deviation "
                    "for every candidate. Right: standard deviation of the chosen candidates "
                    "at the time they were proposed, per round."
                ),
            }
        )
    chosen = exp[exp["round"].notna()].sort_values(["round", "rank"], ascending=[False, True])
    cols = [campaign.id_column, "round", "rank", "pred_mean", "pred_std", campaign.target, "reason"]
    env = Environment(
        loader=PackageLoader("knowable.campaign", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["num"] = _num
    page = env.get_template(_TEMPLATE).render(
        status=status,
        figures=figures,
        rounds=metrics.to_dict("records"),
        hit_threshold=metrics.attrs.get("hit_threshold", float("nan")),
        chosen_columns=cols,
        chosen=chosen[cols].head(500).to_dict("records"),
        n_chosen=len(chosen),
        target=campaign.target,
    )
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out
