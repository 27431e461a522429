"""Policy and value losses of the PPO family, VSOP's among them.

Small pure functions so that each can be checked against its formula.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = [
    "clipped_surrogate_loss",
    "dropout_weight_decay",
    "plain_advantage_loss",
    "positive_advantage_loss",
    "value_loss",
]


def positive_advantage_loss(log_prob: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """VSOP's policy loss ``-mean(ReLU(A) * log pi(a | s))``.

    No importance ratio, no clipping and no advantage normalisation: units with a
    negative advantage contribute neither to the loss nor to its gradient.

    Parameters
    ----------
    log_prob : torch.Tensor, shape (n,)
        ``log pi(a_i | s_i)`` under the current policy (differentiable).
    advantages : torch.Tensor, shape (n,)
        Advantage estimates (treated as constants).

    Returns
    -------
    torch.Tensor, shape ()
        The loss.
    """
    return -(F.relu(advantages.detach()) * log_prob).mean()


def plain_advantage_loss(log_prob: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """The "no ReLU" ablation of VSOP: ``-mean(A * log pi(a | s))``.

    Parameters
    ----------
    log_prob : torch.Tensor, shape (n,)
        Log-probabilities under the current policy.
    advantages : torch.Tensor, shape (n,)
        Advantage estimates.

    Returns
    -------
    torch.Tensor, shape ()
        The loss.
    """
    return -(advantages.detach() * log_prob).mean()


def clipped_surrogate_loss(
    log_prob: torch.Tensor,
    old_log_prob: torch.Tensor,
    advantages: torch.Tensor,
    clip: float,
    normalize: bool = True,
) -> torch.Tensor:
    """PPO's clipped surrogate ``-mean(min(r A, clip(r, 1-c, 1+c) A))``.

    Parameters
    ----------
    log_prob, old_log_prob : torch.Tensor, shape (n,)
        Log-probabilities under the current and the behaviour policy.
    advantages : torch.Tensor, shape (n,)
        Advantage estimates.
    clip : float
        Clipping coefficient ``c`` > 0.
    normalize : bool
        Standardise the advantages within the minibatch first (PPO's default).

    Returns
    -------
    torch.Tensor, shape ()
        The loss.
    """
    adv = advantages.detach()
    if normalize and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    ratio = torch.exp(log_prob - old_log_prob.detach())
    unclipped = ratio * adv
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv
    return -torch.min(unclipped, clipped).mean()


def value_loss(
    values: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor | None = None,
    clip: float | None = None,
) -> torch.Tensor:
    """Half mean squared error of the critic, optionally PPO-clipped.

    Parameters
    ----------
    values : torch.Tensor, shape (n,)
        Current critic outputs.
    returns : torch.Tensor, shape (n,)
        Regression targets (GAE returns).
    old_values : torch.Tensor, shape (n,), optional
        Critic outputs at rollout time; needed when ``clip`` is given.
    clip : float, optional
        Clip the change of the value around ``old_values`` (PPO's clipped value loss).

    Returns
    -------
    torch.Tensor, shape ()
        The loss.
    """
    target = returns.detach()
    unclipped = (values - target) ** 2
    if clip is None:
        return 0.5 * unclipped.mean()
    if old_values is None:
        raise ValueError("a clipped value loss needs old_values.")
    old = old_values.detach()
    clipped = (old + torch.clamp(values - old, -clip, clip) - target) ** 2
    return 0.5 * torch.max(unclipped, clipped).mean()


def dropout_weight_decay(dropout: float, n_examples: float) -> float:
    """AdamW weight decay tied to dropout, ``(1 - p) / (2 N)``, as VSOP sets it.

    This is the L2 term of the Gaussian prior in the dropout-as-variational-inference
    reading (Gal & Ghahramani), with a prior length-scale of 1 and ``N`` examples.

    Parameters
    ----------
    dropout : float
        Drop probability ``p`` in [0, 1).
    n_examples : float
        ``N`` > 0 (2048 for VSOP on MuJoCo); ``inf`` gives 0 (plain Adam).

    Returns
    -------
    float
        The weight-decay coefficient.
    """
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must lie in [0, 1), got {dropout}.")
    if not n_examples > 0:
        raise ValueError(f"n_examples must be > 0, got {n_examples}.")
    return (1.0 - dropout) / (2.0 * n_examples)
