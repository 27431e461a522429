"""Intervention design: value search per target and batch strategies.

Strategies (registered in :data:`DESIGN_STRATEGIES`):

* ``"random"``: target uniform over the allowed nodes, value uniform in the bounds;
* ``"greedy"``: CBED's greedy batch: per-target value search, then pick the
  (target, value) whose *joint* EIG with the picks so far is largest, keeping the
  joint log-likelihoods of the picks per outer sample (as BatchBALD), with fresh
  outcome samples for every slot;
* ``"soft"``: soft top-k (softCBED): single-design EIG on the (target x value) grid,
  then ``b`` pairs drawn without replacement with ``p ∝ exp(EIG / T)``
  (Gumbel-top-k, :func:`knowable.acquire.gumbel_top_k`);
* ``"differentiable"``: DiffCBED: ``b`` designs with relaxed ``k``-hot target
  masks (Gumbel-softmax relaxed top-k, straight-through hard masks) and values
  ``lo + (hi - lo) * sigmoid(raw)``, optimised jointly by Adam on the batch EIG;
  returns the best hard batch seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from .._random import check_random_state, torch_generator
from .._validation import check_in_options, check_positive_int, check_real
from ..acquire import gumbel_top_k
from ._eig import ParticleTensors, eig_from_loglik, loglik_matrix, outer_particles, simulate
from ._posterior import ParticlePosterior
from ._scm import check_bounds

__all__ = [
    "DESIGN_STRATEGIES",
    "DesignBatch",
    "DesignStrategy",
    "design_batch",
    "value_search",
]


@dataclass(frozen=True)
class DesignBatch:
    """A batch of intervention designs.

    Attributes
    ----------
    mask : numpy.ndarray of shape (b, d), bool
        Targets of each design.
    values : numpy.ndarray of shape (b, d)
        Values (0 where not intervened).
    scores : numpy.ndarray of shape (b,)
        Greedy: joint EIG after each pick; soft: single-design EIG; differentiable:
        the batch EIG (repeated); random: NaN.
    strategy : str
    info : dict
    """

    mask: np.ndarray
    values: np.ndarray
    scores: np.ndarray
    strategy: str
    info: dict[str, Any] = field(default_factory=dict)

    def targets(self) -> list[list[int]]:
        """Intervened node indices per design."""
        return [np.flatnonzero(r).tolist() for r in self.mask]


class _Ctx:
    """Tensors and random streams shared by one strategy call."""

    def __init__(
        self,
        posterior: ParticlePosterior,
        n_samples: int,
        n_outer: int | None,
        rng: np.random.Generator,
    ) -> None:
        # inner particles: those within 1e-4 of the top weight, at most 64 (the rest change
        # the inner mixture by < 1e-4 relative each)
        self.post = posterior.pruned(1e-4, 64)
        self.pt = ParticleTensors.from_posterior(self.post)
        self.rng = rng
        self.oidx, ow = outer_particles(self.post, n_outer, rng)
        self.ow = torch.as_tensor(ow)
        self.outer = self.pt.subset(self.oidx)
        self.oi = torch.as_tensor(self.oidx, dtype=torch.long)
        self.S = n_samples
        self.d = self.post.n_nodes

    def eps(self, n_designs: int) -> torch.Tensor:
        return torch.as_tensor(
            self.rng.standard_normal((n_designs, len(self.oidx), self.S, self.d))
        )

    def loglik(self, mask: torch.Tensor, values: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """(B, K, O, S) log-likelihoods of fresh samples under each design."""
        return loglik_matrix(self.pt, simulate(self.outer, mask, values, eps), mask)

    def single_eig(self, mask: np.ndarray, values: np.ndarray, chunk: int = 16) -> np.ndarray:
        out = []
        with torch.no_grad():
            for s in range(0, len(mask), chunk):
                m = torch.as_tensor(mask[s : s + chunk], dtype=torch.float64)
                v = torch.as_tensor(values[s : s + chunk], dtype=torch.float64)
                lp = self.loglik(m, v, self._crn[s : s + chunk])
                out.append(eig_from_loglik(lp, self.oi, self.pt.log_weights, self.ow).numpy())
        return np.concatenate(out)

    def mean_joint_eig(self, mask: np.ndarray, values: np.ndarray, draws: list) -> float:
        """Joint EIG of one batch ``(B, d)``, averaged over the given noise draws."""
        m, v = torch.as_tensor(mask), torch.as_tensor(values)
        with torch.no_grad():
            joint = [
                eig_from_loglik(self.loglik(m, v, e).sum(0), self.oi, self.pt.log_weights, self.ow)
                for e in draws
            ]
        return float(np.mean([float(j) for j in joint]))

    def set_crn(self, n: int) -> None:
        """Common random numbers for ``n`` single designs (smooth EIG in the value)."""
        base = self.eps(1)
        self._crn = base.expand(n, *base.shape[1:])


def _one_hot_designs(
    targets: np.ndarray, vals: np.ndarray, d: int
) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((len(targets), d))
    mask[np.arange(len(targets)), targets] = 1.0
    values = np.zeros((len(targets), d))
    values[np.arange(len(targets)), targets] = vals
    return mask, values


def value_search(
    posterior: ParticlePosterior,
    bounds: tuple[float, float] = (-10.0, 10.0),
    targets: Any = None,
    n_values: int = 5,
    refine_iter: int = 0,
    n_samples: int = 8,
    n_outer: int | None = 32,
    random_state: Any = None,
    _ctx: _Ctx | None = None,
) -> dict[str, np.ndarray]:
    """Best single-intervention value per target: grid, then optional bounded refinement.

    The EIG is evaluated with common random numbers, so it is a smooth function
    of the value; the refinement is scipy's bounded Brent search
    (``minimize_scalar(method="bounded")``) inside the grid cells around the best
    grid value.

    Parameters
    ----------
    posterior : ParticlePosterior
        Posterior over SCMs.
    bounds : tuple of float
        Allowed values.
    targets : array-like of int, optional
        Nodes that may be intervened on (default: all).
    n_values : int
        Grid size over ``bounds`` (``>= 2``).
    refine_iter : int
        Brent iterations per target (0: grid only).
    n_samples, n_outer : int
        Monte Carlo sizes (see :func:`knowable.design.eig`).
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).

    Returns
    -------
    dict
        ``targets`` (T,), ``grid`` (V,), ``grid_eig`` (T, V), ``best_value`` (T,),
        ``best_eig`` (T,).
    """
    lo, hi = check_bounds(bounds, "bounds")
    nv = check_positive_int(n_values, "n_values", minimum=2)
    ctx = _ctx or _Ctx(posterior, n_samples, n_outer, check_random_state(random_state))
    d = ctx.d
    tg = np.arange(d) if targets is None else np.asarray(targets, dtype=np.int64)
    grid = np.linspace(lo, hi, nv)
    tt = np.repeat(tg, nv)
    vv = np.tile(grid, len(tg))
    ctx.set_crn(len(tt))
    grid_eig = ctx.single_eig(*_one_hot_designs(tt, vv, d)).reshape(len(tg), nv)
    best_i = grid_eig.argmax(axis=1)
    best_v = grid[best_i].copy()
    best_e = grid_eig[np.arange(len(tg)), best_i].copy()
    if refine_iter > 0:
        ctx.set_crn(1)
        for t_idx, j in enumerate(tg):
            a = grid[max(best_i[t_idx] - 1, 0)]
            b = grid[min(best_i[t_idx] + 1, nv - 1)]

            def neg(v: float, j: int = int(j)) -> float:
                m, val = _one_hot_designs(np.array([j]), np.array([v]), d)
                return -float(ctx.single_eig(m, val)[0])

            res = minimize_scalar(
                neg, bounds=(a, b), method="bounded", options={"maxiter": refine_iter}
            )
            if -res.fun > best_e[t_idx]:
                best_v[t_idx], best_e[t_idx] = float(res.x), float(-res.fun)
    return {
        "targets": tg,
        "grid": grid,
        "grid_eig": grid_eig,
        "best_value": best_v,
        "best_eig": best_e,
    }


def _random(posterior, batch_size, bounds, targets, rng, **_: Any) -> DesignBatch:
    d = posterior.n_nodes
    tg = np.arange(d) if targets is None else np.asarray(targets)
    t = rng.choice(tg, size=batch_size)
    v = rng.uniform(bounds[0], bounds[1], size=batch_size)
    mask, values = _one_hot_designs(t, v, d)
    return DesignBatch(mask.astype(bool), values, np.full(batch_size, np.nan), "random")


def _greedy(
    posterior,
    batch_size,
    bounds,
    targets,
    rng,
    n_values: int = 5,
    refine_iter: int = 0,
    n_samples: int = 8,
    n_outer: int | None = 32,
    **_: Any,
) -> DesignBatch:
    ctx = _Ctx(posterior, n_samples, n_outer, rng)
    vs = value_search(posterior, bounds, targets, n_values, refine_iter, _ctx=ctx)
    cmask, cvals = _one_hot_designs(vs["targets"], vs["best_value"], ctx.d)
    cm = torch.as_tensor(cmask)
    cv = torch.as_tensor(cvals)
    acc = torch.zeros(len(ctx.pt.log_weights), len(ctx.oidx), ctx.S, dtype=torch.float64)
    picks, scores = [], []
    with torch.no_grad():
        for _slot in range(batch_size):
            lp = ctx.loglik(cm, cv, ctx.eps(len(cm)))  # (C, K, O, S), fresh samples per slot
            joint = eig_from_loglik(acc[None] + lp, ctx.oi, ctx.pt.log_weights, ctx.ow)
            pick = int(torch.argmax(joint))
            picks.append(pick)
            scores.append(float(joint[pick]))
            acc = acc + lp[pick]
    p = np.asarray(picks)
    return DesignBatch(
        cmask[p].astype(bool),
        cvals[p],
        np.asarray(scores),
        "greedy",
        {"single_eig": vs["best_eig"], "best_value": vs["best_value"]},
    )


def _soft(
    posterior,
    batch_size,
    bounds,
    targets,
    rng,
    n_values: int = 5,
    refine_iter: int = 0,
    temperature: float = 0.2,
    n_samples: int = 8,
    n_outer: int | None = 32,
    **_: Any,
) -> DesignBatch:
    temp = check_real(temperature, "temperature", low=0.0, low_inclusive=False)
    ctx = _Ctx(posterior, n_samples, n_outer, rng)
    vs = value_search(posterior, bounds, targets, n_values, refine_iter, _ctx=ctx)
    tg, grid = vs["targets"], vs["grid"]
    cand_t = np.concatenate([np.repeat(tg, len(grid)), tg])
    cand_v = np.concatenate([np.tile(grid, len(tg)), vs["best_value"]])
    cand_e = np.concatenate([vs["grid_eig"].ravel(), vs["best_eig"]])
    log_w = cand_e / temp
    if batch_size <= len(cand_e):
        idx = gumbel_top_k(log_w, batch_size, rng)
    else:  # too few candidates: sample with replacement
        p = np.exp(log_w - log_w.max())
        idx = rng.choice(len(cand_e), size=batch_size, p=p / p.sum())
    mask, values = _one_hot_designs(cand_t[idx], cand_v[idx], ctx.d)
    return DesignBatch(mask.astype(bool), values, cand_e[idx], "soft", {"temperature": temp})


def relaxed_top_k(
    logits: torch.Tensor, k: int, temperature: float, generator: torch.Generator
) -> torch.Tensor:
    """Straight-through relaxed top-k mask (Gumbel noise + k successive softmaxes).

    Xie & Ermon (2019) as used by DiffCBED: the forward value is the hard
    ``k``-hot mask of the perturbed logits, the gradient that of the relaxed
    mask.

    Parameters
    ----------
    logits : torch.Tensor of shape (B, d)
        Unnormalised target logits.
    k : int
        Number of targets per design.
    temperature : float
        Relaxation temperature.
    generator : torch.Generator
        Torch random stream (Gumbel noise).

    Returns
    -------
    torch.Tensor of shape (B, d)
        Exactly ``k`` ones per row in the forward pass.
    """
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).clamp(1e-12, 1 - 1e-12)
    perturbed = logits - torch.log(-torch.log(u))
    scores = perturbed
    khot = torch.zeros_like(scores)
    onehot = torch.zeros_like(scores)
    for _ in range(k):
        scores = scores + torch.log((1 - onehot).clamp_min(1e-20))
        onehot = torch.softmax(scores / temperature, dim=-1)
        khot = khot + onehot
    hard = torch.zeros_like(scores)
    hard.scatter_(-1, torch.topk(perturbed.detach(), k, dim=-1).indices, 1.0)
    return hard + (khot - khot.detach())  # exactly hard forward, relaxed gradient


def _differentiable(
    posterior,
    batch_size,
    bounds,
    targets,
    rng,
    n_targets: int = 1,
    n_steps: int = 40,
    lr: float = 0.5,
    temperature: tuple[float, float] = (5.0, 0.5),
    n_samples: int = 4,
    n_outer: int | None = 32,
    n_rescore: int = 0,
    rescore_draws: int = 4,
    warm_start: int = 0,
    **_: Any,
) -> DesignBatch:
    k = check_positive_int(n_targets, "n_targets")
    steps = check_positive_int(n_steps, "n_steps")
    keep = check_positive_int(n_rescore, "n_rescore", minimum=0)
    warm = check_positive_int(warm_start, "warm_start", minimum=0)
    if warm == 1:
        raise ValueError("warm_start must be 0 (off) or a grid of at least 2 values.")
    draws = check_positive_int(rescore_draws, "rescore_draws")
    ctx = _Ctx(posterior, n_samples, n_outer, rng)
    d = ctx.d
    lo, hi = bounds
    allowed = torch.full((d,), -1e4, dtype=torch.float64)
    allowed[np.arange(d) if targets is None else np.asarray(targets)] = 0.0
    if k > int((allowed == 0).sum()):
        raise ValueError(f"n_targets={k} exceeds the number of allowed targets.")
    gen = torch_generator(int(rng.integers(0, 2**62)))
    start_logits = np.zeros((batch_size, d))
    start_raw = rng.normal(0.0, 1.0, size=(batch_size, d))
    if warm:
        # start from the single-design value search on a `warm_start`-point grid: target
        # logits EIG / 0.2 (the soft strategy's temperature) and each target's best value
        vs = value_search(posterior, bounds, targets, warm, 0, _ctx=ctx)
        start_logits[:, vs["targets"]] = vs["best_eig"] / 0.2
        share = np.clip((vs["best_value"] - lo) / (hi - lo), 0.02, 0.98)
        start_raw = 0.5 * start_raw
        start_raw[:, vs["targets"]] += np.log(share / (1 - share))
    logits = torch.as_tensor(start_logits, dtype=torch.float64).requires_grad_(True)
    raw = torch.as_tensor(start_raw, dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.Adam([logits, raw], lr=lr)
    t0, t1 = temperature
    seen: list[tuple[float, np.ndarray, np.ndarray]] = []  # the best hard batches, by score
    for step in range(steps):
        tau = t0 * (t1 / t0) ** (step / max(steps - 1, 1))
        mask = relaxed_top_k(logits + allowed, k, tau, gen)
        values = lo + (hi - lo) * torch.sigmoid(raw)
        lp = ctx.loglik(mask, values, ctx.eps(batch_size)).sum(0)
        joint = eig_from_loglik(lp, ctx.oi, ctx.pt.log_weights, ctx.ow)
        score = float(joint.detach())
        if np.isfinite(score) and (len(seen) < max(keep, 1) or score > seen[-1][0]):
            seen.append((score, mask.detach().numpy().copy(), values.detach().numpy().copy()))
            seen = sorted(seen, key=lambda item: -item[0])[: max(keep, 1)]
        opt.zero_grad()
        (-joint).backward()
        opt.step()
    if not seen:
        raise ValueError("the relaxed design search gave no finite score (NaN information gain).")
    if keep > 1:
        # each step's score is one noisy draw, so the best-scoring batch is partly the luckiest;
        # the kept batches are scored again on fresh common random numbers
        shared = [ctx.eps(batch_size) for _ in range(draws)]
        again = [ctx.mean_joint_eig(m, v, shared) for _, m, v in seen]
        i = int(np.argmax(again))
        seen = [(float(again[i]), seen[i][1], seen[i][2])]
    score, m_best, v = seen[0]
    m = m_best > 0.5
    return DesignBatch(
        m,
        np.where(m, v, 0.0),
        np.full(batch_size, score),
        "differentiable",
        {"n_steps": steps, "n_rescore": keep, "warm_start": warm},
    )


@dataclass(frozen=True)
class DesignStrategy:
    """One registered design strategy.

    Attributes
    ----------
    name : str
    function : callable
        ``f(posterior, batch_size, bounds, targets, rng, **params) -> DesignBatch``.
    description : str
    needs : tuple of str
        What the strategy reads besides the posterior (``"eig"``: it runs the
        information-gain estimator; ``"gradients"``: it differentiates through it).
    """

    name: str
    function: Callable[..., DesignBatch]
    description: str
    needs: tuple[str, ...] = ()


DESIGN_STRATEGIES: dict[str, DesignStrategy] = {
    s.name: s
    for s in (
        DesignStrategy("random", _random, "random target, value uniform in the bounds"),
        DesignStrategy(
            "greedy", _greedy, "CBED greedy joint-EIG batch over per-target best values", ("eig",)
        ),
        DesignStrategy(
            "soft",
            _soft,
            "soft top-k: sample ∝ exp(EIG/T) over the (target x value) grid",
            ("eig",),
        ),
        DesignStrategy(
            "differentiable",
            _differentiable,
            "DiffCBED: relaxed top-k target masks (straight-through), bounded values, Adam",
            ("eig", "gradients"),
        ),
    )
}


def design_batch(
    posterior: ParticlePosterior,
    strategy: str,
    batch_size: int,
    bounds: tuple[float, float] = (-10.0, 10.0),
    targets: Any = None,
    random_state: Any = None,
    **params: Any,
) -> DesignBatch:
    """Choose a batch of interventions with a registered strategy.

    Parameters
    ----------
    posterior : ParticlePosterior
        Current posterior over SCMs.
    strategy : str
        A key of :data:`DESIGN_STRATEGIES`.
    batch_size : int
        Number of designs ``b`` (each is one sample).
    bounds : tuple of float
        Allowed intervention values.
    targets : array-like of int, optional
        Nodes that may be intervened on (default all).
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).
    **params
        Strategy options (``n_values``, ``refine_iter``, ``temperature``,
        ``n_samples``, ``n_outer``, ``n_steps``, ``lr``, ``n_targets``, and for
        ``"differentiable"`` ``n_rescore``: score the best that many batches of
        the search again on fresh common random numbers, and ``warm_start``: start
        from a single-design value search on that many values, both default 0).

    Returns
    -------
    DesignBatch
    """
    strategy = check_in_options(strategy, "strategy", list(DESIGN_STRATEGIES))
    b = check_positive_int(batch_size, "batch_size")
    bounds = check_bounds(bounds, "bounds")
    if not isinstance(posterior, ParticlePosterior):
        raise TypeError(
            f"posterior must be a ParticlePosterior (e.g. estimator.posterior_), got "
            f"{type(posterior).__name__}."
        )
    if targets is not None:
        targets = np.asarray(targets, dtype=np.int64)
        if targets.size == 0 or targets.min() < 0 or targets.max() >= posterior.n_nodes:
            raise ValueError(f"targets must be node indices in [0, {posterior.n_nodes - 1}].")
    rng = check_random_state(random_state)
    return DESIGN_STRATEGIES[strategy].function(posterior, b, bounds, targets, rng, **params)
