"""Every estimator and uncertainty method through the conformance kit.

The methods are read from the uncertainty registry, so a method added as one
file in ``knowable/models/uncertainty/`` is checked here without editing this
file; a method whose optional extra is not installed is left out.
"""

from knowable.effects import DoseResponse
from knowable.models import UncertainClassifier, UncertainRegressor, uncertainty_methods
from knowable.testing import parametrize_with_checks

FAST = dict(
    n_members=2, n_draws=8, hidden_size=16, depth=1, max_epochs=3, n_inducing=8, random_state=0
)
METHODS = uncertainty_methods(installed_only=True)

ESTIMATORS = [
    UncertainRegressor("ensemble", likelihood="mixture", n_components=2, **FAST),
    *(
        cls(method, **FAST)
        for cls in (UncertainRegressor, UncertainClassifier)
        for method in METHODS
    ),
    *(DoseResponse(method, n_components=2, head_hidden_size=8, **FAST) for method in METHODS),
]


@parametrize_with_checks(ESTIMATORS)
def test_conformance(estimator, check):
    check(estimator)
