"""Reliability of conditional generative models on in-context learning problems.

A conditional generative model (CGM) that generates queries and responses given a context is
judged from its own samples and log-probabilities only (predictive resampling):

- :func:`phr`: the posterior hallucination rate (Jesson et al., NeurIPS 2024), with the exact
  :func:`exact_phr`, the true rate :func:`thr` (known f*) and the model rate :func:`mhr`
  (held-out real examples);
- :func:`gpv`: the generative predictive p-value and the "out of capability" decision (Jesson,
  Beltran-Velez & Blei, ICLR 2025), with the closed-form :func:`posterior_predictive_pvalue`.

Exact Bayesian oracles (:class:`BayesianPolynomialRegression`,
:class:`GaussianProcessRegression`, :class:`DirichletCategorical`, :class:`BetaBernoulli`)
expose p(f | D), so every estimator here has an exact target.
"""

from ._cgm import (
    BayesianOracle,
    CategoricalMechanism,
    ConditionalGenerativeModel,
    GaussianMechanism,
    lower_quantile,
)
from ._llm import FewShotTextClassifier, load_sentiment_sentences, load_smollm2
from ._oracles import (
    BayesianPolynomialRegression,
    BetaBernoulli,
    DirichletCategorical,
    GaussianProcessRegression,
)
from ._pfn import PFNRegression, load_pfn_module, save_pfn_module, shipped_weights, train_pfn
from ._phr import (
    HallucinationRate,
    ancestral_complete,
    exact_phr,
    is_hallucination,
    mhr,
    phr,
    thr,
)
from ._pvalue import PredictivePValue, discrepancy_score, gpv, posterior_predictive_pvalue

__all__ = [
    "BayesianOracle",
    "BayesianPolynomialRegression",
    "BetaBernoulli",
    "CategoricalMechanism",
    "ConditionalGenerativeModel",
    "DirichletCategorical",
    "FewShotTextClassifier",
    "GaussianMechanism",
    "GaussianProcessRegression",
    "HallucinationRate",
    "PFNRegression",
    "PredictivePValue",
    "ancestral_complete",
    "discrepancy_score",
    "exact_phr",
    "gpv",
    "is_hallucination",
    "load_pfn_module",
    "load_sentiment_sentences",
    "load_smollm2",
    "lower_quantile",
    "mhr",
    "phr",
    "posterior_predictive_pvalue",
    "save_pfn_module",
    "shipped_weights",
    "thr",
    "train_pfn",
]
