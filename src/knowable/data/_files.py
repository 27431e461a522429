"""Access to the data files shipped inside the package (``knowable/data/files``)."""

from __future__ import annotations

import gzip
from importlib import resources
from importlib.resources.abc import Traversable

__all__ = ["data_file", "read_bytes"]


def data_file(*parts: str) -> Traversable:
    """The shipped file ``knowable/data/files/<parts...>``.

    Parameters
    ----------
    *parts : str
        Path components below ``files/``.

    Returns
    -------
    importlib.resources.abc.Traversable
    """
    node = resources.files("knowable.data").joinpath("files")
    for part in parts:
        node = node.joinpath(part)
    if not node.is_file():
        raise FileNotFoundError(
            f"Shipped data file {'/'.join(parts)!r} is missing from the knowable installation; "
            "reinstall the package (it ships its data under knowable/data/files)."
        )
    return node


def read_bytes(*parts: str) -> bytes:
    """Contents of a shipped file, gunzipped when its name ends in ``.gz``.

    Parameters
    ----------
    *parts : str
        Path components below ``files/``.

    Returns
    -------
    bytes
    """
    raw = data_file(*parts).read_bytes()
    return gzip.decompress(raw) if parts[-1].endswith(".gz") else raw
