"""Tests of ``knowable.demo.run_demo`` (quick mode, run once) and of ``knowable.viz``."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure
from rich.console import Console

from knowable.viz import plot_cate_intervals, plot_demo, plot_regression_posterior

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    from knowable.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "nested" / "out"
    buffer = io.StringIO()
    result = run_demo(out, quick=True, console=Console(file=buffer, width=120))
    return result, buffer.getvalue(), out


def test_demo_writes_files(demo_run):
    result, _, out = demo_run
    assert out.is_dir()
    for key, name in (("figure", "demo.png"), ("report", "report.md"), ("results", "results.json")):
        path = result[key]
        assert isinstance(path, Path)
        assert path == out / name
        assert path.is_file() and path.stat().st_size > 0
    assert result["figure"].read_bytes()[:8] == PNG_MAGIC


def test_demo_results_json(demo_run):
    result, _, _ = demo_run
    numbers = json.loads(result["results"].read_text(encoding="utf-8"))
    ihdp = numbers["ihdp"]
    assert numbers["settings"]["quick"] is True
    assert ihdp["n_train"] == 672 and ihdp["n_test"] == 75
    assert math.isfinite(ihdp["sqrt_pehe_test"]) and ihdp["sqrt_pehe_test"] > 0
    assert math.isfinite(ihdp["ate_error_test"])
    assert 0.0 <= ihdp["coverage_95_test"] <= 1.0
    deferral = ihdp["deferral"]
    assert 0 <= deferral["n_deferred_test"] <= 75
    assert math.isfinite(deferral["sqrt_pehe_kept_random_mean"])
    for model in ("ensemble", "DUE"):
        stats = numbers["causal_bald_1d"]["models"][model]
        assert math.isfinite(stats["std_ratio_far_near"]) and stats["std_ratio_far_near"] > 0
    assert numbers["timing_s"]["total"] > 0
    # the returned metrics are the numbers in the file
    assert result["metrics"]["ihdp"]["sqrt_pehe_test"] == pytest.approx(ihdp["sqrt_pehe_test"])


def test_demo_epistemic_std_grows_away_from_data(demo_run):
    result, _, _ = demo_run
    for stats in result["metrics"]["causal_bald_1d"]["models"].values():
        assert stats["std_ratio_far_near"] > 1.0


def test_demo_printed_text_and_report(demo_run):
    result, printed, _ = demo_run
    assert "T-learner" in printed
    assert "not a dedicated CATE estimator" in printed
    assert "√PEHE" in printed
    report = result["report"].read_text(encoding="utf-8")
    assert report.startswith("# knowable demo")
    assert "| task | metric | value |" in report
    assert "](demo.png)" in report
    table = [line for line in report.splitlines() if line.startswith("| ")]
    assert len(table) >= 3
    for line in table:  # every row has three cells: |x| in a label must be escaped
        assert line.replace("\\|", "").count("|") == 4, line


# --------------------------------------------------------------------------- viz
def _cate_arrays(n: int = 30) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    tau = rng.normal(size=n)
    tau_hat = tau + 0.3 * rng.normal(size=n)
    half = np.abs(rng.normal(size=n))
    return {"tau_hat": tau_hat, "lower": tau_hat - half, "upper": tau_hat + half, "tau_true": tau}


def _regression_arrays(m: int = 50) -> dict[str, Any]:
    grid = np.linspace(-4, 4, m)
    std = 0.1 + 0.1 * grid**2
    return {
        "x_grid": grid,
        "means": {"a": np.sin(grid), "b": np.cos(grid)[:, None]},
        "stds": {"a": std, "b": 2 * std},
        "x_data": np.linspace(-1, 1, 20),
        "y_data": np.zeros(20),
        "truth": np.sin(grid),
    }


def _png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_plot_cate_intervals_returns_figure():
    arrays = _cate_arrays()
    deferred = np.zeros(30, dtype=bool)
    deferred[:3] = True
    for mask in (None, deferred):
        fig = plot_cate_intervals(**arrays, deferred=mask, title="t")
        assert isinstance(fig, Figure)
        assert len(fig.axes) == 1
        assert _png_bytes(fig)[:8] == PNG_MAGIC
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("deferred (n=3)" in label for label in labels)


def test_plot_cate_intervals_checks_inputs():
    arrays = _cate_arrays()
    with pytest.raises(ValueError, match="lower"):
        plot_cate_intervals(**{**arrays, "lower": arrays["upper"] + 1})
    with pytest.raises(ValueError, match="tau_true"):
        plot_cate_intervals(**{**arrays, "tau_true": arrays["tau_true"][:-1]})
    with pytest.raises(ValueError, match="deferred"):
        plot_cate_intervals(**arrays, deferred=np.zeros(5, dtype=bool))


def test_plot_regression_posterior_returns_figure():
    fig = plot_regression_posterior(**_regression_arrays(), title="t")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # truth and two means
    assert _png_bytes(fig)[:8] == PNG_MAGIC


def test_plot_regression_posterior_checks_inputs():
    arrays = _regression_arrays()
    with pytest.raises(ValueError, match="same keys"):
        plot_regression_posterior(arrays["x_grid"], arrays["means"], {"a": arrays["stds"]["a"]})
    with pytest.raises(ValueError, match="together"):
        plot_regression_posterior(
            arrays["x_grid"], arrays["means"], arrays["stds"], x_data=arrays["x_data"]
        )


def test_plot_into_given_axes_and_demo_figure():
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_cate_intervals(**_cate_arrays(), ax=ax) is fig
    demo = plot_demo(_cate_arrays(), _regression_arrays())
    assert isinstance(demo, Figure)
    assert len(demo.axes) == 2
    assert _png_bytes(demo)[:8] == PNG_MAGIC
