"""Every estimator and uncertainty method through the conformance kit."""

from knowable.models import UncertainClassifier, UncertainRegressor
from knowable.testing import parametrize_with_checks

FAST = dict(
    n_members=2, n_samples=8, hidden_size=16, depth=1, max_epochs=3, n_inducing=8, random_state=0
)

ESTIMATORS = [
    UncertainRegressor("ensemble", **FAST),
    UncertainRegressor("ensemble", likelihood="mixture", n_components=2, **FAST),
    UncertainRegressor("dropout", **FAST),
    UncertainRegressor("due", **FAST),
    UncertainClassifier("ensemble", **FAST),
    UncertainClassifier("dropout", **FAST),
    UncertainClassifier("due", **FAST),
]


@parametrize_with_checks(ESTIMATORS)
def test_conformance(estimator, check):
    check(estimator)
