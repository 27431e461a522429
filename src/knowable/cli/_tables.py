"""Reading a user's table and picking its columns, shared by every command.

One reader for every command that takes a file, so that every command gives the
same one-line messages: the file is named in each, and a bad value is named by
its column and its first offending row. CSV-like text is read by pandas; the
delimiter is detected with the standard library's :class:`csv.Sniffer` (or
given with ``--sep``), ``.tsv`` means tab, and the encoding is UTF-8 (a UTF-8
or UTF-16 byte-order mark is honoured).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "MAX_ABS_VALUE",
    "covariate_columns",
    "numeric_column",
    "read_table",
    "require_columns",
    "split_names",
]

#: Largest magnitude accepted in a numeric column. The networks compute in
#: float32 (largest value about 3.4e38) and standardise by sums of squares, so
#: values beyond this overflow silently downstream.
MAX_ABS_VALUE = 1e30

_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab", ".dat")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SNIFF_BYTES = 64 * 1024
_SEP_WORDS = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", " ": "space"}
_SEP_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "space": " "}


def split_names(text: str | None) -> list[str]:
    """Comma-separated names from the command line, stripped, empty parts dropped.

    Parameters
    ----------
    text : str or None
        For example ``"age, educ"``.

    Returns
    -------
    list of str
    """
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def _resolve_sep(sep: str | None) -> str | None:
    if sep is None:
        return None
    value = _SEP_NAMES.get(sep.lower(), sep)
    if len(value) != 1:
        raise ValueError(
            f"--sep must be one character (or tab, comma, semicolon, pipe, space); got {sep!r}."
        )
    return value


def _encoding(head: bytes, path: Path) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if b"\x00" in head[:4096]:
        raise ValueError(
            f"{path} looks like a binary file (or UTF-16 text without a byte-order mark), not a "
            "CSV; save it as UTF-8 CSV."
        )
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut at the sniffing boundary
            raise ValueError(
                f"{path} is not UTF-8 text (byte 0x{head[err.start]:02x} at offset {err.start}); "
                "save it as UTF-8 CSV."
            ) from None
    return "utf-8"


def _sniff_sep(text: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _sep_name(sep: str) -> str:
    return {"\t": "tab", " ": "space"}.get(sep, repr(sep))


def read_table(path: Path, what: str = "data", sep: str | None = None) -> pd.DataFrame:
    """Read a CSV/TSV or Parquet file (by suffix), with one clear error for every bad file.

    Parameters
    ----------
    path : pathlib.Path
        The file: ``.csv``, ``.tsv``, ``.txt`` (optionally ``.gz``) or ``.parquet``.
    what : str
        What the file holds, for the messages ("data", "pool", ...).
    sep : str, optional
        Delimiter of a text file (one character, or ``tab``/``comma``/``semicolon``/
        ``pipe``/``space``); default: ``\\t`` for ``.tsv``, else detected.

    Returns
    -------
    pandas.DataFrame
        At least one column and one row.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When it is empty, header-only, binary, not UTF-8/UTF-16, or not parseable;
        the message names the file.
    """
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"{what} file {str(path)!r} does not exist.")
    delimiter = _resolve_sep(sep)
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] in (".gz", ".bz2", ".xz")
    suffix = suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes or [""])[-1]
    if suffix in _PARQUET_SUFFIXES:
        try:
            frame = pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types; name the file
            first = " ".join(str(err).split())[:200]
            raise ValueError(f"cannot read {path} as Parquet: {first}") from None
        return _check_shape(frame, path, what)
    if suffix not in _TEXT_SUFFIXES:
        raise ValueError(
            f"cannot read {path.name!r}: use a .csv, .tsv, .txt or .parquet file "
            "(optionally .gz-compressed)."
        )
    if compressed:
        import bz2
        import gzip
        import lzma

        opener: Any = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffixes[-1]]
        try:
            with opener(path, "rb") as handle:
                raw = handle.read(_SNIFF_BYTES)
        except (OSError, EOFError, lzma.LZMAError) as err:
            raise ValueError(f"cannot decompress {path}: {err}") from None
    else:
        with path.open("rb") as handle:
            raw = handle.read(_SNIFF_BYTES)
    if not raw.strip():
        raise ValueError(
            f"{what} file {path} is empty; it needs a header row and at least one data row."
        )
    encoding = _encoding(raw, path)
    if delimiter is None:
        text = raw.decode(encoding, errors="ignore")
        delimiter = _sniff_sep(text, suffix)
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding=encoding, skipinitialspace=True)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not {encoding} text (byte offset {err.start}); save it as UTF-8 CSV."
        ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{what} file {path} is empty; it needs a header row and at least one data row."
        ) from None
    except (pd.errors.ParserError, ValueError) as err:
        first = " ".join(str(err).split())[:200]
        raise ValueError(
            f"cannot parse {path} as a table with delimiter {_sep_name(delimiter)} ({first}); "
            "check the file or pass --sep."
        ) from None
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for candidate in (";", "\t", "|", ","):
            if candidate != delimiter and candidate in header:
                raise ValueError(
                    f"{path} has a single column {header[:60]!r} that contains "
                    f"{_sep_name(candidate)}; pass --sep {_SEP_WORDS[candidate]}."
                )
    return _check_shape(frame, path, what)


def _check_shape(frame: pd.DataFrame, path: Path, what: str) -> pd.DataFrame:
    if frame.shape[1] == 0:
        raise ValueError(f"{what} file {path} has no columns.")
    if len(frame) == 0:
        raise ValueError(
            f"{what} file {path} has a header ({frame.shape[1]} column(s)) but no data rows."
        )
    return frame


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
        shown = [str(c) for c in frame.columns[:20]]
        more = f" (+{frame.shape[1] - 20} more)" if frame.shape[1] > 20 else ""
        raise ValueError(f"column(s) {missing} not found in {path}; available: {shown}{more}.")


def numeric_column(
    frame: pd.DataFrame, column: str, path: Path, hint: str = "fix or drop that row"
) -> np.ndarray:
    """One column as finite float64, or a one-line error naming the column and first bad row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (its index is the row number reported).
    column : str
        Column name.
    path : pathlib.Path
        The file (for the message).
    hint : str
        What the user should do, appended to the message.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    import numpy as np
    import pandas as pd

    series = frame[column]
    if series.dtype == bool:
        return series.to_numpy(dtype=float)
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    where = f"column {column!r} of {path}"
    missing = series.isna().to_numpy()
    if missing.any():
        row = int(np.argmax(missing))
        raise ValueError(
            f"{where} has {int(missing.sum())} missing (NaN) value(s), the first at row {row} "
            f"(line {row + 2} of the file); drop or impute them."
        )
    stray = np.isnan(values)
    if stray.any():
        row = int(np.argmax(stray))
        raise ValueError(
            f"{where} has a non-numeric value {str(series.iloc[row])[:40]!r} at row {row} "
            f"(line {row + 2} of the file); {hint}."
        )
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_ABS_VALUE)
    if bad.any():
        row = int(np.argmax(bad))
        value = values[row]
        kind = "an infinite value" if np.isinf(value) else f"the value {value:.3g}"
        raise ValueError(
            f"{where} has {kind} at row {row} (line {row + 2} of the file); values must be "
            f"finite with magnitude at most {MAX_ABS_VALUE:g}: rescale the column "
            "(divide by a constant or take a log)."
        )
    return values


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
        cols = split_names(covariates)
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
        raise ValueError(f"no covariate columns left in {path}; pass {option}.")
    return cols
