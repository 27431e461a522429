"""The mean-std score, added as one file: its formula, and select/score find it by name."""

import numpy as np

from knowable.acquire import score, select
from knowable.models import Categorical, GaussianNoise, Posterior


def test_mean_std_by_hand():
    probs = np.array([[[0.9, 0.1], [0.5, 0.5]], [[0.1, 0.9], [0.5, 0.5]]])  # (S=2, n=2, C=2)
    np.testing.assert_allclose(score(Posterior(probs, Categorical()), "mean-std"), [0.4, 0.0])
    f = np.array([[[1.0]], [[3.0]]])  # two draws of one output: std 1
    assert score(Posterior(f, GaussianNoise(np.array(1.0))), "mean-std")[0] == 1.0


def test_mean_std_selects_the_most_uncertain_first():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=(6, 20))
    expected = probs.std(axis=0).mean(axis=-1)
    batch = select(Posterior(probs, Categorical()), 3, "topk-mean-std")
    np.testing.assert_array_equal(batch.indices, np.argsort(-expected, kind="stable")[:3])
