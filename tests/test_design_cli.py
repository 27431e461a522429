"""``knowable design`` command line (exact posterior on 3 nodes: no extra needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.cli import app
from knowable.design import LinearGaussianSCM

runner = CliRunner()
ADJ = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    scm = LinearGaussianSCM(ADJ, ADJ * 1.5, noise_std=0.7, names=["a", "b", "c"])
    path = tmp_path / "obs.csv"
    pd.DataFrame(scm.sample(100, random_state=0).x, columns=scm.names).to_csv(path, index=False)
    return path


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_design_rounds_write_json_and_figure(csv: Path, tmp_path: Path):
    truth = tmp_path / "truth.csv"
    pd.DataFrame(ADJ, columns=["a", "b", "c"]).to_csv(truth, index=False)
    out = tmp_path / "design.json"
    res = runner.invoke(
        app,
        [
            "design",
            "--data",
            str(csv),
            "--graph-prior",
            "er",
            "--batch",
            "3",
            "--rounds",
            "2",
            "--out",
            str(out),
            "--truth",
            str(truth),
            "--no-progress",
            "--bounds",
            "-5,5",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["posterior"] == "exact" and doc["world"]["source"] == "truth"
    assert len(doc["metrics"]) == 3 and len(doc["designs"]) == 2
    assert all(t[0] in ("a", "b", "c") for r in doc["designs"] for t in r["targets"])
    assert all(-5 <= v <= 5 for r in doc["designs"] for v in r["values"])
    assert Path(doc["figure"]).exists()
    assert doc["metrics"][-1]["graph_entropy"] < doc["metrics"][0]["graph_entropy"]


def test_design_propose_only(csv: Path, tmp_path: Path):
    out = tmp_path / "p.json"
    res = runner.invoke(
        app,
        [
            "design",
            "--data",
            str(csv),
            "--rounds",
            "0",
            "--batch",
            "2",
            "--out",
            str(out),
            "--strategy",
            "soft",
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert len(doc["proposal"]) == 2 and "metrics" not in doc


def test_design_bad_inputs(csv: Path, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}).to_csv(bad, index=False)
    assert "non-numeric" in _one_line_error(runner.invoke(app, ["design", "--data", str(bad)]))
    cyc = tmp_path / "cyc.csv"
    pd.DataFrame([[0, 1, 0], [0, 0, 1], [1, 0, 0]], columns=["a", "b", "c"]).to_csv(
        cyc, index=False
    )
    msg = _one_line_error(
        runner.invoke(app, ["design", "--data", str(csv), "--truth", str(cyc), "--rounds", "1"])
    )
    assert "cycle a -> b -> c -> a" in msg
    assert "low < high" in _one_line_error(
        runner.invoke(app, ["design", "--data", str(csv), "--bounds", "3,1"])
    )
    assert "strategy must be one of" in _one_line_error(
        runner.invoke(app, ["design", "--data", str(csv), "--strategy", "x", "--rounds", "0"])
    )
