"""CausalActiveLoop: bookkeeping, seeding, the factual-only oracle, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import BayesianRidge

from knowable.campaign import CausalActiveLoop
from knowable.data import Dataset, simulate_causal_bald_1d
from knowable.effects import TARNet
from knowable.models import GaussianNoise, Posterior


class BayesianTLearner:
    """One Bayesian linear regression per arm on (x, sin 2x): exact Gaussian posteriors, fast."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    @staticmethod
    def _features(X):
        x = np.asarray(X, dtype=float)
        return np.hstack([x, np.sin(2 * x)])

    def fit(self, X, t, y):
        self.seen_ = (np.asarray(X).copy(), np.asarray(t).copy(), np.asarray(y).copy())
        f = self._features(X)
        self.arms_ = [BayesianRidge().fit(f[t == a], y[t == a]) for a in (0, 1)]
        return self

    def predict_outcomes(self, X):
        f = np.hstack([np.ones((len(X), 1)), self._features(X)])
        means, covs = [], []
        for arm in self.arms_:
            means.append(arm.predict(f[:, 1:]))
            # posterior covariance of the coefficients; intercept uncertainty ignored
            covs.append(np.einsum("ni,ij,nj->n", f[:, 1:], arm.sigma_, f[:, 1:]))
        mean = np.stack(means, axis=1)
        cov = np.zeros((len(X), 2, 2))
        cov[:, 0, 0], cov[:, 1, 1] = covs
        rng = np.random.default_rng(self.random_state)
        draws = mean + np.sqrt(np.stack(covs, 1)) * rng.standard_normal((50, len(X), 2))
        return Posterior(
            draws,
            GaussianNoise(np.array(1.0)),
            covariance=cov,
            mean=mean,
            output_names=["mu0", "mu1"],
        )

    def effect(self, X):
        m = self.predict_outcomes(X).mean()
        return m[:, 1] - m[:, 0]


POOL = simulate_causal_bald_1d(300, random_state=0)
TEST = simulate_causal_bald_1d(200, random_state=2)


def run(strategy="mu-rho-bald", seed=0, **kwargs):
    params = {"batch_size": 10, "n_initial": 20, "max_labels": 60, "random_state": seed}
    params.update(kwargs)
    return CausalActiveLoop(BayesianTLearner, POOL, TEST, strategy=strategy, **params).run()


def test_rounds_labels_and_metrics():
    res = run()
    pehe = res.metric("pehe")
    assert pehe["n_labels"].tolist() == [20, 30, 40, 50, 60]
    assert np.all(np.isfinite(pehe["value"])) and np.all(pehe["value"] > 0)
    assert len(res.labelled) == 60 and len(np.unique(res.labelled)) == 60
    assert len(res.acquisitions) == 40
    assert set(res.acquisitions["round"]) == {0, 1, 2, 3}
    np.testing.assert_array_equal(res.acquisitions["t"], POOL.t[res.acquisitions["index"]])
    n_treated = res.metric("n_treated")["value"].iloc[-1]
    assert n_treated == POOL.t[res.labelled].sum()


def test_pehe_is_computed_against_the_true_effects():
    res = run(max_labels=20)
    model = BayesianTLearner().fit(POOL.x[res.labelled], POOL.t[res.labelled], POOL.y[res.labelled])
    expected = np.sqrt(np.mean((model.effect(TEST.x) - TEST.truth["cate"]) ** 2))
    assert res.metric("pehe")["value"].iloc[0] == pytest.approx(expected)


def test_the_oracle_reveals_factual_outcomes_only():
    seen = []

    def factory(seed):
        model = BayesianTLearner(seed)
        seen.append(model)
        return model

    CausalActiveLoop(factory, POOL, TEST, n_initial=20, max_labels=30, random_state=1).run()
    x, t, y = seen[-1].seen_
    rows = [int(np.flatnonzero(POOL.x[:, 0] == xi)[0]) for xi in x[:, 0]]
    np.testing.assert_array_equal(t, POOL.t[rows])
    np.testing.assert_array_equal(y, POOL.y[rows])


def test_same_seed_same_run_and_shared_warm_start():
    a, b = run(seed=3), run(seed=3)
    np.testing.assert_array_equal(a.labelled, b.labelled)
    c = run("random", seed=3)
    np.testing.assert_array_equal(a.labelled[:20], c.labelled[:20])
    assert a.metric("pehe")["value"].iloc[0] == c.metric("pehe")["value"].iloc[0]
    assert not np.array_equal(a.labelled, c.labelled)


def test_strategies_share_every_round_s_model_seed():
    seeds = {}

    def factory_for(strategy):
        def factory(seed):
            seeds.setdefault(strategy, []).append(seed)
            return BayesianTLearner(seed)

        return factory

    for strategy in ("random", "mu-rho-bald", "sundin"):
        CausalActiveLoop(
            factory_for(strategy),
            POOL,
            TEST,
            strategy=strategy,
            n_initial=20,
            max_labels=60,
            random_state=4,
        ).run()
    assert len(seeds["random"]) == 5 and len(set(seeds["random"])) == 5
    assert seeds["random"] == seeds["mu-rho-bald"] == seeds["sundin"]


def test_strategies_holding_the_same_units_fit_the_same_model():
    # an order-sensitive estimator (minibatch SGD) that has acquired the whole pool must not
    # depend on the order in which each strategy acquired it
    small = Dataset(POOL.x[:40], t=POOL.t[:40], y=POOL.y[:40])
    curves = [
        CausalActiveLoop(
            lambda s: TARNet("ensemble", n_members=2, max_epochs=3, hidden_size=16, random_state=s),
            small,
            TEST,
            strategy=strategy,
            n_initial=20,
            batch_size=10,
            random_state=0,
        )
        .run()
        .metric("pehe")["value"]
        .to_numpy()
        for strategy in ("random", "mu-bald")
    ]
    assert curves[0][0] == curves[1][0]
    assert curves[0][-1] == curves[1][-1]
    assert curves[0][1] != curves[1][1]


def test_pi_strategies_fit_a_propensity_or_take_one():
    from sklearn.linear_model import LogisticRegression

    res = run("pi-bald")
    expected = LogisticRegression(max_iter=1000).fit(POOL.x, POOL.t).predict_proba(POOL.x)[:, 1]
    np.testing.assert_allclose(
        res.acquisitions["propensity"], expected[res.acquisitions["index"]], rtol=1e-6
    )
    given = run("mu-pi-bald", propensity=POOL.truth["propensity"])
    np.testing.assert_allclose(
        given.acquisitions["propensity"], POOL.truth["propensity"][given.acquisitions["index"]]
    )


def test_last_batch_is_shortened_and_the_whole_pool_can_be_acquired():
    small = Dataset(POOL.x[:45], t=POOL.t[:45], y=POOL.y[:45])
    res = CausalActiveLoop(
        BayesianTLearner, small, TEST, n_initial=20, batch_size=10, random_state=0
    ).run()
    assert res.metric("pehe")["n_labels"].tolist() == [20, 30, 40, 45]
    assert sorted(res.labelled.tolist()) == list(range(45))


def test_runs_with_a_tarnet():
    res = CausalActiveLoop(
        lambda s: TARNet("ensemble", n_members=2, max_epochs=3, hidden_size=16, random_state=s),
        POOL,
        TEST,
        n_initial=30,
        batch_size=5,
        max_labels=35,
        random_state=0,
    ).run()
    assert res.metric("pehe")["n_labels"].tolist() == [30, 35]


def test_warm_start_has_both_arms():
    for seed in range(20):
        res = run(seed=seed, n_initial=4, max_labels=4, min_per_arm=2)
        assert POOL.t[res.labelled].sum() == 2


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="min_per_arm"):
        run(n_initial=4, min_per_arm=3)
    with pytest.raises(ValueError, match="strategy"):
        run("hyper-bald")
    with pytest.raises(ValueError, match="max_labels"):
        run(max_labels=10_000)
    with pytest.raises(ValueError, match="n_initial"):
        run(n_initial=100, max_labels=50)
    with pytest.raises(ValueError, match="cate"):
        CausalActiveLoop(BayesianTLearner, POOL, Dataset(TEST.x, t=TEST.t, y=TEST.y)).run()
    with pytest.raises(ValueError, match="treatments"):
        CausalActiveLoop(BayesianTLearner, Dataset(POOL.x, y=POOL.y), TEST).run()
    with pytest.raises(TypeError, match="Dataset"):
        CausalActiveLoop(BayesianTLearner, POOL.x, TEST).run()
    with pytest.raises(TypeError, match="callable"):
        CausalActiveLoop(None, POOL, TEST).run()
    with pytest.raises(ValueError, match="batch_size"):
        run(batch_size=0)
    with pytest.raises(ValueError, match="temperature"):
        run(temperature=-0.5)
    with pytest.raises(ValueError, match="propensity"):
        run("pi-bald", propensity=np.full(len(POOL), 0.5)[:10])


def test_validation_units_reach_every_fit_and_are_never_trained_on():
    valid = simulate_causal_bald_1d(50, random_state=5)
    fits = []

    class Recording(BayesianTLearner):
        def fit(self, X, t, y, validation_data=None):
            fits.append(validation_data)
            assert not np.isin(np.asarray(X)[:, 0], valid.x[:, 0]).any()
            return super().fit(X, t, y)

    res = CausalActiveLoop(
        Recording, POOL, TEST, validation=valid, n_initial=20, max_labels=40, random_state=0
    ).run()
    assert len(fits) == 3
    for xv, tv, yv in fits:
        np.testing.assert_array_equal(xv, valid.x)
        np.testing.assert_array_equal(tv, valid.t)
        np.testing.assert_array_equal(yv, valid.y)
    assert len(res.labelled) == 40
    with pytest.raises(ValueError, match="validation needs"):
        run(validation=Dataset(valid.x))
    with pytest.raises(TypeError, match="validation must be"):
        run(validation=valid.x)


def test_a_propensity_classifier_is_seeded_by_random_state():
    from sklearn.ensemble import RandomForestClassifier

    forest = RandomForestClassifier(n_estimators=5, max_depth=3)
    a, b = (run("pi-bald", seed=0, propensity=forest) for _ in range(2))
    np.testing.assert_array_equal(a.labelled, b.labelled)
    np.testing.assert_array_equal(a.acquisitions["propensity"], b.acquisitions["propensity"])
    assert forest.get_params()["random_state"] is None  # the user's object is not touched
    # an explicit classifier seed is kept
    fixed = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=7)
    c, d = run("pi-bald", seed=0, propensity=fixed), run("pi-bald", seed=1, propensity=fixed)
    expected = fixed.fit(POOL.x, POOL.t).predict_proba(POOL.x)[:, 1]
    for res in (c, d):
        np.testing.assert_allclose(
            res.acquisitions["propensity"],
            np.clip(expected, 1e-6, 1 - 1e-6)[res.acquisitions["index"]],
        )


def test_a_propensity_array_may_hold_exact_zeros_and_ones():
    p = np.array(POOL.truth["propensity"], dtype=float)
    p[:5], p[5:10] = 0.0, 1.0
    res = run("pi-bald", propensity=p)
    assert len(res.labelled) == 60


def test_a_failing_round_keeps_the_finished_ones():
    class FailsOnFourthFit(BayesianTLearner):
        fits = 0

        def fit(self, X, t, y):
            type(self).fits += 1
            if type(self).fits == 4:
                raise RuntimeError("out of memory")
            return super().fit(X, t, y)

    loop = CausalActiveLoop(
        FailsOnFourthFit, POOL, TEST, n_initial=20, max_labels=60, random_state=0
    )
    with pytest.raises(RuntimeError, match="out of memory") as info:
        loop.run()
    assert any("3 finished rounds" in note for note in info.value.__notes__)
    partial = loop.partial_result_
    assert partial.metric("pehe")["n_labels"].tolist() == [20, 30, 40]
    assert len(partial.labelled) == 50  # round 2's batch was acquired before round 3's fit
    assert set(partial.acquisitions["round"]) == {0, 1, 2}
    full = run(seed=0)
    np.testing.assert_array_equal(partial.labelled, full.labelled[:50])


def test_numpy_integer_seeds_are_recorded():
    res = run(seed=np.int64(3))
    assert set(res.history["seed"]) == {3}
    np.testing.assert_array_equal(res.labelled, run(seed=3).labelled)


def test_n_initial_above_the_pool_names_the_pool():
    small = Dataset(POOL.x[:30], t=POOL.t[:30], y=POOL.y[:30])
    with pytest.raises(ValueError, match="exceeds the pool size 30"):
        CausalActiveLoop(BayesianTLearner, small, TEST, n_initial=40).run()
