"""Reading a user's table and picking its columns, shared by the commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["covariate_columns", "read_table", "require_columns"]


def read_table(path: Path, what: str = "data") -> pd.DataFrame:
    """Read a CSV or Parquet file (by suffix).

    Parameters
    ----------
    path : pathlib.Path
        The file.
    what : str
        What the file holds, for the error message ("data", "pool", ...).

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{what} file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".csv", ".gz", ".txt"):
        return pd.read_csv(path)
    raise ValueError(f"cannot read {path.name!r}: use a .csv or .parquet file.")


def require_columns(frame: pd.DataFrame, names: list[str], path: Path) -> None:
    """Raise a clear error naming the columns of ``names`` that ``frame`` lacks.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    names : list of str
        Required column names.
    path : pathlib.Path
        The file it came from (for the message).
    """
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not found in {path}; available: {list(frame.columns)}."
        )


def covariate_columns(
    frame: pd.DataFrame,
    covariates: str | None,
    exclude: list[str],
    path: Path,
    option: str = "--covariates",
) -> list[str]:
    """The covariate columns: the comma-separated ``covariates``, else every column not excluded.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table.
    covariates : str or None
        Comma-separated names given on the command line.
    exclude : list of str
        Columns that are never covariates (treatment, outcome, ...); naming one
        in ``covariates`` is an error.
    path : pathlib.Path
        The file (for messages).
    option : str
        The command-line option that names them (for messages).

    Returns
    -------
    list of str
    """
    if covariates:
        cols = [c.strip() for c in covariates.split(",") if c.strip()]
        require_columns(frame, cols, path)
        clash = [c for c in cols if c in exclude]
        if clash:
            raise ValueError(
                f"{option} names {clash}, which the command uses as the treatment, outcome "
                "or another special column, not as a covariate."
            )
    else:
        cols = [c for c in frame.columns if c not in exclude]
    if not cols:
        raise ValueError(f"no covariate columns left; pass {option}.")
    return cols
