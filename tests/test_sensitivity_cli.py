"""``knowable sensitivity`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from knowable.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    d = rng.binomial(1, special.expit(x[:, 0]))
    y = d + x[:, 0] + rng.normal(size=400)
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "treated": d, "y": y}).to_csv(path, index=False)
    return path


def test_sensitivity_writes_json_table_and_figure(csv: Path, tmp_path: Path):
    out, table, fig = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.png"
    result = runner.invoke(
        app,
        [
            "sensitivity",
            "--data",
            str(csv),
            "--treatment",
            "treated",
            "--outcome",
            "y",
            "--out",
            str(out),
            "--table",
            str(table),
            "--figure",
            str(fig),
            "--benchmark",
            "a",
            "--cf-y",
            "0.03",
            "--cf-d",
            "0.03",
            "--lam-max",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    rep = json.loads(out.read_text())
    assert [r["benchmark"] for r in rep["benchmarks"]] == ["a"]
    assert any(r["quantity"] == "ATE θ" for r in rep["summary"])
    assert "RV_q" in table.read_text() and fig.stat().st_size > 0
    assert "Λ-robustness" in result.output


def test_sensitivity_bad_input_is_one_error_line(csv: Path, tmp_path: Path):
    result = runner.invoke(
        app,
        [
            "sensitivity",
            "--data",
            str(csv),
            "--treatment",
            "treated",
            "--outcome",
            "y",
            "--out",
            str(tmp_path / "r.json"),
            "--cf-y",
            "0.03",
        ],
    )
    assert result.exit_code == 1
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--cf-d" in lines[0]
