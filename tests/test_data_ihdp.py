import gzip
import hashlib
import re
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from knowable.data import (
    IHDP_FEATURE_NAMES,
    load_ihdp,
    load_ihdp_raw,
    load_ihdp_train_test,
)

FIXTURE = Path(__file__).parent / "data" / "ihdp_cfrnet_test_1-50.npz"


@pytest.fixture(scope="module")
def cfrnet_test():
    with np.load(FIXTURE) as f:
        return {k: f[k] for k in ("x", "t", "yf", "ycf", "mu0", "mu1")}


def test_feature_names():
    assert len(IHDP_FEATURE_NAMES) == 25
    assert IHDP_FEATURE_NAMES[:6] == ("bw", "b.head", "preterm", "birth.o", "nnhealth", "momage")
    assert IHDP_FEATURE_NAMES[-1] == "site7" and IHDP_FEATURE_NAMES[13] == "first"


def test_fixture_shapes(cfrnet_test):
    assert cfrnet_test["x"].shape == (75, 25, 50)
    for k in ("t", "yf", "ycf", "mu0", "mu1"):
        assert cfrnet_test[k].shape == (75, 50) and cfrnet_test[k].dtype == np.float64


@pytest.mark.parametrize("k", range(1, 51))
def test_test_split_matches_cfrnet(k, cfrnet_test):
    d = load_ihdp(k, split="test")
    j = k - 1
    np.testing.assert_array_equal(d.x, cfrnet_test["x"][:, :, j])
    np.testing.assert_array_equal(d.t, cfrnet_test["t"][:, j])
    np.testing.assert_array_equal(d.y, cfrnet_test["yf"][:, j])
    np.testing.assert_array_equal(d.truth["y_cf"], cfrnet_test["ycf"][:, j])
    np.testing.assert_array_equal(d.truth["mu0"], cfrnet_test["mu0"][:, j])
    np.testing.assert_array_equal(d.truth["mu1"], cfrnet_test["mu1"][:, j])


@pytest.mark.parametrize("k", [1, 17, 50])
def test_split_sizes_disjoint_covering(k):
    full = load_ihdp(k)
    train, test = load_ihdp_train_test(k)
    assert len(full) == 747 and len(train) == 672 and len(test) == 75
    tr, te = train.truth["row_index"], test.truth["row_index"]
    assert set(tr).isdisjoint(te) and set(tr) | set(te) == set(range(747))
    assert np.all(np.diff(tr) > 0)  # train keeps file order
    np.testing.assert_array_equal(train.x, full.x[tr])
    np.testing.assert_array_equal(test.y, full.y[te])
    assert train.meta["split"] == "train" and test.meta["realization"] == k


def test_values_and_truth():
    d = load_ihdp(1)
    assert d.x.shape == (747, 25) and d.x.dtype == np.float64
    assert d.feature_names == list(IHDP_FEATURE_NAMES)
    assert set(np.unique(d.t)) == {0.0, 1.0}
    assert int(d.t.sum()) == 139  # Hill's 139 treated / 608 control
    np.testing.assert_array_equal(d.cate, d.truth["mu1"] - d.truth["mu0"])
    assert d.truth["ate"] == pytest.approx(np.mean(d.cate))
    assert set(np.unique(d.x[:, IHDP_FEATURE_NAMES.index("first")])) == {1.0, 2.0}
    for j in range(6, 25):
        assert set(np.unique(d.x[:, j])) <= {0.0, 1.0, 2.0}
    # factual/counterfactual agree with the potential-outcome columns' roles
    y1 = np.where(d.t == 1, d.y, d.truth["y_cf"])
    y0 = np.where(d.t == 1, d.truth["y_cf"], d.y)
    assert abs(np.mean(y1 - y0) - d.truth["ate"]) < 0.5
    s = d.summary()
    assert s["n"] == 747 and s["treatment"] == "binary"


def test_loader_returns_independent_arrays():
    d = load_ihdp(2)
    d.x[0, 0] = 1e9
    d.truth["mu0"][:] = 0
    e = load_ihdp(2)
    assert e.x[0, 0] != 1e9 and e.truth["mu0"].any()


@pytest.mark.parametrize(
    "bad, exc",
    [
        (0, ValueError),
        (51, ValueError),
        (-1, ValueError),
        (1.5, TypeError),
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_realization(bad, exc):
    with pytest.raises(exc, match="realization"):
        load_ihdp(bad)
    with pytest.raises(exc):
        load_ihdp_train_test(bad)


@pytest.mark.parametrize("bad", ["valid", "TEST", "", None, 1])
def test_bad_split(bad):
    with pytest.raises(ValueError, match="split"):
        load_ihdp(1, split=bad)


def test_raw():
    raw = load_ihdp_raw()
    assert isinstance(raw, pd.DataFrame) and raw.shape == (985, 29)
    assert raw.columns[0] == "treat" and "momwhite" in raw.columns
    kept = raw[~((raw["treat"] == 1) & (raw["momwhite"] == 0))]
    assert len(kept) == 747
    assert int(kept["treat"].sum()) == 139
    raw.iloc[0, 0] = -5  # a copy: the cache is not affected
    assert load_ihdp_raw().iloc[0, 0] != -5


def test_shipped_files_match_provenance_sha256():
    root = resources.files("knowable.data").joinpath("files")
    text = root.joinpath("PROVENANCE.md").read_text()
    rows = re.findall(r"^\| (ihdp/\S+) (?:\(gzip\) )?\| \S+ \| ([0-9a-f]{64}) \|$", text, re.M)
    assert len(rows) == 54
    for rel, sha in rows:
        raw = root.joinpath(*rel.split("/")).read_bytes()
        if rel.endswith(".gz"):
            raw = gzip.decompress(raw)
        assert hashlib.sha256(raw).hexdigest() == sha, rel
