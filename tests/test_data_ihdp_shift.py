import numpy as np
import pytest

from knowable.data import IHDP_FEATURE_NAMES, load_ihdp, load_ihdp_covariate_shift


@pytest.mark.parametrize("k", [1, 9, 50])
def test_covariate_shift_split(k):
    full = load_ihdp(k)
    train, test = load_ihdp_covariate_shift(k)
    assert train.x.shape == (389, 24) and test.x.shape == (358, 24)
    assert "b.marr" not in train.feature_names and train.feature_names == test.feature_names
    assert len(train.feature_names) == len(IHDP_FEATURE_NAMES) - 1
    rows_tr, rows_te = train.truth["row_index"], test.truth["row_index"]
    # disjoint, covering, defined by b.marr
    assert np.intersect1d(rows_tr, rows_te).size == 0
    assert np.array_equal(np.sort(np.concatenate([rows_tr, rows_te])), np.arange(747))
    assert (full.x[rows_tr, 8] == 1).all() and (full.x[rows_te, 8] == 0).all()
    # values match the full realisation with column 8 removed
    for ds, rows in ((train, rows_tr), (test, rows_te)):
        assert np.array_equal(ds.x, np.delete(full.x[rows], 8, axis=1))
        assert np.array_equal(ds.t, full.t[rows]) and np.array_equal(ds.y, full.y[rows])
        assert np.array_equal(ds.truth["cate"], full.truth["cate"][rows])
        assert ds.truth["ate"] == pytest.approx(ds.truth["cate"].mean())
    assert train.meta["split"] == "covariate_shift_train"
    assert test.meta["split"] == "covariate_shift_test"
    assert "b.marr" in train.meta["shift_rule"]


def test_covariate_shift_does_not_touch_cache():
    train, _ = load_ihdp_covariate_shift(2)
    train.x[:] = 0.0
    again, _ = load_ihdp_covariate_shift(2)
    assert again.x.any()


@pytest.mark.parametrize("bad", [0, 51])
def test_covariate_shift_bad_realisation(bad):
    with pytest.raises(ValueError):
        load_ihdp_covariate_shift(bad)
