"""The end-to-end demo behind ``knowable demo``: shipped data in, a table, a figure and a report out.

Two parts, both on data that ship with the package (nothing is downloaded):

1. **IHDP, realisation 1** (standard 672/75 split). A *T-learner* built from two
   :class:`~knowable.models.UncertainRegressor` deep ensembles, one fitted on
   control units and one on treated units. It is a demonstration of the
   foundation, not a dedicated CATE estimator: CATE draws are member-wise
   differences ``mu1_s(x) - mu0_s(x)``. The demo reports √PEHE, the ATE error,
   the coverage of the 95% interval of the CATE draws and a deferral
   illustration: defer test units whose epistemic CATE variance exceeds the 90%
   quantile of that variance on the *training* units, and compare the √PEHE of
   the kept units with deferring the same number of units at random.
2. **Causal-BALD's 1-D task.** A deep ensemble and DUE fitted on the treated
   arm; their epistemic standard deviation on a grid from −4 to 4 is small where
   the data are and grows away from them (reported as the ratio of the mean
   std for ``|x| > 3`` to that for ``|x| < 1``).

:func:`run_demo` prints a rich table and writes ``results.json``, ``report.md``
and ``demo.png`` into ``out_dir``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["run_demo"]

#: Grid of the 1-D panel and the regions whose mean std is compared.
_GRID_LIMIT = 4.0
_FAR, _NEAR = 3.0, 1.0
#: Deferral: the threshold is this quantile of the training-set CATE variance.
_DEFER_QUANTILE = 0.9
#: Random-deferral baseline: number of seeded random subsets averaged.
_N_RANDOM_DEFERRALS = 1000
_ALPHA = 0.05


@dataclass(frozen=True)
class DemoSettings:
    """Sizes of one demo run (``quick`` or full)."""

    quick: bool
    ihdp_realization: int
    ihdp_max_epochs: int
    sim_n: int
    sim_max_epochs: int
    n_members: int
    due_learning_rate: float
    grid_size: int
    device: str

    @classmethod
    def for_mode(cls, quick: bool, device: str = "cpu") -> DemoSettings:
        """Settings of the quick (CI-sized) or the full demo.

        Parameters
        ----------
        quick : bool
            Smaller data and fewer epochs.
        device : str
            Torch device for the fits.

        Returns
        -------
        DemoSettings
        """
        return cls(
            quick=quick,
            ihdp_realization=1,
            ihdp_max_epochs=60 if quick else 300,
            sim_n=500 if quick else 2000,
            sim_max_epochs=60 if quick else 300,
            n_members=5,
            due_learning_rate=5e-3,
            grid_size=401,
            device=device,
        )


# --------------------------------------------------------------------------- IHDP


def _treatment(data: Any) -> np.ndarray:
    """The dataset's treatment vector (these datasets always carry one)."""
    if data.t is None:
        raise ValueError("the demo needs a dataset with a treatment t.")
    return np.asarray(data.t)


def _sqrt_pehe(tau_hat: np.ndarray, tau: np.ndarray) -> float:
    """√PEHE = sqrt(mean((τ̂ − τ)²)) over units of shape (n,)."""
    return float(np.sqrt(np.mean((tau_hat - tau) ** 2)))


def _cate_draws(mu0: Any, mu1: Any, x: np.ndarray) -> np.ndarray:
    """Member-wise CATE draws ``mu1_s(x) − mu0_s(x)``, shape (S, n)."""
    d0 = mu0.posterior(x).draws[..., 0]
    d1 = mu1.posterior(x).draws[..., 0]
    if d0.shape != d1.shape:
        raise ValueError(f"the two arms have different draw shapes {d0.shape} and {d1.shape}.")
    return d1 - d0


def _ihdp_part(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the T-learner on IHDP and compute its metrics and panel (a) data.

    Returns
    -------
    metrics : dict
        JSON-ready numbers.
    panel : dict
        Keyword arguments of :func:`knowable.viz.plot_cate_intervals`.
    """
    from knowable.data import load_ihdp_train_test
    from knowable.models import UncertainRegressor

    train, test = load_ihdp_train_test(settings.ihdp_realization)
    t_train = _treatment(train)
    models = []
    for arm, seed in ((0, 0), (1, 1)):
        rows = t_train == arm
        model = UncertainRegressor(
            uncertainty="ensemble",
            n_members=settings.n_members,
            max_epochs=settings.ihdp_max_epochs,
            device=settings.device,
            random_state=seed,
            verbose=not settings.quick,
        )
        models.append(model.fit(train.x[rows], np.asarray(train.y)[rows]))
    mu0, mu1 = models

    draws_test = _cate_draws(mu0, mu1, test.x)  # (S, n_test)
    draws_train = _cate_draws(mu0, mu1, train.x)  # (S, n_train)
    tau_test = np.asarray(test.truth["cate"], dtype=float)
    tau_train = np.asarray(train.truth["cate"], dtype=float)
    tau_hat = draws_test.mean(axis=0)
    lower, upper = np.quantile(draws_test, [_ALPHA / 2, 1 - _ALPHA / 2], axis=0)
    covered = (tau_test >= lower) & (tau_test <= upper)

    # deferral: threshold from the training units, applied to the test units
    var_train = draws_train.var(axis=0)
    var_test = draws_test.var(axis=0)
    threshold = float(np.quantile(var_train, _DEFER_QUANTILE))
    deferred = var_test > threshold
    n_test = tau_test.shape[0]
    k = int(deferred.sum())
    sq_err = (tau_hat - tau_test) ** 2

    def kept_sqrt_pehe(drop: np.ndarray) -> float:
        kept = ~drop
        return float(np.sqrt(sq_err[kept].mean())) if kept.any() else float("nan")

    rng = np.random.default_rng(0)
    random_scores = np.empty(_N_RANDOM_DEFERRALS)
    for i in range(_N_RANDOM_DEFERRALS):
        drop = np.zeros(n_test, dtype=bool)
        drop[rng.choice(n_test, size=k, replace=False)] = True
        random_scores[i] = kept_sqrt_pehe(drop)
    oracle = np.zeros(n_test, dtype=bool)
    if k:
        oracle[np.argsort(sq_err)[-k:]] = True

    metrics = {
        "realization": settings.ihdp_realization,
        "n_train": len(train),
        "n_test": int(n_test),
        "n_train_control": int((t_train == 0).sum()),
        "n_train_treated": int((t_train == 1).sum()),
        "n_draws": int(draws_test.shape[0]),
        "sqrt_pehe_test": _sqrt_pehe(tau_hat, tau_test),
        "sqrt_pehe_train": _sqrt_pehe(draws_train.mean(axis=0), tau_train),
        "ate_true_test": float(tau_test.mean()),
        "ate_hat_test": float(tau_hat.mean()),
        "ate_error_test": float(abs(tau_hat.mean() - tau_test.mean())),
        "coverage_95_test": float(covered.mean()),
        "mean_interval_width_test": float((upper - lower).mean()),
        "deferral": {
            "threshold_quantile_train": _DEFER_QUANTILE,
            "threshold_variance": threshold,
            "n_deferred_test": k,
            "fraction_deferred_test": k / n_test,
            "sqrt_pehe_kept_uncertainty": kept_sqrt_pehe(deferred),
            "sqrt_pehe_kept_random_mean": float(random_scores.mean()),
            "sqrt_pehe_kept_random_std": float(random_scores.std()),
            "n_random_draws": _N_RANDOM_DEFERRALS,
            "sqrt_pehe_kept_oracle": kept_sqrt_pehe(oracle),
        },
    }
    panel = {
        "tau_hat": tau_hat,
        "lower": lower,
        "upper": upper,
        "tau_true": tau_test,
        "deferred": deferred,
        "title": f"(a) IHDP-{settings.ihdp_realization} test units: T-learner CATE",
    }
    return metrics, panel


# --------------------------------------------------------------------------- 1-D task
def _one_d_part(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit an ensemble and DUE on the treated arm of the 1-D task.

    Returns
    -------
    metrics : dict
        JSON-ready numbers.
    panel : dict
        Keyword arguments of :func:`knowable.viz.plot_regression_posterior`.
    """
    from knowable.data import simulate_causal_bald_1d
    from knowable.data._simulators import _causal_bald_mu
    from knowable.models import UncertainRegressor

    data = simulate_causal_bald_1d(n=settings.sim_n, random_state=0)
    rows = _treatment(data) == 1
    x, y = data.x[rows], np.asarray(data.y)[rows]
    grid = np.linspace(-_GRID_LIMIT, _GRID_LIMIT, settings.grid_size)
    far, near = np.abs(grid) > _FAR, np.abs(grid) < _NEAR
    configs: dict[str, dict[str, Any]] = {
        "ensemble": {"uncertainty": "ensemble", "n_members": settings.n_members},
        "DUE": {"uncertainty": "due", "learning_rate": settings.due_learning_rate},
    }
    truth = _causal_bald_mu(grid)[1]
    means: dict[str, np.ndarray] = {}
    stds: dict[str, np.ndarray] = {}
    per_model: dict[str, dict[str, float]] = {}
    for label, config in configs.items():
        model = UncertainRegressor(
            **config,
            max_epochs=settings.sim_max_epochs,
            device=settings.device,
            random_state=0,
            verbose=not settings.quick,
        ).fit(x, y)
        post = model.posterior(grid[:, None])
        means[label] = post.mean()[:, 0]
        stds[label] = post.std()[:, 0]
        per_model[label] = {
            "mean_std_far": float(stds[label][far].mean()),
            "mean_std_near": float(stds[label][near].mean()),
            "std_ratio_far_near": float(stds[label][far].mean() / stds[label][near].mean()),
            "rmse_near": float(np.sqrt(np.mean((means[label][near] - truth[near]) ** 2))),
            # share of far grid points whose truth lies inside mean ± 2 std (overconfidence check)
            "truth_within_2std_far": float(
                (np.abs(means[label][far] - truth[far]) <= 2 * stds[label][far]).mean()
            ),
        }
    x_train = x[:, 0]
    metrics = {
        "n": settings.sim_n,
        "n_treated": int(rows.sum()),
        "n_treated_far": int((np.abs(x_train) > _FAR).sum()),
        "n_treated_near": int((np.abs(x_train) < _NEAR).sum()),
        "far": f"|x|>{_FAR:g}",
        "near": f"|x|<{_NEAR:g}",
        "models": per_model,
    }
    panel = {
        "x_grid": grid,
        "means": means,
        "stds": stds,
        "x_data": x_train,
        "y_data": y,
        "truth": truth,
        "title": "(b) 1-D task, treated arm: μ¹(x) ± 2 epistemic std",
    }
    return metrics, panel


# --------------------------------------------------------------------------- output
def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _rows(metrics: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(task, metric, value) rows shared by the console table and the Markdown report."""
    ih, od = metrics["ihdp"], metrics["causal_bald_1d"]
    de = ih["deferral"]
    task_a = f"IHDP-{ih['realization']} test, n={ih['n_test']}"
    k = de["n_deferred_test"]
    random_value = (
        f"{_fmt(de['sqrt_pehe_kept_random_mean'])} ± {_fmt(de['sqrt_pehe_kept_random_std'])}"
    )
    rows = [
        (task_a, "√PEHE", _fmt(ih["sqrt_pehe_test"])),
        (task_a, "ATE error", _fmt(ih["ate_error_test"])),
        (task_a, f"95% coverage (S={ih['n_draws']} draws)", _fmt(ih["coverage_95_test"], 2)),
        (task_a, f"√PEHE, defer {k} uncertain", _fmt(de["sqrt_pehe_kept_uncertainty"])),
        (task_a, f"√PEHE, defer {k} random", random_value),
        (task_a, f"√PEHE, defer {k} worst (oracle)", _fmt(de["sqrt_pehe_kept_oracle"])),
    ]
    task_b = f"1-D treated, n={od['n_treated']}"
    for label, m in od["models"].items():
        value = (
            f"{_fmt(m['std_ratio_far_near'], 1)} "
            f"({_fmt(m['mean_std_far'], 2)}/{_fmt(m['mean_std_near'], 2)})"
        )
        rows.append((task_b, f"{label} std {od['far']} : {od['near']}", value))
    return rows


def _intro(metrics: Mapping[str, Any]) -> str:
    ih = metrics["ihdp"]
    return (
        f"IHDP realisation {ih['realization']} ({ih['n_train']} train / {ih['n_test']} test): "
        "a T-learner built from two UncertainRegressor deep ensembles "
        f"({ih['n_draws']} members each; one fitted on the {ih['n_train_control']} control units, "
        f"one on the {ih['n_train_treated']} treated units), not a dedicated CATE estimator. "
        "CATE draws are member-wise differences mu1_s(x) - mu0_s(x); the 95% interval is the "
        "2.5-97.5% quantile range of these draws (epistemic only)."
    )


def _deferral_note(metrics: Mapping[str, Any]) -> str:
    de = metrics["ihdp"]["deferral"]
    return (
        f"Deferral: test units whose epistemic CATE variance exceeds the "
        f"{de['threshold_quantile_train']:.0%} quantile of that variance on the training units "
        f"({de['threshold_variance']:.4g}) are deferred: {de['n_deferred_test']} of "
        f"{metrics['ihdp']['n_test']} test units ({de['fraction_deferred_test']:.0%}). "
        "The random baseline defers the same number of units (mean ± std over "
        f"{de['n_random_draws']} seeded draws); the oracle defers the units with the largest "
        "error. 1-D rows: ratio of the mean epistemic std far from the data to that near it "
        "(far / near in brackets)."
    )


def _md_cell(text: str) -> str:
    """Escape the pipes (as in ``|x|``) that would otherwise split a Markdown table cell."""
    return text.replace("|", "\\|")


def _markdown(metrics: Mapping[str, Any], figure_name: str) -> str:
    s, tm = metrics["settings"], metrics["timing_s"]
    lines = [
        "# knowable demo",
        "",
        f"Mode: {'quick' if s['quick'] else 'full'}; total time {tm['total']:.1f} s "
        f"(IHDP {tm['ihdp']:.1f} s, 1-D task {tm['causal_bald_1d']:.1f} s).",
        "",
        _intro(metrics),
        "",
        "| task | metric | value |",
        "| --- | --- | --- |",
        *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in _rows(metrics)),
        "",
        _deferral_note(metrics),
        "",
        "1-D task (Causal-BALD, Jesson et al. 2021): a deep ensemble and DUE fitted on the "
        "treated arm; a ratio well above 1 means the model's epistemic uncertainty grows "
        "where it has not seen data.",
        "",
        f"![(a) IHDP test units: estimated vs true CATE; (b) 1-D task posteriors]({figure_name})",
        "",
        "All numbers are in `results.json`.",
        "",
    ]
    return "\n".join(lines)


def _print(console: Console, metrics: Mapping[str, Any]) -> None:
    from rich.table import Table

    console.print(_intro(metrics), markup=False, highlight=False)
    table = Table(title="knowable demo results")
    table.add_column("task")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = _rows(metrics)
    for i, (task, metric, value) in enumerate(rows):
        first = i == 0 or rows[i - 1][0] != task
        last = i == len(rows) - 1 or rows[i + 1][0] != task
        table.add_row(task if first else "", metric, value, end_section=last)
    console.print(table)
    console.print(_deferral_note(metrics), markup=False, highlight=False)
    tm = metrics["timing_s"]
    console.print(
        f"time: {tm['total']:.1f} s (IHDP {tm['ihdp']:.1f} s, 1-D task {tm['causal_bald_1d']:.1f} s)",
        markup=False,
        highlight=False,
    )


def run_demo(
    out_dir: Path | str = Path("knowable-demo"),
    quick: bool = False,
    console: Console | None = None,
    *,
    device: str = "cpu",
) -> dict[str, Any]:
    """Run the demo, print a results table and write a figure, a report and the numbers.

    Parameters
    ----------
    out_dir : pathlib.Path or str
        Folder for ``demo.png``, ``report.md`` and ``results.json`` (created if needed).
    quick : bool
        Smaller run (fewer epochs, 500 simulated units) that takes well under a minute
        on two CPU cores; the full run takes a few minutes.
    console : rich.console.Console, optional
        Where the table goes; a default console when omitted.
    device : str
        Torch device of the fits (``"cpu"`` gives bit-identical results for the seeds).

    Returns
    -------
    dict
        ``figure``, ``report`` and ``results`` (paths of the written files) and
        ``metrics`` (the numbers also written to ``results.json``).
    """
    from rich.console import Console

    from knowable.viz import plot_demo

    console = console if console is not None else Console()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = DemoSettings.for_mode(bool(quick), device)

    start = time.perf_counter()
    console.print(
        "fitting the IHDP T-learner (two deep ensembles)...", markup=False, highlight=False
    )
    ihdp_metrics, panel_a = _ihdp_part(settings)
    t_ihdp = time.perf_counter() - start
    console.print("fitting the 1-D task (ensemble and DUE)...", markup=False, highlight=False)
    one_d_metrics, panel_b = _one_d_part(settings)
    t_total = time.perf_counter() - start

    metrics: dict[str, Any] = {
        "settings": asdict(settings),
        "ihdp": ihdp_metrics,
        "causal_bald_1d": one_d_metrics,
        "timing_s": {"ihdp": t_ihdp, "causal_bald_1d": t_total - t_ihdp, "total": t_total},
    }
    figure_path = out / "demo.png"
    fig = plot_demo(panel_a, panel_b)
    fig.savefig(figure_path, dpi=120)
    results_path = out / "results.json"
    results_path.write_text(json.dumps(metrics, indent=2, allow_nan=True) + "\n", encoding="utf-8")
    report_path = out / "report.md"
    report_path.write_text(_markdown(metrics, figure_path.name), encoding="utf-8")
    _print(console, metrics)
    return {
        "figure": figure_path,
        "report": report_path,
        "results": results_path,
        "metrics": metrics,
    }
