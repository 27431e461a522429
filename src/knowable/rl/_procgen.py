"""A short VSOP run on a ProcGen game with the 2D or 3D IMPALA network.

ProcGen comes from the ``procgen2`` wheel (a gym3 vector environment), which pins
``numpy<2``; it is installed with ``--no-deps`` beside the small packages of the
``knowable[procgen]`` extra (see ``docs/rl.md``). This loop is for smoke runs and
throughput measurements on a CPU, not for reproducing the paper's 25M-step runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from knowable._random import torch_generator

from ._framestack import FrameStack
from ._impala import ImpalaActorCritic, ImpalaCNN, ImpalaCNN3D
from ._losses import dropout_weight_decay, positive_advantage_loss, value_loss
from ._trainer import gae

__all__ = ["ProcgenRun", "train_procgen"]


@dataclass
class ProcgenRun:
    """Result of :func:`train_procgen`.

    Attributes
    ----------
    model : ImpalaActorCritic
        The trained network.
    steps : int
        Environment steps taken (all environments together).
    episode_returns : list of float
        Returns of the episodes that finished during training.
    samples_per_second : float
        Environment steps per wall-clock second, rollouts and updates included.
    """

    model: ImpalaActorCritic
    steps: int
    episode_returns: list[float]
    samples_per_second: float


def _require_procgen() -> Any:
    try:
        from procgen import ProcgenGym3Env
    except ImportError as exc:
        raise ImportError(
            "ProcGen needs the procgen2 wheel: pip install 'knowable[procgen]' and "
            "pip install --no-deps procgen2==0.10.7 gym3==0.3.3 gym==0.26.2 gym-notices "
            "(see docs/rl.md)."
        ) from exc
    return ProcgenGym3Env


def train_procgen(
    env_name: str = "coinrun",
    network: str = "3d",
    total_steps: int = 2048,
    num_envs: int = 8,
    num_steps: int = 64,
    frames: int = 4,
    width: int = 1,
    dropout: float = 0.075,
    learning_rate: float = 2e-4,
    num_minibatches: int = 4,
    seed: int = 0,
) -> ProcgenRun:
    """Train a VSOP agent (positive advantages, Thompson dropout) on one ProcGen game.

    Parameters
    ----------
    env_name : str
        ProcGen game, e.g. ``coinrun``.
    network : {"3d", "2d"}
        ``3d``: Conv3d IMPALA over ``frames`` stacked frames; ``2d``: the IMPALA baseline.
    total_steps : int
        Environment steps over all environments (whole rollouts, at least one).
    num_envs, num_steps : int
        Rollout shape (the paper: 64 x 256).
    frames : int
        Frames per stack for the 3D network (the paper: 8 or 16).
    width : int
        Channel multiplier (the paper: 2 for 3D).
    dropout : float
        Drop probability (the paper: 0.075).
    learning_rate : float
        Adam(W) learning rate (constant).
    num_minibatches : int
        Minibatches per (single) epoch.
    seed : int
        Seeds the levels, weights, dropout masks, actions and minibatch order.

    Returns
    -------
    ProcgenRun
    """
    if network not in ("2d", "3d"):
        raise ValueError(f"network must be '2d' or '3d', got {network!r}.")
    env_cls = _require_procgen()
    env = env_cls(
        num=num_envs,
        env_name=env_name,
        distribution_mode="easy",
        num_levels=200,
        start_level=0,
        rand_seed=int(seed),
    )
    gen = torch_generator(seed)
    with torch.random.fork_rng(devices=[]):
        encoder = ImpalaCNN3D(3, 64, width) if network == "3d" else ImpalaCNN(3, 64, width)
        model = ImpalaActorCritic(encoder, 15, 256 * width, dropout, gen)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=learning_rate, weight_decay=dropout_weight_decay(dropout, 16_384)
    )
    stack = FrameStack(frames if network == "3d" else 1)
    order_rng = np.random.default_rng(seed)
    _, obs, _ = env.observe()
    state = stack.reset(obs["rgb"])
    running = np.zeros(num_envs)
    finished: list[float] = []
    steps, start = 0, time.perf_counter()
    for _ in range(max(1, total_steps // (num_envs * num_steps))):
        model.train()
        buf_obs, buf_act, buf_rew, buf_done = [], [], [], []
        for _ in range(num_steps):
            x = torch.as_tensor(state if network == "3d" else state[:, 0])
            with torch.no_grad():
                logits, _ = model(x)
            gumbel = -torch.log(-torch.log(torch.rand(logits.shape, generator=gen)))
            action = torch.argmax(logits + gumbel, dim=-1)
            env.act(action.numpy())
            reward, obs, first = env.observe()
            buf_obs.append(x)
            buf_act.append(action)
            buf_rew.append(torch.as_tensor(reward, dtype=torch.float32))
            buf_done.append(torch.as_tensor(first, dtype=torch.float32))
            running += reward
            finished += running[first].tolist()
            running[first] = 0.0
            state = stack.step(obs["rgb"], first)
            steps += num_envs
        obs_t = torch.cat(buf_obs)
        act_t = torch.cat(buf_act)
        with torch.no_grad():
            x = torch.as_tensor(state if network == "3d" else state[:, 0])
            values = model(torch.cat([obs_t, x]))[1]
        values, next_value = values[:-num_envs].reshape(num_steps, num_envs), values[-num_envs:]
        rewards = torch.stack(buf_rew)
        # "first" flags the step *after* an episode ended: shift them to the dones GAE wants.
        ended = torch.stack(buf_done)
        dones = torch.cat([torch.zeros(1, num_envs), ended[:-1]])
        adv, ret = gae(rewards, values, dones, next_value, ended[-1], 0.999, 0.881)
        perm = torch.as_tensor(order_rng.permutation(obs_t.shape[0]))
        for idx in perm.chunk(num_minibatches):
            logits, value = model(obs_t[idx])
            logp = torch.log_softmax(logits, -1).gather(1, act_t[idx, None]).squeeze(1)
            loss = positive_advantage_loss(logp, adv.reshape(-1)[idx]) + 0.5 * value_loss(
                value, ret.reshape(-1)[idx]
            )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
    return ProcgenRun(model, steps, finished, steps / (time.perf_counter() - start))
