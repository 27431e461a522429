"""Conformance kit: the contract every knowable estimator is checked against.

Use :func:`check_estimator` on one estimator, or :func:`parametrize_with_checks`
in a pytest module to get one test per (estimator, check) pair.
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
from ._checks import CheckData, check_estimator, estimator_checks, make_check_data
from ._references import bound_from_samples_bruteforce

__all__ = [
    "AcquisitionCheckData",
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
        Parametrizes the arguments ``estimator, check``.

    Examples
    --------
    >>> from knowable.models import UncertainRegressor
    >>> from knowable.testing import parametrize_with_checks
    >>> @parametrize_with_checks([UncertainRegressor(max_epochs=2)])
    ... def test_conformance(estimator, check):
    ...     check(estimator, make_check_data(estimator._estimator_kind))
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
