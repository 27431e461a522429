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
