"""Hyper-parameters of the on-policy trainer and the named presets.

``vsop`` follows the VSOP authors' MuJoCo settings; ``ppo`` is CleanRL's
continuous-action PPO (the standard baseline, without dropout or spectral
normalisation); the ablations switch one VSOP ingredient off at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["PRESETS", "OnPolicyConfig", "preset"]


@dataclass(frozen=True)
class OnPolicyConfig:
    """Settings of one PPO-family run (see ``docs/rl.md`` for each one's role).

    The policy loss is PPO's clipped surrogate when ``ratio_clip`` is set, VSOP's
    ``-mean(ReLU(A) log pi)`` when ``positive_advantages`` is True, and
    ``-mean(A log pi)`` otherwise.
    """

    positive_advantages: bool = True
    ratio_clip: float | None = None
    normalize_advantages: bool = False
    clip_value_loss: bool = False
    spectral_norm: bool = True
    dropout: float = 0.025
    thompson: bool = True
    learning_rate: float = 2e-4
    anneal_lr: bool = True
    num_envs: int = 1
    num_steps: int = 2048
    gamma: float = 0.99
    gae_lambda: float = 0.61
    num_minibatches: int = 32
    update_epochs: int = 9
    max_grad_norm: float = 7.14
    ent_coef: float = 0.0
    vf_coef: float = 1.0
    hidden_size: int = 256
    depth: int = 2
    activation: str = "relu"
    weight_decay_examples: float = 2048.0
    normalize_observations: bool = True
    normalize_rewards: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}.")
        for name in ("num_envs", "num_steps", "num_minibatches", "update_epochs", "hidden_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            raise ValueError(
                "num_envs * num_steps must be divisible by num_minibatches, got "
                f"{self.num_envs} * {self.num_steps} and {self.num_minibatches}."
            )
        if not (0 < self.gamma <= 1 and 0 <= self.gae_lambda <= 1):
            raise ValueError("gamma must lie in (0, 1] and gae_lambda in [0, 1].")
        if not (self.learning_rate > 0 and self.max_grad_norm > 0):
            raise ValueError("learning_rate and max_grad_norm must be > 0.")
        if self.ratio_clip is not None and not self.ratio_clip > 0:
            raise ValueError(f"ratio_clip must be > 0 or None, got {self.ratio_clip}.")


_VSOP = OnPolicyConfig()
PRESETS: dict[str, OnPolicyConfig] = {
    "vsop": _VSOP,
    "vsop-no-relu": replace(_VSOP, positive_advantages=False),
    "vsop-no-spectral": replace(_VSOP, spectral_norm=False),
    "vsop-no-dropout": replace(_VSOP, dropout=0.0, thompson=False),
    "ppo": OnPolicyConfig(
        positive_advantages=False,
        ratio_clip=0.2,
        normalize_advantages=True,
        clip_value_loss=True,
        spectral_norm=False,
        dropout=0.0,
        thompson=False,
        learning_rate=3e-4,
        gae_lambda=0.95,
        num_minibatches=32,
        update_epochs=10,
        max_grad_norm=0.5,
        vf_coef=0.5,
        hidden_size=64,
        activation="tanh",
        weight_decay_examples=math.inf,
    ),
}


def preset(name: str, **overrides: object) -> OnPolicyConfig:
    """A named configuration, optionally with some fields replaced.

    Parameters
    ----------
    name : str
        One of ``PRESETS``: ``vsop``, ``ppo``, ``vsop-no-relu``, ``vsop-no-spectral``,
        ``vsop-no-dropout``.
    **overrides
        Fields of :class:`OnPolicyConfig` to change.

    Returns
    -------
    OnPolicyConfig
    """
    if name not in PRESETS:
        raise ValueError(f"algorithm must be one of {sorted(PRESETS)}, got {name!r}.")
    unknown = set(overrides) - set(OnPolicyConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown OnPolicyConfig field(s): {sorted(unknown)}.")
    return replace(PRESETS[name], **overrides)  # type: ignore[arg-type]
