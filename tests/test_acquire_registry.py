"""The acquisition registry: one table that select, select_causal, the loops, the CLI and the
conformance kit read; registering a strategy is enough to use and check it."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from knowable.acquire import (
    CAUSAL_STRATEGIES,
    SCORES,
    available_strategies,
    get_strategy,
    parse_strategy,
    register_strategy,
    registered_strategies,
    score,
    select,
    select_causal,
    strategy_label,
    strategy_spec,
    unregister_strategy,
)
from knowable.models import Categorical, Posterior
from knowable.testing import (
    acquisition_checks,
    make_acquisition_check_data,
    registered_acquisition_cases,
)

CASES = registered_acquisition_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("check", acquisition_checks(), ids=lambda c: c.__name__)
def test_every_registered_strategy_passes_the_kit(case, check):
    if check.__name__ == "check_batch_one_is_first_pick" and not case.sequential:
        pytest.skip("not a sequential rule")
    check(case.strategy, case.data)


def test_the_kit_covers_every_family_and_name():
    ids = {c.id.split(":")[0] + ":" + c.id.split(":")[1] for c in CASES}
    for spec in registered_strategies():
        if spec.family == "score" and spec.selectable:
            assert f"score:topk-{spec.name}" in ids and f"score:power-{spec.name}" in ids
        else:
            assert f"{spec.family}:{spec.name}" in ids


def test_names_are_read_from_the_table():
    assert tuple(SCORES) == tuple(s.name for s in registered_strategies("score"))
    assert tuple(CAUSAL_STRATEGIES) == tuple(s.name for s in registered_strategies("causal"))
    assert available_strategies("batch") == [
        "random",
        "batchbald",
        "coreset",
        "kmeans",
        "badge",
        "batchgfn",
        "discobax",
    ]
    assert strategy_spec("discobax").observation_kinds == ("gaussian",)
    needs_pi = {s.name for s in registered_strategies("causal") if s.needs_propensity}
    assert needs_pi == {"pi-bald", "mu-pi-bald"}
    assert strategy_spec("power-bald") is get_strategy("bald", "score")
    assert strategy_spec("kmeans").needs_embeddings and not strategy_spec("kmeans").sequential
    assert strategy_spec("batchbald").needs_whole_pool


def test_labels_match_the_benchmark_names():
    expected = {
        "random": "random",
        "bald": "BALD top-k",
        "batchbald": "BatchBALD",
        "power-bald": "PowerBALD",
        "softmax-bald": "SoftmaxBALD",
        "softrank-bald": "SoftrankBALD",
        "badge": "BADGE",
    }
    assert {name: strategy_label(name) for name in expected} == expected


@pytest.fixture
def new_score():
    """A registered score (the spread of the top class probability) removed afterwards."""

    @register_strategy("top-spread", family="score", observations=["categorical"])
    def top_spread(chunk):
        return chunk.draws.max(axis=-1).std(axis=0)

    yield top_spread
    unregister_strategy("top-spread", family="score")


def test_a_registered_score_is_usable_everywhere(new_score):
    data = make_acquisition_check_data("classification")
    assert "top-spread" in SCORES
    assert {"top-spread", "topk-top-spread", "power-top-spread"} <= set(available_strategies())
    assert parse_strategy("softmax-top-spread") == ("softmax", "top-spread")
    expected = data.posterior.draws.max(axis=-1).std(axis=0)
    np.testing.assert_array_equal(score(data.posterior, "top-spread", chunk_size=7), expected)
    batch = select(data.posterior, 3, "top-spread")
    np.testing.assert_array_equal(batch.indices, np.argsort(-expected, kind="stable")[:3])
    assert any(c.id == "score:power-top-spread:categorical" for c in registered_acquisition_cases())
    with pytest.raises(ValueError, match="classification"):
        score(make_acquisition_check_data("regression").posterior, "top-spread")
    from knowable.cli._acquire import strategy_help

    assert "top-spread" in strategy_help()


def test_registration_errors():
    with pytest.raises(ValueError, match="already registered"):
        register_strategy("bald", lambda c: c.draws[0, :, 0], family="score")
    with pytest.raises(ValueError, match="family"):
        register_strategy("x", lambda c: None, family="pool")
    with pytest.raises(ValueError, match="lower case"):
        register_strategy("My Score", lambda c: None, family="score")
    with pytest.raises(ValueError, match="batch rule"):
        register_strategy("power-thing", lambda c: None, family="score")
    with pytest.raises(ValueError, match="observation kind"):
        register_strategy("x", {"poisson": lambda c: None}, family="score")
    with pytest.raises(TypeError, match="unknown fields"):
        register_strategy("x", lambda c: None, family="batch", needs_gpu=True)
    with pytest.raises(ValueError, match="unknown causal strategy"):
        get_strategy("nope", "causal")
    with pytest.raises(KeyError, match="no batch strategy"):
        unregister_strategy("nope", family="batch")
    assert "x" not in available_strategies("batch")


def test_a_registered_causal_rule_runs_through_select_causal():
    register_strategy(
        "tau-only-treated",
        lambda inputs: inputs.log_var_tau() + np.log(inputs.factual + inputs.eps),
        family="causal",
        needs_spread=True,
    )
    try:
        rng = np.random.default_rng(0)
        post = Posterior(rng.normal(size=(20, 6, 2)), output_names=["mu0", "mu1"])
        t = np.array([1, 0, 1, 0, 1, 0])
        batch = select_causal(post, t, 3, "tau-only-treated", temperature=0)
        assert set(batch.indices.tolist()) == {0, 2, 4}
        assert "tau-only-treated" in CAUSAL_STRATEGIES
    finally:
        unregister_strategy("tau-only-treated", family="causal")
    assert "tau-only-treated" not in CAUSAL_STRATEGIES


@pytest.mark.parametrize("strategy", ["random", "kmeans", "coreset"])
def test_strategies_without_a_posterior_take_the_pool_size(strategy):
    data = make_acquisition_check_data("classification")
    kwargs = {"embeddings": data.embeddings} if strategy != "random" else {}
    by_size = select(data.posterior.n_inputs, 4, strategy, random_state=3, **kwargs)
    by_post = select(data.posterior, 4, strategy, random_state=3, **kwargs)
    np.testing.assert_array_equal(by_size.indices, by_post.indices)
    with pytest.raises(ValueError, match="empty"):
        select(0, 1, "random")
    with pytest.raises(TypeError, match="Posterior"):
        select(data.posterior.n_inputs, 2, "bald")


def test_active_loop_builds_no_posterior_for_random(monkeypatch):
    from knowable.campaign import ActiveLoop
    from knowable.data import Dataset

    calls = []

    class Model:
        def fit(self, X, y):
            return self

        def posterior(self, X):
            calls.append(len(X))
            p = np.full((2, len(X), 2), 0.5)
            return Posterior(p, Categorical())

    rng = np.random.default_rng(0)
    pool = Dataset(rng.normal(size=(30, 2)), y=rng.integers(0, 2, 30))
    test = Dataset(rng.normal(size=(5, 2)), y=rng.integers(0, 2, 5))
    loop = ActiveLoop(
        lambda s: Model(), pool, test, strategy="random", batch_size=5, n_initial=4, max_labels=14
    )
    result = loop.run()
    assert len(result.labelled) == 14
    assert calls == [5, 5, 5]  # test-set evaluation only, never the pool


def test_cli_help_lists_the_registry():
    from knowable.cli import app

    result = CliRunner().invoke(app, ["acquire", "--help"], env={"COLUMNS": "300"})
    assert result.exit_code == 0
    for name in [*available_strategies("batch"), *CAUSAL_STRATEGIES, "variation-ratio"]:
        assert name in result.output


@pytest.mark.parametrize("strategy", ["random", "kmeans"])
def test_cli_strategies_without_a_posterior_select_from_the_pool_size(tmp_path, strategy):
    import pandas as pd

    from knowable.cli import app
    from knowable.models import UncertainClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    folder = tmp_path / "model"
    UncertainClassifier("dropout", n_draws=4, hidden_size=8, depth=1, max_epochs=1).fit(
        X, (X[:, 0] > 0).astype(int)
    ).save(folder)
    pool = rng.normal(size=(30, 3))
    pd.DataFrame(pool, columns=["a", "b", "c"]).to_csv(tmp_path / "pool.csv", index=False)
    out = tmp_path / "batch.csv"
    args = ["acquire", "--model", str(folder), "--pool", str(tmp_path / "pool.csv")]
    result = CliRunner().invoke(
        app, [*args, "--batch", "4", "--strategy", strategy, "--out", str(out), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    expected = select(30, 4, strategy, random_state=3, embeddings=pool).indices
    np.testing.assert_array_equal(pd.read_csv(out)["row"].to_numpy(), expected)
