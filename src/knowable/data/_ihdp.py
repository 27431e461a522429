"""IHDP semi-synthetic benchmark (Hill 2011, response surface B), shipped with the package.

Realisations 1-50 of the standard 100-realisation NPCI set (747 units, 25
covariates each), with the standard CFRNet 672/75 out-of-sample split
(Shalit, Johansson & Sontag 2017), and the raw 985-unit covariate table.
"""

from __future__ import annotations

import io
import json
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_in_options, check_positive_int
from ._dataset import Dataset
from ._files import read_bytes

__all__ = [
    "IHDP_FEATURE_NAMES",
    "IHDP_N_REALIZATIONS",
    "load_ihdp",
    "load_ihdp_covariate_shift",
    "load_ihdp_raw",
    "load_ihdp_train_test",
]

#: Names of the 25 covariates x1..x25, in file order (x1-x6 continuous).
IHDP_FEATURE_NAMES: tuple[str, ...] = (
    "bw", "b.head", "preterm", "birth.o", "nnhealth", "momage",
    "sex", "twin", "b.marr", "mom.lths", "mom.hs", "mom.scoll", "cig", "first",
    "booze", "drugs", "work.dur", "prenatal",
    "site1", "site2", "site3", "site4", "site5", "site6", "site7",
)  # fmt: skip

#: Number of shipped realisations (1 .. 50).
IHDP_N_REALIZATIONS = 50
_N_UNITS = 747
_N_TEST = 75
_SOURCE = (
    "IHDP NPCI response surface B (Hill 2011), CEVAE/Dragonnet distribution of ihdp_npci_k.csv"
)
_CITATION = (
    "Hill, J. L. (2011). Bayesian nonparametric modeling for causal inference. JCGS 20(1). "
    "Split: Shalit, Johansson & Sontag (2017), ICML (CFRNet)."
)
_SPLITS = ("all", "train", "test")


def _check_realization(realization: Any) -> int:
    k = check_positive_int(realization, "realization")
    if k > IHDP_N_REALIZATIONS:
        raise ValueError(
            f"realization must be in 1..{IHDP_N_REALIZATIONS} (the shipped IHDP realisations), got {k}."
        )
    return k


@lru_cache(maxsize=IHDP_N_REALIZATIONS)
def _read_realization(k: int) -> np.ndarray:
    """Parsed ``ihdp_npci_k.csv``: read-only float64 array of shape (747, 30)."""
    arr = np.loadtxt(io.BytesIO(read_bytes("ihdp", f"ihdp_npci_{k}.csv.gz")), delimiter=",")
    if arr.shape != (_N_UNITS, 30):
        raise RuntimeError(f"Shipped ihdp_npci_{k}.csv has shape {arr.shape}, expected (747, 30).")
    arr.setflags(write=False)
    return arr


@lru_cache(maxsize=1)
def _test_indices() -> dict[int, np.ndarray]:
    """Row indices (0-based, CFRNet order) of the 75 test units, per realisation."""
    payload = json.loads(read_bytes("ihdp", "DERIVED_test_split_indices.json"))
    out: dict[int, np.ndarray] = {}
    for k in range(1, IHDP_N_REALIZATIONS + 1):
        idx = np.asarray(payload["test_row_indices"][f"ihdp_npci_{k}.csv"], dtype=np.int64)
        if idx.shape != (_N_TEST,) or len(np.unique(idx)) != _N_TEST:
            raise RuntimeError(f"Shipped test indices of realisation {k} are malformed.")
        idx.setflags(write=False)
        out[k] = idx
    return out


def _split_rows(k: int, split: str) -> np.ndarray:
    test = _test_indices()[k]
    if split == "test":
        return test
    rows = np.arange(_N_UNITS)
    if split == "all":
        return rows
    mask = np.ones(_N_UNITS, dtype=bool)
    mask[test] = False
    return rows[mask]


def load_ihdp(realization: int = 1, split: str = "all") -> Dataset:
    """One realisation of the IHDP benchmark, optionally its standard train or test part.

    Parameters
    ----------
    realization : int
        Realisation k in 1..50 (file ``ihdp_npci_k.csv``; realisation k-1,
        0-based, of the CFRNet ``ihdp_npci_1-100`` files).
    split : {"all", "train", "test"}
        ``"all"``: the 747 units in file order. ``"test"``: the 75 units of
        the standard CFRNet out-of-sample split, in the order of the CFRNet
        test file. ``"train"``: the remaining 672 units in file order.

    Returns
    -------
    Dataset
        ``x`` of shape (n, 25) float64 with ``IHDP_FEATURE_NAMES`` (x1-x6
        continuous and standardised, x7-x25 binary; values exactly as in the
        source file, where ``first`` is coded {1, 2}), ``t`` (n,) binary,
        ``y`` (n,) factual outcome, and ``truth`` with per-unit ``mu0``,
        ``mu1``, ``cate`` = mu1 - mu0, ``y_cf`` (counterfactual outcome) and
        ``row_index`` (0-based row of each unit in the source file), and
        scalar ``ate`` (mean CATE over the returned units). ``meta`` records
        realisation, split, source and citation.

    Raises
    ------
    TypeError
        If ``realization`` is not an integer.
    ValueError
        If ``realization`` is outside 1..50 or ``split`` is unknown.
    """
    k = _check_realization(realization)
    check_in_options(split, "split", _SPLITS)
    rows = _split_rows(k, split)
    data = _read_realization(k)[rows]  # fancy indexing copies: writable, cache untouched
    mu0, mu1 = data[:, 3], data[:, 4]
    cate = mu1 - mu0
    return Dataset(
        data[:, 5:],
        t=data[:, 0],
        y=data[:, 1],
        truth={
            "mu0": mu0,
            "mu1": mu1,
            "cate": cate,
            "y_cf": data[:, 2],
            "row_index": rows.copy(),
            "ate": float(cate.mean()),
        },
        feature_names=list(IHDP_FEATURE_NAMES),
        name="ihdp",
        meta={
            "realization": k,
            "split": split,
            "source": _SOURCE,
            "citation": _CITATION,
        },
    )


def load_ihdp_train_test(realization: int = 1) -> tuple[Dataset, Dataset]:
    """The standard 672/75 train/test split of one IHDP realisation.

    Parameters
    ----------
    realization : int
        Realisation k in 1..50.

    Returns
    -------
    train : Dataset
        672 units, file order.
    test : Dataset
        75 units, CFRNet test-file order.
    """
    return load_ihdp(realization, "train"), load_ihdp(realization, "test")


_SHIFT_COLUMN = IHDP_FEATURE_NAMES.index("b.marr")  # column 8 (0-based)
_SHIFT_RULE = (
    "IHDP-Cov (Jesson et al. 2020, ucate; van Amersfoort et al. DUE): all 747 units of the "
    "realisation; train = mothers married at birth (b.marr == 1, 389 units), test = the "
    "unmarried (b.marr == 0, 358 units); b.marr (column 8) removed from the features."
)


def load_ihdp_covariate_shift(realization: int = 1) -> tuple[Dataset, Dataset]:
    """IHDP with covariate shift (IHDP-Cov): train on married mothers, test on the unmarried.

    Rule (ucate / DUE-CATE "IHDP-cov"): take all 747 units of realisation
    ``k`` (the standard 672/75 split is ignored), drop column 8 ``b.marr``
    (mother married at birth) from the features, train on the units with
    ``b.marr == 1`` and test on those with ``b.marr == 0``. The split is the
    same for every realisation (covariates are shared): 389 train units
    (treated share 0.24) and 358 test units (treated share 0.13). ucate tests
    on *everyone*; testing on the complementary population only, as here,
    makes every test unit out of the training support in ``b.marr``.

    Parameters
    ----------
    realization : int
        Realisation k in 1..50.

    Returns
    -------
    train : Dataset
        389 married-mother units, file order, ``x`` of shape (389, 24).
    test : Dataset
        358 unmarried-mother units, file order, ``x`` of shape (358, 24).
        Both carry the same ``truth`` entries as :func:`load_ihdp` (``ate``
        is the mean CATE over the returned units), feature names without
        ``b.marr``, and ``meta["split"]`` ``"covariate_shift_train"`` /
        ``"covariate_shift_test"`` with the rule in ``meta["shift_rule"]``.

    Raises
    ------
    TypeError
        If ``realization`` is not an integer.
    ValueError
        If ``realization`` is outside 1..50.
    """
    k = _check_realization(realization)
    data = _read_realization(k)
    married = data[:, 5 + _SHIFT_COLUMN] == 1.0
    keep_cols = [c for c in range(len(IHDP_FEATURE_NAMES)) if c != _SHIFT_COLUMN]
    names = [IHDP_FEATURE_NAMES[c] for c in keep_cols]
    out = []
    for part, rows in (("train", np.flatnonzero(married)), ("test", np.flatnonzero(~married))):
        sub = data[rows]  # fancy indexing copies: writable, cache untouched
        mu0, mu1 = sub[:, 3], sub[:, 4]
        cate = mu1 - mu0
        out.append(
            Dataset(
                sub[:, 5:][:, keep_cols],
                t=sub[:, 0],
                y=sub[:, 1],
                truth={
                    "mu0": mu0,
                    "mu1": mu1,
                    "cate": cate,
                    "y_cf": sub[:, 2],
                    "row_index": rows,
                    "ate": float(cate.mean()),
                },
                feature_names=names,
                name="ihdp",
                meta={
                    "realization": k,
                    "split": f"covariate_shift_{part}",
                    "shift_rule": _SHIFT_RULE,
                    "source": _SOURCE,
                    "citation": _CITATION,
                },
            )
        )
    return out[0], out[1]


@lru_cache(maxsize=1)
def _read_raw() -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(read_bytes("ihdp", "raw_npci", "ihdp.csv.gz")))


def load_ihdp_raw() -> pd.DataFrame:
    """The raw 985-unit IHDP table from the npci package (before Hill's censoring).

    Returns
    -------
    pandas.DataFrame of shape (985, 29)
        Column ``treat`` and 28 covariates: ``bw``, ``b.head``, ``preterm``,
        ``birth.o``, ``nnhealth``, ``momage``, ``sex``, ``twin``, ``b.marr``,
        ``mom.lths``, ``mom.hs``, ``mom.scoll``, ``cig``, ``first``, ``booze``,
        ``drugs``, ``work.dur``, ``prenatal``, the sites ``ark``, ``ein``,
        ``har``, ``mia``, ``pen``, ``tex``, ``was`` and ``momwhite``,
        ``momblack``, ``momhisp``. Values are unstandardised, as in the source.
        Dropping treated units with ``momwhite == 0`` gives Hill's 747 units.
        A fresh copy is returned on every call.
    """
    return _read_raw().copy()
