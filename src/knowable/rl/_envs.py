"""Gymnasium vector environments, imported only when asked for (extra ``knowable[rl]``)."""

from __future__ import annotations

from typing import Any

__all__ = ["make_vector_env", "require_gymnasium"]


def require_gymnasium() -> Any:
    """Import gymnasium or say which extra provides it."""
    try:
        import gymnasium
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "knowable.rl needs gymnasium and mujoco: pip install 'knowable[rl]'."
        ) from exc
    return gymnasium


def make_vector_env(
    env_id: str, num_envs: int, gamma: float, normalize_obs: bool, normalize_reward: bool
) -> Any:
    """A synchronous vector of ``num_envs`` copies of ``env_id``, each with the PPO wrappers.

    Episodes reset in the step that ends them (``SAME_STEP``), episode returns are
    recorded before any reward normalisation, actions are clipped to the action
    box, and observations / rewards are normalised by running statistics when asked.

    Parameters
    ----------
    env_id : str
        A registered Gymnasium id with a continuous (Box) action space, e.g. ``Hopper-v5``.
    num_envs : int
        Number of copies.
    gamma : float
        Discount used by reward normalisation.
    normalize_obs, normalize_reward : bool
        Add the running-statistics wrappers.

    Returns
    -------
    gymnasium.vector.VectorEnv
    """
    gym = require_gymnasium()
    if env_id not in gym.registry:
        raise ValueError(f"unknown Gymnasium environment {env_id!r} (e.g. 'Hopper-v5').")

    def make_one() -> Any:
        # The wrappers sit on each copy (as in CleanRL): the vector versions of the
        # normalisation wrappers refuse the SAME_STEP reset mode used here.
        env = gym.make(env_id)
        if not isinstance(env.action_space, gym.spaces.Box):
            env.close()
            raise ValueError(f"{env_id} has a discrete action space; knowable.rl needs a Box one.")
        env = gym.wrappers.RecordEpisodeStatistics(env)
        env = gym.wrappers.ClipAction(env)
        if normalize_obs:
            env = gym.wrappers.NormalizeObservation(env)
        if normalize_reward:
            env = gym.wrappers.NormalizeReward(env, gamma=gamma)
        return env

    return gym.vector.SyncVectorEnv(
        [make_one for _ in range(num_envs)], autoreset_mode=gym.vector.AutoresetMode.SAME_STEP
    )
