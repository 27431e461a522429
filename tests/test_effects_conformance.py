"""TARNet and DragonNet under every uncertainty method through the conformance kit."""

from knowable.effects import DragonNet, TARNet
from knowable.models import uncertainty_methods
from knowable.testing import parametrize_with_checks

FAST = dict(
    n_members=2,
    n_draws=8,
    hidden_size=16,
    depth=1,
    arm_hidden_size=8,
    arm_depth=1,
    max_epochs=3,
    n_inducing=8,
    device="cpu",
    random_state=0,
)

ESTIMATORS = [
    cls(method, **FAST)
    for cls in (TARNet, DragonNet)
    for method in uncertainty_methods(installed_only=True)
]


@parametrize_with_checks(ESTIMATORS)
def test_conformance(estimator, check):
    check(estimator)
