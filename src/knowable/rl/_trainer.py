"""The on-policy trainer: rollouts, GAE, minibatch updates, logs and checkpoints."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from knowable._progress import progress_bar
from knowable._random import torch_generator
from knowable._version import __version__

from ._agent import ActorCritic
from ._config import OnPolicyConfig
from ._envs import make_vector_env, require_gymnasium
from ._losses import (
    clipped_surrogate_loss,
    dropout_weight_decay,
    plain_advantage_loss,
    positive_advantage_loss,
    value_loss,
)

__all__ = ["TrainingRun", "gae", "load_run", "train_agent"]

_OBS_CLIP = 10.0
_REWARD_CLIP = 10.0


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    dones: torch.Tensor,
    next_value: torch.Tensor,
    next_done: torch.Tensor,
    gamma: float,
    lam: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimates and returns.

    Parameters
    ----------
    rewards, values, dones : torch.Tensor, shape (T, E)
        Rewards, critic values and "episode ended before this step" flags.
    next_value, next_done : torch.Tensor, shape (E,)
        Value and done flag of the observation after the last step.
    gamma, lam : float
        Discount and GAE lambda.

    Returns
    -------
    advantages, returns : torch.Tensor, shape (T, E)
    """
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(next_value)
    for t in reversed(range(steps)):
        if t == steps - 1:
            nonterminal, following = 1.0 - next_done, next_value
        else:
            nonterminal, following = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * following * nonterminal - values[t]
        last = delta + gamma * lam * nonterminal * last
        advantages[t] = last
    return advantages, advantages + values


@dataclass
class TrainingRun:
    """A trained agent with its settings, logs and observation statistics.

    Attributes
    ----------
    agent : ActorCritic
        The trained networks.
    env_id : str
        Environment it was trained on.
    config : OnPolicyConfig
        Hyper-parameters.
    seed : int
        Seed of the run.
    episodes : pandas.DataFrame
        One row per finished training episode: ``step``, ``return``, ``length``.
    updates : pandas.DataFrame
        One row per update: ``step``, ``learning_rate``, ``policy_loss``, ``value_loss``,
        ``entropy``, ``approx_kl``, ``seconds``.
    obs_mean, obs_var : numpy.ndarray, shape (obs_dim,)
        Running observation statistics (identity when not normalised).
    """

    agent: ActorCritic
    env_id: str
    config: OnPolicyConfig
    seed: int
    episodes: pd.DataFrame
    updates: pd.DataFrame
    obs_mean: np.ndarray
    obs_var: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def normalise(self, obs: np.ndarray) -> np.ndarray:
        """Observations ``(n, obs_dim)`` normalised and clipped as in training."""
        if not self.config.normalize_observations:
            return obs
        return np.clip((obs - self.obs_mean) / np.sqrt(self.obs_var + 1e-8), -_OBS_CLIP, _OBS_CLIP)

    def evaluate(
        self, episodes: int = 10, seed: int = 10_000, thompson: bool = False
    ) -> np.ndarray:
        """Undiscounted returns of ``episodes`` evaluation episodes.

        Parameters
        ----------
        episodes : int
            Number of episodes (>= 1).
        seed : int
            Seed of the first evaluation episode (episode k uses ``seed + k``).
        thompson : bool
            Act with a freshly sampled dropout sub-network (training mode) instead of
            the mean network and the mean action.

        Returns
        -------
        numpy.ndarray, shape (episodes,)
        """
        if episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {episodes}.")
        gym = require_gymnasium()
        env = gym.make(self.env_id)
        self.agent.train(thompson)
        returns = np.zeros(episodes)
        try:
            for k in range(episodes):
                obs, _ = env.reset(seed=seed + k)
                done = False
                while not done:
                    x = torch.as_tensor(self.normalise(obs[None]), dtype=torch.float32)
                    with torch.no_grad():
                        action, _ = self.agent.act(x, deterministic=not thompson)
                    obs, reward, terminated, truncated, _ = env.step(action[0].numpy())
                    returns[k] += float(reward)
                    done = bool(terminated or truncated)
        finally:
            env.close()
        return returns

    def save(self, path: str | Path) -> Path:
        """Write ``weights.safetensors`` and ``config.json`` (never pickle) into folder ``path``."""
        from safetensors.torch import save_file

        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.agent.state_dict().items()}
        tensors["obs_mean"] = torch.as_tensor(self.obs_mean, dtype=torch.float64)
        tensors["obs_var"] = torch.as_tensor(self.obs_var, dtype=torch.float64)
        save_file(tensors, str(folder / "weights.safetensors"))
        config = {
            "kind": "knowable.rl.TrainingRun",
            "knowable_version": __version__,
            "env_id": self.env_id,
            "seed": self.seed,
            "config": asdict(self.config),
            "meta": self.meta,
        }
        (folder / "config.json").write_text(json.dumps(config, indent=2, default=float))
        self.episodes.to_csv(folder / "episodes.csv", index=False)
        self.updates.to_csv(folder / "updates.csv", index=False)
        return folder


def load_run(path: str | Path) -> TrainingRun:
    """Load a :meth:`TrainingRun.save` folder, checking every tensor's name and shape.

    Parameters
    ----------
    path : str or Path
        The folder.

    Returns
    -------
    TrainingRun
    """
    from safetensors.torch import load_file

    folder = Path(path)
    try:
        config = json.loads((folder / "config.json").read_text())
        tensors = load_file(str(folder / "weights.safetensors"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{folder} is not a saved knowable.rl run: {exc}") from None
    if not isinstance(config, dict) or config.get("kind") != "knowable.rl.TrainingRun":
        raise ValueError(f"{folder / 'config.json'} is not a knowable.rl run config.")
    cfg = OnPolicyConfig(**config["config"])
    meta = config.get("meta", {})
    agent = _build_agent(int(meta["obs_dim"]), int(meta["act_dim"]), cfg, int(config["seed"]))
    state = agent.state_dict()
    missing = sorted(set(state) - set(tensors))
    if missing:
        raise ValueError(f"{folder / 'weights.safetensors'} lacks tensors {missing}.")
    for key, value in state.items():
        if tensors[key].shape != value.shape:
            raise ValueError(
                f"{folder / 'weights.safetensors'}: {key} has shape {tuple(tensors[key].shape)}, "
                f"expected {tuple(value.shape)}."
            )
    agent.load_state_dict({k: tensors[k] for k in state})
    episodes_file, updates_file = folder / "episodes.csv", folder / "updates.csv"
    return TrainingRun(
        agent=agent,
        env_id=str(config["env_id"]),
        config=cfg,
        seed=int(config["seed"]),
        episodes=pd.read_csv(episodes_file) if episodes_file.exists() else pd.DataFrame(),
        updates=pd.read_csv(updates_file) if updates_file.exists() else pd.DataFrame(),
        obs_mean=tensors["obs_mean"].numpy(),
        obs_var=tensors["obs_var"].numpy(),
        meta=meta,
    )


def _build_agent(obs_dim: int, act_dim: int, config: OnPolicyConfig, seed: int) -> ActorCritic:
    # nn.Linear draws its default initialisation from the global RNG before we
    # overwrite it; fork_rng keeps the user's global stream untouched.
    with torch.random.fork_rng(devices=[]):
        return ActorCritic(
            obs_dim,
            act_dim,
            config.hidden_size,
            config.depth,
            config.dropout,
            config.spectral_norm,
            config.activation,
            torch_generator(seed),
        )


def _policy_loss(
    config: OnPolicyConfig, log_prob: torch.Tensor, old: torch.Tensor, adv: torch.Tensor
) -> torch.Tensor:
    if config.ratio_clip is not None:
        return clipped_surrogate_loss(
            log_prob, old, adv, config.ratio_clip, config.normalize_advantages
        )
    if config.normalize_advantages and adv.numel() > 1:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    if config.positive_advantages:
        return positive_advantage_loss(log_prob, adv)
    return plain_advantage_loss(log_prob, adv)


def _optimizer(agent: nn.Module, config: OnPolicyConfig) -> torch.optim.Optimizer:
    if math.isinf(config.weight_decay_examples):
        return torch.optim.Adam(agent.parameters(), lr=config.learning_rate, eps=1e-5)
    decay = dropout_weight_decay(config.dropout, config.weight_decay_examples)
    return torch.optim.AdamW(agent.parameters(), lr=config.learning_rate, weight_decay=decay)


def train_agent(
    env_id: str,
    config: OnPolicyConfig | None = None,
    total_steps: int = 300_000,
    seed: int = 0,
    progress: bool = False,
) -> TrainingRun:
    """Train an actor-critic with VSOP, PPO or an ablation on a Gymnasium task.

    Parameters
    ----------
    env_id : str
        Gymnasium id with a continuous action space, e.g. ``InvertedPendulum-v5``.
    config : OnPolicyConfig, optional
        Hyper-parameters (default: the ``vsop`` preset).
    total_steps : int
        Environment steps summed over the vector of environments; rounded down to whole
        rollouts of ``num_envs * num_steps`` (at least one).
    seed : int
        Seeds the environments, the initial weights, dropout masks, action noise and
        minibatch order; the same seed gives the same run.
    progress : bool
        Show a progress bar over updates.

    Returns
    -------
    TrainingRun
    """
    config = config or OnPolicyConfig()
    if int(total_steps) < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}.")
    envs = make_vector_env(
        env_id,
        config.num_envs,
        config.gamma,
        config.normalize_observations,
        config.normalize_rewards,
    )
    try:
        return _train(envs, env_id, config, int(total_steps), int(seed), progress)
    finally:
        envs.close()


def _train(
    envs: Any, env_id: str, config: OnPolicyConfig, total_steps: int, seed: int, progress: bool
) -> TrainingRun:
    n_envs, n_steps = config.num_envs, config.num_steps
    batch = n_envs * n_steps
    n_updates = max(1, total_steps // batch)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    act_dim = int(np.prod(envs.single_action_space.shape))
    agent = _build_agent(obs_dim, act_dim, config, seed)
    optimizer = _optimizer(agent, config)
    order_rng = np.random.default_rng(seed)

    obs_buf = torch.zeros((n_steps, n_envs, obs_dim))
    act_buf = torch.zeros((n_steps, n_envs, act_dim))
    logp_buf = torch.zeros((n_steps, n_envs))
    reward_buf = torch.zeros((n_steps, n_envs))
    done_buf = torch.zeros((n_steps, n_envs))

    raw_obs, _ = envs.reset(seed=seed)
    next_obs = torch.as_tensor(np.clip(raw_obs, -_OBS_CLIP, _OBS_CLIP), dtype=torch.float32)
    next_done = torch.zeros(n_envs)
    episodes: list[tuple[int, float, int]] = []
    updates: list[dict[str, float]] = []
    step = 0
    start = time.perf_counter()
    with progress_bar(n_updates, f"{env_id} updates", progress) as advance:
        for update in range(n_updates):
            lr = config.learning_rate * (1.0 - update / n_updates if config.anneal_lr else 1.0)
            optimizer.param_groups[0]["lr"] = lr
            agent.train(config.thompson)
            for t in range(n_steps):
                obs_buf[t], done_buf[t] = next_obs, next_done
                with torch.no_grad():
                    action, logp = agent.act(next_obs)
                act_buf[t], logp_buf[t] = action, logp
                raw_obs, reward, terminated, truncated, info = envs.step(action.numpy())
                step += n_envs
                reward_buf[t] = torch.as_tensor(
                    np.clip(reward, -_REWARD_CLIP, _REWARD_CLIP), dtype=torch.float32
                )
                next_obs = torch.as_tensor(
                    np.clip(raw_obs, -_OBS_CLIP, _OBS_CLIP), dtype=torch.float32
                )
                next_done = torch.as_tensor(
                    np.logical_or(terminated, truncated), dtype=torch.float32
                )
                final = info.get("final_info", {})
                if "episode" in final:
                    for e in np.flatnonzero(final["_episode"]):
                        episodes.append(
                            (step, float(final["episode"]["r"][e]), int(final["episode"]["l"][e]))
                        )
            with torch.no_grad():
                values = agent.value(torch.cat([obs_buf.reshape(-1, obs_dim), next_obs]))
            values, next_value = values[:-n_envs].reshape(n_steps, n_envs), values[-n_envs:]
            advantages, returns = gae(
                reward_buf, values, done_buf, next_value, next_done, config.gamma, config.gae_lambda
            )
            stats = _update(
                agent,
                optimizer,
                config,
                order_rng,
                obs_buf.reshape(-1, obs_dim),
                act_buf.reshape(-1, act_dim),
                logp_buf.reshape(-1),
                advantages.reshape(-1),
                returns.reshape(-1),
                values.reshape(-1),
            )
            updates.append(
                {"step": step, "learning_rate": lr, "seconds": time.perf_counter() - start, **stats}
            )
            advance(1)
    normaliser = _find_wrapper(envs.envs[0], "NormalizeObservation")
    if normaliser is not None:
        obs_mean, obs_var = np.asarray(normaliser.obs_rms.mean), np.asarray(normaliser.obs_rms.var)
    else:
        obs_mean, obs_var = np.zeros(obs_dim), np.ones(obs_dim)
    return TrainingRun(
        agent=agent,
        env_id=env_id,
        config=config,
        seed=seed,
        episodes=pd.DataFrame(episodes, columns=["step", "return", "length"]),
        updates=pd.DataFrame(updates),
        obs_mean=obs_mean,
        obs_var=obs_var,
        meta={"obs_dim": obs_dim, "act_dim": act_dim, "total_steps": step},
    )


def _update(
    agent: ActorCritic,
    optimizer: torch.optim.Optimizer,
    config: OnPolicyConfig,
    rng: np.random.Generator,
    obs: torch.Tensor,
    actions: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    old_values: torch.Tensor,
) -> dict[str, float]:
    agent.train()
    n = obs.shape[0]
    size = n // config.num_minibatches
    clip_v = config.ratio_clip if config.clip_value_loss else None
    totals = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0}
    count = 0
    for _ in range(config.update_epochs):
        order = torch.as_tensor(rng.permutation(n))
        for begin in range(0, n, size):
            idx = order[begin : begin + size]
            logp, entropy, value = agent.evaluate(obs[idx], actions[idx])
            pg = _policy_loss(config, logp, old_logp[idx], advantages[idx])
            vl = value_loss(value, returns[idx], old_values[idx], clip_v)
            loss = pg + config.vf_coef * vl - config.ent_coef * entropy.mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
            optimizer.step()
            with torch.no_grad():
                log_ratio = logp - old_logp[idx]
                kl = ((log_ratio.exp() - 1) - log_ratio).mean()
            totals["policy_loss"] += pg.item()
            totals["value_loss"] += vl.item()
            totals["entropy"] += entropy.mean().item()
            totals["approx_kl"] += float(kl)
            count += 1
    return {k: v / count for k, v in totals.items()}


def _find_wrapper(env: Any, name: str) -> Any:
    while env is not None:
        if type(env).__name__ == name:
            return env
        env = getattr(env, "env", None)
    return None
