"""``knowable bounds`` command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from knowable.bounds import MSMBounds, default_outcome_model
from knowable.cli import app
from knowable.cli._bounds import parse_lambdas
from knowable.cli._output import fmt
from knowable.data import simulate_hidden_confounding

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """OpenMP in gradient boosting oversubscribes badly under ``-n 2``; use one thread."""
    with threadpool_limits(1):
        yield


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    data = simulate_hidden_confounding(300, lam_star=2.0, random_state=0)
    frame = pd.DataFrame({"x": data.x[:, 0], "treated": data.t, "y": data.y})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_bounds_cli_blearner_writes_csv_and_figure(csv: Path, tmp_path: Path) -> None:
    out, fig = tmp_path / "b.csv", tmp_path / "fig.png"
    result = runner.invoke(
        app,
        [
            "bounds",
            "--data",
            str(csv),
            "--treatment",
            "treated",
            "--outcome",
            "y",
            "--lam",
            "1,2",
            "--out",
            str(out),
            "--method",
            "blearner",
            "--figure",
            str(fig),
            "--lam-max",
            "4",
            "--cv",
            "2",
            "--grid",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == [
        "row",
        "treatment",
        "effect",
        "lower_lam1",
        "upper_lam1",
        "lower_lam2",
        "upper_lam2",
        "robustness",
    ]
    assert len(frame) == 300
    assert (frame["lower_lam1"] == frame["upper_lam1"]).all()
    assert (frame["lower_lam2"] <= frame["upper_lam2"]).all()
    assert fig.exists() and fig.stat().st_size > 0
    assert "robustness" in result.stdout


def test_bounds_cli_report_writes_the_sensitivity_report(tmp_path: Path) -> None:
    data = simulate_hidden_confounding(300, lam_star=2.0, random_state=1)
    frame = pd.DataFrame(
        {"x": data.x[:, 0], "z": np.sin(data.x[:, 0]), "treated": data.t, "y": data.y}
    )
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    out, rep = tmp_path / "b.csv", tmp_path / "rep.json"
    argv = ["bounds", "--data", str(path), "--treatment", "treated", "--outcome", "y"]
    argv += ["--out", str(out), "--method", "blearner", "--lam", "1,2", "--cv", "2"]
    argv += ["--grid", "3", "--lam-max", "4", "--report", str(rep)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output + result.stderr
    import json

    values = {row["quantity"]: row["value"] for row in json.loads(rep.read_text())["summary"]}
    assert 0.0 < values["RV (cf_y = cf_d, ρ = 1)"] < 1.0
    assert values["E-value (estimate)"] >= 1.0
    # the Λ-robustness comes from this run's B-Learner (searched up to --lam-max 4)
    assert values["ATE Λ-robustness (sharp bound contains 0)"] >= 1.0
    assert rep.with_suffix(".md").read_text().startswith("|")
    assert "sensitivity report" in result.stdout


def test_bounds_cli_sharp_small_network(csv: Path, tmp_path: Path) -> None:
    """The CLI's numbers are the library's for the same seed and settings, and they nest in Λ."""
    out = tmp_path / "b.csv"
    result = runner.invoke(
        app,
        [
            "bounds",
            "--data",
            str(csv),
            "--treatment",
            "treated",
            "--outcome",
            "y",
            "--lam",
            "1,1.5,2",
            "--out",
            str(out),
            "--max-epochs",
            "2",
            "--n-members",
            "2",
            "--covariates",
            "x",
            "--lam-max",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output + result.stderr
    frame = pd.read_csv(out)
    data = pd.read_csv(csv)
    model = default_outcome_model().set_params(max_epochs=2, n_members=2)
    est = MSMBounds(model, random_state=0).fit(data[["x"]], data["treated"], data["y"])
    expected = est.bounds(data[["x"]], [1.0, 1.5, 2.0])
    for i, lam in enumerate(("1", "1.5", "2")):
        np.testing.assert_allclose(frame[f"lower_lam{lam}"], expected.lower[i], rtol=1e-6)
        np.testing.assert_allclose(frame[f"upper_lam{lam}"], expected.upper[i], rtol=1e-6)
    np.testing.assert_allclose(frame["effect"], frame["lower_lam1"], rtol=1e-9)
    np.testing.assert_allclose(frame["lower_lam1"], frame["upper_lam1"], rtol=1e-9)
    assert (frame["lower_lam2"] < frame["lower_lam1.5"]).all()
    assert (frame["lower_lam1.5"] < frame["lower_lam1"]).all()
    assert (frame["upper_lam1"] < frame["upper_lam1.5"]).all()
    assert (frame["upper_lam1.5"] < frame["upper_lam2"]).all()
    rob = est.robustness(data[["x"]], "sharp", lam_max=5.0)
    np.testing.assert_allclose(frame["robustness"], rob.unit, rtol=1e-6)
    ate = est.ate_bounds(2.0)
    assert f"Λ = 2: ATE in [{fmt(float(ate.lower))}, {fmt(float(ate.upper))}]" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--lam", "0.5,2"], ">= 1"),
        (["--lam", "a,b"], "comma-separated"),
        (["--treatment", "nope"], "nope"),
        (["--method", "quince"], "--method"),
        (["--lam", "nan,2"], "finite"),
        (["--lam", "inf"], "finite"),
        (["--lam", "1.5,1.5000000000001"], "12 digits"),
        (["--lam-max", "nan"], "--lam-max"),
        (["--covariates", "x,treated"], "special column"),
        (["--report", "r.json", "--estimand", "att"], "--report summarises the ATE"),
    ],
)
def test_bounds_cli_errors(csv: Path, tmp_path: Path, args, needle) -> None:
    base = {
        "--data": str(csv),
        "--treatment": "treated",
        "--outcome": "y",
        "--out": str(tmp_path / "o.csv"),
        "--lam": "1,2",
    }
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    argv = ["bounds"] + [item for pair in base.items() for item in pair]
    line = _one_line_error(runner.invoke(app, argv))
    assert needle in line


def test_bounds_cli_non_binary_treatment_and_missing_file(csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(csv)
    frame["treated"] = frame["treated"] * 2
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    argv = [
        "bounds",
        "--data",
        str(bad),
        "--treatment",
        "treated",
        "--outcome",
        "y",
        "--out",
        str(tmp_path / "o.csv"),
        "--method",
        "blearner",
    ]
    assert "binary" in _one_line_error(runner.invoke(app, argv))
    argv[2] = str(tmp_path / "missing.csv")
    assert "does not exist" in _one_line_error(runner.invoke(app, argv))


def test_parse_lambdas() -> None:
    assert parse_lambdas("2, 1,1.5,2") == [1.0, 1.5, 2.0]


def test_bounds_cli_blearner_bootstrap_writes_band_columns(csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.csv"
    args = ["bounds", "--data", str(csv), "--treatment", "treated", "--outcome", "y"]
    args += ["--lam", "1,2", "--out", str(out), "--method", "blearner", "--cv", "2"]
    args += ["--grid", "3", "--lam-max", "4", "--bootstrap", "4"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output + result.stderr
    frame = pd.read_csv(out)
    assert {"lower_sd_lam2", "upper_sd_lam2"} <= set(frame.columns)
    assert (frame["upper_sd_lam2"] > 0).all()
    assert (frame["lower_sd_lam1"] == frame["upper_sd_lam1"]).all()  # Λ = 1: one fit
    bad = runner.invoke(app, [*args[:-1], "1"])
    assert "n_bootstrap" in _one_line_error(bad)
