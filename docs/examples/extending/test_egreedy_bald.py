"""egreedy-bald (save as tests/test_strategy_egreedy_bald.py)."""

import numpy as np

from knowable.acquire import score, select
from knowable.models import Categorical, Posterior
from knowable.testing import check_acquisition, registered_acquisition_cases


def _pool(seed=0):
    return Posterior(
        np.random.default_rng(seed).dirichlet(np.ones(3), size=(8, 200)), Categorical()
    )


def test_mostly_the_best_scores():
    post = _pool()
    bald = score(post, "bald")
    batch = select(post, 20, "egreedy-bald", random_state=0)
    best = set(np.argsort(-bald)[:20].tolist())
    assert len(best & set(batch.indices.tolist())) >= 14  # about 18 of 20 are greedy picks


def test_epsilon_picks_are_uniform():
    post = _pool()
    worst_half = set(np.argsort(score(post, "bald"))[:100].tolist())
    hits = sum(
        len(worst_half & set(select(post, 10, "egreedy-bald", random_state=s).indices.tolist()))
        for s in range(300)
    )
    # 10 picks x 300 seeds x P(random) 0.1 x P(worst half) ~0.5 = about 150
    assert 100 < hits < 200


def test_passes_the_acquisition_kit_through_the_registry():
    check_acquisition("egreedy-bald")
    assert any(c.id == "batch:egreedy-bald" for c in registered_acquisition_cases())
