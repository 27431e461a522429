"""``knowable dose-response`` command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.cli import app
from knowable.data import simulate_dose_response

runner = CliRunner()
FAST = ["--max-epochs", "3", "--n-members", "2", "--n-samples", "30", "--grid-size", "6"]


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    data = simulate_dose_response(300, random_state=0)
    frame = pd.DataFrame({"x": data.x[:, 0], "aod": data.t, "re": data.y})
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    return path


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def _base(csv: Path, out: Path) -> list[str]:
    return [
        "dose-response",
        "--data",
        str(csv),
        "--treatment",
        "aod",
        "--outcome",
        "re",
        "--out",
        str(out),
    ]


def test_writes_curve_bounds_and_figure(csv: Path, tmp_path: Path, monkeypatch) -> None:
    from knowable.cli import _dose_response

    drawn = {}
    real_plot = _dose_response.plot_dose_response

    def spy(curve, bounds=None, **kwargs):
        drawn["labels"] = [bounds.label, kwargs["extra_bounds"].label]
        return real_plot(curve, bounds, **kwargs)

    monkeypatch.setattr(_dose_response, "plot_dose_response", spy)
    out, fig = tmp_path / "curve.csv", tmp_path / "curve.png"
    result = runner.invoke(
        app,
        [*_base(csv, out), "--lam", "1.1,1.2,1.6", "--method", "both", "--figure", str(fig), *FAST],
    )
    assert result.exit_code == 0, result.output + str(result.exception)
    table = pd.read_csv(out)
    assert len(table) == 6
    assert table["t"].iloc[0] == 0.0 and table["t"].iloc[-1] == pytest.approx(1.0)
    assert {"apo", "apo_lower", "apo_upper", "support"} <= set(table.columns)
    assert table["support"].between(0, 1).all()
    for method in ("overcast", "sharp"):
        lows = [table[f"{method}_lower_lam{v}"] for v in ("1.1", "1.2", "1.6")]
        ups = [table[f"{method}_upper_lam{v}"] for v in ("1.1", "1.2", "1.6")]
        # nested in Λ, and around the point curve
        assert (lows[0] >= lows[1]).all() and (lows[1] >= lows[2]).all()
        assert (ups[0] <= ups[1]).all() and (ups[1] <= ups[2]).all()
        assert (lows[0] <= table["apo"] + 1e-12).all() and (ups[0] >= table["apo"] - 1e-12).all()
        assert (table[f"{method}_band_lower_lam1.6"] <= lows[2] + 1e-12).all()
    assert (table["sharp_upper_lam1.6"] <= table["overcast_upper_lam1.6"] + 1e-12).all()
    assert fig.stat().st_size > 1000
    assert "curve:" in result.stdout
    assert len(set(drawn["labels"])) == 2  # --method both draws both estimators (issue 17, 10)


def test_lambda_labels_do_not_collide(csv: Path, tmp_path: Path) -> None:
    """Issue 16, defect 7: 1.5 and 1.5000001 wrote one set of columns (named with :g)."""
    out = tmp_path / "c.csv"
    args = [*_base(csv, out), "--lam", "1.5,1.5000001", "--no-overlap", *FAST]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    columns = set(pd.read_csv(out).columns)
    assert {"overcast_lower_lam1.5", "overcast_lower_lam1.5000001"} <= columns


def test_lambda_one_equals_point_curve(csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    result = runner.invoke(app, [*_base(csv, out), "--lam", "1", "--no-overlap", *FAST])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    np.testing.assert_allclose(table["overcast_lower_lam1"], table["apo"], rtol=1e-12)
    np.testing.assert_allclose(table["overcast_upper_lam1"], table["apo"], rtol=1e-12)
    assert "support" not in table.columns


def test_bad_input(csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    assert "must be >= 1" in _one_line_error(
        runner.invoke(app, [*_base(csv, out), "--lam", "0.5,2", *FAST])
    )
    assert "not found" in _one_line_error(
        runner.invoke(app, [*_base(csv, out), "--covariates", "nope", *FAST])
    )
    assert "--method" in _one_line_error(
        runner.invoke(app, [*_base(csv, out), "--method", "kallus", *FAST])
    )
    assert "allow_extrapolation" in _one_line_error(
        runner.invoke(app, [*_base(csv, out), "--t-max", "1.5", *FAST])
    )
    frame = pd.read_csv(csv)
    frame["aod"] = 0.3
    const = tmp_path / "const.csv"
    frame.to_csv(const, index=False)
    assert "constant" in _one_line_error(runner.invoke(app, [*_base(const, out), *FAST]))
    frame = pd.read_csv(csv)
    frame.loc[4, "aod"] = np.nan
    nan = tmp_path / "nan.csv"
    frame.to_csv(nan, index=False)
    assert "NaN" in _one_line_error(runner.invoke(app, [*_base(nan, out), *FAST]))
    assert not out.exists()


def test_extrapolation_allowed_with_flag(csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    result = runner.invoke(
        app,
        [*_base(csv, out), "--t-max", "1.2", "--allow-extrapolation", "--no-overlap", *FAST],
    )
    assert result.exit_code == 0, result.output
    # the library's UserWarnings reach the user once each, as one `warning:` line (the grid's
    # repeats are counted, not printed again)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, result.stderr
    assert all(line.startswith("warning: ") and "extrapolating" in line for line in lines)
    assert pd.read_csv(out)["t"].iloc[-1] == pytest.approx(1.2)


def test_due_curve_and_bounds(csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "due.csv"
    args = [*_base(csv, out), "--lam", "1,1.6", "--uncertainty", "due", *FAST]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output + str(result.exception)
    table = pd.read_csv(out)
    np.testing.assert_allclose(table["overcast_lower_lam1"], table["apo"], rtol=1e-12)
    assert (table["apo_upper"] > table["apo_lower"]).all()
    assert (table["overcast_upper_lam1.6"] > table["apo"]).all()
    assert table["support"].between(0, 1).all()
    bad = runner.invoke(app, [*_base(csv, out), "--uncertainty", "gp", *FAST])
    assert "--uncertainty" in _one_line_error(bad)
