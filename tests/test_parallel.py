import importlib.util

import numpy as np
import pytest

from knowable.parallel import map_jobs


def _draw(seed):
    return float(np.random.default_rng(seed).normal())


def test_local_backend_keeps_order_and_seeds():
    out = map_jobs(_draw, [3, 1, 2])
    assert out == [_draw(3), _draw(1), _draw(2)]


def test_unknown_backend_rejected():
    with pytest.raises(ValueError, match="backend"):
        map_jobs(_draw, [1], backend="dask")


@pytest.mark.skipif(importlib.util.find_spec("ray") is not None, reason="Ray is installed")
def test_ray_backend_without_ray_says_how_to_install():
    with pytest.raises(ImportError, match=r"knowable\[ray\]"):
        map_jobs(_draw, [1], backend="ray")


def test_ray_backend_gives_the_local_results():
    """The Ray backend runs the jobs as Ray tasks (starting a local instance when none is
    running) and returns exactly the local results, in job order."""
    ray = pytest.importorskip("ray", reason="needs knowable[ray] (pip install 'knowable[ray]')")
    jobs = [3, 1, 2, 7, 0]
    # a lambda is shipped to the workers by value (this test module is not importable there)
    expected = map_jobs(lambda seed: float(np.random.default_rng(seed).normal()), jobs)
    assert not ray.is_initialized()
    try:
        out = map_jobs(
            lambda seed: float(np.random.default_rng(seed).normal()),
            jobs,
            backend="ray",
            ray_address=None,
        )
        assert ray.is_initialized()  # map_jobs started it
        assert out == expected == [_draw(j) for j in jobs]
        # options reach ray.remote; a task that sees its own worker id proves it ran remotely
        pids = map_jobs(
            lambda _: __import__("os").getpid(), [0, 1], backend="ray", ray_options={"num_cpus": 1}
        )
        assert __import__("os").getpid() not in pids
    finally:
        ray.shutdown()
