"""TARNet and DragonNet with epistemic uncertainty (ensemble, MC dropout or DUE).

DragonNet is a TARNet subclass that overrides the head, the DUE module and the loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import torch
from torch import nn

from .._persistence import register_persistable
from ._base import CATEEstimator
from ._modules import DragonDeepKernel, DragonHead, targeted_term

__all__ = ["DragonNet", "TARNet"]

_PARAMS_DOC = """
    Parameters
    ----------
    uncertainty : str
        A name from :func:`~knowable.models.uncertainty_methods`: ``due``, ``ensemble``,
        ``dropout``, ``laplace`` or a registered method.
        Default ``"due"`` (the most accurate on IHDP in our benchmark).
        ``n_members`` independently initialised networks (deep ensemble; each
        member also early-stops on its own validation split), MC dropout with
        ``n_draws`` masks shared across units, DUE: a spectral-normalised
        residual extractor ``phi`` and an inducing-point GP on
        ``[phi(x), t]`` whose joint draws of ``f(x, 0), f(x, 1)`` keep their
        covariance, or a last-layer Laplace approximation (``knowable[laplace]``).
    n_members : int
        Ensemble size (``uncertainty="ensemble"``).
    gp_members : int, optional
        DUE only: independently initialised and trained deep-kernel models
        (each from its own seed and validation split), mixed with equal weights.
        Their mixture adds the spread between the fitted representations to each
        model's GP variance (law of total variance, the members' spread taken
        with divisor K), which a single DUE model leaves out. The ``n_draws``
        draws are shared among the members as evenly as they divide (34/33/33
        for 100 and 3), so draw-based summaries weight the members by their
        share while the exact moments weight them equally. The cost grows with
        the number of members. Default 3 (with ``hidden_size=100`` and
        ``batch_size=256``, chosen together on a tuning benchmark; see the
        CATE benchmark page); ``gp_members=1, hidden_size=200, batch_size=64``
        is the single DUE model of earlier versions.
    n_draws : int
        Epistemic draws for MC dropout, DUE and Laplace (networks or GP functions).
    extractor : {"mlp", "resnet"}, optional
        Representation network; default ``"resnet"`` for DUE, ``"mlp"`` otherwise.
    hidden_size : int, optional
        Width of the shared representation; default 100 for DUE, 200 otherwise.
    depth : int
        Number of layers of the shared representation.
    arm_hidden_size, arm_depth : int
        Width and number of layers of each arm's outcome sub-network
        (ensemble and MC dropout; DUE reads both arms from one GP).
    activation : str
        ``"elu"`` (default), ``"relu"``, ``"leaky_relu"``, ``"tanh"`` or ``"gelu"``.
    dropout : float, optional
        Dropout rate; default 0.1 for MC dropout and 0 otherwise.
    spectral_coeff : float, optional
        Soft spectral-norm bound; default 0.95 for DUE, none otherwise.
    heteroscedastic : bool
        Outcome noise scale predicted per unit (True) or learned per arm (False, default).
    propensity_weight : float
        Weight of the propensity cross-entropy in the loss.
    targeted_weight : float
        DragonNet only: weight ``beta`` of the targeted regularisation.
    n_inducing : int
        DUE inducing points.
    kernel : {"rbf", "matern32", "matern52"}
        DUE kernel (default Matern-3/2, as in the DUE causal experiments).
    lengthscale_factor : float
        DUE only, > 0: multiplies the GP's initial length-scale, which is measured
        on the data (the mean pairwise distance of the initial features ``phi(x)``
        of up to 1,000 training units), and with it ``t_scale``, the fixed distance
        between the two treatment arms in the GP input ``[phi(x), t_scale * t]``
        (the initial length-scale times this factor). Larger values start the GP
        smoother and the arms further apart, so they share less. Default 1.0.
    max_epochs, batch_size, learning_rate, weight_decay, patience, validation_fraction, min_steps_per_epoch
        Training loop (Adam with early stopping on a validation split). The
        learning rate defaults to 1e-3 (ensemble, dropout) or 5e-3 (DUE), the
        minibatch size to 64 (ensemble, dropout) or 256 (DUE).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda[:i]"``.
    random_state : int, numpy.random.Generator or None
        Seed; the same integer gives bit-identical fits on CPU.
    verbose : bool
        Show a progress bar while fitting.
    n_samples : int, optional
        Deprecated name of ``n_draws`` (a FutureWarning; removed in the next release).

    Attributes
    ----------
    members_ : list of torch.nn.Module
        The fitted networks.
    history_ : list of TrainingHistory
        Per-network losses and the kept epoch.
    y_mean_, y_scale_ : float
        Standardisation of the outcome.
"""


@register_persistable
class TARNet(CATEEstimator):
    __doc__ = (
        """Treatment-agnostic representation network (Shalit et al. 2017) with uncertainty.

    A shared representation ``phi(x)`` feeds one outcome sub-network per arm;
    each is trained on its factual units only. A propensity head is trained on
    ``phi(x)`` with the gradient stopped, so it never changes the
    representation (it serves :meth:`propensity` and overlap-based deferral).
"""
        + _PARAMS_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from knowable.effects import TARNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); t = rng.integers(0, 2, 200)
    >>> y = X[:, 0] + t * (1 + X[:, 1]) + 0.1 * rng.normal(size=200)
    >>> est = TARNet("ensemble", n_members=2, max_epochs=5, random_state=0).fit(X, t, y)
    >>> est.effect_samples(X[:4]).shape
    (2, 4)
"""
    )


@register_persistable
class DragonNet(TARNet):
    __doc__ = (
        """DragonNet (Shi, Blei & Veitch 2019) with uncertainty.

    Like :class:`TARNet`, but the propensity head is trained jointly with the
    representation and the loss adds the targeted regularisation
    ``targeted_weight * mean((y - Q(x, t) - epsilon * h)^2)`` with
    ``h = t / g - (1 - t) / (1 - g)`` and a *trainable* scalar ``epsilon``
    (not a constant). :meth:`effect` reports the unperturbed ``Q(x,1) - Q(x,0)``.
"""
        + _PARAMS_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from knowable.effects import DragonNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); t = rng.integers(0, 2, 200)
    >>> y = X[:, 0] + t * (1 + X[:, 1]) + 0.1 * rng.normal(size=200)
    >>> est = DragonNet("ensemble", n_members=2, max_epochs=5, random_state=0).fit(X, t, y)
    >>> est.propensity(X[:4]).shape
    (4,)
"""
    )

    # TARNet with three pieces swapped: the head and the DUE module (propensity trained
    # jointly, a trainable epsilon) and the loss (plus the targeted term)
    _head_type = DragonHead
    _deep_kernel_type = DragonDeepKernel

    def _total_loss(
        self,
        outcome_loss: torch.Tensor,
        q_factual: torch.Tensor,
        logit: torch.Tensor,
        batch: Mapping[str, torch.Tensor],
        head: nn.Module,
    ) -> torch.Tensor:
        loss = super()._total_loss(outcome_loss, q_factual, logit, batch, head)
        weight = self.resolved_params_["targeted_weight"]
        if weight > 0:
            eps = cast(torch.Tensor, head.epsilon)
            loss = loss + weight * targeted_term(q_factual, logit, batch["t"], batch["y"], eps)
        return loss
