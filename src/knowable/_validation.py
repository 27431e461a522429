"""Input checks shared by every public entry point.

One place decides what counts as valid input, so that every estimator, loader
and acquisition rejects the same mistakes with the same clear messages. Nothing
here coerces silently: strings, NaN, infinities, empty arrays and wrong shapes
raise ``TypeError`` or ``ValueError`` naming the argument and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

__all__ = [
    "MAX_MAGNITUDE",
    "as_feature_names",
    "check_array",
    "check_binary_treatment",
    "check_broadcast",
    "check_consistent_length",
    "check_feature_names",
    "check_in_options",
    "check_is_fitted",
    "check_lambda",
    "check_magnitude",
    "check_positive_int",
    "check_probability_array",
    "check_real",
    "check_variance",
    "feature_names_of",
    "mean_and_scale",
]

# Largest magnitude accepted where a value is standardised or squared: its square (a variance
# in the units of the data) must stay finite in float64 (max ~1.8e308).
MAX_MAGNITUDE = 1e150
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _to_numpy(value: Any, name: str) -> np.ndarray:
    if value is None:
        raise TypeError(f"{name} is None; pass an array-like of numbers.")
    if hasattr(value, "to_numpy") and hasattr(
        value, "dtypes" if hasattr(value, "columns") else "dtype"
    ):
        # pandas DataFrame / Series: refuse non-numeric columns explicitly
        frame_like = value.to_frame() if not hasattr(value, "columns") else value
        bad = [
            str(c)
            for c, dt in zip(frame_like.columns, frame_like.dtypes, strict=True)
            if not _is_numeric_dtype(dt)
        ]
        if bad:
            raise TypeError(
                f"{name} has non-numeric column(s) {bad}; encode them as numbers before passing them in."
            )
        return np.asarray(value.to_numpy(dtype=float))
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind in "USaVM":
        raise TypeError(
            f"{name} must hold numbers, got dtype {arr.dtype}; convert strings/objects to numbers first."
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real-valued, got complex dtype {arr.dtype}.")
    return arr


def _is_numeric_dtype(dt: Any) -> bool:
    kind = getattr(np.dtype(dt) if not hasattr(dt, "kind") else dt, "kind", "O")
    return kind in "biuf"


def check_array(
    value: Any,
    name: str = "X",
    *,
    ndim: int | tuple[int, ...] = 2,
    dtype: Any = np.float64,
    allow_empty: bool = False,
    allow_nonfinite: bool = False,
    ensure_2d: bool = False,
) -> np.ndarray:
    """Validate an array-like of numbers and return it as a numpy array.

    Parameters
    ----------
    value : array-like, pandas DataFrame/Series or torch tensor
        The input to check.
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int
        Allowed numbers of dimensions.
    dtype : numpy dtype or None
        Dtype of the returned array (booleans and integers are converted);
        None keeps the input's dtype.
    allow_empty : bool
        Whether an array with zero rows is acceptable.
    allow_nonfinite : bool
        Whether NaN and infinities are acceptable.
    ensure_2d : bool
        Reshape a 1-d input of shape ``(n,)`` to ``(n, 1)`` when 2 is among
        the allowed ``ndim``.

    Returns
    -------
    numpy.ndarray
        The validated array.

    Raises
    ------
    TypeError
        If the input is not numeric.
    ValueError
        If it has the wrong number of dimensions, is empty, or holds NaN/inf.
    """
    arr = _to_numpy(value, name)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if ensure_2d and arr.ndim == 1 and 2 in allowed:
        arr = arr.reshape(-1, 1)
    if arr.ndim not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape {arr.shape}."
        )
    if not allow_empty and (arr.size == 0 or (arr.ndim > 0 and arr.shape[0] == 0)):
        raise ValueError(f"{name} is empty (shape {arr.shape}); pass at least one row.")
    if (
        dtype is not None
        and np.dtype(dtype) == np.float32
        and arr.dtype.kind == "f"
        and (arr.dtype.itemsize > 4)
    ):
        with np.errstate(invalid="ignore"):
            too_big = np.isfinite(arr) & (np.abs(arr) > _FLOAT32_MAX)
        if too_big.any():
            raise ValueError(
                f"{name} has {int(too_big.sum())} value(s) beyond the float32 range used by the "
                f"networks (largest {float(np.abs(arr[too_big]).max()):.3g} > 3.4e38); rescale "
                f"{name} first."
            )
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if not allow_nonfinite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise ValueError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s); impute or drop them first."
        )
    return arr


def check_consistent_length(**arrays: np.ndarray | None) -> int:
    """Check that all given arrays have the same number of rows.

    Parameters
    ----------
    **arrays : numpy.ndarray or None
        Named arrays; ``None`` entries are skipped.

    Returns
    -------
    int
        The common number of rows.
    """
    lengths = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise ValueError(
            f"Inconsistent numbers of rows ({detail}); every input needs one row per unit."
        )
    return next(iter(lengths.values())) if lengths else 0


def check_binary_treatment(t: Any, name: str = "t") -> np.ndarray:
    """Validate a binary treatment vector and return it as float64 0/1 values.

    Parameters
    ----------
    t : array-like of shape (n,) or (n, 1)
        Treatment indicators, exactly 0 or 1 (booleans accepted).
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    arr = check_array(t, name, ndim=(1, 2))
    if arr.ndim == 2:
        if arr.shape[1] != 1:
            raise ValueError(f"{name} must be a single column, got shape {arr.shape}.")
        arr = arr[:, 0]
    values = np.unique(arr)
    if not np.isin(values, (0.0, 1.0)).all():
        shown = values[:6].tolist()
        raise ValueError(
            f"{name} must be binary (0/1); found values {shown}{'...' if len(values) > 6 else ''}. "
            "For a continuous treatment use knowable.effects.DoseResponse."
        )
    return arr


def check_lambda(lam: Any, name: str = "lam") -> np.ndarray:
    """Validate sensitivity parameter(s) Λ ≥ 1 of the marginal sensitivity model.

    Parameters
    ----------
    lam : float or array-like of float
        One or several values of Λ.
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        The values as a float64 array (0-d for a scalar input).
    """
    arr = check_array(lam, name, ndim=(0, 1), dtype=None)
    if arr.dtype.kind == "b":  # True would silently mean Λ = 1
        raise TypeError(f"{name} must hold numbers >= 1, got booleans {lam!r}.")
    arr = arr.astype(np.float64)
    if (arr < 1).any():
        raise ValueError(
            f"{name} must be >= 1 (Λ = 1 means no hidden confounding); got {arr.min()}."
        )
    return arr


def check_probability_array(
    p: Any, name: str = "propensity", *, open_interval: bool = True
) -> np.ndarray:
    """Validate probabilities, by default strictly inside (0, 1).

    Parameters
    ----------
    p : array-like
        Probabilities.
    name : str
        Argument name used in error messages.
    open_interval : bool
        Reject exact 0 and 1 (no overlap) when True.

    Returns
    -------
    numpy.ndarray
    """
    arr = check_array(p, name, ndim=(0, 1, 2))
    if open_interval:
        if ((arr <= 0) | (arr >= 1)).any():
            raise ValueError(
                f"{name} must lie strictly between 0 and 1 (values of 0 or 1 mean no overlap); "
                f"got range [{arr.min()}, {arr.max()}]."
            )
    elif ((arr < 0) | (arr > 1)).any():
        raise ValueError(f"{name} must lie in [0, 1]; got range [{arr.min()}, {arr.max()}].")
    return arr


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Validate an integer parameter that must be at least ``minimum``.

    Parameters
    ----------
    value : int
        The value to check (booleans are refused).
    name : str
        Parameter name used in error messages.
    minimum : int
        Smallest allowed value.

    Returns
    -------
    int
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Validate a real scalar parameter inside an interval.

    Parameters
    ----------
    value : float
        The value to check.
    name : str
        Parameter name used in error messages.
    low, high : float, optional
        Interval ends.
    low_inclusive, high_inclusive : bool
        Whether the ends are allowed.

    Returns
    -------
    float
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}.")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}.")
    if low is not None and (v < low or (v == low and not low_inclusive)):
        raise ValueError(f"{name} must be {'>=' if low_inclusive else '>'} {low}, got {v}.")
    if high is not None and (v > high or (v == high and not high_inclusive)):
        raise ValueError(f"{name} must be {'<=' if high_inclusive else '<'} {high}, got {v}.")
    return v


def check_in_options(value: Any, name: str, options: Sequence[str]) -> str:
    """Validate a string parameter against a fixed set of options.

    Parameters
    ----------
    value : str
        The value to check.
    name : str
        Parameter name used in error messages.
    options : sequence of str
        Allowed values.

    Returns
    -------
    str
    """
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}.")
    return value


def as_feature_names(value: Any, n_features: int) -> list[str]:
    """Feature names of a DataFrame input, or ``x0 .. x{d-1}`` otherwise.

    Parameters
    ----------
    value : array-like
        The original input (before conversion).
    n_features : int
        Number of columns.

    Returns
    -------
    list of str
    """
    columns = getattr(value, "columns", None)
    if columns is not None and len(columns) == n_features:
        return [str(c) for c in columns]
    return [f"x{i}" for i in range(n_features)]


def check_is_fitted(
    estimator: Any,
    attributes: str | Sequence[str] | None = None,
    *,
    error: type[Exception] | None = None,
) -> None:
    """Raise :class:`knowable.exceptions.NotFittedError` unless ``estimator`` is fitted.

    The one fitted-check of the library (scikit-learn's rule): fitted means the
    named attributes exist, or, without names, that ``fit`` set at least one
    attribute ending in ``_``; an estimator's ``__sklearn_is_fitted__`` wins.

    Parameters
    ----------
    estimator : object
        An estimator with a ``fit`` method.
    attributes : str or sequence of str, optional
        Attributes that ``fit`` sets (all must exist).
    error : type, optional
        A subclass of ``NotFittedError`` to raise instead (the bounds classes
        raise :class:`~knowable.exceptions.LegacyNotFittedError` for one release).

    Raises
    ------
    NotFittedError
        ``"This <Class> is not fitted yet; call fit(<args>) first."``
    """
    import inspect

    from .exceptions import NotFittedError

    if isinstance(estimator, type) or not hasattr(estimator, "fit"):
        raise TypeError(f"{estimator!r} is not an estimator instance (it has no fit method).")
    if hasattr(estimator, "__sklearn_is_fitted__"):
        fitted = bool(estimator.__sklearn_is_fitted__())
    elif attributes is not None:
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        fitted = all(hasattr(estimator, name) for name in names)
    else:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    if fitted:
        return
    try:
        params = inspect.signature(estimator.fit).parameters.values()
        args = ", ".join(
            p.name
            for p in params
            if p.default is inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
    except (TypeError, ValueError):  # builtins without a signature
        args = "..."
    raise (error or NotFittedError)(
        f"This {type(estimator).__name__} is not fitted yet; call fit({args}) first."
    )


def check_broadcast(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    """A read-only view of ``value`` broadcast to ``shape``, or a ValueError naming ``name``.

    Parameters
    ----------
    value : array-like
        The array to broadcast.
    shape : tuple of int
        Target shape (for example the units' batch shape).
    name : str
        Argument name used in the error message.

    Returns
    -------
    numpy.ndarray of shape ``shape``
    """
    arr = np.asarray(value)
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{name} has shape {arr.shape}, which does not broadcast to the units' shape {shape}."
        ) from None


def check_magnitude(arr: np.ndarray, name: str, *, limit: float = MAX_MAGNITUDE) -> np.ndarray:
    """Refuse values so large that their squares (variances) would overflow float64.

    Parameters
    ----------
    arr : numpy.ndarray
        Finite values (already checked by :func:`check_array`).
    name : str
        Argument name used in error messages.
    limit : float
        Largest accepted absolute value (default :data:`MAX_MAGNITUDE`, 1e150).

    Returns
    -------
    numpy.ndarray
        ``arr`` unchanged.
    """
    if arr.size:
        big = float(np.max(np.abs(arr)))
        if big > limit:
            raise ValueError(
                f"{name} has values as large as {big:.3g}; variances in these units overflow "
                f"float64 (limit {limit:.0e}). Rescale {name} (e.g. divide by a power of ten) first."
            )
    return arr


def mean_and_scale(arr: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations for standardising, computed safely in float64.

    Parameters
    ----------
    arr : numpy.ndarray of shape (n,) or (n, k)
        Finite values (already checked by :func:`check_array`).
    name : str
        Argument name used in error messages.

    Returns
    -------
    mean, scale : numpy.ndarray of shape () or (k,)
        ``scale`` is the standard deviation, 1 where a column is constant.

    Raises
    ------
    ValueError
        If a value exceeds :data:`MAX_MAGNITUDE` (the variance would overflow).
    """
    values = check_magnitude(np.asarray(arr, dtype=np.float64), name)
    mean = values.mean(0)
    scale = values.std(0)
    return mean, np.where(scale > 0, scale, 1.0)


def check_variance(value: Any, name: str = "var", *, ndim: int | tuple[int, ...] = 1) -> np.ndarray:
    """Validate variances: finite and non-negative.

    Parameters
    ----------
    value : array-like
        The variances.
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int
        Allowed numbers of dimensions.

    Returns
    -------
    numpy.ndarray
    """
    arr = check_array(value, name, ndim=ndim)
    if (arr < 0).any():
        raise ValueError(
            f"{name} must be non-negative (a variance); got minimum {float(arr.min()):.3g}."
        )
    return arr


def feature_names_of(X: Any) -> np.ndarray | None:
    """Column names of a DataFrame input when all are strings (scikit-learn's rule), else None.

    Parameters
    ----------
    X : array-like
        The original input (before conversion).

    Returns
    -------
    numpy.ndarray of object of shape (d,) or None
    """
    names = getattr(X, "columns", None)
    if names is not None and all(isinstance(c, str) for c in names):
        return np.asarray(list(names), dtype=object)
    return None


def check_feature_names(X: Any, fitted: Any, what: str = "the model") -> None:
    """A DataFrame at prediction must have the fitted columns, in the fitted order.

    Parameters
    ----------
    X : array-like
        The input at prediction (only a DataFrame's ``columns`` are looked at).
    fitted : sequence of str or None
        ``feature_names_in_`` recorded at fit; None skips the check.
    what : str
        How the estimator is named in the message.

    Raises
    ------
    ValueError
        If the columns differ in names or order.
    """
    names = getattr(X, "columns", None)
    if fitted is None or names is None or list(names) == list(fitted):
        return
    raise ValueError(
        f"X has columns {list(names)}, but {what} was fitted on {list(fitted)} (in that "
        "order); columns are matched by position, so select them as fitted: "
        "X[model.feature_names_in_]."
    )
