"""On-policy reinforcement learning with VSOP's positive advantages and dropout Thompson sampling.

``train_agent`` runs VSOP (Jesson et al., ICML 2024), PPO or an ablation on a
Gymnasium task with a continuous action space; ``ImpalaCNN``, ``ImpalaCNN3D`` and
``FrameStack`` are the networks and the frame stack of the ProcGen 3D paper. Environments
need the optional extra ``knowable[rl]`` (gymnasium + mujoco); the networks and
losses need only torch.
"""

from ._agent import ActorCritic
from ._config import PRESETS, OnPolicyConfig, preset
from ._framestack import FrameStack
from ._impala import ImpalaActorCritic, ImpalaCNN, ImpalaCNN3D
from ._losses import (
    clipped_surrogate_loss,
    dropout_weight_decay,
    plain_advantage_loss,
    positive_advantage_loss,
    value_loss,
)
from ._procgen import ProcgenRun, train_procgen
from ._trainer import TrainingRun, gae, load_run, train_agent

__all__ = [
    "PRESETS",
    "ActorCritic",
    "FrameStack",
    "ImpalaActorCritic",
    "ImpalaCNN",
    "ImpalaCNN3D",
    "OnPolicyConfig",
    "ProcgenRun",
    "TrainingRun",
    "clipped_surrogate_loss",
    "dropout_weight_decay",
    "gae",
    "load_run",
    "plain_advantage_loss",
    "positive_advantage_loss",
    "preset",
    "train_agent",
    "train_procgen",
    "value_loss",
]
