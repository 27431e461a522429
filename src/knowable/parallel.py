"""Run independent jobs locally or on a Ray cluster, with identical results.

Ensemble members, benchmark realisations, seeds of a simulated campaign and
chunks of a huge pool are independent jobs. Each job carries its own seed, so
the backend changes where the work runs, never the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["map_jobs"]

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("local", "ray")


def map_jobs(
    fn: Callable[[T], R],
    jobs: Iterable[T],
    *,
    backend: str = "local",
    ray_address: str | None = None,
    ray_options: dict[str, Any] | None = None,
) -> list[R]:
    """Apply ``fn`` to every job and return the results in job order.

    Parameters
    ----------
    fn : callable
        A function of one job; it must get all of its randomness from the job
        (e.g. a seed inside it), never from global state.
    jobs : iterable
        The jobs.
    backend : {"local", "ray"}
        ``"local"`` runs the jobs one after another in this process; ``"ray"``
        submits them as Ray tasks (``pip install knowable[ray]``).
    ray_address : str, optional
        Address passed to ``ray.init`` when Ray is not yet initialised
        (``None`` starts a local Ray instance, ``"auto"`` joins a cluster).
    ray_options : dict, optional
        Options for ``ray.remote`` (e.g. ``{"num_cpus": 1, "num_gpus": 0.25}``).

    Returns
    -------
    list
        ``[fn(job) for job in jobs]``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}.")
    job_list: Sequence[T] = list(jobs)
    if backend == "local":
        return [fn(job) for job in job_list]
    try:
        import ray
    except ImportError as err:
        raise ImportError("backend='ray' needs Ray: pip install 'knowable[ray]'.") from err
    if not ray.is_initialized():
        ray.init(address=ray_address)
    remote = ray.remote(**(ray_options or {}))(fn) if ray_options else ray.remote(fn)
    return list(ray.get([remote.remote(job) for job in job_list]))
