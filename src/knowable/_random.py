"""Seeding without global random state.

Every random choice in knowable flows from a ``random_state`` argument through
these helpers into a ``numpy.random.Generator`` or a ``torch.Generator``; the
global numpy and torch RNGs are never touched, so the same seed gives the same
numbers regardless of what else the process does.
"""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # torch is imported lazily so that data-only use stays fast
    import torch

__all__ = ["check_random_state", "seed_tag", "spawn_seeds", "torch_generator"]

RandomState = int | np.random.Generator | None


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``None``, an int seed or a Generator into a ``numpy.random.Generator``.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        ``None`` gives fresh OS entropy (not reproducible); an int gives a
        reproducible stream; a Generator is used as is (shared state).

    Returns
    -------
    numpy.random.Generator
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}.")
        return np.random.default_rng(int(random_state))
    raise TypeError(
        f"random_state must be None, an int or a numpy.random.Generator, got {type(random_state).__name__}."
    )


def seed_tag(random_state: Any) -> int:
    """The integer seed to record in a results table, or -1 when there is none.

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        As accepted by :func:`check_random_state` (numpy integers included).

    Returns
    -------
    int
    """
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return -1


def spawn_seeds(rng: np.random.Generator, n: int) -> list[int]:
    """Draw ``n`` independent 63-bit integer seeds from ``rng``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Parent stream.
    n : int
        Number of seeds.

    Returns
    -------
    list of int
    """
    return [int(s) for s in rng.integers(0, 2**63 - 1, size=n, dtype=np.int64)]


def torch_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        Seed.
    device : torch.device or str
        Device the generator draws on.

    Returns
    -------
    torch.Generator
    """
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen
