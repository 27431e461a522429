"""From a user's table to model inputs: the columns, the encoding and the estimand population.

Shared by every command that reads data, so that ``--id-column``,
``--exclude``, ``--truth``, ``--categorical``, ``--treated-value``,
``--where`` and ``--estimand`` mean the same everywhere.

The encoding step (:class:`Preprocessing`) is saved next to a model as
``preprocessing.json`` (plain JSON, never a pickle) and applied identically at
prediction (``knowable acquire`` reads it back). String categoricals are
one-hot encoded with scikit-learn's :class:`~sklearn.preprocessing.OneHotEncoder`,
rebuilt from the saved categories.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._tables import covariate_columns, numeric_column, read_table, require_columns, split_names

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ESTIMANDS",
    "PREPROCESSING_NAME",
    "Prepared",
    "Preprocessing",
    "estimand_mask",
    "load_table",
    "overlap_summary",
]

ESTIMANDS = ("ate", "att", "atc")
PREPROCESSING_NAME = "preprocessing.json"
_FORMAT = "knowable.cli.preprocessing/1"


@dataclass
class Preprocessing:
    """The covariate encoding: raw columns in order, and the categories of the one-hot ones.

    Parameters
    ----------
    covariates : list of str
        Raw covariate columns, in the order they are encoded.
    categories : dict of str to list of str
        For each ``--categorical`` column, its categories (as strings) seen at fit.
    treatment : str, optional
        Treatment column (recorded so that a pool can be checked against it).
    treated_value : str, optional
        The treatment value coded as 1 (``--treated-value``), if any.
    outcome : str, optional
        Outcome column at fit (named when it is found among a pool's columns).
    """

    covariates: list[str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    treatment: str | None = None
    treated_value: str | None = None
    outcome: str | None = None

    # ------------------------------------------------------------------ fit / apply
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        covariates: list[str],
        categorical: list[str],
        path: Path,
        **info: Any,
    ) -> Preprocessing:
        """Learn the categories of the ``categorical`` columns.

        Parameters
        ----------
        frame : pandas.DataFrame
            The table.
        covariates : list of str
            Raw covariate columns.
        categorical : list of str
            Those to one-hot encode (each must be in ``covariates``).
        path : pathlib.Path
            The file (for messages).
        **info
            ``treatment``, ``treated_value``, ``outcome`` to record.

        Returns
        -------
        Preprocessing
        """
        stray = [c for c in categorical if c not in covariates]
        if stray:
            raise ValueError(
                f"--categorical names {stray}, which are not covariates of {path} "
                "(excluded, special or missing columns)."
            )
        categories = {}
        for col in categorical:
            values = _category_strings(frame, col, path)
            categories[col] = sorted(set(values))
        return cls(list(covariates), categories, **info)

    def feature_names(self) -> list[str]:
        """Names of the encoded columns (``col=value`` for one-hot columns).

        Returns
        -------
        list of str
        """
        names: list[str] = []
        for col in self.covariates:
            if col in self.categories:
                names.extend(f"{col}={v}" for v in self.categories[col])
            else:
                names.append(col)
        return names

    def transform(self, frame: pd.DataFrame, path: Path) -> pd.DataFrame:
        """Encode ``frame`` into the numeric covariate table the model takes.

        Parameters
        ----------
        frame : pandas.DataFrame
            Raw table holding every column of ``covariates`` (matched by name).
        path : pathlib.Path
            The file (for messages).

        Returns
        -------
        pandas.DataFrame of shape (n, len(feature_names()))
            float64, columns named by :meth:`feature_names`.
        """
        import numpy as np
        import pandas as pd
        from sklearn.preprocessing import OneHotEncoder

        require_columns(frame, self.covariates, path)
        blocks: dict[str, np.ndarray] = {}
        for col in self.covariates:
            if col in self.categories:
                cats = self.categories[col]
                values = _category_strings(frame, col, path)
                known = set(cats)
                unseen = [i for i, v in enumerate(values) if v not in known]
                if unseen:
                    row = unseen[0]
                    raise ValueError(
                        f"column {col!r} of {path} has the category {values[row]!r} at row {row}, "
                        f"which the model never saw (known: {cats[:10]})."
                    )
                # the encoder is rebuilt from the saved categories: fit only checks the columns
                enc = OneHotEncoder(categories=[cats], sparse_output=False, dtype=np.float64)
                enc.fit(np.asarray(cats, dtype=object).reshape(-1, 1))
                onehot = enc.transform(np.asarray(values, dtype=object).reshape(-1, 1))
                for j, v in enumerate(cats):
                    blocks[f"{col}={v}"] = onehot[:, j]
            else:
                blocks[col] = numeric_column(
                    frame, col, path, hint=f"pass --categorical {col} to one-hot encode it"
                )
        return pd.DataFrame(blocks, index=frame.index)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """The JSON document saved as ``preprocessing.json``.

        Returns
        -------
        dict
        """
        return {
            "format": _FORMAT,
            "covariates": self.covariates,
            "categories": self.categories,
            "treatment": self.treatment,
            "treated_value": self.treated_value,
            "outcome": self.outcome,
            "features": self.feature_names(),
        }

    def save(self, folder: Path) -> Path:
        """Write ``preprocessing.json`` into a model folder.

        Parameters
        ----------
        folder : pathlib.Path
            The folder the model was saved to.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        target = Path(folder) / PREPROCESSING_NAME
        target.write_text(json.dumps(self.to_json(), indent=2))
        return target

    @classmethod
    def load(cls, folder: Path) -> Preprocessing | None:
        """Read ``preprocessing.json`` from a model folder; None when there is none.

        Parameters
        ----------
        folder : pathlib.Path
            Model folder.

        Returns
        -------
        Preprocessing or None
        """
        source = Path(folder) / PREPROCESSING_NAME
        if not source.is_file():
            return None
        try:
            doc = json.loads(source.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{source} is not valid JSON ({err}).") from None
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ValueError(f"{source} is not a knowable preprocessing file ({_FORMAT}).")
        try:
            covariates = [str(c) for c in doc["covariates"]]
            categories = {str(k): [str(v) for v in vs] for k, vs in doc["categories"].items()}
        except (KeyError, TypeError, AttributeError):
            raise ValueError(f"{source} lacks 'covariates' or 'categories'.") from None
        return cls(
            covariates,
            categories,
            doc.get("treatment"),
            doc.get("treated_value"),
            doc.get("outcome"),
        )


def _refuse_missing(series: pd.Series, col: str, path: Path, fix: str) -> None:
    """``ValueError`` naming the count and the first row (and file line) of missing values."""
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(missing.argmax())
        raise ValueError(
            f"column {col!r} of {path} has {int(missing.sum())} missing value(s), the first at "
            f"row {row} (line {row + 2} of the file); {fix}."
        )


def _category_strings(frame: pd.DataFrame, col: str, path: Path) -> list[str]:
    series = frame[col]
    _refuse_missing(series, col, path, "drop them or fill in a category")
    return [_category_text(v) for v in series.tolist()]


def _category_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 1.0 and 1 are the same category
    return str(value).strip()


# ---------------------------------------------------------------------- the table
@dataclass
class Prepared:
    """A table read and split into model inputs.

    Attributes
    ----------
    frame : pandas.DataFrame
        The raw table.
    X : pandas.DataFrame of shape (n, p)
        Encoded covariates (float64, named).
    t : numpy.ndarray of shape (n,)
        Treatment (0/1 for binary commands).
    y : numpy.ndarray of shape (n,)
        Outcome.
    ids : pandas.Series of shape (n,)
        The ``--id-column`` values, else the row numbers (named ``row``).
    truth : numpy.ndarray of shape (n,) or None
        The ``--truth`` column.
    preprocessing : Preprocessing
        The encoding, to save with a model.
    """

    frame: pd.DataFrame
    X: pd.DataFrame
    t: np.ndarray
    y: np.ndarray
    ids: pd.Series
    truth: np.ndarray | None
    preprocessing: Preprocessing

    def id_frame(self) -> pd.DataFrame:
        """One-column table of the unit identifiers, to lead every output row.

        Returns
        -------
        pandas.DataFrame of shape (n, 1)
        """
        return self.ids.to_frame().reset_index(drop=True)


def _binary_treatment(
    frame: pd.DataFrame, col: str, treated_value: str | None, path: Path
) -> np.ndarray:
    import numpy as np

    series = frame[col]
    if treated_value is not None:
        _refuse_missing(series, col, path, "drop them")
        values = np.asarray([_category_text(v) for v in series.tolist()], dtype=object)
        levels = sorted(set(values.tolist()))
        if treated_value not in levels:
            raise ValueError(
                f"--treated-value {treated_value!r} does not occur in column {col!r} of {path} "
                f"(values: {levels[:10]})."
            )
        if len(levels) != 2:
            raise ValueError(
                f"column {col!r} of {path} has {len(levels)} distinct values {levels[:10]}; "
                "a binary treatment needs exactly two (the --treated-value and the control)."
            )
        return (values == treated_value).astype(np.float64)
    import pandas as pd

    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isnan(numbers) & ~np.isin(numbers, (0.0, 1.0))
    if bad.any():
        row = int(bad.argmax())
        raise ValueError(
            f"the treatment column {col!r} of {path} must be binary 0/1; row {row} holds "
            f"{series.iloc[row]!r}. Pass --treated-value <the treated level> to recode it."
        )
    return numeric_column(
        frame, col, path, hint="pass --treated-value <the treated level> to code it 0/1"
    )


def load_table(
    data: Path,
    *,
    treatment: str,
    outcome: str | None,
    covariates: str | None = None,
    id_column: str | None = None,
    exclude: str | None = None,
    truth: str | None = None,
    categorical: str | None = None,
    treated_value: str | None = None,
    sep: str | None = None,
    binary: bool = True,
) -> Prepared:
    """Read ``data`` and split it into encoded covariates, treatment, outcome, ids and truth.

    Parameters
    ----------
    data : pathlib.Path
        CSV/TSV/Parquet file.
    treatment, outcome : str
        Column names (``outcome`` may be None for commands without one).
    covariates : str, optional
        Comma-separated covariate columns (default: every column not used otherwise).
    id_column, truth : str, optional
        Identifier column (carried into every output row; never a covariate) and
        true-effect column (simulations; never a covariate).
    exclude, categorical : str, optional
        Comma-separated columns to leave out, and to one-hot encode.
    treated_value : str, optional
        Value of ``treatment`` that means treated (the rest is control).
    sep : str, optional
        Delimiter of a text file.
    binary : bool
        Whether the treatment is binary (False for dose-response).

    Returns
    -------
    Prepared
    """
    import numpy as np

    frame = read_table(data, "data", sep)
    excluded = split_names(exclude)
    special = [treatment] + ([outcome] if outcome else [])
    special += [c for c in (id_column, truth) if c]
    require_columns(frame, special + excluded, data)
    if len(set(special)) < len(special):
        raise ValueError(
            f"the treatment, outcome, --id-column and --truth must be different columns; got {special}."
        )
    cols = _covariates(frame, covariates, special, excluded, data)
    if treated_value is not None and not binary:
        raise ValueError("--treated-value is for a binary treatment.")
    t = (
        _binary_treatment(frame, treatment, treated_value, data)
        if binary
        else numeric_column(frame, treatment, data)
    )
    y = numeric_column(frame, outcome, data) if outcome else np.zeros(len(frame))
    prep = Preprocessing.fit(
        frame,
        cols,
        split_names(categorical),
        data,
        treatment=treatment,
        treated_value=treated_value,
        outcome=outcome,
    )
    X = prep.transform(frame, data)
    if id_column:
        ids = frame[id_column].reset_index(drop=True)
        dup = ids.duplicated().to_numpy()
        if dup.any():
            row = int(dup.argmax())
            raise ValueError(
                f"--id-column {id_column!r} of {data} repeats {ids.iloc[row]!r} at row {row}; "
                "identifiers must be unique to join results back."
            )
    else:
        import pandas as pd

        ids = pd.Series(np.arange(len(frame)), name="row")
    true = numeric_column(frame, truth, data) if truth else None
    return Prepared(frame, X, t, y, ids, true, prep)


def _covariates(
    frame: pd.DataFrame,
    covariates: str | None,
    special: list[str],
    excluded: list[str],
    path: Path,
) -> list[str]:
    if not covariates:
        return covariate_columns(frame, None, special + excluded, path)
    cols = [c for c in covariate_columns(frame, covariates, special, path) if c not in excluded]
    if not cols:
        raise ValueError(f"no covariate columns left in {path}; pass --covariates.")
    return cols


def estimand_mask(prepared: Prepared, estimand: str, where: str | None, path: Path) -> np.ndarray:
    """Units the estimand averages over: ``--where`` rows, then treated (ATT) or control (ATC).

    Parameters
    ----------
    prepared : Prepared
        The table.
    estimand : {"ate", "att", "atc"}
        Population: all units, the treated, or the controls.
    where : str, optional
        A pandas query on the raw columns, e.g. ``"age >= 30 and region == 'north'"``.
    path : pathlib.Path
        The file (for messages).

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    import numpy as np

    mask = np.ones(len(prepared.frame), dtype=bool)
    if where:
        try:
            chosen = prepared.frame.query(where)
        except Exception as err:  # pandas raises many types for a bad expression
            first = " ".join(str(err).split())[:200] or type(err).__name__
            raise ValueError(
                f"--where {where!r} is not a valid pandas query on {path}: {first}"
            ) from None
        mask = prepared.frame.index.isin(chosen.index)
    if estimand == "att":
        mask &= prepared.t == 1
    elif estimand == "atc":
        mask &= prepared.t == 0
    if not mask.any():
        who = {"ate": "units", "att": "treated units", "atc": "control units"}[estimand]
        extra = f" satisfy --where {where!r}" if where else " are in the file"
        raise ValueError(f"no {who}{extra} ({path}); nothing to average over.")
    return mask


def overlap_summary(
    propensity: np.ndarray, t: np.ndarray, estimand: str = "ate", *, suggest_att: bool = True
) -> str:
    """One line on overlap: share of propensities outside [0.05, 0.95], effective sample sizes.

    The effective sample size of an arm is ``(Σw)² / Σw²`` for the inverse
    propensity weights that the estimand uses: ``1/e`` and ``1/(1-e)`` for the
    ATE, ``1`` and ``e/(1-e)`` for the ATT, ``(1-e)/e`` and ``1`` for the ATC.

    Parameters
    ----------
    propensity : numpy.ndarray of shape (n,)
        Estimated P(T = 1 | x).
    t : numpy.ndarray of shape (n,)
        Treatment 0/1.
    estimand : {"ate", "att", "atc"}
        Which weights.
    suggest_att : bool
        Whether the poor-overlap hint may suggest ``--estimand att`` (not where
        the command cannot compute it).

    Returns
    -------
    str
    """
    import numpy as np

    e = np.clip(np.asarray(propensity, float), 1e-6, 1 - 1e-6)
    outside = float(np.mean((e < 0.05) | (e > 0.95)))
    w1 = {"ate": 1 / e, "att": np.ones_like(e), "atc": (1 - e) / e}[estimand]
    w0 = {"ate": 1 / (1 - e), "att": e / (1 - e), "atc": np.ones_like(e)}[estimand]

    def ess(w: np.ndarray) -> float:
        return float(w.sum() ** 2 / (w**2).sum()) if w.size else 0.0

    treated, control = t == 1, t == 0
    line = (
        f"overlap: {100 * outside:.1f}% of units have an estimated propensity outside "
        f"[0.05, 0.95]; effective sample size ({estimand.upper()} weights): treated "
        f"{ess(w1[treated]):.0f} of {int(treated.sum())}, control {ess(w0[control]):.0f} of "
        f"{int(control.sum())}"
    )
    if outside > 0.1:
        line += (
            " — poor overlap: estimators extrapolate differently there and can disagree; "
            "consider --where to restrict the population"
            + (" or --estimand att" if estimand == "ate" and suggest_att else "")
        )
    return line
