"""The table of estimator kinds and the pre-bound checks it hands out.

Every estimator declares its kind in the class attribute ``_estimator_kind``;
:func:`estimator_checks` returns that kind's checks, each bound to seeded data
of the kind, so a check is called as ``check(estimator)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._checks import (
    CheckData,
    check_bad_inputs,
    check_cate_bad_inputs,
    check_cate_fit_returns_self,
    check_cate_not_fitted,
    check_cate_outputs,
    check_cate_reproducible,
    check_cate_save_load_round_trip,
    check_fit_returns_self,
    check_init_stores_params,
    check_not_fitted,
    check_posterior_shape,
    check_reproducible,
    check_save_load_round_trip,
    make_check_data,
)
from ._kind_checks import (
    BOUNDS_CHECKS,
    DOSE_RESPONSE_CHECKS,
    check_dose_response_save_load_round_trip,
)

__all__ = ["ESTIMATOR_KINDS", "BoundCheck", "check_estimator", "estimator_checks"]

CheckFunction = Callable[[Any, CheckData], None]

_MODEL_CHECKS: list[CheckFunction] = [
    check_init_stores_params,
    check_not_fitted,
    check_fit_returns_self,
    check_posterior_shape,
    check_reproducible,
    check_bad_inputs,
    check_save_load_round_trip,
]

#: kind -> its checks; every ``_estimator_kind`` a public estimator declares is a key
ESTIMATOR_KINDS: dict[str, list[CheckFunction]] = {
    "regressor": _MODEL_CHECKS,
    "classifier": _MODEL_CHECKS,
    "cate": [
        check_init_stores_params,
        check_cate_not_fitted,
        check_cate_fit_returns_self,
        check_cate_outputs,
        check_cate_reproducible,
        check_cate_bad_inputs,
        check_cate_save_load_round_trip,
    ],
    "dose_response": [check_init_stores_params, *DOSE_RESPONSE_CHECKS],
    "bounds": [check_init_stores_params, *BOUNDS_CHECKS],
}

_PERSISTENCE_CHECKS = (
    check_save_load_round_trip,
    check_cate_save_load_round_trip,
    check_dose_response_save_load_round_trip,
)


@dataclass(frozen=True)
class BoundCheck:
    """One conformance check bound to the seeded data of its estimator kind.

    Call it as ``check(estimator)``; ``check(estimator, data)`` uses other data.

    Attributes
    ----------
    function : callable
        The check, ``function(estimator, data)``; raises ``AssertionError``.
    data : CheckData
        The data it is bound to.
    kind : str
        The estimator kind.
    """

    function: CheckFunction
    data: CheckData
    kind: str

    @property
    def __name__(self) -> str:
        """The check's name (pytest ids, reports)."""
        return self.function.__name__

    def __call__(self, estimator: Any, data: CheckData | None = None) -> None:
        """Run the check on ``estimator``; raise ``AssertionError`` when the contract breaks."""
        self.function(estimator, self.data if data is None else data)

    def __repr__(self) -> str:
        return f"BoundCheck({self.function.__name__}, kind={self.kind!r})"


def estimator_checks(estimator: Any, data: CheckData | None = None) -> list[BoundCheck]:
    """The checks that apply to ``estimator`` (by its ``_estimator_kind``), pre-bound to data.

    Parameters
    ----------
    estimator : estimator
        An unfitted knowable estimator.
    data : CheckData, optional
        Data to bind; default :func:`make_check_data` of the estimator's kind.

    Returns
    -------
    list of BoundCheck
        Each called as ``check(estimator)``. The save/load round trip is
        left out for estimators without ``save``/``load`` (persistence is
        optional: a scikit-learn sub-model cannot be saved without pickle).

    Raises
    ------
    TypeError
        When the estimator declares no kind in :data:`ESTIMATOR_KINDS`.
    """
    kind = getattr(estimator, "_estimator_kind", None)
    if kind not in ESTIMATOR_KINDS:
        raise TypeError(
            f"{type(estimator).__name__} declares no known _estimator_kind (got {kind!r}); "
            f"known kinds: {sorted(ESTIMATOR_KINDS)}."
        )
    checks = ESTIMATOR_KINDS[kind]
    if not (hasattr(estimator, "save") and hasattr(type(estimator), "load")):
        checks = [c for c in checks if c not in _PERSISTENCE_CHECKS]
    bound = make_check_data(kind) if data is None else data
    return [BoundCheck(check, bound, kind) for check in checks]


def check_estimator(estimator: Any, data: CheckData | None = None) -> None:
    """Run every applicable conformance check; raise ``AssertionError`` on the first failure.

    Parameters
    ----------
    estimator : estimator
        An unfitted knowable estimator (use small settings: each check fits it).
    data : CheckData, optional
        Data to use; default :func:`make_check_data` for the estimator's kind.
    """
    for check in estimator_checks(estimator, data):
        check(estimator)
