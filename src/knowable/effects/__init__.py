"""Conditional average treatment effects with epistemic uncertainty.

:class:`TARNet` and :class:`DragonNet` follow the scikit-learn contract and the
EconML vocabulary (``effect``, ``effect_interval``, ``effect_samples``, ``ate``),
derived once in :class:`CATEBase` from ``predict_outcomes``;
:mod:`knowable.effects.metrics` scores estimates against known truth.
"""

from . import metrics
from ._base import CATEEstimator
from ._conformal import ConformalCATE
from ._contract import CATEBase
from ._dose_response import DoseResponse, DoseResponseCurve
from ._estimators import DragonNet, TARNet
from ._tlearner import BootstrapTLearner
from ._treatment_density import TreatmentDensity

__all__ = [
    "BootstrapTLearner",
    "CATEBase",
    "CATEEstimator",
    "ConformalCATE",
    "DoseResponse",
    "DoseResponseCurve",
    "DragonNet",
    "TARNet",
    "TreatmentDensity",
    "metrics",
]
