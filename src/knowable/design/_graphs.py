"""Directed acyclic graphs: checks, random generators and exhaustive enumeration.

A graph on ``d`` nodes is a ``(d, d)`` 0/1 adjacency matrix ``A`` with
``A[i, j] = 1`` when there is an edge ``i -> j`` (``i`` is a parent of ``j``).
Hand-written (a few lines each) rather than taken from networkx so that the
core install does not grow: topological sort (Kahn), Erdos-Renyi graphs on a
random order (no rejection sampling, unlike CBED's generator), preferential-
attachment scale-free graphs, and enumeration of every DAG on <= 5 nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations, permutations
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_array, check_in_options, check_positive_int, check_real

__all__ = [
    "GRAPH_KINDS",
    "check_dag",
    "count_dags",
    "enumerate_dags",
    "find_cycle",
    "random_dag",
    "topological_order",
]

GRAPH_KINDS = ("er", "sf")


def find_cycle(adjacency: np.ndarray) -> list[int] | None:
    """One directed cycle of a graph, or ``None`` if it is acyclic.

    Parameters
    ----------
    adjacency : numpy.ndarray of shape (d, d)
        0/1 adjacency, ``adjacency[i, j] = 1`` for ``i -> j``.

    Returns
    -------
    list of int or None
        Nodes ``[v0, v1, ..., v0]`` along a cycle.
    """
    a = np.asarray(adjacency) != 0
    d = a.shape[0]
    colour = np.zeros(d, dtype=np.int8)  # 0 new, 1 on stack, 2 done
    parent = -np.ones(d, dtype=np.int64)
    for root in range(d):
        if colour[root]:
            continue
        stack: list[tuple[int, Iterator[Any]]] = [(root, iter(np.flatnonzero(a[root])))]
        colour[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                continue
            nxt = int(child)
            if colour[nxt] == 1:  # back edge: unwind the cycle
                cycle: list[int] = [nxt, node]
                cur = node
                while cur != nxt:
                    cur = int(parent[cur])
                    cycle.append(cur)
                return cycle[::-1]
            if colour[nxt] == 0:
                colour[nxt] = 1
                parent[nxt] = node
                stack.append((nxt, iter(np.flatnonzero(a[nxt]))))
    return None


def check_dag(
    adjacency: Any, name: str = "adjacency", names: list[str] | None = None
) -> np.ndarray:
    """Validate a DAG adjacency matrix and return it as an ``int8`` array.

    Parameters
    ----------
    adjacency : array-like of shape (d, d)
        0/1 (or boolean) adjacency, ``adjacency[i, j] = 1`` for ``i -> j``.
    name : str
        Argument name for error messages.
    names : list of str, optional
        Node names used to describe a cycle.

    Returns
    -------
    numpy.ndarray of shape (d, d), int8

    Raises
    ------
    ValueError
        If the matrix is not square, not 0/1, has self-loops or a directed cycle.
    """
    a = check_array(adjacency, name, ndim=2)
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square (d, d), got shape {a.shape}.")
    if not np.isin(a, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (1 at [i, j] for an edge i -> j).")
    if np.any(np.diag(a) != 0):
        node = int(np.flatnonzero(np.diag(a))[0])
        raise ValueError(f"{name} has a self-loop at node {node}; a DAG has a zero diagonal.")
    cycle = find_cycle(a)
    if cycle is not None:
        label = [names[c] for c in cycle] if names is not None else cycle
        raise ValueError(
            f"{name} has a directed cycle {' -> '.join(map(str, label))}; pass an acyclic graph."
        )
    return a.astype(np.int8)


def topological_order(adjacency: np.ndarray) -> np.ndarray:
    """A topological order of a DAG (Kahn's algorithm, smallest index first).

    Parameters
    ----------
    adjacency : numpy.ndarray of shape (d, d)
        DAG adjacency.

    Returns
    -------
    numpy.ndarray of shape (d,), int64
    """
    a = np.asarray(adjacency) != 0
    indeg = a.sum(axis=0).astype(np.int64)
    ready = sorted(np.flatnonzero(indeg == 0).tolist())
    order: list[int] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in np.flatnonzero(a[node]):
            indeg[child] -= 1
            if indeg[child] == 0:
                ready.append(int(child))
        ready.sort()
    if len(order) != a.shape[0]:
        raise ValueError("the graph has a directed cycle; no topological order exists.")
    return np.asarray(order, dtype=np.int64)


def random_dag(
    n_nodes: int,
    kind: str = "er",
    expected_degree: float = 1.0,
    random_state: Any = None,
) -> np.ndarray:
    """A random DAG: Erdos-Renyi or scale-free (preferential attachment).

    Parameters
    ----------
    n_nodes : int
        Number of nodes ``d >= 2``.
    kind : {"er", "sf"}
        ``"er"``: each pair is joined with probability ``2 e / (d - 1)`` (``e`` the
        expected number of parents per node), oriented along a random node order;
        ``"sf"``: nodes arrive in a random order and each picks ``round(e)``
        (at least 1) earlier nodes as parents with probability proportional to
        their degree + 1, so early nodes become hubs.
    expected_degree : float
        ``e``, expected number of parents per node (edges = ``e * d`` on average).
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).

    Returns
    -------
    numpy.ndarray of shape (d, d), int8
    """
    d = check_positive_int(n_nodes, "n_nodes", minimum=2)
    kind = check_in_options(kind, "kind", GRAPH_KINDS)
    e = check_real(expected_degree, "expected_degree", low=0.0)
    rng = check_random_state(random_state)
    order = rng.permutation(d)
    a = np.zeros((d, d), dtype=np.int8)
    if kind == "er":
        p = min(1.0, 2.0 * e / (d - 1))
        for i, j in combinations(range(d), 2):
            if rng.random() < p:
                a[order[i], order[j]] = 1
        return a
    m = max(1, round(e))
    degree = np.zeros(d)
    for pos in range(1, d):
        earlier = order[:pos]
        k = min(m, pos)
        w = degree[earlier] + 1.0
        parents = rng.choice(earlier, size=k, replace=False, p=w / w.sum())
        a[parents, order[pos]] = 1
        degree[parents] += 1
        degree[order[pos]] += k
    return a


def count_dags(n_nodes: int) -> int:
    """Number of labelled DAGs on ``n`` nodes (Robinson's recurrence; OEIS A003024).

    Parameters
    ----------
    n_nodes : int
        Number of nodes.

    Returns
    -------
    int
    """
    from math import comb

    a = [1]
    for n in range(1, n_nodes + 1):
        a.append(
            sum(
                (-1) ** (k + 1) * comb(n, k) * 2 ** (k * (n - k)) * a[n - k]
                for k in range(1, n + 1)
            )
        )
    return a[n_nodes]


def enumerate_dags(n_nodes: int) -> np.ndarray:
    """Every labelled DAG on ``n`` nodes (1, 3, 25, 543, 29281 for n = 1..5).

    Built by choosing, for each topological order, the edges that agree with it,
    and keeping each distinct graph once.

    Parameters
    ----------
    n_nodes : int
        ``1 <= n <= 5``.

    Returns
    -------
    numpy.ndarray of shape (n_dags, n, n), int8
        Sorted by number of edges, then lexicographically.
    """
    d = check_positive_int(n_nodes, "n_nodes")
    if d > 5:
        raise ValueError(
            f"enumerate_dags supports at most 5 nodes (29,281 DAGs), got {d}; "
            "use a bootstrap posterior for larger graphs."
        )
    seen: set[bytes] = set()
    out: list[np.ndarray] = []
    for order in permutations(range(d)):
        pairs = [(order[i], order[j]) for i, j in combinations(range(d), 2)]
        for mask in range(1 << len(pairs)):
            a = np.zeros((d, d), dtype=np.int8)
            for bit, (i, j) in enumerate(pairs):
                if mask >> bit & 1:
                    a[i, j] = 1
            key = a.tobytes()
            if key not in seen:
                seen.add(key)
                out.append(a)
    out.sort(key=lambda g: (int(g.sum()), g.tobytes()))
    return np.stack(out)
