import numpy as np
import pytest

from knowable.data import load_mnist


@pytest.mark.parametrize("split, n", [("train", 5000), ("test", 10000)])
def test_load_mnist(split, n):
    d = load_mnist(split)
    assert d.x.shape == (n, 1, 28, 28) and d.x.dtype == np.float32
    assert d.y.shape == (n,) and d.y.dtype == np.int64
    assert d.t is None and d.truth == {}
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    assert set(np.unique(d.y)) == set(range(10))
    assert d.meta["split"] == split


def test_label_counts():
    assert np.bincount(load_mnist("train").y).tolist() == [500] * 10
    # the official MNIST test-set class counts
    assert np.bincount(load_mnist("test").y).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_flatten():
    img = load_mnist("train")
    flat = load_mnist("train", flatten=True)
    assert flat.x.shape == (5000, 784) and flat.x.dtype == np.float32
    np.testing.assert_array_equal(flat.x, img.x.reshape(5000, 784))
    assert flat.feature_names[0] == "pixel0"
    # pixel values are multiples of 1/255
    np.testing.assert_allclose(np.round(flat.x[:10] * 255), flat.x[:10] * 255, atol=1e-4)


def test_independent_copies():
    a = load_mnist("train")
    a.x[:] = 0.5
    assert load_mnist("train").x.min() == 0.0


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"split": "valid"}, ValueError),
        ({"split": 1}, ValueError),
        ({"flatten": 1}, TypeError),
        ({"flatten": "yes"}, TypeError),
    ],
)
def test_bad_input(kwargs, exc):
    with pytest.raises(exc):
        load_mnist(**kwargs)
