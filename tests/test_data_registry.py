import dataclasses

import numpy as np
import pytest

from knowable.data import Dataset, DatasetInfo, dataset_info, list_datasets, load_dataset

NAMES = [
    "ihdp",
    "ihdp-raw",
    "mnist",
    "causal-bald-1d",
    "hidden-confounding",
    "dose-response",
    "cmnist",
]


def test_list_datasets():
    infos = list_datasets()
    assert [i.name for i in infos] == NAMES
    assert all(isinstance(i, DatasetInfo) for i in infos)
    assert {i.kind for i in infos} <= {"real", "semi-synthetic", "simulator"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        infos[0].name = "x"
    assert dataset_info("IHDP").n_rows == 747


@pytest.mark.parametrize("info", list_datasets(), ids=lambda i: i.name)
def test_load_each(info):
    opts = {"n": 20, "random_state": 0} if info.kind == "simulator" else {}
    d = load_dataset(info.name, **opts)
    assert isinstance(d, Dataset)
    if info.kind != "simulator":
        assert len(d) == info.n_rows
    s = d.summary()
    assert s["n"] == len(d)


def test_options_are_passed():
    d = load_dataset("ihdp", realization=3, split="test")
    assert len(d) == 75 and d.meta["realization"] == 3
    a = load_dataset("causal_bald_1d", n=30, random_state=1)
    np.testing.assert_array_equal(a.y, load_dataset("causal-bald-1d", n=30, random_state=1).y)
    assert load_dataset("mnist", split="test", flatten=True).x.shape == (10000, 784)
    raw = load_dataset("ihdp-raw")
    assert raw.y is None and raw.n_features == 28 and raw.t.sum() > 0


def test_bad_names_and_options():
    with pytest.raises(ValueError, match="valid names"):
        load_dataset("imagenet")
    with pytest.raises(TypeError):
        load_dataset(3)
    with pytest.raises(TypeError, match="accepts"):
        load_dataset("ihdp", realisation=2)
    with pytest.raises(ValueError):
        load_dataset("ihdp", realization=99)
    with pytest.raises(ValueError):
        dataset_info("nope")
