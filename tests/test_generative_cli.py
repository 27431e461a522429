"""``knowable generative phr`` and ``knowable generative pvalue`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.cli import app
from knowable.generative import BayesianPolynomialRegression, exact_phr, posterior_predictive_pvalue

runner = CliRunner()


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 40)
    y = 0.5 * x - x**3 + 0.3 * rng.standard_normal(40)
    ctx, held, sine = tmp_path / "ctx.csv", tmp_path / "held.csv", tmp_path / "sine.csv"
    pd.DataFrame({"x": x[:15], "y": y[:15]}).to_csv(ctx, index=False)
    pd.DataFrame({"x": x[15:], "y": y[15:]}).to_csv(held, index=False)
    pd.DataFrame({"x": x[15:], "y": np.sin(12 * np.pi * x[15:])}).to_csv(sine, index=False)
    return ctx, held, sine


def test_phr_cli_matches_the_library_and_the_exact_oracle(files, tmp_path):
    ctx, _, _ = files
    out, fig = tmp_path / "phr.json", tmp_path / "phr.png"
    args = ["generative", "phr", "--data", str(ctx), "--x", "x", "--y", "y", "--query", "-0.5,0.5"]
    args += ["--x-range=-1,1", "--epsilon", "0.1", "--n-completions", "200", "--out", str(out)]
    result = runner.invoke(app, [*args, "--figure", str(fig)])
    assert result.exit_code == 0, result.output + result.stderr
    payload = json.loads(out.read_text())
    assert fig.stat().st_size > 0
    frame = pd.read_csv(ctx)
    exact = exact_phr(
        BayesianPolynomialRegression(3),
        (frame["x"].to_numpy(), frame["y"].to_numpy()),
        [-0.5, 0.5],
        0.1,
        random_state=0,
    )
    est, se = np.array(payload["estimate"]), np.array(payload["std_error"])
    assert np.all(np.abs(est - exact.estimate) <= 4 * se + 0.02)
    csv = tmp_path / "phr.csv"
    result = runner.invoke(app, [*args[:-2], "--out", str(csv)])
    assert result.exit_code == 0, result.output + result.stderr
    np.testing.assert_allclose(pd.read_csv(csv)["phr"], est)  # same seed, same numbers


def test_pvalue_cli_flags_out_of_prior_data_only(files, tmp_path):
    ctx, held, sine = files
    base = ["generative", "pvalue", "--data", str(ctx), "--x", "x", "--y", "y", "--x-range=-1,1"]
    base += ["--n-generated", "50", "--n-completions", "400"]
    out, fig = tmp_path / "p.json", tmp_path / "p.png"
    result = runner.invoke(
        app, [*base, "--heldout", str(held), "--out", str(out), "--figure", str(fig)]
    )
    assert result.exit_code == 0, result.output + result.stderr
    good = json.loads(out.read_text())
    frame, h = pd.read_csv(ctx), pd.read_csv(held)
    exact = posterior_predictive_pvalue(
        BayesianPolynomialRegression(3),
        (frame["x"].to_numpy(), frame["y"].to_numpy()),
        (h["x"].to_numpy(), h["y"].to_numpy()),
        random_state=0,
    )
    assert abs(good["p_value"] - exact.p_value) <= 4 * good["std_error"] + 0.03
    result = runner.invoke(app, [*base, "--heldout", str(sine), "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    bad = json.loads(out.read_text())
    assert bad["out_of_capability"] and "OUT OF CAPABILITY" in result.stdout


def test_categorical_model_and_lite_variant(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, 30)
    y = (rng.random(30) < np.where(x == 1, 0.9, 0.2)).astype(int)
    ctx, held = tmp_path / "c.csv", tmp_path / "h.csv"
    pd.DataFrame({"x": x[:20], "y": y[:20]}).to_csv(ctx, index=False)
    pd.DataFrame({"x": x[20:], "y": y[20:]}).to_csv(held, index=False)
    out = tmp_path / "r.csv"
    common = ["--data", str(ctx), "--x", "x", "--y", "y", "--model", "categorical"]
    r1 = runner.invoke(app, ["generative", "phr", *common, "--query", "0,1", "--out", str(out)])
    assert r1.exit_code == 0, r1.output + r1.stderr
    assert pd.read_csv(out)["phr"].between(0, 1).all()
    r2 = runner.invoke(
        app,
        [
            "generative",
            "pvalue",
            *common,
            "--heldout",
            str(held),
            "--variant",
            "lite",
            "--out",
            str(out),
        ],
    )
    assert r2.exit_code == 0, r2.output + r2.stderr
    assert 0.0 <= pd.read_csv(out)["p_value"].item() <= 1.0


def test_cli_errors_are_one_line(files, tmp_path):
    ctx, held, _ = files
    out = str(tmp_path / "o.json")
    common = ["--data", str(ctx), "--x", "x", "--y", "y", "--out", out]
    line = _one_line_error(runner.invoke(app, ["generative", "phr", *common]))
    assert "--query" in line
    line = _one_line_error(
        runner.invoke(app, ["generative", "phr", *common, "--query", "0", "--model", "mlp"])
    )
    assert "--model" in line
    line = _one_line_error(
        runner.invoke(app, ["generative", "phr", *common[:-1], "o.txt", "--query", "0"])
    )
    assert ".json or .csv" in line
    line = _one_line_error(
        runner.invoke(
            app, ["generative", "pvalue", *common, "--heldout", str(held), "--variant", "x"]
        )
    )
    assert "variant" in line
    line = _one_line_error(
        runner.invoke(app, ["generative", "phr", *common[:3], "nope", *common[4:], "--query", "0"])
    )
    assert "nope" in line
