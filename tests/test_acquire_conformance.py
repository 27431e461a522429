"""The acquisition conformance kit on every strategy, and the ``knowable acquire`` CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.acquire import available_strategies, select
from knowable.cli import app
from knowable.testing import (
    acquisition_checks,
    check_acquisition,
    make_acquisition_check_data,
    strategy_from_name,
)

CLASSIFICATION = make_acquisition_check_data("classification")
REGRESSION = make_acquisition_check_data("regression")
SCORE_STRATEGIES = [
    "random",
    "bald",
    "entropy",
    "margin",
    "variance",
    "power-bald",
    "softmax-bald",
    "softrank-bald",
    "power-entropy",
    "batchbald",
]


@pytest.mark.parametrize("name", SCORE_STRATEGIES)
@pytest.mark.parametrize("check", acquisition_checks(), ids=lambda c: c.__name__)
def test_classification_strategies(name, check):
    check(strategy_from_name(name), CLASSIFICATION)


@pytest.mark.parametrize("name", ["random", "bald", "power-bald", "variance", "batchbald"])
def test_regression_strategies(name):
    check_acquisition(name, REGRESSION)


@pytest.mark.parametrize("name", ["coreset", "badge", "kmeans"])
def test_diversity_strategies(name):
    strategy = strategy_from_name(name, embeddings=CLASSIFICATION.embeddings)
    check_acquisition(strategy, CLASSIFICATION, sequential=name != "kmeans")


def test_every_listed_strategy_parses_and_runs():
    from knowable.acquire import strategy_spec

    for name in available_strategies():
        if name in available_strategies("batch") and "categorical" not in (
            strategy_spec(name).observation_kinds
        ):
            continue  # regression-only batch strategies run in the registry's kit
        kwargs = (
            {"embeddings": CLASSIFICATION.embeddings}
            if name in ("coreset", "kmeans", "badge")
            else {}
        )
        batch = select(CLASSIFICATION.posterior, 3, name, random_state=0, **kwargs)
        assert len(set(batch.indices.tolist())) == 3


def test_unknown_strategy():
    with pytest.raises(ValueError, match="unknown strategy"):
        select(CLASSIFICATION.posterior, 2, "hyper-bald")


def test_coreset_measures_distance_to_all_labelled_points():
    from knowable.acquire import coreset

    pool = np.array([[0.0], [1.0], [5.0], [10.0]])
    labelled = np.array([[0.0], [10.0], [5.2]])  # the far point 10 is covered by a labelled point
    assert coreset(pool, 1, labelled)[0] == 1  # 1.0 is 1 away from 0, others are closer


def test_badge_embeddings_are_last_layer_gradients():
    from knowable.acquire import badge_embeddings

    probs = np.array([[0.7, 0.3]])
    feats = np.array([[2.0, -1.0]])
    np.testing.assert_allclose(badge_embeddings(probs, feats), [[-0.6, 0.3, 0.6, -0.3]])


# --------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def fitted_model(tmp_path_factory):
    from knowable.models import UncertainClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = UncertainClassifier(
        "dropout", n_draws=8, hidden_size=16, depth=1, max_epochs=3, random_state=0
    )
    folder = tmp_path_factory.mktemp("model")
    clf.fit(X, y).save(folder)
    pool = tmp_path_factory.mktemp("pool") / "pool.csv"
    pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"]).to_csv(pool, index=False)
    return folder, pool


@pytest.mark.parametrize("strategy", ["power-bald", "batchbald", "bald"])
def test_cli_acquire_writes_batch(fitted_model, tmp_path, strategy):
    folder, pool = fitted_model
    out = tmp_path / "batch.csv"
    args = ["acquire", "--model", str(folder), "--pool", str(pool), "--batch", "5"]
    result = CliRunner().invoke(
        app, [*args, "--strategy", strategy, "--out", str(out), "--chunk-size", "7"]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["rank", "row", "score"]
    assert len(table) == 5 and table["row"].nunique() == 5
    again = tmp_path / "again.csv"
    CliRunner().invoke(
        app, [*args, "--strategy", strategy, "--out", str(again), "--chunk-size", "7"]
    )
    pd.testing.assert_frame_equal(pd.read_csv(again), table)


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--batch", "51"], "exceeds"),
        (["--strategy", "nope"], "unknown strategy"),
        (["--columns", "zz"], "not found"),
    ],
)
def test_cli_acquire_errors_are_one_line(fitted_model, tmp_path, extra, needle):
    folder, pool = fitted_model
    args = [
        "acquire",
        "--model",
        str(folder),
        "--pool",
        str(pool),
        "--out",
        str(tmp_path / "b.csv"),
    ]
    result = CliRunner().invoke(app, [*args, *extra])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]


def test_cli_acquire_missing_model(tmp_path):
    pool = tmp_path / "p.csv"
    pd.DataFrame({"a": [1.0]}).to_csv(pool, index=False)
    result = CliRunner().invoke(
        app, ["acquire", "--model", str(tmp_path / "none"), "--pool", str(pool)]
    )
    assert result.exit_code == 1 and "not a saved knowable model" in result.stderr
