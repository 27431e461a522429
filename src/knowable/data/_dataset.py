"""The ``Dataset`` container shared by loaders, simulators and every layer above.

A ``Dataset`` holds covariates ``x``, an optional treatment ``t`` and outcome
``y``, and a ``truth`` dictionary with whatever a simulator or semi-synthetic
benchmark knows (potential-outcome means, CATE, propensities, true Λ*, curves).
Everything is validated once, on construction, with the shared helpers in
:mod:`knowable._validation`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from .._random import check_random_state
from .._validation import (
    as_feature_names,
    check_array,
    check_binary_treatment,
    check_consistent_length,
)

__all__ = ["Dataset"]

#: Per-unit truth columns written by :meth:`Dataset.to_frame` and read back by
#: :meth:`Dataset.from_frame`.
FRAME_TRUTH_COLUMNS: tuple[str, ...] = ("mu0", "mu1", "cate")


def _keep_int_dtype(value: Any) -> Any:
    """Integer/bool inputs stay int64, everything else becomes float64."""
    if hasattr(value, "columns"):
        return np.float64
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        dtype = np.asarray(value).dtype
    return np.int64 if getattr(dtype, "kind", "O") in ("b", "i", "u") else np.float64


def _check_x(x: Any) -> tuple[np.ndarray, bool]:
    """Validate covariates; return the array and whether it is tabular (2-d)."""
    dtype = np.float32 if getattr(x, "dtype", None) == np.float32 else np.float64
    arr = check_array(x, "x", ndim=(1, 2, 3, 4), dtype=dtype)
    if arr.ndim == 1:
        raise ValueError(
            f"x must be 2-d (n, d) for tabular data or (n, c, h, w) for images, got shape "
            f"{arr.shape}; reshape a single feature with x.reshape(-1, 1)."
        )
    if any(s == 0 for s in arr.shape[1:]):
        raise ValueError(f"x has an empty feature dimension (shape {arr.shape}).")
    return arr, arr.ndim == 2


def _check_feature_names(names: Any, n_features: int) -> list[str]:
    if isinstance(names, str) or not isinstance(names, Sequence | np.ndarray | pd.Index):
        raise TypeError(
            f"feature_names must be a sequence of {n_features} strings, got {type(names).__name__}."
        )
    names = list(names)
    if len(names) != n_features:
        raise ValueError(f"feature_names has {len(names)} entries but x has {n_features} features.")
    if not all(isinstance(s, str) for s in names):
        raise TypeError("feature_names must all be strings.")
    if len(set(names)) != len(names):
        dup = sorted({s for s in names if names.count(s) > 1})
        raise ValueError(f"feature_names must be unique; duplicated: {dup}.")
    return names


def _check_truth(truth: Any, n: int) -> dict[str, Any]:
    if truth is None:
        return {}
    if not isinstance(truth, Mapping):
        raise TypeError(f"truth must be a dict (name -> value), got {type(truth).__name__}.")
    out: dict[str, Any] = {}
    for key, value in truth.items():
        if not isinstance(key, str):
            raise TypeError(f"truth keys must be strings, got {key!r}.")
        label = f"truth[{key!r}]"
        if callable(value):
            out[key] = value
        elif isinstance(value, Real | np.number) and not isinstance(value, bool | np.bool_):
            v = float(value)
            if not math.isfinite(v):
                raise ValueError(f"{label} must be finite, got {v}.")
            out[key] = value
        elif isinstance(value, np.ndarray | Sequence | pd.Series | pd.DataFrame) and not isinstance(
            value, str | bytes
        ):
            arr = check_array(value, label, ndim=(1, 2, 3, 4), dtype=_keep_int_dtype(value))
            if len(arr) != n:
                raise ValueError(
                    f"{label} has {len(arr)} rows but the dataset has {n} units; per-unit truth "
                    "arrays need one entry per unit (store grids as callables or in meta)."
                )
            out[key] = arr
        else:
            raise TypeError(
                f"{label} must be a per-unit array, a real scalar or a callable, "
                f"got {type(value).__name__}."
            )
    return out


def _check_index(index: Any, n: int, name: str = "index") -> np.ndarray:
    """Turn an integer index array, boolean mask or slice into integer positions."""
    if isinstance(index, slice):
        idx = np.arange(n)[index]
    else:
        raw = np.asarray(index)
        if raw.size == 0:
            raise ValueError(f"{name} selects no units; a Dataset needs at least one row.")
        if raw.dtype == bool:
            if raw.shape != (n,):
                raise ValueError(f"boolean {name} must have shape ({n},), got {raw.shape}.")
            idx = np.flatnonzero(raw)
        else:
            if raw.dtype.kind not in "iu":
                raise TypeError(
                    f"{name} must be integer positions, a boolean mask or a slice, got dtype {raw.dtype}."
                )
            if raw.ndim != 1:
                raise ValueError(f"{name} must be 1-d, got shape {raw.shape}.")
            idx = raw.astype(np.int64)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(
                    f"{name} holds positions outside [0, {n - 1}] (min {idx.min()}, max {idx.max()})."
                )
    if idx.size == 0:
        raise ValueError(f"{name} selects no units; a Dataset needs at least one row.")
    return idx


class Dataset:
    """Covariates, treatment, outcome and (where known) the ground truth.

    Parameters
    ----------
    x : array-like of shape (n, d) or (n, c, h, w)
        Covariates: float64 for tabular data; image stacks keep float32.
        A pandas DataFrame keeps its column names as ``feature_names``.
    t : array-like of shape (n,), optional
        Treatment (binary 0/1 or continuous), stored as float64.
    y : array-like of shape (n,), optional
        Outcome; integer/boolean input (class labels) is kept as int64,
        everything else becomes float64.
    truth : dict, optional
        What the data-generating process knows. Values are per-unit arrays
        with first dimension n (e.g. ``mu0``, ``mu1``, ``cate``,
        ``propensity``), real scalars (``ate``, ``lambda_star``) or callables
        (curves such as ``apo(t_grid)``). By convention ``ate`` is the average
        of ``cate`` over the units in the dataset and is recomputed by
        :meth:`subset`.
    feature_names : sequence of str of length d, optional
        Names of the columns of a tabular ``x`` (default: DataFrame columns, or
        ``x0 .. x{d-1}``). Not used for image data.
    name : str
        Short name used in summaries and reports.
    meta : dict, optional
        Provenance information (source, citation, realisation, seed, ...).

    Raises
    ------
    TypeError
        Non-numeric inputs, or truth values of an unsupported type.
    ValueError
        Wrong shapes, NaN/inf, empty arrays, or inconsistent numbers of rows.
    """

    __slots__ = ("_tabular", "feature_names", "meta", "name", "t", "truth", "x", "y")

    def __init__(
        self,
        x: Any,
        t: Any = None,
        y: Any = None,
        truth: Mapping[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
        name: str = "dataset",
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}.")
        if meta is not None and not isinstance(meta, Mapping):
            raise TypeError(f"meta must be a dict or None, got {type(meta).__name__}.")
        x_arr, tabular = _check_x(x)
        t_arr = None if t is None else check_array(t, "t", ndim=1)
        y_arr = None if y is None else check_array(y, "y", ndim=1, dtype=_keep_int_dtype(y))
        n = check_consistent_length(x=x_arr, t=t_arr, y=y_arr)
        if tabular:
            names = (
                as_feature_names(x, x_arr.shape[1])
                if feature_names is None
                else _check_feature_names(feature_names, x_arr.shape[1])
            )
        else:
            if feature_names is not None:
                raise ValueError("feature_names only applies to tabular (2-d) x.")
            names = None
        self.x: np.ndarray = x_arr
        self.t: np.ndarray | None = t_arr
        self.y: np.ndarray | None = y_arr
        self.truth: dict[str, Any] = _check_truth(truth, n)
        self.feature_names: list[str] | None = names
        self.name: str = name
        self.meta: dict[str, Any] = dict(meta) if meta is not None else {}
        self._tabular = tabular

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        """Number of units n."""
        return int(self.x.shape[0])

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"n={len(self)}", f"x_shape={self.x.shape}"]
        parts.append(f"t={'None' if self.t is None else 'yes'}")
        parts.append(f"y={'None' if self.y is None else 'yes'}")
        if self.truth:
            parts.append(f"truth={sorted(self.truth)}")
        return f"Dataset({', '.join(parts)})"

    @property
    def n_features(self) -> int:
        """Number of covariates d (for images, the number of pixels c*h*w)."""
        return int(np.prod(self.x.shape[1:]))

    @property
    def is_tabular(self) -> bool:
        """Whether ``x`` is a 2-d table (as opposed to an image stack)."""
        return self._tabular

    @property
    def has_binary_treatment(self) -> bool:
        """Whether ``t`` is present and takes only the values 0 and 1."""
        return self.t is not None and bool(np.isin(self.t, (0.0, 1.0)).all())

    @property
    def cate(self) -> np.ndarray:
        """True conditional average treatment effect per unit, shape (n,).

        ``truth["cate"]`` if present, otherwise ``truth["mu1"] - truth["mu0"]``.

        Raises
        ------
        ValueError
            If the truth does not determine the CATE (real data).
        """
        return self._cate_or_none(strict=True)  # type: ignore[return-value]

    def _cate_or_none(self, *, strict: bool = False) -> np.ndarray | None:
        if "cate" in self.truth and isinstance(self.truth["cate"], np.ndarray):
            return self.truth["cate"]
        mu0, mu1 = self.truth.get("mu0"), self.truth.get("mu1")
        if isinstance(mu0, np.ndarray) and isinstance(mu1, np.ndarray):
            return mu1 - mu0
        if strict:
            raise ValueError(
                f"The true CATE of dataset {self.name!r} is unknown: its truth has neither 'cate' "
                f"nor both 'mu0' and 'mu1' (keys: {sorted(self.truth)})."
            )
        return None

    # ---------------------------------------------------------------- slicing
    def subset(self, index: Any) -> Dataset:
        """A new dataset with the selected units.

        Parameters
        ----------
        index : array-like of int of shape (m,), boolean mask of shape (n,), or slice
            Units to keep (positions 0 .. n-1; order and repeats are kept).

        Returns
        -------
        Dataset
            Per-unit truth arrays are sliced; scalars and callables are kept,
            except ``ate``, which is recomputed over the kept units when the
            CATE is known, and truth values that provide ``_subset(index)``
            (sample-average curves), which are sliced through that method.
        """
        idx = _check_index(index, len(self))
        truth: dict[str, Any] = {}
        for key, value in self.truth.items():
            if isinstance(value, np.ndarray):
                truth[key] = value[idx]
            elif hasattr(value, "_subset"):
                truth[key] = value._subset(idx)
            else:
                truth[key] = value
        new = Dataset.__new__(Dataset)
        new.x = self.x[idx]
        new.t = None if self.t is None else self.t[idx]
        new.y = None if self.y is None else self.y[idx]
        new.truth = truth
        new.feature_names = None if self.feature_names is None else list(self.feature_names)
        new.name = self.name
        new.meta = dict(self.meta)
        new._tabular = self._tabular
        if "ate" in truth:
            cate = new._cate_or_none()
            if cate is not None:
                truth["ate"] = float(np.mean(cate))
        return new

    def train_test_indices(
        self,
        test_size: float | int = 0.2,
        *,
        random_state: int | np.random.Generator | None = None,
        stratify_treatment: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Random disjoint train/test positions covering all units.

        Parameters
        ----------
        test_size : float in (0, 1) or int in [1, n - 1]
            Fraction (rounded up) or number of test units.
        random_state : None, int or numpy.random.Generator
            Seed of the permutation.
        stratify_treatment : bool
            Split each treatment arm separately so both sides keep the treated
            fraction (needs a binary ``t``).

        Returns
        -------
        train_index : numpy.ndarray of shape (n - m,)
        test_index : numpy.ndarray of shape (m,)
            Sorted int64 positions.
        """
        n = len(self)
        if n < 2:
            raise ValueError(f"Cannot split a dataset with {n} unit(s); need at least 2.")
        if isinstance(test_size, bool) or not isinstance(test_size, Real):
            raise TypeError(f"test_size must be a float in (0, 1) or an int, got {test_size!r}.")
        if isinstance(test_size, Integral):
            n_test = int(test_size)
            if not 1 <= n_test <= n - 1:
                raise ValueError(f"test_size as a count must be in [1, {n - 1}], got {n_test}.")
            frac = n_test / n
        else:
            frac = float(test_size)
            if not 0.0 < frac < 1.0:
                raise ValueError(f"test_size as a fraction must be in (0, 1), got {frac}.")
            n_test = min(max(math.ceil(frac * n - 1e-9), 1), n - 1)
        if not isinstance(stratify_treatment, bool):
            raise TypeError("stratify_treatment must be True or False.")
        rng = check_random_state(random_state)
        if not stratify_treatment:
            perm = rng.permutation(n)
            test = perm[:n_test]
        else:
            if self.t is None:
                raise ValueError(
                    "stratify_treatment=True needs a treatment t; this dataset has none."
                )
            t = check_binary_treatment(self.t)
            tests = []
            for arm in (0.0, 1.0):
                pos = np.flatnonzero(t == arm)
                k = round(frac * len(pos))
                tests.append(rng.permutation(pos)[:k])
            test = np.concatenate(tests)
            if test.size == 0 or test.size == n:
                raise ValueError(
                    f"test_size={test_size} leaves an empty train or test set after stratification."
                )
        mask = np.zeros(n, dtype=bool)
        mask[test] = True
        return np.flatnonzero(~mask), np.flatnonzero(mask)

    def split(
        self,
        test_size: float | int = 0.2,
        *,
        random_state: int | np.random.Generator | None = None,
        stratify_treatment: bool = False,
    ) -> tuple[Dataset, Dataset]:
        """Random train/test split (seeded, disjoint, covering all units).

        Parameters
        ----------
        test_size : float in (0, 1) or int in [1, n - 1]
            Fraction (rounded up) or number of test units.
        random_state : None, int or numpy.random.Generator
            Seed of the permutation; the same seed gives the same split.
        stratify_treatment : bool
            Keep the treated fraction in both parts (binary ``t`` only).

        Returns
        -------
        train, test : Dataset
            Both keep the original unit order.
        """
        train_idx, test_idx = self.train_test_indices(
            test_size, random_state=random_state, stratify_treatment=stratify_treatment
        )
        return self.subset(train_idx), self.subset(test_idx)

    def split_by_index(self, test_index: Any) -> tuple[Dataset, Dataset]:
        """Split off given units as the test set; the rest (in order) is the train set.

        Parameters
        ----------
        test_index : array-like of int of shape (m,) or boolean mask of shape (n,)
            Test units (kept in the given order); must be unique.

        Returns
        -------
        train, test : Dataset
        """
        test = _check_index(test_index, len(self), "test_index")
        if len(np.unique(test)) != len(test):
            raise ValueError("test_index holds repeated positions.")
        mask = np.ones(len(self), dtype=bool)
        mask[test] = False
        if not mask.any():
            raise ValueError("test_index selects every unit; the train set would be empty.")
        return self.subset(np.flatnonzero(mask)), self.subset(test)

    # ------------------------------------------------------------- frames
    def to_frame(self) -> pd.DataFrame:
        """The dataset as a table.

        Returns
        -------
        pandas.DataFrame of shape (n, d + k)
            Feature columns, then ``t`` and ``y`` when present, then ``mu0``,
            ``mu1`` and ``cate`` when the truth has them (``cate`` also when
            derived from ``mu1 - mu0``).

        Raises
        ------
        ValueError
            For image data, or when a feature is named like an added column.
        """
        if not self._tabular or self.feature_names is None:
            raise ValueError(
                "to_frame needs tabular x of shape (n, d); this dataset holds images "
                f"{self.x.shape}. Load a flattened version (e.g. load_mnist(flatten=True))."
            )
        data: dict[str, np.ndarray] = {c: self.x[:, j] for j, c in enumerate(self.feature_names)}
        extra: dict[str, np.ndarray] = {}
        if self.t is not None:
            extra["t"] = self.t
        if self.y is not None:
            extra["y"] = self.y
        for key in ("mu0", "mu1"):
            value = self.truth.get(key)
            if isinstance(value, np.ndarray) and value.ndim == 1:
                extra[key] = value
        cate = self._cate_or_none()
        if cate is not None and cate.ndim == 1:
            extra["cate"] = cate
        clash = sorted(set(extra) & set(data))
        if clash:
            raise ValueError(
                f"Feature name(s) {clash} clash with the added columns t/y/mu0/mu1/cate."
            )
        data.update(extra)
        return pd.DataFrame(data)

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        treatment: str | None = "t",
        outcome: str | None = "y",
        covariates: Sequence[str] | None = None,
        name: str = "dataset",
        *,
        truth_columns: Sequence[str] = FRAME_TRUTH_COLUMNS,
        meta: Mapping[str, Any] | None = None,
    ) -> Dataset:
        """Build a dataset from a DataFrame.

        Parameters
        ----------
        df : pandas.DataFrame of shape (n, k)
            Numeric columns.
        treatment : str or None
            Treatment column (None: no treatment).
        outcome : str or None
            Outcome column (None: no outcome).
        covariates : sequence of str, optional
            Covariate columns. Default: every column except the treatment,
            the outcome and any of ``truth_columns`` present.
        name : str
            Dataset name.
        truth_columns : sequence of str
            Columns read into ``truth`` when present (default ``mu0``,
            ``mu1``, ``cate``, as written by :meth:`to_frame`).
        meta : dict, optional
            Provenance information.

        Returns
        -------
        Dataset

        Raises
        ------
        TypeError
            If ``df`` is not a DataFrame or a column is not numeric.
        ValueError
            If a named column is missing or no covariate is left.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}.")
        columns = [str(c) for c in df.columns]
        if len(set(columns)) != len(columns):
            raise ValueError("df has duplicated column names.")
        frame = df.copy()
        frame.columns = columns

        def need(col: Any, what: str) -> None:
            if not isinstance(col, str):
                raise TypeError(f"{what} must be a column name (str), got {col!r}.")
            if col not in columns:
                raise ValueError(
                    f"{what} column {col!r} is not in the frame; columns are {columns}."
                )

        if treatment is not None:
            need(treatment, "treatment")
        if outcome is not None:
            need(outcome, "outcome")
        if isinstance(truth_columns, str):
            raise TypeError("truth_columns must be a sequence of column names, not a string.")
        truth_cols = [c for c in truth_columns if c in columns]
        used = {c for c in (treatment, outcome) if c is not None}
        if covariates is None:
            covs = [c for c in columns if c not in used and c not in truth_cols]
        else:
            if isinstance(covariates, str):
                raise TypeError("covariates must be a sequence of column names, not a string.")
            covs = list(covariates)
            for c in covs:
                need(c, "covariate")
            both = sorted(set(covs) & used)
            if both:
                raise ValueError(
                    f"Column(s) {both} cannot be both covariate and treatment/outcome."
                )
        if not covs:
            raise ValueError("No covariate columns left; pass covariates=[...].")
        truth = {c: frame[c] for c in truth_cols if c not in covs}
        return cls(
            frame[covs],
            t=None if treatment is None else frame[treatment],
            y=None if outcome is None else frame[outcome],
            truth=truth or None,
            feature_names=covs,
            name=name,
            meta=meta,
        )

    # ------------------------------------------------------------- summary
    def summary(self) -> dict[str, Any]:
        """Plain-Python description of the dataset (used by ``knowable datasets show``).

        Returns
        -------
        dict
            Keys: ``name``, ``n``, ``n_features``, ``x_shape``, ``feature_names``
            (tabular only), ``treatment`` ("binary", "continuous" or None),
            ``treated_fraction`` (binary t) or ``t_mean``/``t_min``/``t_max``
            (continuous t), ``outcome_mean``/``outcome_std`` (or
            ``n_classes`` for integer labels), ``true_ate`` when known,
            ``lambda_star`` when known, ``truth_keys`` and ``meta``.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "n": len(self),
            "n_features": self.n_features,
            "x_shape": list(self.x.shape),
        }
        if self.feature_names is not None:
            out["feature_names"] = list(self.feature_names)
        if self.t is None:
            out["treatment"] = None
        elif self.has_binary_treatment:
            out["treatment"] = "binary"
            out["n_treated"] = int(self.t.sum())
            out["treated_fraction"] = float(self.t.mean())
        else:
            out["treatment"] = "continuous"
            out["t_mean"] = float(self.t.mean())
            out["t_min"] = float(self.t.min())
            out["t_max"] = float(self.t.max())
        if self.y is not None:
            if self.y.dtype.kind == "i":
                out["n_classes"] = len(np.unique(self.y))
            out["outcome_mean"] = float(self.y.mean())
            out["outcome_std"] = float(self.y.std())
        ate = self.truth.get("ate")
        if ate is None:
            cate = self._cate_or_none()
            ate = None if cate is None else float(np.mean(cate))
        if ate is not None:
            out["true_ate"] = float(ate)
        if "lambda_star" in self.truth and not callable(self.truth["lambda_star"]):
            out["lambda_star"] = float(self.truth["lambda_star"])
        out["truth_keys"] = sorted(self.truth)
        out["meta"] = dict(self.meta)
        return out
