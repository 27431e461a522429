"""The bounds and dose-response estimators through the conformance kit (pre-bound checks)."""

from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression

from knowable.bounds import BLearner, MSMBounds
from knowable.effects import DoseResponse
from knowable.models import UncertainRegressor
from knowable.testing import parametrize_with_checks

SMALL = dict(hidden_size=8, depth=1, max_epochs=3, random_state=0)

ESTIMATORS = [
    MSMBounds(
        UncertainRegressor(likelihood="mixture", n_components=2, n_members=2, **SMALL),
        n_draws=50,
        random_state=0,
    ),
    MSMBounds(
        UncertainRegressor(likelihood="mixture", n_components=2, n_members=2, **SMALL),
        computation="analytic",
        method="kallus",
        random_state=0,
    ),
    BLearner(
        quantile_model=HistGradientBoostingRegressor(max_iter=20, loss="quantile"),
        cvar_model=LinearRegression(),
        outcome_model=LinearRegression(),
        final_model=LinearRegression(),
        cv=2,
        random_state=0,
    ),
    *[
        DoseResponse(method, n_members=2, n_draws=8, n_inducing=8, device="cpu", **SMALL)
        for method in ("ensemble", "dropout", "due")
    ],
]


@parametrize_with_checks(ESTIMATORS)
def test_conformance(estimator, check):
    check(estimator)
