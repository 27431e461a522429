"""Function approximators that know what they do not know.

Everything here returns a :class:`Posterior`; layers above consume only
Posteriors and never network internals.
"""

from ._classifier import UncertainClassifier
from ._heads import (
    BernoulliHead,
    ClassifierHead,
    GaussianHead,
    MixtureDensityHead,
    TwoArmHead,
)
from ._layers import (
    MLP,
    ConvNet,
    ResidualMLP,
    SeededDropout,
    SpectralLinear,
    attach_generator,
    init_parameters,
    set_shared_dropout,
)
from ._observation import Categorical, GaussianMixture, GaussianNoise
from ._posterior import Posterior
from ._regressor import UncertainRegressor
from ._training import TrainingConfig, TrainingHistory, train_module
from .uncertainty import (
    UncertaintyMethod,
    get_uncertainty,
    register_uncertainty,
    uncertainty_methods,
)

__all__ = [
    "MLP",
    "BernoulliHead",
    "Categorical",
    "ClassifierHead",
    "ConvNet",
    "GaussianHead",
    "GaussianMixture",
    "GaussianNoise",
    "MixtureDensityHead",
    "Posterior",
    "ResidualMLP",
    "SeededDropout",
    "SpectralLinear",
    "TrainingConfig",
    "TrainingHistory",
    "TwoArmHead",
    "UncertainClassifier",
    "UncertainRegressor",
    "UncertaintyMethod",
    "attach_generator",
    "get_uncertainty",
    "init_parameters",
    "register_uncertainty",
    "set_shared_dropout",
    "train_module",
    "uncertainty_methods",
]
