"""``knowable acquire --causal``: Causal-BALD batches from a saved CATE estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.acquire import select_causal
from knowable.cli import app
from knowable.data import simulate_causal_bald_1d
from knowable.effects import TARNet


@pytest.fixture(scope="module")
def fitted_cate(tmp_path_factory):
    train = simulate_causal_bald_1d(60, random_state=0)
    model = TARNet("ensemble", n_members=2, max_epochs=3, hidden_size=16, random_state=0)
    folder = tmp_path_factory.mktemp("cate")
    model.fit(train.x, train.t, train.y).save(folder)
    pool = simulate_causal_bald_1d(40, random_state=1)
    path = tmp_path_factory.mktemp("pool") / "pool.csv"
    frame = pd.DataFrame({"x": pool.x[:, 0], "treated": pool.t, "p": pool.truth["propensity"]})
    frame.to_csv(path, index=False)
    return model, folder, path, frame


def invoke(folder, pool, out, *extra):
    args = ["acquire", "--causal", "--model", str(folder), "--pool", str(pool)]
    return CliRunner().invoke(app, [*args, "--out", str(out), *extra])


def test_causal_batch_equals_the_library_call(fitted_cate, tmp_path):
    model, folder, pool, frame = fitted_cate
    out = tmp_path / "batch.csv"
    result = invoke(folder, pool, out, "--treatment", "treated", "--columns", "x", "--batch", "6")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["rank", "row", "t", "log_weight"]
    expected = select_causal(
        model.predict_outcomes(frame[["x"]].to_numpy()),
        frame["treated"].to_numpy(),
        6,
        "mu-rho-bald",
        temperature=0.25,
        random_state=0,
    )
    np.testing.assert_array_equal(table["row"], expected.indices)
    np.testing.assert_array_equal(table["t"], frame["treated"].to_numpy()[expected.indices])


@pytest.mark.parametrize("strategy", ["pi-bald", "mu-pi-bald", "sundin", "random", "tau-bald"])
def test_every_causal_strategy_equals_the_library_call(fitted_cate, tmp_path, strategy):
    model, folder, pool, frame = fitted_cate
    out = tmp_path / "b.csv"
    extra = ["--propensity", "p"] if strategy == "pi-bald" else []
    result = invoke(
        folder,
        pool,
        out,
        *("--treatment", "treated", "--columns", "x", "--strategy", strategy, "--batch", "4"),
        *extra,
    )
    assert result.exit_code == 0, result.output
    x = frame[["x"]].to_numpy()
    # pi-bald takes the given column, mu-pi-bald the model's propensity; Sundin's noise scale
    # is the training outcomes' sd
    propensity = frame["p"].to_numpy() if strategy == "pi-bald" else model.propensity(x)
    expected = select_causal(
        model.predict_outcomes(x),
        frame["treated"].to_numpy(),
        4,
        strategy,
        propensity=propensity,
        temperature=0.25,
        noise_scale=model.y_scale_,
        random_state=0,
    )
    np.testing.assert_array_equal(pd.read_csv(out)["row"], expected.indices)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ([], "--treatment"),
        (["--treatment", "nope"], "not found"),
        (["--treatment", "treated", "--strategy", "power-bald"], "not a causal strategy"),
        (["--treatment", "treated", "--batch", "41"], "exceeds"),
        (["--treatment", "x", "--columns", "p"], "binary"),
        (["--treatment", "treated", "--columns", "x,treated"], "special column"),
    ],
)
def test_causal_errors_are_one_line(fitted_cate, tmp_path, extra, needle):
    _, folder, pool, _ = fitted_cate
    result = invoke(folder, pool, tmp_path / "b.csv", *extra)
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # exactly one line: the error, nothing else
    assert lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "b.csv").exists()


def test_treatment_without_causal_is_an_error(fitted_cate, tmp_path):
    _, folder, pool, _ = fitted_cate
    args = ["acquire", "--model", str(folder), "--pool", str(pool), "--treatment", "treated"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b.csv")])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--causal" in lines[0]
