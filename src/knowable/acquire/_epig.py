"""EPIG: expected predictive information gain about labels at target inputs.

``EPIG(x) = E_{x*} I[y; y* | x, x*]`` (Bickford Smith et al., AISTATS 2023), for
classification. With consistent draws ``p[k, n, c]`` at the pool and
``q[k, t, d]`` at target inputs, the joint predictive is
``p(y=c, y*=d) = 1/K sum_k p[k, n, c] q[k, t, d]`` and
``I = sum_{c,d} p(c, d) log p(c, d) / (p(c) p(d))``; EPIG averages over targets.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .._validation import check_positive_int
from ..models._observation import Categorical
from ..models._posterior import Posterior
from ._inputs import DEFAULT_CHUNK, check_posterior

__all__ = ["epig"]

_ELEMENT_BUDGET = 2**22


def epig(pool: Posterior, target: Posterior, *, chunk_size: int = DEFAULT_CHUNK) -> np.ndarray:
    """EPIG scores of the pool inputs with respect to target inputs.

    Parameters
    ----------
    pool : Posterior
        Probability draws ``(K, n, C)`` over the pool (``Categorical``).
    target : Posterior
        Probability draws ``(K, t, C)`` at target inputs, from the *same* ``K``
        model draws (one ``posterior`` call on pool and targets together, or
        the same fixed dropout masks).
    chunk_size : int
        Upper bound on pool inputs per chunk.

    Returns
    -------
    numpy.ndarray of shape (n,)
        EPIG in nats, >= 0.
    """
    pool = check_posterior(pool, "pool", observation=(Categorical,), purpose="EPIG")
    target = check_posterior(target, "target", observation=(Categorical,), purpose="EPIG")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    if pool.n_draws != target.n_draws:
        raise ValueError(
            f"pool and target need the same draws; got S = {pool.n_draws} and {target.n_draws}."
        )
    q = target.draws.astype(np.float64)  # (K, t, D)
    K, t, D = q.shape
    C = pool.n_outputs
    q_marg = q.mean(0)  # (t, D)
    step = max(1, min(chunk_size, _ELEMENT_BUDGET // max(1, t * C * D)))
    out = np.empty(pool.n_inputs)
    for start in range(0, pool.n_inputs, step):
        p = pool.draws[:, start : start + step].astype(np.float64)  # (K, nc, C)
        joint = np.einsum("knc,ktd->ntcd", p, q, optimize=True) / K
        indep = p.mean(0)[:, None, :, None] * q_marg[None, :, None, :]
        mi = (special.xlogy(joint, joint) - special.xlogy(joint, indep)).sum((-1, -2))
        out[start : start + p.shape[1]] = np.maximum(mi.mean(1), 0.0)
    return out
