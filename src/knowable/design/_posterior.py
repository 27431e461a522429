"""Posteriors over structural causal models, held as weighted particles.

Each particle is an SCM ``(G_l, theta_l)``: a DAG and, for every node, an
additive-noise Gaussian mechanism whose parameters are refitted on all data seen
so far. The **interventional likelihood** drops the intervened node's
mechanism: node ``j`` is fitted and scored only on rows where ``j`` was not
intervened on.

Graph weights use the **BIC** of the per-node least-squares fits (a Laplace /
Schwarz approximation of the marginal likelihood), plus a log graph prior:

``log w(G) = sum_j [loglik_j(MLE) - (k_j / 2) log n_j] + log p(G)``

with ``k_j = 1 (intercept) + n_basis * |pa(j)| + 1 (variance)`` and ``n_j`` the
rows where ``j`` was not intervened on. For linear-Gaussian mechanisms and
observational data this score is *score-equivalent*: Markov-equivalent DAGs get
exactly the same weight, so observational data cannot orient edges that only
interventions can (the property the design tests rely on). Parameters of each
particle are the maximum-likelihood fit (the BIC point), not samples.

Two ways to choose the support:

* :class:`ExactPosterior`: every DAG on ``d <= 5`` nodes (1, 3, 25, 543, 29,281);
  the test oracle.
* :class:`BootstrapPosterior`: DAGs from a structure learner (causal-learn's PC
  or GES; extra ``knowable[design]``) run on bootstrap resamples of the
  observational rows, each (partially directed) output turned into a few random
  DAGs that keep its directed edges; the support is reweighted by the score
  above on all data (observational and interventional), as in the DAG
  bootstrap of Friedman et al. and Agrawal et al. (ABCD), and optionally grown
  by one-edge moves around the best particles after each batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import logsumexp

from .._random import check_random_state
from .._validation import check_in_options, check_positive_int, check_real
from ._graphs import enumerate_dags, find_cycle
from ._scm import InterventionalData, StructuralCausalModel
from ._search import order_search

__all__ = [
    "BASES",
    "GRAPH_PRIORS",
    "LEARNERS",
    "BootstrapPosterior",
    "ExactPosterior",
    "FittedSCM",
    "ParticlePosterior",
    "basis_features",
    "fit_particles",
    "graph_log_prior",
    "one_edge_neighbours",
    "random_extension",
]

BASES = ("linear", "additive")
GRAPH_PRIORS = ("uniform", "er")
LEARNERS = ("pc", "ges")
_MIN_VAR = 1e-6


def basis_features(x: np.ndarray, basis: str) -> np.ndarray:
    """Per-node basis expansion ``phi(x)`` used by the fitted mechanisms.

    Parameters
    ----------
    x : numpy.ndarray of shape (..., d)
        Samples.
    basis : {"linear", "additive"}
        ``"linear"``: ``[x]``; ``"additive"``: ``[x, tanh(x/2), tanh(x), tanh(2x)]``
        (a fixed additive basis, linear in its coefficients).

    Returns
    -------
    numpy.ndarray of shape (..., d, n_basis)
    """
    if basis == "linear":
        return x[..., None]
    return np.stack([x, np.tanh(0.5 * x), np.tanh(x), np.tanh(2.0 * x)], axis=-1)


def n_basis(basis: str) -> int:
    """Number of basis functions per parent."""
    return 1 if basis == "linear" else 4


def graph_log_prior(graphs: np.ndarray, prior: str, expected_degree: float = 1.0) -> np.ndarray:
    """Log prior of each graph, up to a constant.

    Parameters
    ----------
    graphs : numpy.ndarray of shape (L, d, d)
        Stack of DAG adjacencies.
    prior : {"uniform", "er"}
        ``"er"``: independent edges with probability ``p = 2e/(d-1)``, so
        ``log p(G) = |E| log(p / (1 - p))`` + const.
    expected_degree : float
        ``e`` for the ER prior.

    Returns
    -------
    numpy.ndarray of shape (L,)
    """
    prior = check_in_options(prior, "graph_prior", GRAPH_PRIORS)
    n_edges = graphs.reshape(len(graphs), -1).sum(axis=1).astype(float)
    if prior == "uniform":
        return np.zeros(len(graphs))
    d = graphs.shape[1]
    p = min(max(2.0 * expected_degree / max(d - 1, 1), 1e-6), 1 - 1e-6)
    return n_edges * np.log(p / (1.0 - p))


@dataclass
class ParticlePosterior:
    """Weighted particles ``(G_l, theta_l)`` with additive Gaussian mechanisms.

    Node ``j`` of particle ``l`` has mean
    ``bias[l, j] + sum_{k, b} coef[l, k, b, j] * phi_b(x_k)`` and standard
    deviation ``noise_std[l, j]`` (``phi`` from :func:`basis_features`).

    Attributes
    ----------
    graphs : numpy.ndarray of shape (L, d, d), int8
    log_weights : numpy.ndarray of shape (L,)
        Normalised log weights.
    coef : numpy.ndarray of shape (L, d, n_basis, d)
    bias : numpy.ndarray of shape (L, d)
    noise_std : numpy.ndarray of shape (L, d)
    basis : str
    names : list of str
    """

    graphs: np.ndarray
    log_weights: np.ndarray
    coef: np.ndarray
    bias: np.ndarray
    noise_std: np.ndarray
    basis: str
    names: list[str] = field(default_factory=list)

    @property
    def n_particles(self) -> int:
        """Number of particles ``L``."""
        return int(self.graphs.shape[0])

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``d``."""
        return int(self.graphs.shape[1])

    def weights(self) -> np.ndarray:
        """Particle weights, shape ``(L,)``, summing to 1."""
        return np.exp(self.log_weights - logsumexp(self.log_weights))

    def edge_marginals(self) -> np.ndarray:
        """Posterior probability of each edge ``i -> j``, shape ``(d, d)``."""
        return np.tensordot(self.weights(), self.graphs.astype(float), axes=1)

    def graph_entropy(self) -> float:
        """Entropy (nats) of the posterior over distinct graphs."""
        w = self.weights()
        keys = [g.tobytes() for g in self.graphs]
        totals: dict[bytes, float] = {}
        for k, wi in zip(keys, w, strict=True):
            totals[k] = totals.get(k, 0.0) + wi
        p = np.array([v for v in totals.values() if v > 0])
        return float(-(p * np.log(p)).sum())

    def map_graph(self) -> np.ndarray:
        """The highest-weight graph, shape ``(d, d)``."""
        return self.graphs[int(np.argmax(self.log_weights))].copy()

    def to_scm(
        self, index: int | None = None, value_bounds: tuple[float, float] = (-10.0, 10.0)
    ) -> FittedSCM:
        """One particle as a samplable SCM (default: the highest-weight one).

        Parameters
        ----------
        index : int, optional
            Particle index.
        value_bounds : tuple of float
            Allowed intervention values of the returned SCM.

        Returns
        -------
        FittedSCM
        """
        i = int(np.argmax(self.log_weights)) if index is None else int(index)
        return FittedSCM(
            self.graphs[i],
            self.coef[i],
            self.basis,
            noise_std=self.noise_std[i],
            bias=self.bias[i],
            names=self.names or None,
            value_bounds=value_bounds,
        )

    def pruned(self, tol: float = 1e-8, max_particles: int | None = None) -> ParticlePosterior:
        """Drop particles with weight below ``tol * max weight`` (and keep the top ones).

        Parameters
        ----------
        tol : float
            Relative weight threshold.
        max_particles : int, optional
            Keep at most this many (highest weight).

        Returns
        -------
        ParticlePosterior
        """
        lw = self.log_weights
        keep = np.flatnonzero(lw >= lw.max() + np.log(tol))
        keep = keep[np.argsort(-lw[keep], kind="stable")]
        if max_particles is not None:
            keep = keep[:max_particles]
        sub = lw[keep]
        return ParticlePosterior(
            self.graphs[keep],
            sub - logsumexp(sub),
            self.coef[keep],
            self.bias[keep],
            self.noise_std[keep],
            self.basis,
            self.names,
        )


class FittedSCM(StructuralCausalModel):
    """An SCM whose mechanisms are a particle's fitted basis expansion.

    Parameters
    ----------
    adjacency : array-like of shape (d, d)
        DAG.
    coef : numpy.ndarray of shape (d, n_basis, d)
        ``coef[k, b, j]``: weight of basis ``b`` of parent ``k`` in node ``j``.
    basis : {"linear", "additive"}
        Basis of :func:`basis_features`.
    noise_std, bias, names, value_bounds
        As in :class:`~knowable.design.StructuralCausalModel`.
    """

    def __init__(
        self,
        adjacency: Any,
        coef: np.ndarray,
        basis: str,
        noise_std: Any = 1.0,
        bias: Any = 0.0,
        names: list[str] | None = None,
        value_bounds: tuple[float, float] = (-10.0, 10.0),
    ) -> None:
        super().__init__(adjacency, noise_std, bias, names, value_bounds)
        self.basis = check_in_options(basis, "basis", BASES)
        self.coef = np.asarray(coef, dtype=float) * self.adjacency[:, None, :]

    def mechanism(self, x: np.ndarray, j: int) -> np.ndarray:
        feats = basis_features(x, self.basis)  # (n, d, nb)
        return self.bias[j] + np.einsum("nkb,kb->n", feats, self.coef[:, :, j])


def _fit_node(
    x: np.ndarray, rows: np.ndarray, j: int, parents: np.ndarray, basis: str
) -> tuple[np.ndarray, float, float, float]:
    """Least-squares fit of node ``j`` on its parents' basis features, on ``rows``."""
    nb = n_basis(basis)
    n = int(rows.sum())
    if n == 0:
        return np.zeros((len(parents), nb)), 0.0, 1.0, 0.0
    y = x[rows, j]
    if parents.size:
        feats = basis_features(x[np.ix_(rows, parents)], basis).reshape(n, -1)
        z = np.column_stack([np.ones(n), feats])
    else:
        z = np.ones((n, 1))
    # tiny ridge keeps under-determined fits (few rows) finite
    gram = z.T @ z + 1e-8 * n * np.eye(z.shape[1])
    beta = np.linalg.solve(gram, z.T @ y)
    resid = y - z @ beta
    var = max(float(resid @ resid) / n, _MIN_VAR * max(float(np.var(y)), 1.0))
    loglik = -0.5 * n * (np.log(2 * np.pi * var) + 1.0)
    k = z.shape[1] + 1
    bic = loglik - 0.5 * k * np.log(n)
    return beta[1:].reshape(len(parents), nb), float(beta[0]), float(np.sqrt(var)), float(bic)


def fit_particles(
    data: InterventionalData,
    graphs: np.ndarray,
    basis: str = "linear",
    graph_prior: str = "uniform",
    expected_degree: float = 1.0,
    cache: dict[tuple[int, bytes], tuple[np.ndarray, float, float, float]] | None = None,
) -> ParticlePosterior:
    """Refit every graph's mechanisms on ``data`` and weight graphs by BIC + prior.

    Parameters
    ----------
    data : InterventionalData
        All samples so far, with their intervention masks.
    graphs : numpy.ndarray of shape (L, d, d)
        Support of the posterior (DAGs).
    basis : {"linear", "additive"}
        Mechanism basis.
    graph_prior : {"uniform", "er"}
        Graph prior.
    expected_degree : float
        Expected parents per node (ER prior).
    cache : dict, optional
        Per-family fits ``(node, parents) -> fit`` to reuse; valid only for the
        same ``data`` and ``basis`` (filled in place).

    Returns
    -------
    ParticlePosterior
    """
    basis = check_in_options(basis, "basis", BASES)
    x, mask = data.x, data.mask
    L, d = graphs.shape[0], graphs.shape[1]
    nb = n_basis(basis)
    coef = np.zeros((L, d, nb, d))
    bias = np.zeros((L, d))
    sd = np.ones((L, d))
    score = graph_log_prior(graphs, graph_prior, expected_degree)
    if cache is None:
        cache = {}
    rows_for = [~mask[:, j] for j in range(d)]
    for l_idx in range(L):
        for j in range(d):
            pa = np.flatnonzero(graphs[l_idx, :, j])
            key = (j, pa.tobytes())
            if key not in cache:
                cache[key] = _fit_node(x, rows_for[j], j, pa, basis)
            c, b0, s, bic = cache[key]
            coef[l_idx, pa, :, j] = c
            bias[l_idx, j] = b0
            sd[l_idx, j] = s
            score[l_idx] += bic
    return ParticlePosterior(
        graphs.astype(np.int8), score - logsumexp(score), coef, bias, sd, basis, list(data.names)
    )


class _PosteriorBase:
    """Shared scikit-learn-style plumbing of the posterior estimators."""

    _param_names: tuple[str, ...] = ()
    # set by the subclasses' __init__ / fit
    basis: str
    graph_prior: str
    expected_degree: float
    support_: np.ndarray

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as in scikit-learn."""
        return {k: getattr(self, k) for k in self._param_names}

    def set_params(self, **params: Any) -> _PosteriorBase:
        """Set constructor parameters, as in scikit-learn."""
        for k, v in params.items():
            if k not in self._param_names:
                raise ValueError(f"unknown parameter {k!r}; valid: {list(self._param_names)}.")
            setattr(self, k, v)
        return self

    def update(self, data: InterventionalData) -> _PosteriorBase:
        """Refit the particles on all data (the support is kept).

        Parameters
        ----------
        data : InterventionalData
            All samples so far (observational and interventional).

        Returns
        -------
        self
        """
        if not hasattr(self, "support_"):
            raise RuntimeError("call fit(data) before update(data).")
        if data.n_nodes != self.support_.shape[1]:
            raise ValueError(
                f"data has {data.n_nodes} nodes, the posterior was fitted on "
                f"{self.support_.shape[1]}."
            )
        cache: dict[tuple[int, bytes], tuple[np.ndarray, float, float, float]] = {}
        post = fit_particles(
            data, self.support_, self.basis, self.graph_prior, self.expected_degree, cache=cache
        )
        n_nb = int(getattr(self, "n_neighbours", 0) or 0)
        n_iter = int(getattr(self, "max_search_iter", 1) or 0)
        n_orders = int(getattr(self, "n_order_starts", 0) or 0)
        if n_orders > 0:
            starts = [post.graphs[i] for i in np.argsort(-post.log_weights)[:n_orders]]
            one_edge = np.zeros((1, post.n_nodes, post.n_nodes))
            one_edge[0, 0, -1] = 1
            edge_prior = float(
                graph_log_prior(one_edge, self.graph_prior, self.expected_degree)[0]
            )  # the prior is linear in the edge count
            found = order_search(data, starts, self.basis, edge_prior, cache=cache)
            seen = {g.tobytes(): g for g in post.graphs}
            for g in found:
                seen.setdefault(g.tobytes(), g)
            post = fit_particles(
                data,
                np.stack(list(seen.values())),
                self.basis,
                self.graph_prior,
                self.expected_degree,
                cache=cache,
            )
        if n_nb > 0 and n_iter > 0:
            post = self._local_search(data, post, n_nb, n_iter, cache)
        self.posterior_ = post
        return self

    def _local_search(
        self,
        data: InterventionalData,
        post: ParticlePosterior,
        n_nb: int,
        n_iter: int,
        cache: dict[tuple[int, bytes], tuple[np.ndarray, float, float, float]],
    ) -> ParticlePosterior:
        """Grow the support by one-edge moves around the top particles until the top stops moving.

        Each pass adds every one-edge neighbour of the ``n_nb`` highest-weight
        particles, rescores everything on ``data`` and prunes; passes repeat
        (at most ``n_iter``) while the set of top particles changes, so the
        support can travel as far as the data call for in one update instead
        of one edge per update.
        """
        expanded: set[bytes] = set()
        self.search_passes_ = 0
        for _ in range(n_iter):
            top = [post.graphs[i] for i in np.argsort(-post.log_weights)[:n_nb]]
            todo = [g for g in top if g.tobytes() not in expanded]
            if not todo:
                break  # the top particles' neighbourhoods are all scored: a local optimum
            seen = {g.tobytes(): g for g in post.graphs}
            for g in todo:
                expanded.add(g.tobytes())
                for h in one_edge_neighbours(g):
                    seen.setdefault(h.tobytes(), h)
            post = fit_particles(
                data,
                np.stack(list(seen.values())),
                self.basis,
                self.graph_prior,
                self.expected_degree,
                cache=cache,
            ).pruned(1e-6, int(getattr(self, "max_support", 200)))
            self.search_passes_ += 1
        self.support_ = post.graphs.copy()
        return post


def _as_data(data: Any) -> InterventionalData:
    if isinstance(data, InterventionalData):
        return data
    return InterventionalData.observational(data)


class ExactPosterior(_PosteriorBase):
    """Posterior over *every* DAG on ``d <= 5`` nodes (BIC weights, refitted parameters).

    Parameters
    ----------
    basis : {"linear", "additive"}
        Mechanism family fitted per graph.
    graph_prior : {"uniform", "er"}
        Graph prior.
    expected_degree : float
        Expected parents per node for the ER prior.

    Attributes
    ----------
    support_ : numpy.ndarray of shape (L, d, d)
    posterior_ : ParticlePosterior
    """

    _param_names = ("basis", "graph_prior", "expected_degree")

    def __init__(
        self, basis: str = "linear", graph_prior: str = "uniform", expected_degree: float = 1.0
    ) -> None:
        self.basis = basis
        self.graph_prior = graph_prior
        self.expected_degree = expected_degree

    def fit(self, data: Any) -> ExactPosterior:
        """Enumerate all DAGs and weight them on ``data``.

        Parameters
        ----------
        data : InterventionalData or array-like of shape (n, d)
            Samples with intervention masks.

        Returns
        -------
        self
        """
        data = _as_data(data)
        if data.n_nodes > 5:
            raise ValueError(
                f"ExactPosterior enumerates all DAGs and supports at most 5 nodes, got "
                f"{data.n_nodes}; use BootstrapPosterior."
            )
        self.support_ = enumerate_dags(data.n_nodes)
        return self.update(data)  # type: ignore[return-value]


def _reach(a: np.ndarray) -> np.ndarray:
    """Transitive closure: ``r[i, j]`` True when a directed path i -> ... -> j exists."""
    r = a.astype(bool)
    for _ in range(int(np.ceil(np.log2(max(a.shape[0], 2)))) + 1):
        r = r | ((r.astype(np.int64) @ r.astype(np.int64)) > 0)
    return r


def one_edge_neighbours(graph: np.ndarray) -> list[np.ndarray]:
    """Every DAG one edge addition, deletion or reversal away from ``graph``.

    Parameters
    ----------
    graph : numpy.ndarray of shape (d, d)
        A DAG adjacency.

    Returns
    -------
    list of numpy.ndarray of shape (d, d), int8
    """
    g = (np.asarray(graph) != 0).astype(np.int8)
    d = g.shape[0]
    reach = _reach(g)
    out = []
    for i in range(d):
        for j in range(d):
            if i == j:
                continue
            if g[i, j]:
                h = g.copy()
                h[i, j] = 0
                out.append(h)  # deletion
                r = h.copy()
                if not _reach(h)[i, j]:  # no other path i ~> j: reversal stays acyclic
                    r[j, i] = 1
                    out.append(r)
            elif not g[j, i] and not reach[j, i]:
                h = g.copy()
                h[i, j] = 1
                out.append(h)  # addition
    return out


def _pdag_from_causallearn(graph: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split a causal-learn ``GeneralGraph.graph`` matrix into directed / undirected parts.

    causal-learn encodes ``i -> j`` as ``g[i, j] = -1, g[j, i] = 1`` and an
    undirected edge as ``-1, -1``; bidirected (``1, 1``) edges are treated as
    undirected.
    """
    g = np.asarray(graph)
    directed = ((g == -1) & (g.T == 1)).astype(np.int8)
    undirected = (((g == -1) & (g.T == -1)) | ((g == 1) & (g.T == 1))).astype(np.int8)
    np.fill_diagonal(undirected, 0)
    return directed, np.triu(undirected | undirected.T)


def random_extension(
    directed: np.ndarray, undirected: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A random DAG keeping the directed edges and orienting the undirected ones.

    Undirected edges follow a random topological order of the directed part
    (random tie-breaking). Directed edges that close a cycle (conflicting
    orientations from a learner) are dropped and their pair treated as
    undirected. The result need not lie in the learner's Markov equivalence
    class (new v-structures are allowed); it is a DAG consistent with every
    kept orientation.

    Parameters
    ----------
    directed : numpy.ndarray of shape (d, d)
        Directed edges (``[i, j] = 1`` for ``i -> j``).
    undirected : numpy.ndarray of shape (d, d)
        Upper-triangular marks of undirected pairs.
    rng : numpy.random.Generator
        Random stream.

    Returns
    -------
    numpy.ndarray of shape (d, d), int8
    """
    dirc = directed.astype(np.int8).copy()
    und = (undirected | undirected.T).astype(np.int8)
    while (cycle := find_cycle(dirc)) is not None:
        i, j = cycle[0], cycle[1]
        dirc[i, j] = 0
        und[i, j] = und[j, i] = 1
    d = dirc.shape[0]
    indeg = dirc.sum(axis=0).astype(int)
    ready: list[int] = [int(v) for v in np.flatnonzero(indeg == 0)]
    rank = np.zeros(d, dtype=int)
    pos = 0
    while ready:
        node = int(ready.pop(int(rng.integers(len(ready)))))
        rank[node] = pos
        pos += 1
        for c in np.flatnonzero(dirc[node]):
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(int(c))
    out = dirc.copy()
    ii, jj = np.nonzero(np.triu(und))
    for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
        if dirc[i, j] or dirc[j, i]:
            continue
        if rank[i] < rank[j]:
            out[i, j] = 1
        else:
            out[j, i] = 1
    return out


def _run_learner(x: np.ndarray, learner: str, alpha: float) -> np.ndarray:
    try:
        if learner == "pc":
            from causallearn.search.ConstraintBased.PC import pc
        else:
            from causallearn.search.ScoreBased.GES import ges
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "BootstrapPosterior needs causal-learn; install the extra: pip install 'knowable[design]'."
        ) from exc
    import io
    from contextlib import redirect_stdout

    with redirect_stdout(io.StringIO()):  # causal-learn prints progress
        if learner == "pc":
            return np.asarray(pc(x, alpha, "fisherz", show_progress=False).G.graph)
        return np.asarray(ges(x, score_func="local_score_BIC")["G"].graph)


class BootstrapPosterior(_PosteriorBase):
    """DAG-bootstrap posterior from a structure learner, reweighted on all data.

    Parameters
    ----------
    learner : {"pc", "ges"}
        causal-learn's PC (Fisher-z tests at level ``alpha``) or GES (BIC score).
    n_bootstrap : int
        Bootstrap resamples of the observational rows.
    n_extensions : int
        Random DAGs drawn from each learned (partially directed) graph.
    alpha : float
        Significance level of PC's independence tests.
    basis : {"linear", "additive"}
        Mechanism basis.
    graph_prior : {"uniform", "er"}
        Graph prior; the ER sparsity prior is the default here because with the
        local search a uniform prior lets spurious edges (fitted to single
        high-leverage interventional rows) accumulate over rounds.
    expected_degree : float
        Expected parents per node (ER prior).
    n_neighbours : int
        At every fit/update, add every one-edge neighbour (addition, deletion,
        reversal; acyclic) of the ``n_neighbours`` highest-weight particles to the
        support, rescore on all data, and drop particles below 1e-6 of the top
        weight (a local search on the interventional score that lets the support
        move past the learner's output; 0 keeps the bootstrap support fixed).
    max_search_iter : int
        Passes of that local search per fit/update: passes repeat while the top
        ``n_neighbours`` particles change (a hill climb on the interventional
        score, stopped at a local optimum or after this many passes). 1 moves the
        support by at most one edge per update, so the posterior's error falls
        by at most about one edge per round whatever the interventions were.
    n_order_starts : int
        At every fit/update, before the one-edge search, hill-climb over
        topological orders (:func:`knowable.design.order_search`) from the
        orders of the ``n_order_starts`` highest-weight particles and add the
        DAGs found (0: no order search). One-edge moves alone stall on wrongly
        oriented v-structures that interventional data have already refuted.
    max_support : int
        Cap on the support size after pruning.
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).

    Attributes
    ----------
    support_ : numpy.ndarray of shape (L, d, d)
        Current support (distinct DAGs).
    posterior_ : ParticlePosterior
    """

    _param_names = (
        "learner",
        "n_bootstrap",
        "n_extensions",
        "alpha",
        "basis",
        "graph_prior",
        "expected_degree",
        "n_neighbours",
        "max_search_iter",
        "n_order_starts",
        "max_support",
        "random_state",
    )

    def __init__(
        self,
        learner: str = "pc",
        n_bootstrap: int = 20,
        n_extensions: int = 4,
        alpha: float = 0.05,
        basis: str = "linear",
        graph_prior: str = "er",
        expected_degree: float = 1.0,
        n_neighbours: int = 3,
        max_search_iter: int = 50,
        n_order_starts: int = 3,
        max_support: int = 200,
        random_state: Any = None,
    ) -> None:
        self.learner = learner
        self.n_bootstrap = n_bootstrap
        self.n_extensions = n_extensions
        self.alpha = alpha
        self.basis = basis
        self.graph_prior = graph_prior
        self.expected_degree = expected_degree
        self.n_neighbours = n_neighbours
        self.max_search_iter = max_search_iter
        self.n_order_starts = n_order_starts
        self.max_support = max_support
        self.random_state = random_state

    def fit(self, data: Any) -> BootstrapPosterior:
        """Learn the support from bootstrap resamples, then weight it on ``data``.

        Parameters
        ----------
        data : InterventionalData or array-like of shape (n, d)
            Only its observational rows (all-False mask) feed the learner.

        Returns
        -------
        self
        """
        data = _as_data(data)
        check_in_options(self.learner, "learner", LEARNERS)
        check_in_options(self.basis, "basis", BASES)
        nboot = check_positive_int(self.n_bootstrap, "n_bootstrap")
        next_ = check_positive_int(self.n_extensions, "n_extensions")
        alpha = check_real(self.alpha, "alpha", low=0.0, high=1.0, low_inclusive=False)
        rng = check_random_state(self.random_state)
        obs = data.x[~data.mask.any(axis=1)]
        if len(obs) < 5:
            raise ValueError(
                f"BootstrapPosterior needs at least 5 observational rows, got {len(obs)}."
            )
        seen: dict[bytes, np.ndarray] = {}
        for _ in range(nboot):
            idx = rng.integers(0, len(obs), size=len(obs))
            directed, undirected = _pdag_from_causallearn(
                _run_learner(obs[idx], self.learner, alpha)
            )
            for _ in range(next_):
                g = random_extension(directed, undirected, rng)
                seen.setdefault(g.tobytes(), g)
        self.support_ = np.stack(list(seen.values()))
        return self.update(data)  # type: ignore[return-value]
