"""Data layer: the ``Dataset`` container, shipped datasets and simulators with known truth.

Shipped files live under ``knowable/data/files`` with their provenance and
licences (``files/PROVENANCE.md``); nothing is downloaded at run time.
"""

from ._aerosol import AEROSOL_COVARIATES, simulate_aerosol_cloud
from ._dataset import Dataset
from ._discovery import DISCOVERY_TASKS, simulate_discovery
from ._ihdp import (
    IHDP_FEATURE_NAMES,
    IHDP_N_REALIZATIONS,
    load_ihdp,
    load_ihdp_covariate_shift,
    load_ihdp_raw,
    load_ihdp_train_test,
)
from ._mnist import load_mnist
from ._registry import DatasetInfo, dataset_info, list_datasets, load_dataset
from ._simulators import (
    cmnist_phi,
    dose_response_lambda,
    simulate_causal_bald_1d,
    simulate_cmnist,
    simulate_dose_response,
    simulate_hidden_confounding,
)

__all__ = [
    "AEROSOL_COVARIATES",
    "DISCOVERY_TASKS",
    "IHDP_FEATURE_NAMES",
    "IHDP_N_REALIZATIONS",
    "Dataset",
    "DatasetInfo",
    "cmnist_phi",
    "dataset_info",
    "dose_response_lambda",
    "list_datasets",
    "load_dataset",
    "load_ihdp",
    "load_ihdp_covariate_shift",
    "load_ihdp_raw",
    "load_ihdp_train_test",
    "load_mnist",
    "simulate_aerosol_cloud",
    "simulate_causal_bald_1d",
    "simulate_cmnist",
    "simulate_discovery",
    "simulate_dose_response",
    "simulate_hidden_confounding",
]
