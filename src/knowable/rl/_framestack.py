"""Frame stacking for batched (vectorised) image observations."""

from __future__ import annotations

import numpy as np

__all__ = ["FrameStack"]


class FrameStack:
    """Keep the last ``n_frames`` observations of each environment in a vector.

    A new episode's stack is filled with copies of its first frame, so a stack
    never mixes frames from two episodes.

    Parameters
    ----------
    n_frames : int
        Frames per stack (the ProcGen 3D paper uses 8 or 16).

    Examples
    --------
    >>> import numpy as np
    >>> stack = FrameStack(3)
    >>> first = stack.reset(np.zeros((2, 1, 1, 1)))
    >>> first.shape
    (2, 3, 1, 1, 1)
    >>> out = stack.step(np.ones((2, 1, 1, 1)), np.array([False, True]))
    >>> out[:, :, 0, 0, 0].tolist()
    [[0.0, 0.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, n_frames: int) -> None:
        if int(n_frames) < 1:
            raise ValueError(f"n_frames must be >= 1, got {n_frames}.")
        self.n_frames = int(n_frames)
        self._stack: np.ndarray | None = None

    def reset(self, obs: np.ndarray) -> np.ndarray:
        """Start every environment afresh from ``obs`` of shape ``(E, ...)``; returns ``(E, S, ...)``."""
        obs = np.asarray(obs)
        self._stack = np.repeat(obs[:, None], self.n_frames, axis=1)
        return self._stack.copy()

    def step(self, obs: np.ndarray, new_episode: np.ndarray) -> np.ndarray:
        """Push ``obs`` ``(E, ...)``; rows where ``new_episode`` is True restart their stack.

        Parameters
        ----------
        obs : numpy.ndarray, shape (E, ...)
            The observation each environment returned.
        new_episode : numpy.ndarray of bool, shape (E,)
            True where ``obs`` is the first frame of a new episode (the previous one ended).

        Returns
        -------
        numpy.ndarray, shape (E, S, ...)
            Stacks, oldest frame first.
        """
        if self._stack is None:
            raise RuntimeError("call reset() before step().")
        obs = np.asarray(obs)
        new_episode = np.asarray(new_episode, dtype=bool)
        if obs.shape[0] != self._stack.shape[0] or new_episode.shape != (obs.shape[0],):
            raise ValueError("obs and new_episode must have one row per environment.")
        self._stack = np.concatenate([self._stack[:, 1:], obs[:, None]], axis=1)
        if new_episode.any():
            self._stack[new_episode] = np.repeat(obs[new_episode][:, None], self.n_frames, axis=1)
        return self._stack.copy()
