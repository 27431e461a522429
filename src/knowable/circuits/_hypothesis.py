"""The five circuit hypothesis tests of Shi et al. (NeurIPS 2024) as pure statistics.

Each works on scores and metrics already computed from a model, so it can be
checked against simulated data with known truth. Where the reference code
(``blei-lab/circuitry``) departs from the paper, the paper's definition is used:

* equivalence counts the examples with Δ > 0 (the paper's P(Δ > 0)); the code
  plugs a mean *difference* into that place;
* minimality applies a multiple-testing correction over edges (Holm by default),
  which the code only plans;
* sufficiency counts ties against the circuit (strict ``<``; the code's ``<=`` lets an
  empty circuit pass by tying with random circuits that also miss the task's path);
* the permutation p-value of the independence test counts the observed statistic
  among the permutations, ``(1 + #{perm >= obs}) / (1 + B)``, so it is valid at
  every B (the code uses ``#{perm >= obs} / B``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from knowable._random import check_random_state

__all__ = [
    "CircuitTestResult",
    "equivalence_test",
    "hsic",
    "independence_test",
    "minimality_test",
    "partial_necessity_test",
    "sufficiency_test",
]


@dataclass(frozen=True)
class CircuitTestResult:
    """Outcome of one circuit hypothesis test.

    Attributes
    ----------
    test : str
        Which test.
    statistic : float
        The test statistic (a count for the binomial tests, HSIC for independence).
    p_value : float
        p-value of the test's null hypothesis (for minimality: the smallest corrected
        p-value over edges).
    alpha : float
        Level.
    reject : bool
        Whether the null is rejected at ``alpha``.
    holds : bool
        Whether the data support the idealised property (equivalence, sufficiency and
        partial necessity: the null is rejected; independence: it is retained;
        minimality: no edge's null is rejected).
    details : dict
        The numbers behind the decision.
    """

    test: str
    statistic: float
    p_value: float
    alpha: float
    reject: bool
    holds: bool
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def decision(self) -> str:
        """``"reject H0"`` or ``"retain H0"``."""
        return "reject H0" if self.reject else "retain H0"


def _vector(name: str, values: Any, min_size: int = 1) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size < min_size:
        raise ValueError(f"{name} must be a 1-d array of at least {min_size} values.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def _check_level(alpha: float, q: float | None = None) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}.")
    if q is not None and not 0 < q < 1:
        raise ValueError(f"q must lie in (0, 1), got {q}.")


def equivalence_test(
    circuit_scores: Any,
    model_scores: Any,
    epsilon: float = 0.1,
    alpha: float = 0.05,
    atol: float = 1e-6,
) -> CircuitTestResult:
    """Is the circuit equivalent to the model? (the paper's binomial version)

    With Δ_i = s(C(x_i); y_i) − s(M(x_i); y_i) and p = P(Δ > 0), the null of
    non-equivalence is ``|p − 1/2| >= epsilon``; it is rejected (the circuit is
    equivalent) when both one-sided binomial tests, of ``p <= 1/2 − epsilon`` and of
    ``p >= 1/2 + epsilon``, reject (two one-sided tests; p-value = the larger one).

    Parameters
    ----------
    circuit_scores, model_scores : array-like, shape (n,)
        Per-example task scores of the circuit and of the full model.
    epsilon : float
        Equivalence margin in (0, 1/2).
    alpha : float
        Level.
    atol : float
        Differences with ``|Δ| <= atol`` count as ties (floating-point noise of an exact
        circuit must not decide the sign).

    Returns
    -------
    CircuitTestResult
        ``statistic`` is #{Δ > atol}.

    Raises
    ------
    ValueError
        When Δ ≡ 0 (e.g. the complete circuit): then P(Δ > 0) = 0 says nothing about
        equivalence and the test is not defined.
    """
    c = _vector("circuit_scores", circuit_scores)
    m = _vector("model_scores", model_scores)
    if c.shape != m.shape:
        raise ValueError("circuit_scores and model_scores must have the same length.")
    if not 0 < epsilon < 0.5:
        raise ValueError(f"epsilon must lie in (0, 0.5), got {epsilon}.")
    _check_level(alpha)
    delta = c - m
    if atol < 0:
        raise ValueError(f"atol must be >= 0, got {atol}.")
    delta = np.where(np.abs(delta) <= atol, 0.0, delta)
    if np.all(delta == 0):
        raise ValueError(
            "the circuit's scores equal the model's on every example (Δ ≡ 0): the binomial "
            "equivalence test is degenerate; the circuit is trivially equivalent."
        )
    n, k = delta.size, int(np.sum(delta > 0))
    p_low = stats.binomtest(k, n, 0.5 - epsilon, alternative="greater").pvalue
    p_high = stats.binomtest(k, n, 0.5 + epsilon, alternative="less").pvalue
    p = float(max(p_low, p_high))
    return CircuitTestResult(
        "equivalence",
        float(k),
        p,
        alpha,
        p < alpha,
        p < alpha,
        {"n": n, "share_positive": k / n, "epsilon": epsilon, "p_lower": p_low, "p_upper": p_high},
    )


def _gaussian_gram(x: np.ndarray) -> np.ndarray:
    if np.ptp(x) <= 1e-9 * max(1.0, float(np.max(np.abs(x)))):
        # numerically constant scores: the median heuristic would blow floating-point
        # noise up to the kernel's unit scale and find "dependence" in it
        return np.ones((x.size, x.size))
    d2 = (x[:, None] - x[None, :]) ** 2
    positive = np.sqrt(d2[np.triu_indices(x.size, 1)])
    positive = positive[positive > 0]
    sigma = float(np.median(positive)) if positive.size else 1.0
    return np.exp(-d2 / (2 * sigma**2))


def hsic(x: Any, y: Any) -> float:
    """Biased HSIC estimate with Gaussian kernels (median-heuristic bandwidths).

    ``trace(K H L H) / (n − 1)²``, with H the centring matrix. Scores whose spread is
    below ``1e-9`` of their magnitude count as constant (HSIC 0).

    Parameters
    ----------
    x, y : array-like, shape (n,)
        Paired samples.

    Returns
    -------
    float
    """
    a, b = _vector("x", x, 2), _vector("y", y, 2)
    if a.shape != b.shape:
        raise ValueError("x and y must have the same length.")
    kc, lc = _centred(_gaussian_gram(a)), _centred(_gaussian_gram(b))
    return float(np.sum(kc * lc) / (a.size - 1) ** 2)


def _centred(k: np.ndarray) -> np.ndarray:
    return k - k.mean(0, keepdims=True) - k.mean(1, keepdims=True) + k.mean()


def independence_test(
    model_scores: Any,
    knockout_scores: Any,
    n_permutations: int = 1000,
    alpha: float = 0.05,
    random_state: Any = None,
) -> CircuitTestResult:
    """Is the model's behaviour independent of the model with the circuit knocked out?

    H0: s(M(X); Y) ⫫ s(M∖C(X); Y), tested by HSIC with a permutation null. For an ideal
    circuit the complement carries no information about the task, so H0 is retained.

    Parameters
    ----------
    model_scores, knockout_scores : array-like, shape (n,)
        Per-example scores of the full model and of the model without the circuit.
    n_permutations : int
        Permutations of the null.
    alpha : float
        Level.
    random_state : int, numpy.random.Generator or None
        Seed of the permutations.

    Returns
    -------
    CircuitTestResult
    """
    a = _vector("model_scores", model_scores, 3)
    b = _vector("knockout_scores", knockout_scores, 3)
    if a.shape != b.shape:
        raise ValueError("model_scores and knockout_scores must have the same length.")
    if int(n_permutations) < 1:
        raise ValueError(f"n_permutations must be >= 1, got {n_permutations}.")
    _check_level(alpha)
    rng = check_random_state(random_state)
    kc, lc = _centred(_gaussian_gram(a)), _centred(_gaussian_gram(b))
    scale = (a.size - 1) ** 2
    observed = float(np.sum(kc * lc) / scale)
    exceed = 0
    for _ in range(int(n_permutations)):
        perm = rng.permutation(a.size)
        # permuting y permutes L's rows and columns; HLH permutes along with it
        exceed += np.sum(kc * lc[np.ix_(perm, perm)]) / scale >= observed - 1e-15
    p = (1 + exceed) / (1 + int(n_permutations))
    return CircuitTestResult(
        "independence",
        observed,
        float(p),
        alpha,
        p < alpha,
        not p < alpha,
        {"n": a.size, "n_permutations": int(n_permutations)},
    )


def sufficiency_test(
    circuit_metric: float, random_metrics: Any, q: float = 0.9, alpha: float = 0.05
) -> CircuitTestResult:
    """Is the circuit more faithful to the model than random circuits of its size?

    Statistic ``k = #{metric(M, C) < metric(M, R_j)}`` over R random same-size circuits;
    H0: P(circuit more faithful) <= q, rejected by a one-sided binomial test (the circuit
    is sufficient when H0 is rejected). Ties count against the circuit: the reference
    code's ``<=`` credits an empty circuit for tying with random circuits that also miss
    the task's path.

    Parameters
    ----------
    circuit_metric : float
        Discrepancy between the model's and the circuit's scores (smaller = more faithful).
    random_metrics : array-like, shape (R,)
        The same discrepancy for R random circuits with as many edges.
    q : float
        The q* of the paper (0.9).
    alpha : float
        Level.

    Returns
    -------
    CircuitTestResult
    """
    ref = _vector("random_metrics", random_metrics)
    c = float(_vector("circuit_metric", [circuit_metric])[0])
    _check_level(alpha, q)
    k = int(np.sum(c < ref))
    p = float(stats.binomtest(k, ref.size, q, alternative="greater").pvalue)
    return CircuitTestResult(
        "sufficiency",
        float(k),
        p,
        alpha,
        p < alpha,
        p < alpha,
        {
            "n_random": ref.size,
            "q": q,
            "circuit_metric": c,
            "random_metric_median": float(np.median(ref)),
        },
    )


def partial_necessity_test(
    knockout_metric: float, random_knockout_metrics: Any, q: float = 0.9, alpha: float = 0.05
) -> CircuitTestResult:
    """Does knocking the circuit out hurt more than knocking out random circuits?

    Statistic ``k = #{metric(M, M∖C) > metric(M, M∖R_j)}``; H0: P <= q, rejected by a
    one-sided binomial test (the circuit is partially necessary when H0 is rejected).

    Parameters
    ----------
    knockout_metric : float
        Discrepancy between the model and the model without the circuit.
    random_knockout_metrics : array-like, shape (R,)
        The same for R random same-size circuits knocked out.
    q : float
        The q* of the paper (0.9).
    alpha : float
        Level.

    Returns
    -------
    CircuitTestResult
    """
    ref = _vector("random_knockout_metrics", random_knockout_metrics)
    c = float(_vector("knockout_metric", [knockout_metric])[0])
    _check_level(alpha, q)
    k = int(np.sum(c > ref))
    p = float(stats.binomtest(k, ref.size, q, alternative="greater").pvalue)
    return CircuitTestResult(
        "partial_necessity",
        float(k),
        p,
        alpha,
        p < alpha,
        p < alpha,
        {"n_random": ref.size, "q": q, "knockout_metric": c},
    )


def minimality_test(
    edge_effects: Any,
    reference_effects: Any,
    q: float = 0.9,
    alpha: float = 0.05,
    correction: str = "holm",
) -> CircuitTestResult:
    """Is every edge of the circuit needed?

    For edge e, ``k_e = #{δ_e > δ'_j}`` where δ_e is the change from removing e from the
    circuit and δ'_j the change from removing a random added edge from a random
    inflation of the circuit; H0_e: P(δ_e > δ') >= q, tested against "less" by a binomial
    test. A rejected H0_e says edge e matters no more than a random extra edge: the
    circuit is not minimal. p-values are corrected over edges (``holm``, ``bonferroni``
    or ``none``).

    Parameters
    ----------
    edge_effects : array-like, shape (E,)
        δ_e for each edge of the circuit.
    reference_effects : array-like, shape (R,)
        δ'_j of R random inflations.
    q : float
        The q* of the paper (0.9).
    alpha : float
        Family-wise level.
    correction : str
        Multiple-testing correction.

    Returns
    -------
    CircuitTestResult
        ``details["p_values"]`` holds the corrected per-edge p-values and
        ``details["not_minimal_edges"]`` the indices of the rejected edges.
    """
    eff = _vector("edge_effects", edge_effects)
    ref = _vector("reference_effects", reference_effects)
    _check_level(alpha, q)
    if correction not in ("holm", "bonferroni", "none"):
        raise ValueError(f"correction must be 'holm', 'bonferroni' or 'none', got {correction!r}.")
    counts = np.array([int(np.sum(e > ref)) for e in eff])
    raw = np.array(
        [stats.binomtest(int(k), ref.size, q, alternative="less").pvalue for k in counts]
    )
    corrected = _correct(raw, correction)
    rejected = np.flatnonzero(corrected < alpha)
    return CircuitTestResult(
        "minimality",
        float(counts.min()),
        float(corrected.min()),
        alpha,
        bool(rejected.size),
        not rejected.size,
        {
            "counts": counts.tolist(),
            "p_values": corrected.tolist(),
            "raw_p_values": raw.tolist(),
            "not_minimal_edges": rejected.tolist(),
            "n_random": ref.size,
            "q": q,
            "correction": correction,
        },
    )


def _correct(p: np.ndarray, method: str) -> np.ndarray:
    m = p.size
    if method == "none":
        return p
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return adjusted
