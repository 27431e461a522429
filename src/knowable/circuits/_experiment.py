"""Run the five tests on one circuit of one model: the numbers behind each decision.

``score(circuit, invert)`` returns per-example task scores (higher is better) of the
model restricted to ``circuit`` (or with it knocked out when ``invert``);
``metric(a, b) = mean((a - b)^2)`` compares two score vectors, as in the
reference code. Random circuits have as many edges as the candidate and are drawn
uniformly from all edges; a random *inflation* adds one random path (the
embedding into a random node's input, and that node into the output).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from knowable._random import check_random_state

from ._hypothesis import (
    CircuitTestResult,
    equivalence_test,
    independence_test,
    minimality_test,
    partial_necessity_test,
    sufficiency_test,
)
from ._model import Edge

__all__ = ["TESTS", "run_circuit_tests", "score_metric"]

TESTS = ("equivalence", "independence", "minimality", "sufficiency", "partial_necessity")
ScoreFn = Callable[[Sequence[Edge] | None, bool], np.ndarray]


def score_metric(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared difference of two per-example score vectors."""
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def _random_path(edges: Sequence[Edge], rng: np.random.Generator) -> list[Edge]:
    receivers_of: dict[str, list[str]] = {}
    for sender, receiver in edges:
        if sender == "embed" and receiver != "out":
            receivers_of.setdefault(receiver.rsplit(".", 1)[0], []).append(receiver)
    node = list(receivers_of)[rng.integers(len(receivers_of))]
    slots = receivers_of[node]
    return [("embed", slots[rng.integers(len(slots))]), (node, "out")]


def run_circuit_tests(
    score: ScoreFn,
    edges: Sequence[Edge],
    circuit: Sequence[Edge],
    tests: Sequence[str] = TESTS,
    n_random: int = 100,
    n_permutations: int = 1000,
    epsilon: float = 0.1,
    q: float = 0.9,
    alpha: float = 0.05,
    random_state: Any = None,
) -> dict[str, CircuitTestResult]:
    """The chosen tests for one circuit, with their timings in ``details["seconds"]`` (wall)
    and ``details["cpu_seconds"]`` (this process's CPU time).

    Parameters
    ----------
    score : callable
        ``score(circuit, invert) -> (n,)`` per-example scores (``circuit=None``: the model).
    edges : sequence of (sender, receiver)
        Every edge of the model.
    circuit : sequence of (sender, receiver)
        The candidate circuit.
    tests : sequence of str
        Subset of ``TESTS``.
    n_random : int
        Random circuits (sufficiency, partial necessity) and random inflations (minimality).
    n_permutations : int
        HSIC permutations.
    epsilon, q, alpha : float
        Equivalence margin, q*, level.
    random_state : int, numpy.random.Generator or None
        Seed of the random circuits and permutations.

    Returns
    -------
    dict of str to CircuitTestResult
        A degenerate equivalence test (Δ ≡ 0) is reported with ``holds=True``, a NaN
        p-value and ``details["degenerate"] = True``.
    """
    unknown = set(tests) - set(TESTS)
    if unknown:
        raise ValueError(f"tests must be among {list(TESTS)}, got {sorted(unknown)}.")
    if int(n_random) < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}.")
    edges = list(edges)
    circuit = list(dict.fromkeys(circuit))
    missing = [e for e in circuit if e not in set(edges)]
    if missing:
        raise ValueError(f"edges not in the model: {missing[:3]}.")
    rng = check_random_state(random_state)
    model_scores = score(None, False)
    circuit_scores = score(circuit, False)
    results: dict[str, CircuitTestResult] = {}

    def random_circuit() -> list[Edge]:
        idx = rng.choice(len(edges), size=len(circuit), replace=False)
        return [edges[i] for i in idx]

    for name in tests:
        start, cpu = time.perf_counter(), time.process_time()
        if name == "equivalence":
            try:
                result = equivalence_test(circuit_scores, model_scores, epsilon, alpha)
            except ValueError as exc:
                if "degenerate" not in str(exc):
                    raise
                result = CircuitTestResult(
                    "equivalence",
                    float("nan"),
                    float("nan"),
                    alpha,
                    False,
                    True,
                    {"degenerate": True, "reason": str(exc)},
                )
        elif name == "independence":
            knockout = score(circuit, True)
            result = independence_test(
                model_scores, knockout, n_permutations, alpha, random_state=rng
            )
        elif name == "sufficiency":
            reference = [
                score_metric(model_scores, score(random_circuit(), False)) for _ in range(n_random)
            ]
            result = sufficiency_test(
                score_metric(model_scores, circuit_scores), reference, q, alpha
            )
        elif name == "partial_necessity":
            reference = [
                score_metric(model_scores, score(random_circuit(), True)) for _ in range(n_random)
            ]
            knockout_metric = score_metric(model_scores, score(circuit, True))
            result = partial_necessity_test(knockout_metric, reference, q, alpha)
        else:
            result = _minimality(score, edges, circuit, circuit_scores, n_random, q, alpha, rng)
        details = dict(
            result.details,
            seconds=time.perf_counter() - start,
            cpu_seconds=time.process_time() - cpu,
        )
        results[name] = CircuitTestResult(
            result.test,
            result.statistic,
            result.p_value,
            result.alpha,
            result.reject,
            result.holds,
            details,
        )
    return results


def _minimality(
    score: ScoreFn,
    edges: list[Edge],
    circuit: list[Edge],
    circuit_scores: np.ndarray,
    n_random: int,
    q: float,
    alpha: float,
    rng: np.random.Generator,
) -> CircuitTestResult:
    if not circuit or len(circuit) == len(edges):
        # no edge to test, or no edge outside the circuit to build inflations from
        reason = "the circuit is empty" if not circuit else "the circuit holds every edge"
        return CircuitTestResult(
            "minimality",
            float("nan"),
            float("nan"),
            alpha,
            False,
            False,
            {"undefined": f"minimality is not defined: {reason}."},
        )
    effects = [
        score_metric(circuit_scores, score([e for e in circuit if e != edge], False))
        for edge in circuit
    ]
    reference: list[float] = []
    tries = 0
    while len(reference) < n_random:
        tries += 1
        if tries > 100 * n_random:
            raise ValueError(
                "could not draw random inflations: every random path is in the circuit."
            )
        added = [e for e in _random_path(edges, rng) if e not in circuit]
        if not added:
            continue
        inflated = circuit + added
        dropped = added[rng.integers(len(added))]
        reference.append(
            score_metric(
                score(inflated, False), score([e for e in inflated if e != dropped], False)
            )
        )
    return minimality_test(effects, reference, q, alpha)
