"""Structural causal models with additive Gaussian noise, and hard interventions.

An SCM on ``d`` nodes draws, in topological order,
``x_j = f_j(x_pa(j)) + sigma_j * eps_j`` with ``eps_j ~ N(0, 1)``. A hard
intervention ``do(X_j = v)`` replaces node ``j``'s mechanism by the constant
``v``. Designs are given as a target mask and a value per row, so that single-
and multi-target interventions share one code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_array, check_in_options, check_positive_int, check_real
from ._graphs import check_dag, random_dag, topological_order

__all__ = [
    "SCM_KINDS",
    "InterventionalData",
    "LinearGaussianSCM",
    "NonlinearAdditiveSCM",
    "StructuralCausalModel",
    "check_bounds",
    "check_designs",
    "random_scm",
    "resolve_target",
]

SCM_KINDS = ("linear", "nonlinear")


def check_bounds(bounds: Any, name: str = "value_bounds") -> tuple[float, float]:
    """Validate an interval ``(low, high)`` of allowed intervention values.

    Parameters
    ----------
    bounds : tuple of 2 floats
        Pair ``(low, high)``.
    name : str
        Argument name for error messages.

    Returns
    -------
    tuple of float
    """
    try:
        lo, hi = bounds
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {bounds!r}.") from None
    lo = check_real(lo, f"{name}[0]")
    hi = check_real(hi, f"{name}[1]")
    if not lo < hi:
        raise ValueError(f"{name} must have low < high, got ({lo}, {hi}).")
    return lo, hi


def resolve_target(target: Any, names: list[str]) -> int:
    """The column index of an intervention target given by index or node name.

    Parameters
    ----------
    target : int or str
        Node name or column index.
    names : list of str
        Node names, in column order.

    Returns
    -------
    int
    """
    if isinstance(target, str):
        if target not in names:
            raise ValueError(f"target {target!r} is not a node; known nodes: {', '.join(names)}.")
        return names.index(target)
    if isinstance(target, bool) or not isinstance(target, int | np.integer):
        raise TypeError(f"target must be a node name or index, got {type(target).__name__}.")
    if not 0 <= int(target) < len(names):
        raise ValueError(f"target index {int(target)} is out of range for {len(names)} nodes.")
    return int(target)


def check_designs(
    mask: Any, values: Any, n_nodes: int, bounds: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a batch of designs: target masks and values.

    Parameters
    ----------
    mask : array-like of shape (b, d)
        1 where a node is intervened on in that design.
    values : array-like of shape (b, d)
        Intervention values (read only where ``mask`` is 1).
    n_nodes : int
        ``d``.
    bounds : tuple of float
        Allowed value interval; values of intervened nodes must lie inside.

    Returns
    -------
    mask : numpy.ndarray of shape (b, d), bool
    values : numpy.ndarray of shape (b, d), float64 (0 where not intervened)
    """
    m = check_array(mask, "mask", ndim=2)
    v = check_array(values, "values", ndim=2)
    if m.shape != v.shape or m.shape[1] != n_nodes:
        raise ValueError(
            f"mask and values must both have shape (b, {n_nodes}), got {m.shape} and {v.shape}."
        )
    if not np.isin(m, (0.0, 1.0)).all():
        raise ValueError("mask must hold only 0 and 1.")
    m = m.astype(bool)
    lo, hi = bounds
    bad = m & ((v < lo) | (v > hi))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"intervention value {v[r, c]:g} on node {c} is outside the stated bounds "
            f"[{lo:g}, {hi:g}]; choose a value inside or widen value_bounds."
        )
    return m, np.where(m, v, 0.0)


@dataclass
class InterventionalData:
    """Samples with the mask of which nodes were intervened on in each row.

    Attributes
    ----------
    x : numpy.ndarray of shape (n, d)
        Samples.
    mask : numpy.ndarray of shape (n, d), bool
        ``mask[i, j]`` is True when row ``i`` was drawn under ``do(X_j = x[i, j])``.
    names : list of str
        Node names.
    """

    x: np.ndarray
    mask: np.ndarray
    names: list[str]

    @classmethod
    def observational(cls, x: Any, names: list[str] | None = None) -> InterventionalData:
        """Wrap purely observational data (all-False mask), validating it.

        Parameters
        ----------
        x : array-like or pandas.DataFrame of shape (n, d)
            Numeric samples; non-numeric columns raise ``TypeError``.
        names : list of str, optional
            Node names (default: DataFrame columns or ``x0..``).

        Returns
        -------
        InterventionalData
        """
        from .._validation import as_feature_names

        arr = check_array(x, "data", ndim=2)
        if arr.shape[1] < 2:
            raise ValueError(f"data needs at least 2 columns (nodes), got {arr.shape[1]}.")
        names = list(names) if names is not None else as_feature_names(x, arr.shape[1])
        return cls(arr, np.zeros(arr.shape, dtype=bool), names)

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``d``."""
        return int(self.x.shape[1])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def append(self, x: np.ndarray, mask: np.ndarray) -> InterventionalData:
        """A new object with rows added.

        Parameters
        ----------
        x : numpy.ndarray of shape (m, d)
            Samples.
        mask : numpy.ndarray of shape (m, d), bool
            Intervention masks.

        Returns
        -------
        InterventionalData
        """
        return InterventionalData(
            np.vstack([self.x, x]), np.vstack([self.mask, mask.astype(bool)]), self.names
        )


class StructuralCausalModel:
    """Base class: additive-noise SCM ``x_j = f_j(x_pa(j)) + noise_std[j] * eps``.

    Parameters
    ----------
    adjacency : array-like of shape (d, d)
        DAG, ``adjacency[i, j] = 1`` for ``i -> j``; a cycle raises ``ValueError``.
    noise_std : float or array-like of shape (d,)
        Standard deviation of each node's Gaussian noise.
    bias : float or array-like of shape (d,)
        Constant added to each mechanism.
    names : list of str, optional
        Node names (default ``x0 .. x{d-1}``).
    value_bounds : tuple of float
        Interval of allowed intervention values; values outside raise ``ValueError``.
    """

    def __init__(
        self,
        adjacency: Any,
        noise_std: Any = 1.0,
        bias: Any = 0.0,
        names: list[str] | None = None,
        value_bounds: tuple[float, float] = (-10.0, 10.0),
    ) -> None:
        self.adjacency = check_dag(adjacency, names=names)
        d = self.adjacency.shape[0]
        self.names = list(names) if names is not None else [f"x{i}" for i in range(d)]
        if len(self.names) != d:
            raise ValueError(f"names has {len(self.names)} entries for {d} nodes.")
        self.noise_std = np.broadcast_to(check_array(noise_std, "noise_std", ndim=(0, 1)), (d,))
        if np.any(self.noise_std <= 0):
            raise ValueError("noise_std must be > 0 for every node.")
        self.bias = np.broadcast_to(check_array(bias, "bias", ndim=(0, 1)), (d,)).copy()
        self.value_bounds = check_bounds(value_bounds)
        self._order = topological_order(self.adjacency)

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``d``."""
        return int(self.adjacency.shape[0])

    def mechanism(self, x: np.ndarray, j: int) -> np.ndarray:
        """Noise-free mean of node ``j`` given the other columns of ``x``.

        Parameters
        ----------
        x : numpy.ndarray of shape (n, d)
            Samples.
        j : int
            Node index.

        Returns
        -------
        numpy.ndarray of shape (n,)
        """
        raise NotImplementedError

    def sample_designs(
        self, mask: Any, values: Any, n_per_design: int = 1, random_state: Any = None
    ) -> InterventionalData:
        """Draw samples under each design of a batch.

        Parameters
        ----------
        mask : array-like of shape (b, d)
            1 where a node is intervened on (an all-zero row is observational).
        values : array-like of shape (b, d)
            Intervention values, inside ``value_bounds``.
        n_per_design : int
            Samples per design.
        random_state : None, int or numpy.random.Generator
            Seed or generator (reproducible draws).

        Returns
        -------
        InterventionalData
            ``b * n_per_design`` rows, design by design.
        """
        m, v = check_designs(mask, values, self.n_nodes, self.value_bounds)
        k = check_positive_int(n_per_design, "n_per_design")
        rng = check_random_state(random_state)
        m = np.repeat(m, k, axis=0)
        v = np.repeat(v, k, axis=0)
        eps = rng.standard_normal(m.shape)
        x = np.zeros(m.shape)
        for j in self._order:
            free = self.mechanism(x, int(j)) + self.noise_std[j] * eps[:, j]
            x[:, j] = np.where(m[:, j], v[:, j], free)
        return InterventionalData(x, m, self.names)

    def sample(
        self,
        n_samples: int,
        interventions: dict[Any, float] | None = None,
        random_state: Any = None,
    ) -> InterventionalData:
        """Draw ``n`` samples, observationally or under ``do(X_j = v, ...)``.

        Parameters
        ----------
        n_samples : int
            Number of samples.
        interventions : dict, optional
            ``{target: value}`` with targets given by name or index.
        random_state : None, int or numpy.random.Generator
            Seed or generator (reproducible draws).

        Returns
        -------
        InterventionalData
        """
        n = check_positive_int(n_samples, "n_samples")
        mask = np.zeros((1, self.n_nodes))
        values = np.zeros((1, self.n_nodes))
        for target, value in (interventions or {}).items():
            j = resolve_target(target, self.names)
            mask[0, j] = 1.0
            values[0, j] = check_real(value, f"value of {target!r}")
        return self.sample_designs(mask, values, n, random_state)


class LinearGaussianSCM(StructuralCausalModel):
    """Linear-Gaussian SCM: ``x_j = bias_j + sum_k weights[k, j] x_k + noise``.

    Parameters
    ----------
    adjacency : array-like of shape (d, d)
        DAG.
    weights : array-like of shape (d, d)
        Edge weights (read where ``adjacency`` is 1).
    noise_std, bias, names, value_bounds
        As in :class:`StructuralCausalModel`.
    """

    def __init__(
        self,
        adjacency: Any,
        weights: Any,
        noise_std: Any = 1.0,
        bias: Any = 0.0,
        names: list[str] | None = None,
        value_bounds: tuple[float, float] = (-10.0, 10.0),
    ) -> None:
        super().__init__(adjacency, noise_std, bias, names, value_bounds)
        w = check_array(weights, "weights", ndim=2)
        if w.shape != self.adjacency.shape:
            raise ValueError(f"weights must have shape {self.adjacency.shape}, got {w.shape}.")
        self.weights = w * self.adjacency

    def mechanism(self, x: np.ndarray, j: int) -> np.ndarray:
        return self.bias[j] + x @ self.weights[:, j]


class NonlinearAdditiveSCM(StructuralCausalModel):
    """Nonlinear additive-noise SCM.

    ``x_j = bias_j + sum_{k in pa(j)} (lin[k, j] x_k + amp[k, j] tanh(scale[k, j] x_k)) + noise``.

    Parameters
    ----------
    adjacency : array-like of shape (d, d)
        DAG.
    lin, amp, scale : array-like of shape (d, d)
        Per-edge linear slope, tanh amplitude and tanh input scale.
    noise_std, bias, names, value_bounds
        As in :class:`StructuralCausalModel`.
    """

    def __init__(
        self,
        adjacency: Any,
        lin: Any,
        amp: Any,
        scale: Any,
        noise_std: Any = 1.0,
        bias: Any = 0.0,
        names: list[str] | None = None,
        value_bounds: tuple[float, float] = (-10.0, 10.0),
    ) -> None:
        super().__init__(adjacency, noise_std, bias, names, value_bounds)
        shape = self.adjacency.shape
        self.lin = check_array(lin, "lin", ndim=2) * self.adjacency
        self.amp = check_array(amp, "amp", ndim=2) * self.adjacency
        self.scale = check_array(scale, "scale", ndim=2)
        for nm, arr in (("lin", self.lin), ("amp", self.amp), ("scale", self.scale)):
            if arr.shape != shape:
                raise ValueError(f"{nm} must have shape {shape}, got {arr.shape}.")

    def mechanism(self, x: np.ndarray, j: int) -> np.ndarray:
        pa = np.flatnonzero(self.adjacency[:, j])
        if pa.size == 0:
            return np.full(x.shape[0], self.bias[j])
        xp = x[:, pa]
        return (
            self.bias[j] + xp @ self.lin[pa, j] + np.tanh(xp * self.scale[pa, j]) @ self.amp[pa, j]
        )


def random_scm(
    n_nodes: int,
    graph: str = "er",
    kind: str = "linear",
    expected_degree: float = 1.0,
    noise_std: float = 0.5,
    value_bounds: tuple[float, float] = (-10.0, 10.0),
    random_state: Any = None,
) -> StructuralCausalModel:
    """A random SCM on a random ER or scale-free DAG.

    Linear: weights with random sign and magnitude ``U(0.5, 2)``. Nonlinear:
    ``amp ~ ±U(1, 3)``, ``scale ~ U(0.5, 2)``, ``lin ~ U(-0.5, 0.5)``.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    graph : {"er", "sf"}
        A DAG adjacency.
    kind : {"linear", "nonlinear"}
        Family.
    expected_degree : float
        Expected parents per node.
    noise_std : float
        Noise standard deviation of every node.
    value_bounds : tuple of float
        Allowed intervention values.
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).

    Returns
    -------
    StructuralCausalModel
    """
    kind = check_in_options(kind, "kind", SCM_KINDS)
    rng = check_random_state(random_state)
    a = random_dag(n_nodes, graph, expected_degree, rng)
    d = a.shape[0]
    sign = rng.choice([-1.0, 1.0], size=(d, d))
    if kind == "linear":
        w = sign * rng.uniform(0.5, 2.0, size=(d, d))
        return LinearGaussianSCM(a, w, noise_std=noise_std, value_bounds=value_bounds)
    amp = sign * rng.uniform(1.0, 3.0, size=(d, d))
    scale = rng.uniform(0.5, 2.0, size=(d, d))
    lin = rng.uniform(-0.5, 0.5, size=(d, d))
    return NonlinearAdditiveSCM(a, lin, amp, scale, noise_std=noise_std, value_bounds=value_bounds)
