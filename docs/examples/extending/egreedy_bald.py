"""epsilon-greedy BALD: each pick is the best remaining BALD score, or, with probability
0.1, a uniformly random remaining input (save as src/knowable/acquire/strategies/egreedy_bald.py).
"""

from __future__ import annotations

import numpy as np

from knowable.acquire import Batch, SelectContext, check_batch_size, register_strategy, score

EPSILON = 0.1


@register_strategy(
    "egreedy-bald",
    family="batch",
    label="eGreedyBALD",
    description="best BALD, or a random input with probability 0.1, pick by pick",
)
def egreedy_bald(pool, batch_size: int, context: SelectContext) -> Batch:
    """Pick by pick: a uniform random remaining input with probability EPSILON, else the best."""
    scores = score(pool, "bald", chunk_size=context.chunk_size)
    b = check_batch_size(batch_size, len(scores))
    rng = context.random_state
    order = list(np.lexsort((np.arange(len(scores)), -scores)))  # best first, ties by index
    picks = []
    for _ in range(b):
        i = order.pop(int(rng.integers(len(order)))) if rng.random() < EPSILON else order.pop(0)
        picks.append(i)
    idx = np.asarray(picks, dtype=np.int64)
    return Batch(idx, scores[idx], context.strategy, pool_scores=scores)
