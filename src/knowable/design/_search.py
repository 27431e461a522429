"""Order-based hill climbing on the interventional score (moves the posterior's support).

One-edge moves in DAG space stall in local optima where a wrong orientation
is held in place by the parents chosen around it (a v-structure built on the
wrong side of an edge). Searching over topological *orders* instead avoids
these: for a fixed order every node greedily picks its parents among its
predecessors (forward additions, then removals, on the decomposable score
of :func:`knowable.design.fit_particles`: per-node BIC on the rows where the
node was not intervened on, plus the per-edge log graph prior), and the order
is improved by moving one node to another position (best improving move
first; only the nodes it passes are rescored), as in order-based search
(Teyssier & Koller, 2005). The result is one DAG per
starting order; the caller adds it to the particle support and rescores.
"""

from __future__ import annotations

import numpy as np

from ._graphs import topological_order
from ._scm import InterventionalData

__all__ = ["order_search"]

_FitCache = dict[tuple[int, bytes], tuple[np.ndarray, float, float, float]]


class _Scorer:
    """Cached local scores ``BIC(j | pa) + |pa| * edge_log_prior``."""

    def __init__(
        self, data: InterventionalData, basis: str, edge_prior: float, cache: _FitCache
    ) -> None:
        from ._posterior import _fit_node  # local: _posterior imports this module

        self._fit = _fit_node
        self.x = data.x
        self.rows = [~data.mask[:, j] for j in range(data.n_nodes)]
        self.basis = basis
        self.edge_prior = edge_prior
        self.cache = cache
        self.best: dict[tuple[int, frozenset[int]], tuple[float, tuple[int, ...]]] = {}

    def local(self, j: int, pa: tuple[int, ...]) -> float:
        arr = np.asarray(sorted(pa), dtype=np.int64)
        key = (j, arr.tobytes())
        if key not in self.cache:
            self.cache[key] = self._fit(self.x, self.rows[j], j, arr, self.basis)
        return self.cache[key][3] + self.edge_prior * len(pa)

    def best_parents(self, j: int, preds: frozenset[int]) -> tuple[float, tuple[int, ...]]:
        """Greedy forward-then-backward parent selection of ``j`` among ``preds``."""
        key = (j, preds)
        if key in self.best:
            return self.best[key]
        pa: set[int] = set()
        cur = self.local(j, ())
        while True:  # forward: add the best improving parent
            gains = [(self.local(j, tuple(pa | {c})), c) for c in preds - pa]
            if not gains:
                break
            s, c = max(gains)
            if s <= cur + 1e-9:
                break
            pa.add(c)
            cur = s
        while len(pa) > 1:  # backward: drop a parent while that helps
            drops = [(self.local(j, tuple(pa - {c})), c) for c in pa]
            s, c = max(drops)
            if s <= cur + 1e-9:
                break
            pa.discard(c)
            cur = s
        out = (cur, tuple(sorted(pa)))
        self.best[key] = out
        return out


def _best_insertion(
    sc: _Scorer, order: list[int], node_score: list[float]
) -> tuple[int, int, list[float]] | None:
    """The best improving move of one node to another position in the order (or None).

    Moving ``a`` later removes it from the candidates of the nodes it passes,
    which changes nothing for a node that did not pick ``a`` as a parent (the
    greedy selection never chose it), so only those are rescored.
    """
    d = len(order)
    best: tuple[float, int, int, list[float]] = (1e-6, -1, -1, [])
    for i in range(d):
        a = order[i]
        rest = order[:i] + order[i + 1 :]
        for k in range(d):
            if k == i:
                continue
            new = [*rest[:k], a, *rest[k:]]
            lo, hi = min(i, k), max(i, k)
            scores = list(node_score)
            total = 0.0
            for pos in range(lo, hi + 1):
                j = new[pos]
                pre = frozenset(new[:pos])
                if j != a and k > i:
                    old_pa = sc.best_parents(j, pre | {a})[1]
                    if a not in old_pa:
                        scores[pos] = node_score[pos + 1]
                        continue
                s = sc.best_parents(j, pre)[0]
                # where j sat before the move
                if j == a:
                    old_pos = i
                elif k > i:
                    old_pos = pos + 1
                else:
                    old_pos = pos - 1
                total += s - node_score[old_pos]
                scores[pos] = s
            # positions outside [lo, hi] keep their node and score
            if total > best[0]:
                best = (total, i, k, scores)
    if best[1] < 0:
        return None
    return best[1], best[2], best[3]


def order_search(
    data: InterventionalData,
    starts: list[np.ndarray],
    basis: str,
    edge_prior: float,
    max_passes: int = 100,
    cache: _FitCache | None = None,
) -> list[np.ndarray]:
    """Hill-climb over topological orders from the orders of ``starts``.

    Parameters
    ----------
    data : InterventionalData
        All samples so far.
    starts : list of numpy.ndarray of shape (d, d)
        DAGs whose topological orders start the climbs (one climb each).
    basis : {"linear", "additive"}
        Mechanism basis.
    edge_prior : float
        Log prior per edge (``log(p / (1 - p))`` for the ER prior, 0 for uniform).
    max_passes : int
        Most improving moves per climb.
    cache : dict, optional
        Shared per-family fits (see :func:`knowable.design.fit_particles`).

    Returns
    -------
    list of numpy.ndarray of shape (d, d), int8
        The best DAG found from each start.
    """
    sc = _Scorer(data, basis, edge_prior, {} if cache is None else cache)
    d = data.n_nodes
    out = []
    for g0 in starts:
        order = topological_order(g0).tolist()
        node_score = [sc.best_parents(order[i], frozenset(order[:i]))[0] for i in range(d)]
        for _ in range(max_passes):
            move = _best_insertion(sc, order, node_score)
            if move is None:
                break
            i, k, new_scores = move
            a = order.pop(i)
            order.insert(k, a)
            node_score = new_scores
        g = np.zeros((d, d), dtype=np.int8)
        for i, j in enumerate(order):
            for p in sc.best_parents(j, frozenset(order[:i]))[1]:
                g[p, j] = 1
        out.append(g)
    return out
