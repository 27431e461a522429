"""Partial identification under hidden confounding: the binary marginal sensitivity model.

* :mod:`knowable.bounds.msm` — pure, vectorised numerics: MSM weights, the
  sorting estimator of the ratio (Kallus/Quince) bound, the sharp
  (Dorn–Guo) quantile/CVaR bound, closed forms for Gaussian and
  Gaussian-mixture densities, and the CATE assembly.
* :class:`MSMBounds` — CATE bounds from an ensemble of outcome-density models
  plus a propensity model, with the ensemble's epistemic spread.
* :class:`BLearner` — sharp CATE bounds from cross-fitted pseudo-outcomes with
  any scikit-learn nuisance and final-stage models; :class:`CrossValidatedBoosting`
  is its default final stage.
* :class:`DeltaMSMBounds` — dose-response bounds under the δMSM
  (Marmarelis et al. 2023), anchored or Balanced, with the Taylor-window factors.
* :class:`KernelAPOBounds` — sharp CMSM dose-response bounds, kernel-weighted
  plug-in or doubly robust (Baitairian et al. 2024), with bootstrap intervals.
* :class:`SensitivityReport` — ATE-level summaries (long-story-short RV and
  benchmarked bias bounds, sensemakr's OLS statistics, E-value) beside the ATE Λ-robustness.
* :class:`Bounds`, :class:`Robustness` — results; :func:`robustness_value`
  and :func:`robustness_from_grid` — the smallest Λ that makes an interval
  contain zero.
"""

from . import msm
from ._blearner import BLearner, CrossValidatedBoosting
from ._continuous import (
    ContinuousMSMBounds,
    DoseResponseBounds,
    capo_bound_from_samples,
    cmsm_alpha_prime,
)
from ._delta_msm import (
    BetaPropensity,
    DeltaMSMBounds,
    GammaBenchmark,
    delta_msm_factors,
    delta_msm_factors_beta,
    delta_msm_factors_gaussian,
    gamma_from_covariates,
    gaussian_abs_power_moment,
    pooled_box_bound,
)
from ._kernel_apo import (
    APOBounds,
    KernelAPOBounds,
    epanechnikov,
    kernel_apo_bound,
    sharp_pseudo_outcomes,
)
from ._msm_bounds import MSMBounds, default_outcome_model
from ._ovb import (
    LSSBenchmark,
    LSSResult,
    OLSSensitivity,
    e_value,
    lss_benchmark,
    lss_bias_bound,
    lss_robustness_value,
    lss_sensitivity,
    ols_sensitivity,
    rv_from_ratio,
)
from ._report import SensitivityReport
from ._result import Bounds, Robustness
from ._robustness import robustness_from_grid, robustness_value

__all__ = [
    "APOBounds",
    "BLearner",
    "BetaPropensity",
    "Bounds",
    "ContinuousMSMBounds",
    "CrossValidatedBoosting",
    "DeltaMSMBounds",
    "DoseResponseBounds",
    "GammaBenchmark",
    "KernelAPOBounds",
    "LSSBenchmark",
    "LSSResult",
    "MSMBounds",
    "OLSSensitivity",
    "Robustness",
    "SensitivityReport",
    "capo_bound_from_samples",
    "cmsm_alpha_prime",
    "default_outcome_model",
    "delta_msm_factors",
    "delta_msm_factors_beta",
    "delta_msm_factors_gaussian",
    "e_value",
    "epanechnikov",
    "gamma_from_covariates",
    "gaussian_abs_power_moment",
    "kernel_apo_bound",
    "lss_benchmark",
    "lss_bias_bound",
    "lss_robustness_value",
    "lss_sensitivity",
    "msm",
    "ols_sensitivity",
    "pooled_box_bound",
    "robustness_from_grid",
    "robustness_value",
    "rv_from_ratio",
    "sharp_pseudo_outcomes",
]
