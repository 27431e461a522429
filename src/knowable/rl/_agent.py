"""Actor-critic networks for continuous actions, with VSOP's Bayesian touches.

Both towers reuse :class:`knowable.models.MLP` (soft spectral normalisation and
seeded dropout); with ``dropout > 0`` every forward pass in training mode draws
one dropout mask shared by the whole batch, so acting in training mode is
Thompson sampling from the MC-dropout posterior over policies.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from knowable.models import MLP, SpectralLinear, attach_generator, set_shared_dropout

__all__ = ["ActorCritic", "orthogonal_init"]


def orthogonal_init(layer: nn.Linear, gain: float, generator: torch.Generator) -> None:
    """Orthogonal weights with ``gain`` and zero bias, drawn from ``generator``.

    Parameters
    ----------
    layer : torch.nn.Linear
        The layer to initialise in place.
    gain : float
        Scale of the orthogonal matrix.
    generator : torch.Generator
        Source of randomness (the global RNG is never used).
    """
    nn.init.orthogonal_(layer.weight, gain, generator=generator)
    nn.init.zeros_(layer.bias)
    if isinstance(layer, SpectralLinear):
        layer.reset_power_iteration(generator)


class ActorCritic(nn.Module):
    """Gaussian policy and state-value critic with separate MLP towers.

    Parameters
    ----------
    obs_dim : int
        Observation width.
    act_dim : int
        Action width.
    hidden_size : int
        Width of each hidden layer.
    depth : int
        Hidden layers per tower.
    dropout : float
        Drop probability after every hidden activation (0: none).
    spectral_norm : bool
        Cap every hidden layer's spectral norm at 1 (soft spectral normalisation).
    activation : str
        Hidden activation.
    generator : torch.Generator
        Source of the initial weights and of every dropout mask.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        hidden_size: int,
        depth: int,
        dropout: float,
        spectral_norm: bool,
        activation: str,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        coeff = 1.0 if spectral_norm else None
        self.critic_body = MLP(obs_dim, hidden_size, depth, activation, dropout, coeff)
        self.actor_body = MLP(obs_dim, hidden_size, depth, activation, dropout, coeff)
        self.critic_head = nn.Linear(hidden_size, 1)
        self.actor_head = nn.Linear(hidden_size, act_dim)
        self.actor_logstd = nn.Parameter(torch.zeros(1, act_dim))
        for body in (self.critic_body, self.actor_body):
            for sub in body.modules():
                if isinstance(sub, nn.Linear):
                    orthogonal_init(sub, math.sqrt(2.0), generator)
        orthogonal_init(self.critic_head, 1.0, generator)
        orthogonal_init(self.actor_head, 0.01, generator)
        set_shared_dropout(self, True)
        attach_generator(self, generator)
        self.generator = generator

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """State values, shape ``(n,)``, of observations ``(n, obs_dim)``."""
        return self.critic_head(self.critic_body(obs)).squeeze(-1)

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Normal:
        """The Gaussian policy at observations ``(n, obs_dim)`` (independent per action)."""
        mean = self.actor_head(self.actor_body(obs))
        return torch.distributions.Normal(mean, torch.exp(self.actor_logstd).expand_as(mean))

    def act(
        self, obs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample actions (or take the mean) and their log-probabilities.

        Parameters
        ----------
        obs : torch.Tensor, shape (n, obs_dim)
            Observations.
        deterministic : bool
            Return the policy mean instead of a sample.

        Returns
        -------
        actions : torch.Tensor, shape (n, act_dim)
        log_prob : torch.Tensor, shape (n,)
        """
        dist = self.distribution(obs)
        if deterministic:
            action = dist.mean
        else:
            noise = torch.randn(dist.mean.shape, generator=self.generator, device=obs.device)
            action = dist.mean + dist.stddev * noise
        return action, dist.log_prob(action).sum(-1)

    def evaluate(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Log-probabilities ``(n,)``, entropies ``(n,)`` and values ``(n,)`` of given actions."""
        dist = self.distribution(obs)
        return dist.log_prob(actions).sum(-1), dist.entropy().sum(-1), self.value(obs)
