"""Real interventional data shipped with the package, and pool-based design on it.

* :func:`load_dream4`: a DREAM4 in-silico size-10 network: observational rows
  (multifactorial steady states and time-series points, an approximation: the
  time series start from perturbed states), a pool of 20 single-gene
  interventions (10 knockouts, 10 knockdowns, hard interventions at the measured
  level) and the gold-standard graph.
* :func:`load_sachs`: Sachs et al. (2005), log(x + 10): observational cells
  (general stimulation only) and a pool of cells under seven reagents mapped to
  target proteins (see ``knowable/data/files/sachs/PROVENANCE.md``), and the
  20-edge consensus graph.

With real data the values of an intervention are those of the experiment, so
design picks *which* pool experiments to reveal: :func:`run_pool_design` scores
unseen pool rows by the nested-MC information gain (random, greedy joint EIG, or
soft top-k) and reveals them batch by batch.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._random import check_random_state, spawn_seeds
from .._validation import check_in_options, check_positive_int
from ..acquire import gumbel_top_k
from ..data._files import read_bytes
from ._eig import ParticleTensors, eig_from_loglik, loglik_matrix, outer_particles, simulate
from ._loop import DesignHistory
from ._metrics import edge_auprc, edge_auroc, expected_orientation_f1, expected_shd
from ._scm import InterventionalData

__all__ = ["POOL_STRATEGIES", "RealDesignData", "load_dream4", "load_sachs", "run_pool_design"]

POOL_STRATEGIES = ("random", "greedy", "soft")
SACHS_TARGETS = {
    "aktinhib": "akt",
    "g0076": "pkc",
    "psitect": "pip2",
    "u0126": "mek",
    "ly": "pip3",
    "pma": "pkc",
    "b2camp": "pka",
}


@dataclass
class RealDesignData:
    """Observational rows, a pool of interventional rows and the known graph.

    Attributes
    ----------
    observational : InterventionalData
    pool : InterventionalData
        Interventional rows (masks mark the targets).
    truth : numpy.ndarray of shape (d, d)
        Known graph, ``truth[i, j] = 1`` for ``i -> j``.
    name : str
    """

    observational: InterventionalData
    pool: InterventionalData
    truth: np.ndarray
    name: str


def _tsv(name: str) -> pd.DataFrame:
    # the files differ in layout (a Time column or not, leading spaces, CRLF line ends)
    frame = pd.read_csv(io.BytesIO(read_bytes("dream4", name)), sep="\t", skipinitialspace=True)
    frame.columns = [str(c).strip().strip('"') for c in frame.columns]
    return frame.drop(columns=[c for c in frame.columns if c.lower() == "time"])


def load_dream4(network: int = 1) -> RealDesignData:
    """DREAM4 in-silico size-10 network ``network`` (1-5).

    Parameters
    ----------
    network : int
        Which of the five networks.

    Returns
    -------
    RealDesignData
        115 observational rows (10 multifactorial + 105 time-series points),
        a pool of 20 interventions (knockouts then knockdowns), 10 genes.
    """
    if isinstance(network, bool) or network not in (1, 2, 3, 4, 5):
        raise ValueError(f"network must be 1, 2, 3, 4 or 5, got {network!r}.")
    stem = f"insilico_size10_{network}"
    multi = _tsv(f"{stem}_multifactorial.tsv")
    names = [str(c) for c in multi.columns]
    ts = _tsv(f"{stem}_timeseries.tsv").dropna()
    obs = np.vstack([multi.to_numpy(float), ts[names].to_numpy(float)])
    rows, masks = [], []
    for kind in ("knockouts", "knockdowns"):
        x = _tsv(f"{stem}_{kind}.tsv")[names].to_numpy(float)
        rows.append(x)
        masks.append(np.eye(len(names), dtype=bool))
    gold = pd.read_csv(
        io.BytesIO(read_bytes("dream4", f"{stem}_goldstandard.tsv")), sep="\t", header=None
    )
    truth = np.zeros((len(names), len(names)), dtype=np.int8)
    for a, b, e in gold.itertuples(index=False):
        if int(e) == 1:
            truth[names.index(a), names.index(b)] = 1
    return RealDesignData(
        InterventionalData(obs, np.zeros(obs.shape, dtype=bool), names),
        InterventionalData(np.vstack(rows), np.vstack(masks), names),
        truth,
        f"dream4-10-{network}",
    )


def load_sachs() -> RealDesignData:
    """Sachs et al. (2005) flow cytometry, log(x + 10), with intervention targets.

    Returns
    -------
    RealDesignData
        11 proteins; observational cells (no targeted reagent) and a pool of
        cells under the seven targeted reagents.
    """
    raw = read_bytes("sachs", "sachs.2005.logxplus10.jittered.experimental.continuous.txt.gz")
    frame = pd.read_csv(io.BytesIO(raw), sep="\t")
    names = ["raf", "mek", "plc", "pip2", "pip3", "erk", "akt", "pka", "pkc", "p38", "jnk"]
    x = frame[names].to_numpy(float)
    mask = np.zeros(x.shape, dtype=bool)
    for reagent, target in SACHS_TARGETS.items():
        mask[:, names.index(target)] |= frame[reagent].to_numpy(float) > 0.5  # jittered 0/1
    text = read_bytes("sachs", "sachs.2005.ground.truth.graph.txt").decode()
    truth = np.zeros((len(names), len(names)), dtype=np.int8)
    for line in text.splitlines():
        if "-->" in line:
            a, b = (s.strip() for s in line.split(".", 1)[1].split("-->"))
            truth[names.index(a), names.index(b)] = 1
    obs = ~mask.any(axis=1)
    return RealDesignData(
        InterventionalData(x[obs], mask[obs], names),
        InterventionalData(x[~obs], mask[~obs], names),
        truth,
        "sachs",
    )


def _pool_loglik(pt, outer, mask, values, rng, n_samples):
    """(C, K, O, S) log-likelihoods of fresh outcome draws for each candidate row."""
    shape = (mask.shape[0], outer.bias.shape[0], n_samples, mask.shape[1])
    eps = torch.as_tensor(rng.standard_normal(shape))
    return loglik_matrix(pt, simulate(outer, mask, values, eps), mask)


def run_pool_design(
    real: RealDesignData,
    estimator: Any,
    strategy: str = "greedy",
    batch_size: int = 5,
    n_rounds: int = 4,
    max_candidates: int = 200,
    n_samples: int = 8,
    n_outer: int | None = 32,
    temperature: float = 0.2,
    random_state: Any = None,
) -> DesignHistory:
    """Reveal pool experiments batch by batch, chosen by information gain.

    Parameters
    ----------
    real : RealDesignData
        Observational data, interventional pool and known graph.
    estimator : ExactPosterior or BootstrapPosterior
        Fitted on the observational rows here (or updated if already fitted).
    strategy : {"random", "greedy", "soft"}
        ``greedy``: joint EIG over the candidates as in
        :func:`knowable.design.design_batch`; ``soft``: Gumbel-top-k of EIG / T.
    batch_size : int
        Pool rows revealed per round.
    n_rounds : int
        Rounds (stops early when the pool is exhausted).
    max_candidates : int
        Unseen pool rows scored per round (a random subset when more remain).
    n_samples, n_outer : int
        Monte Carlo sizes of the EIG.
    temperature : float
        Soft top-k temperature.
    random_state : None, int or numpy.random.Generator
        Seed or generator (reproducible draws).

    Returns
    -------
    DesignHistory
        Metrics per round: expected SHD, edge AUROC/AUPRC, expected F1, graph
        entropy, and the design seconds.
    """
    strategy = check_in_options(strategy, "strategy", POOL_STRATEGIES)
    b = check_positive_int(batch_size, "batch_size")
    rng = np.random.default_rng(spawn_seeds(check_random_state(random_state), 1)[0])
    data = real.observational
    if hasattr(estimator, "support_"):
        estimator.update(data)
    else:
        estimator.fit(data)
    hist = DesignHistory(strategy)
    unseen = np.arange(len(real.pool))

    def record(r: int, secs: float) -> None:
        p = estimator.posterior_
        hist.metrics.append(
            {
                "round": r,
                "n_samples": len(data),
                "expected_shd": expected_shd(p, real.truth),
                "edge_auroc": edge_auroc(p, real.truth),
                "edge_auprc": edge_auprc(p, real.truth),
                "expected_f1": expected_orientation_f1(p, real.truth),
                "graph_entropy": p.graph_entropy(),
                "design_seconds": secs,
            }
        )

    record(0, 0.0)
    for r in range(1, n_rounds + 1):
        if unseen.size == 0:
            break
        t0 = time.perf_counter()
        cand = (
            unseen if unseen.size <= max_candidates else rng.choice(unseen, max_candidates, False)
        )
        k = min(b, cand.size)
        if strategy == "random":
            pick = rng.choice(cand, size=k, replace=False)
        else:
            post = estimator.posterior_.pruned(1e-4, 64)
            pt = ParticleTensors.from_posterior(post)
            oidx, ow = outer_particles(post, n_outer, rng)
            outer, oi, owt = pt.subset(oidx), torch.as_tensor(oidx), torch.as_tensor(ow)
            m = torch.as_tensor(real.pool.mask[cand], dtype=torch.float64)
            v = torch.as_tensor(np.where(real.pool.mask[cand], real.pool.x[cand], 0.0))

            with torch.no_grad():
                if strategy == "soft":
                    e = eig_from_loglik(
                        _pool_loglik(pt, outer, m, v, rng, n_samples), oi, pt.log_weights, owt
                    ).numpy()
                    pick = cand[gumbel_top_k(e / temperature, k, rng)]
                else:
                    acc = torch.zeros(
                        len(pt.log_weights), len(oidx), n_samples, dtype=torch.float64
                    )
                    chosen: list[int] = []
                    for _ in range(k):
                        lp = _pool_loglik(pt, outer, m, v, rng, n_samples)
                        joint = eig_from_loglik(acc[None] + lp, oi, pt.log_weights, owt)
                        joint[chosen] = -torch.inf  # a pool row can be revealed once
                        c = int(torch.argmax(joint))
                        chosen.append(c)
                        acc = acc + lp[c]
                    pick = cand[np.asarray(chosen)]
        secs = time.perf_counter() - t0
        data = data.append(real.pool.x[pick], real.pool.mask[pick])
        unseen = np.setdiff1d(unseen, pick)
        estimator.update(data)
        record(r, secs)
        hist.designs.append({"pool_rows": pick.tolist()})
    return hist
