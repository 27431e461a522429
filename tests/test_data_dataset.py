import numpy as np
import pandas as pd
import pytest

from knowable.data import Dataset


def make(n=50, seed=0, **kw):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = (rng.random(n) < 0.4).astype(float)
    mu0 = x[:, 0]
    mu1 = x[:, 0] + 1.0 + x[:, 1]
    y = np.where(t == 1, mu1, mu0)
    truth = {
        "mu0": mu0,
        "mu1": mu1,
        "ate": float(np.mean(mu1 - mu0)),
        "lambda_star": 2.0,
        "curve": lambda g: np.asarray(g) * 2,
    }
    return Dataset(x, t=t, y=y, truth=truth, name="toy", meta={"seed": seed}, **kw)


def test_basic_properties():
    d = make()
    assert len(d) == 50 and d.n_features == 3 and d.is_tabular
    assert d.x.dtype == np.float64 and d.t.dtype == np.float64
    assert d.feature_names == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(d.cate, d.truth["mu1"] - d.truth["mu0"])
    assert d.has_binary_treatment
    assert "toy" in repr(d)


def test_pandas_input_keeps_names_and_int_labels():
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0, 1, 1]})
    d = Dataset(df, t=pd.Series([0, 1, 0]), y=np.array([1, 2, 3]))
    assert d.feature_names == ["a", "b"]
    assert d.y.dtype == np.int64
    assert d.t.dtype == np.float64


def test_images_keep_float32():
    x = np.zeros((4, 1, 28, 28), dtype=np.float32)
    d = Dataset(x, y=np.arange(4))
    assert d.x.dtype == np.float32 and d.n_features == 784 and not d.is_tabular
    assert d.feature_names is None
    with pytest.raises(ValueError, match="tabular"):
        d.to_frame()
    with pytest.raises(ValueError, match="feature_names"):
        Dataset(x, feature_names=["a"])


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"x": np.array([[1.0, np.nan]])}, ValueError),
        ({"x": np.array([[np.inf]])}, ValueError),
        ({"x": np.array([["a", "b"]])}, TypeError),
        ({"x": np.empty((0, 2))}, ValueError),
        ({"x": np.zeros((3, 0))}, ValueError),
        ({"x": np.arange(3.0)}, ValueError),  # 1-d x is not silently reshaped
        ({"x": np.zeros((3, 2)), "t": np.zeros(4)}, ValueError),
        ({"x": np.zeros((3, 2)), "y": np.zeros((3, 1))}, ValueError),
        ({"x": np.zeros((3, 2)), "t": ["a", "b", "c"]}, TypeError),
        ({"x": np.zeros((3, 2)), "y": [1.0, np.nan, 2.0]}, ValueError),
        ({"x": np.zeros((3, 2)), "truth": {"mu0": np.zeros(2)}}, ValueError),
        ({"x": np.zeros((3, 2)), "truth": {"mu0": [1.0, np.nan, 0.0]}}, ValueError),
        ({"x": np.zeros((3, 2)), "truth": {"note": "text"}}, TypeError),
        ({"x": np.zeros((3, 2)), "truth": {"ate": float("nan")}}, ValueError),
        ({"x": np.zeros((3, 2)), "truth": {1: np.zeros(3)}}, TypeError),
        ({"x": np.zeros((3, 2)), "truth": [1, 2]}, TypeError),
        ({"x": np.zeros((3, 2)), "feature_names": ["a"]}, ValueError),
        ({"x": np.zeros((3, 2)), "feature_names": ["a", "a"]}, ValueError),
        ({"x": np.zeros((3, 2)), "feature_names": "ab"}, TypeError),
        ({"x": np.zeros((3, 2)), "feature_names": ["a", 2]}, TypeError),
        ({"x": np.zeros((3, 2)), "name": ""}, TypeError),
        ({"x": np.zeros((3, 2)), "meta": [1]}, TypeError),
        ({"x": None}, TypeError),
        ({"x": pd.DataFrame({"a": ["u", "v"]})}, TypeError),
    ],
)
def test_bad_input(kwargs, exc):
    with pytest.raises(exc):
        Dataset(**kwargs)


def test_cate_unknown_raises():
    d = Dataset(np.zeros((3, 1)), t=[0, 1, 0], y=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="CATE"):
        _ = d.cate
    assert "true_ate" not in d.summary()


def test_subset_slices_truth_and_recomputes_ate():
    d = make()
    idx = np.array([3, 1, 4, 1])
    s = d.subset(idx)
    assert len(s) == 4
    np.testing.assert_array_equal(s.x, d.x[idx])
    np.testing.assert_array_equal(s.truth["mu1"], d.truth["mu1"][idx])
    assert s.truth["lambda_star"] == 2.0 and s.truth["curve"] is d.truth["curve"]
    assert s.truth["ate"] == pytest.approx(np.mean(d.cate[idx]))
    assert s.meta == d.meta and s.meta is not d.meta
    mask = np.zeros(50, dtype=bool)
    mask[[0, 10]] = True
    np.testing.assert_array_equal(d.subset(mask).x, d.x[[0, 10]])
    np.testing.assert_array_equal(d.subset(slice(0, 5)).y, d.y[:5])


@pytest.mark.parametrize(
    "index, exc",
    [
        ([], ValueError),
        ([50], ValueError),
        ([-1], ValueError),
        ([0.5], TypeError),
        (["a"], TypeError),
        (np.zeros(3, dtype=bool), ValueError),
        (np.zeros((2, 2), dtype=int), ValueError),
        (slice(5, 5), ValueError),
    ],
)
def test_subset_bad_index(index, exc):
    with pytest.raises(exc):
        make().subset(index)


def test_split_disjoint_covering_and_seeded():
    d = make(n=101)
    tr, te = d.train_test_indices(0.2, random_state=3)
    assert len(te) == 21 and len(tr) == 80
    assert set(tr).isdisjoint(te) and set(tr) | set(te) == set(range(101))
    _, te2 = d.train_test_indices(0.2, random_state=3)
    np.testing.assert_array_equal(te, te2)
    _, te3 = d.train_test_indices(0.2, random_state=4)
    assert not np.array_equal(te, te3)
    train, test = d.split(test_size=10, random_state=0)
    assert len(train) == 91 and len(test) == 10
    assert train.truth["ate"] == pytest.approx(np.mean(train.cate))


def test_split_stratified_keeps_treated_fraction():
    d = make(n=1000, seed=1)
    train, test = d.split(0.25, random_state=0, stratify_treatment=True)
    n1 = int(d.t.sum())
    assert test.t.sum() == round(0.25 * n1)
    assert len(train) + len(test) == 1000
    no_t = Dataset(np.zeros((5, 1)))
    with pytest.raises(ValueError, match="treatment"):
        no_t.split(stratify_treatment=True)
    cont = Dataset(np.zeros((5, 1)), t=np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="binary"):
        cont.split(stratify_treatment=True)


@pytest.mark.parametrize(
    "test_size, exc",
    [
        (0.0, ValueError),
        (1.0, ValueError),
        (0, ValueError),
        (50, ValueError),
        ("0.2", TypeError),
        (True, TypeError),
        (float("nan"), ValueError),
    ],
)
def test_split_bad_test_size(test_size, exc):
    with pytest.raises(exc):
        make().split(test_size)


def test_split_too_small_and_bad_seed():
    with pytest.raises(ValueError):
        Dataset(np.zeros((1, 1))).split()
    with pytest.raises(TypeError):
        make().split(random_state="seed")


def test_split_by_index():
    d = make(n=10)
    train, test = d.split_by_index([7, 2])
    np.testing.assert_array_equal(test.x, d.x[[7, 2]])
    np.testing.assert_array_equal(train.x, d.x[[0, 1, 3, 4, 5, 6, 8, 9]])
    with pytest.raises(ValueError, match="repeated"):
        d.split_by_index([1, 1])
    with pytest.raises(ValueError, match="train"):
        d.split_by_index(np.arange(10))


def test_frame_round_trip():
    d = make()
    df = d.to_frame()
    assert list(df.columns) == ["x0", "x1", "x2", "t", "y", "mu0", "mu1", "cate"]
    back = Dataset.from_frame(df, treatment="t", outcome="y", name="toy")
    np.testing.assert_array_equal(back.x, d.x)
    np.testing.assert_array_equal(back.t, d.t)
    np.testing.assert_array_equal(back.y, d.y)
    np.testing.assert_array_equal(back.cate, d.cate)
    assert back.feature_names == d.feature_names
    np.testing.assert_array_equal(back.to_frame().to_numpy(), df.to_numpy())


def test_from_frame_options_and_errors():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "treat": [0, 1], "out": [0.5, 0.1]})
    d = Dataset.from_frame(df, treatment="treat", outcome="out", covariates=["b"])
    assert d.feature_names == ["b"] and d.n_features == 1
    d = Dataset.from_frame(df, treatment=None, outcome=None)
    assert d.t is None and d.y is None and d.n_features == 4
    with pytest.raises(ValueError, match="'t'"):
        Dataset.from_frame(df)
    with pytest.raises(ValueError, match="missing"):
        Dataset.from_frame(df, treatment="treat", outcome="out", covariates=["missing"])
    with pytest.raises(ValueError, match="both"):
        Dataset.from_frame(df, treatment="treat", outcome="out", covariates=["a", "treat"])
    with pytest.raises(TypeError):
        Dataset.from_frame(df.to_numpy(), treatment="treat", outcome="out")
    with pytest.raises(TypeError):
        Dataset.from_frame(df, treatment="treat", outcome="out", covariates="a")
    with pytest.raises(TypeError):
        Dataset.from_frame(df, treatment=1, outcome="out")
    with pytest.raises(ValueError, match="No covariate"):
        Dataset.from_frame(df[["treat", "out"]], treatment="treat", outcome="out")
    bad = df.assign(c=["x", "y"])
    with pytest.raises(TypeError, match="non-numeric"):
        Dataset.from_frame(bad, treatment="treat", outcome="out")


def test_to_frame_name_clash():
    d = Dataset(np.zeros((2, 1)), t=[0, 1], feature_names=["t"])
    with pytest.raises(ValueError, match="clash"):
        d.to_frame()


def test_summary():
    d = make()
    s = d.summary()
    assert s["name"] == "toy" and s["n"] == 50 and s["n_features"] == 3
    assert s["treatment"] == "binary"
    assert s["treated_fraction"] == pytest.approx(d.t.mean())
    assert s["outcome_mean"] == pytest.approx(d.y.mean())
    assert s["outcome_std"] == pytest.approx(d.y.std())
    assert s["true_ate"] == pytest.approx(d.cate.mean())
    assert s["lambda_star"] == 2.0
    assert s["meta"] == {"seed": 0}
    c = Dataset(np.zeros((3, 1)), t=[0.1, 0.5, 0.9]).summary()
    assert c["treatment"] == "continuous" and c["t_max"] == 0.9
