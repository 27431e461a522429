"""The conformance kit must fail on estimators that break the contract."""

import numpy as np
import pytest

from knowable._persistence import register_persistable
from knowable.models import UncertainRegressor
from knowable.testing import check_estimator, estimator_checks, make_check_data
from knowable.testing._checks import (
    check_bad_inputs,
    check_fit_returns_self,
    check_reproducible,
    check_save_load_round_trip,
)

FAST = dict(n_members=2, hidden_size=8, depth=1, max_epochs=2, random_state=0)


class ReturnsNone(UncertainRegressor):
    def fit(self, X, y):
        super().fit(X, y)


class Unseeded(UncertainRegressor):
    def fit(self, X, y):
        self.set_params(random_state=None)
        return super().fit(X, y)


class AcceptsNaN(UncertainRegressor):
    def fit(self, X, y):
        X = (
            np.nan_to_num(np.asarray(X, dtype=float))
            if not isinstance(X, np.ndarray) or X.dtype.kind == "f"
            else X
        )
        return super().fit(X, y)


@register_persistable
class ForgetsWeights(UncertainRegressor):
    def _restore_fitted(self, meta, tensors):
        super()._restore_fitted(
            meta,
            {
                k: v * 0 + 0.01 if k.startswith("member") and v.is_floating_point() else v
                for k, v in tensors.items()
            },
        )


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (ReturnsNone(**FAST), check_fit_returns_self),
        (Unseeded(**FAST), check_reproducible),
        (AcceptsNaN(**FAST), check_bad_inputs),
        (ForgetsWeights(**FAST), check_save_load_round_trip),
    ],
)
def test_kit_catches_contract_breaks(broken, check):
    with pytest.raises(AssertionError):
        check(broken, make_check_data("regressor"))


def test_check_estimator_passes_and_rejects_unknown_kinds():
    check_estimator(UncertainRegressor(**FAST))
    with pytest.raises(TypeError, match="_estimator_kind"):
        estimator_checks(object())
