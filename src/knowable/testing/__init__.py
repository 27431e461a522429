"""Conformance kit: the contract every knowable estimator is checked against.

Every estimator kind that exists has its checks (:data:`ESTIMATOR_KINDS`:
regressor, classifier, CATE, dose response, bounds). Use :func:`check_estimator`
on one estimator; :func:`estimator_checks` hands out its checks pre-bound to
seeded data (call ``check(estimator)``); :func:`parametrize_with_checks` gives a
pytest test per (estimator, check) pair.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._acquisition_checks import (
    AcquisitionCheckData,
    RegisteredCase,
    acquisition_checks,
    check_acquisition,
    make_acquisition_check_data,
    make_causal_check_data,
    registered_acquisition_cases,
    strategy_from_name,
)
from ._checks import CheckData, make_check_data
from ._kit import ESTIMATOR_KINDS, BoundCheck, check_estimator, estimator_checks
from ._references import bound_from_samples_bruteforce

__all__ = [
    "ESTIMATOR_KINDS",
    "AcquisitionCheckData",
    "BoundCheck",
    "CheckData",
    "RegisteredCase",
    "acquisition_checks",
    "bound_from_samples_bruteforce",
    "check_acquisition",
    "check_estimator",
    "estimator_checks",
    "make_acquisition_check_data",
    "make_causal_check_data",
    "make_check_data",
    "parametrize_with_checks",
    "registered_acquisition_cases",
    "strategy_from_name",
]


def parametrize_with_checks(estimators: Iterable[Any]) -> Any:
    """A ``pytest.mark.parametrize`` over every (estimator, check) pair.

    Parameters
    ----------
    estimators : iterable of estimators
        Unfitted estimators (small settings).

    Returns
    -------
    pytest mark
        Parametrizes the arguments ``estimator, check``; each check is a
        :class:`BoundCheck`, called as ``check(estimator)``.

    Examples
    --------
    >>> from knowable.models import UncertainRegressor
    >>> from knowable.testing import parametrize_with_checks
    >>> @parametrize_with_checks([UncertainRegressor(max_epochs=2)])
    ... def test_conformance(estimator, check):
    ...     check(estimator)
    """
    import pytest

    pairs, ids = [], []
    for est in estimators:
        for check in estimator_checks(est):
            pairs.append((est, check))
            params = est.get_params(deep=False)
            tag = params.get("uncertainty", "")
            ids.append(f"{type(est).__name__}({tag})-{check.__name__}")
    return pytest.mark.parametrize(("estimator", "check"), pairs, ids=ids)
