"""ActiveLoop simulations with a fast stand-in model."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from knowable.campaign import (
    ActiveLoop,
    DatasetOracle,
    evaluate_posterior,
    learning_curve_figure,
    learning_curve_table,
)
from knowable.data import Dataset
from knowable.models import Categorical, GaussianNoise, Posterior


class NoisyCentroids:
    """Class centroids with draws perturbed by 1/sqrt(count): fit/posterior in microseconds."""

    def __init__(self, seed: int, n_classes: int = 3, n_draws: int = 6) -> None:
        self.seed, self.n_classes, self.n_draws = seed, n_classes, n_draws

    def fit(self, X, y):
        rng = np.random.default_rng(self.seed)
        d = X.shape[1]
        self.centres_ = np.zeros((self.n_draws, self.n_classes, d))
        for c in range(self.n_classes):
            rows = X[y == c]
            mean = rows.mean(0) if len(rows) else np.zeros(d)
            scale = 1.0 / np.sqrt(len(rows) + 1)
            self.centres_[:, c] = mean + scale * rng.normal(size=(self.n_draws, d))
        return self

    def posterior(self, X):
        d2 = ((X[None, :, None, :] - self.centres_[:, None]) ** 2).sum(-1)
        logits = -d2
        p = np.exp(logits - logits.max(-1, keepdims=True))
        return Posterior(p / p.sum(-1, keepdims=True), Categorical())


def _data(n: int, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = rng.normal(size=(n, 2)) + 2.0 * np.eye(3)[y][:, :2] + np.array([0, 0])
    return Dataset(x, y=y)


POOL, TEST = _data(200, 0), _data(100, 1)


def _loop(strategy="power-bald", seed=0, **kw):
    return ActiveLoop(
        lambda s: NoisyCentroids(s),
        POOL,
        TEST,
        strategy=strategy,
        batch_size=5,
        n_initial=6,
        max_labels=31,
        random_state=seed,
        **kw,
    )


def test_history_is_tidy_and_budget_respected():
    res = _loop().run()
    h = res.history
    assert list(h.columns) == ["strategy", "seed", "round", "n_labels", "metric", "value"]
    assert set(h["metric"]) == {"accuracy", "nll", "fit_seconds", "acquire_seconds"}
    acc = res.metric("accuracy")
    assert acc["n_labels"].tolist() == [6, 11, 16, 21, 26, 31]
    assert len(res.labelled) == 31 and len(set(res.labelled.tolist())) == 31
    assert len(res.acquisitions) == 25
    np.testing.assert_array_equal(POOL.y[res.acquisitions["index"]], res.acquisitions["label"])


def test_balanced_initial_set():
    res = _loop(initial="balanced").run()
    first = res.labelled[:6]
    assert np.bincount(POOL.y[first], minlength=3).tolist() == [2, 2, 2]


@pytest.mark.parametrize("strategy", ["power-bald", "batchbald", "random", "coreset", "bald"])
def test_seeded_runs_repeat_exactly(strategy):
    a, b = _loop(strategy, seed=3).run(), _loop(strategy, seed=3).run()
    np.testing.assert_array_equal(a.labelled, b.labelled)
    acc = a.history["metric"] == "accuracy"
    pd.testing.assert_series_equal(
        a.history[acc]["value"].reset_index(drop=True),
        b.history[acc]["value"].reset_index(drop=True),
    )
    c = _loop(strategy, seed=4).run()
    assert not np.array_equal(a.labelled, c.labelled)


def test_warm_start_reuses_one_model():
    made = []

    def factory(seed):
        made.append(seed)
        return NoisyCentroids(seed)

    ActiveLoop(
        factory,
        POOL,
        TEST,
        batch_size=5,
        n_initial=6,
        max_labels=21,
        warm_start=True,
        random_state=0,
    ).run()
    assert len(made) == 1


def test_learning_curve_figure_and_table():
    histories = [_loop(s, seed=k).run().history for s in ("random", "power-bald") for k in (0, 1)]
    table = learning_curve_table(histories)
    assert set(table["strategy"]) == {"random", "power-bald"} and (table["n_seeds"] == 2).all()
    fig = learning_curve_figure(pd.concat(histories), "accuracy", title="toy")
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="no rows"):
        learning_curve_table(histories, "auroc")


def test_evaluate_posterior_regression():
    f = np.zeros((3, 4, 1))
    metrics = evaluate_posterior(Posterior(f, GaussianNoise(np.array(1.0))), np.ones(4))
    assert metrics["rmse"] == pytest.approx(1.0)
    assert metrics["nll"] == pytest.approx(0.5 * np.log(2 * np.pi) + 0.5)


def test_bad_inputs():
    with pytest.raises(ValueError, match="max_labels"):
        ActiveLoop(lambda s: NoisyCentroids(s), POOL, TEST, max_labels=201).run()
    with pytest.raises(ValueError, match="unknown strategy"):
        _loop("nope").run()
    with pytest.raises(TypeError, match="Dataset"):
        ActiveLoop(lambda s: NoisyCentroids(s), POOL.x, TEST).run()
    with pytest.raises(TypeError, match="callable"):
        ActiveLoop(None, POOL, TEST).run()
    with pytest.raises(ValueError, match="batch_size"):
        ActiveLoop(lambda s: NoisyCentroids(s), POOL, TEST, batch_size=0).run()
    oracle = DatasetOracle(POOL)
    with pytest.raises(ValueError, match="lie in"):
        oracle.query([500])


def test_evaluate_posterior_maps_classes():
    probs = np.array([[[0.9, 0.1], [0.2, 0.8]]])  # columns are labels 3 and 7
    m = evaluate_posterior(Posterior(probs, Categorical()), np.array([3, 5]), classes=[3, 7])
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["nll"] == pytest.approx(-(np.log(0.9) + np.log(1e-12)) / 2)


class Recording(NoisyCentroids):
    """Records the pool rows each ``posterior`` call saw (test calls excluded)."""

    calls: ClassVar[list[np.ndarray]] = []

    def posterior(self, X):
        if len(X) != len(TEST):
            rows = np.flatnonzero((POOL.x[:, None, :] == X[None]).all(-1).any(1))
            Recording.calls.append(rows)
        return super().posterior(X)


def test_candidate_subsampling_limits_the_acquisition_set():
    Recording.calls = []
    res = ActiveLoop(
        lambda s: Recording(s),
        POOL,
        TEST,
        batch_size=5,
        n_initial=6,
        max_labels=31,
        n_candidates=50,
        random_state=0,
    ).run()
    assert [len(c) for c in Recording.calls] == [50] * 5
    for rnd, cand in enumerate(Recording.calls):
        picked = res.acquisitions.loc[res.acquisitions["round"] == rnd, "index"].to_numpy()
        assert np.isin(picked, cand).all()
    assert len({tuple(c) for c in Recording.calls}) == 5  # a fresh subset every round


def test_candidate_groups_keep_whole_groups():
    Recording.calls = []
    groups = np.arange(len(POOL)) // 4
    res = ActiveLoop(
        lambda s: Recording(s),
        POOL,
        TEST,
        batch_size=5,
        n_initial=6,
        max_labels=31,
        n_candidates=30,
        candidate_groups=groups,
        random_state=0,
    ).run()
    labelled_before = list(res.labelled[:6])
    for rnd, cand in enumerate(Recording.calls):
        assert 30 <= len(cand) < 30 + 4
        for g in np.unique(groups[cand]):
            members = np.setdiff1d(np.flatnonzero(groups == g), labelled_before)
            assert np.isin(members, cand).all()
        labelled_before += res.acquisitions.loc[res.acquisitions["round"] == rnd, "index"].tolist()


def test_diversity_strategies_skip_pool_draws():
    Recording.calls = []
    res = ActiveLoop(
        lambda s: Recording(s),
        POOL,
        TEST,
        strategy="coreset",
        batch_size=5,
        n_initial=6,
        max_labels=16,
        embed=lambda m, x: np.asarray(x),
        random_state=0,
    ).run()
    assert Recording.calls == [] and len(res.labelled) == 16


def test_bad_candidate_settings():
    with pytest.raises(ValueError, match="n_candidates"):
        _loop(n_candidates=0).run()
    with pytest.raises(ValueError, match="needs n_candidates"):
        _loop(candidate_groups=np.zeros(len(POOL))).run()
    with pytest.raises(ValueError, match="one group per pool row"):
        _loop(n_candidates=10, candidate_groups=np.zeros(3)).run()


def test_an_interrupted_run_keeps_the_finished_rounds():
    fits = []

    class InterruptedOnThirdFit(NoisyCentroids):
        def fit(self, X, y):
            fits.append(len(y))
            if len(fits) == 3:
                raise KeyboardInterrupt
            return super().fit(X, y)

    loop = ActiveLoop(
        lambda s: InterruptedOnThirdFit(s),
        POOL,
        TEST,
        batch_size=5,
        n_initial=6,
        max_labels=31,
        random_state=np.int64(0),
    )
    with pytest.raises(KeyboardInterrupt) as info:
        loop.run()
    assert any("2 finished rounds" in note for note in info.value.__notes__)
    partial = loop.partial_result_
    assert partial.metric("accuracy")["n_labels"].tolist() == [6, 11]
    assert set(partial.history["seed"]) == {0}
    np.testing.assert_array_equal(partial.labelled, _loop().run().labelled[:16])
