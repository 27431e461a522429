"""Exceptions knowable raises that callers may want to catch by type.

:class:`NotFittedError` is scikit-learn's own class (a subclass of both
``ValueError`` and ``AttributeError``), so ``except
sklearn.exceptions.NotFittedError`` and ``except knowable.exceptions.NotFittedError``
catch the same thing, in knowable and in scikit-learn pipelines alike. Every
knowable estimator raises it, through
:func:`knowable._validation.check_is_fitted`, when it is used before ``fit``.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError

__all__ = ["LegacyNotFittedError", "NotFittedError"]


class LegacyNotFittedError(NotFittedError, RuntimeError):
    """A :class:`NotFittedError` that is also a ``RuntimeError``.

    The bounds classes (``MSMBounds``, ``BLearner``, ``CrossValidatedBoosting``)
    raised ``RuntimeError`` when used before ``fit``; they now raise
    :class:`NotFittedError`, and for one release this subclass keeps
    ``except RuntimeError`` working. Catch :class:`NotFittedError`: the
    ``RuntimeError`` base goes in the next release.
    """
