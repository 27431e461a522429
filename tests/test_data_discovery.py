import numpy as np
import pytest

from knowable.data import DISCOVERY_TASKS, Dataset, simulate_discovery


@pytest.mark.parametrize("task", DISCOVERY_TASKS)
def test_optimum_set_is_the_top_fraction_of_the_noiseless_function(task):
    data = simulate_discovery(task, 700, noise_sd=0.1, top_fraction=0.02, random_state=3)
    assert isinstance(data, Dataset) and data.x.shape == (700, 2) and data.y.shape == (700,)
    f, optimal = data.truth["f"], data.truth["optimal"].astype(bool)
    assert optimal.sum() == 14  # ceil(0.02 * 700)
    assert f[optimal].min() >= f[~optimal].max()
    # y is f plus the stated noise, not f itself
    resid = data.y - f
    assert 0.07 < resid.std() < 0.13
    assert ((data.x >= 0) & (data.x <= 1)).all()


def test_bumps_basin_is_the_bump_that_attains_the_max():
    data = simulate_discovery("bumps", 400, n_modes=5, random_state=0)
    p = data.meta["params"]
    c, a, w = np.array(p["centres"]), np.array(p["heights"]), np.array(p["widths"])
    sq = ((data.x[:, None, :] - c[None]) ** 2).sum(-1)
    values = a * np.exp(-sq / (2 * w**2))
    np.testing.assert_allclose(data.truth["f"], values.max(1))
    np.testing.assert_array_equal(data.truth["basin"], values.argmax(1))
    # several basins among the optima: the diversity metric has something to measure
    opt = data.truth["optimal"].astype(bool)
    big = simulate_discovery("bumps", 1500, random_state=1)
    assert len(set(big.truth["basin"][big.truth["optimal"].astype(bool)])) >= 3
    assert len(set(data.truth["basin"][opt])) >= 1


def test_sines_optima_lie_in_positive_cells():
    data = simulate_discovery("sines", 1500, n_modes=16, random_state=2)
    opt = data.truth["optimal"].astype(bool)
    assert (data.truth["f"][opt] > 0.5).all()
    # within one half-period cell the product of sines keeps its sign
    for b in np.unique(data.truth["basin"]):
        f = data.truth["f"][data.truth["basin"] == b]
        assert (f >= -1e-12).all() or (f <= 1e-12).all()
    assert len(set(data.truth["basin"][opt])) >= 3


def test_seeded_and_dimension():
    a = simulate_discovery("bumps", 50, n_features=4, random_state=7)
    b = simulate_discovery("bumps", 50, n_features=4, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.x.shape == (50, 4)
    c = simulate_discovery("bumps", 50, n_features=4, random_state=8)
    assert not np.array_equal(a.y, c.y)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "ring"}, "task"),
        ({"n": 0}, "n"),
        ({"n_features": 0}, "n_features"),
        ({"n_modes": -1}, "n_modes"),
        ({"noise_sd": -0.1}, "noise_sd"),
        ({"top_fraction": 0.0}, "top_fraction"),
        ({"top_fraction": 1.5}, "top_fraction"),
        ({"noise_sd": float("nan")}, "noise_sd"),
    ],
)
def test_bad_inputs_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        simulate_discovery(**kwargs)
