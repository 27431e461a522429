"""Constructor parameters stored as attributes: the scikit-learn contract, written once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["store_params"]


def store_params(estimator: Any, arguments: Mapping[str, Any]) -> None:
    """Store every constructor argument as the attribute of the same name.

    scikit-learn's contract is that ``__init__`` only stores its parameters
    (``get_params`` and ``clone`` read them back by name). Called as the first
    statement of ``__init__``, ``store_params(self, locals())`` does exactly
    that, so an estimator that adds or re-defaults parameters lists them once,
    in its signature, instead of passing each one to its base class.

    Parameters
    ----------
    estimator : object
        The estimator being constructed.
    arguments : mapping
        ``locals()`` at the top of ``__init__``: the parameters and ``self``.
    """
    for name, value in arguments.items():
        if name != "self" and not name.startswith("__"):
            setattr(estimator, name, value)
