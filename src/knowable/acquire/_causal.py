"""Causal acquisition: which units' factual outcomes to measure to learn the CATE.

The Causal-BALD family (Jesson, Tigas, van Amersfoort, Kirsch, Shalit & Gal,
NeurIPS 2021) scores a pool of units ``(x_i, t_i)`` whose treatment is known but
whose outcome is not, from the joint posterior of the potential-outcome
functions ``(mu0, mu1)`` at ``x_i`` (a :class:`~knowable.models.Posterior` with
two outputs, as :meth:`knowable.effects.TARNet.predict_outcomes` returns).
With ``Var`` the epistemic variance, ``mu_t`` the factual arm and ``mu_{1-t}``
the counterfactual one, ``tau = mu1 - mu0`` and temperature ``T``, a batch is
drawn without replacement with probabilities proportional to

=================  ==================================================================
``mu-bald``        ``Var[mu_t]^(1/T)``
``tau-bald``       ``Var[tau]^(1/T)``
``rho-bald``       ``(Var[tau] / Var[mu_{1-t}])^(1/T)``
``mu-rho-bald``    ``(Var[mu_t] Var[tau] / Var[mu_{1-t}])^(1/T)``
``pi-bald``        ``P(T = 1 - t | x)`` (the counterfactual propensity; no temperature)
``mu-pi-bald``     ``Var[mu_t]^(1/T) P(T = 1 - t | x)``
``sundin``         ``exp(MI)``, Sundin et al. (2019)'s type-S error information
``random``         uniform
=================  ==================================================================

Every variance gets ``eps`` added before its logarithm (the guard that keeps
``rho`` finite where the counterfactual arm is known exactly).
``Var[tau] = Var[mu1] + Var[mu0] - 2 Cov(mu0, mu1)`` uses the Posterior's
exact covariance when the model supplies one (DUE) and the draws' covariance
(``ddof = 0``) otherwise. The Sundin score uses the draws of ``tau``:
``gamma_s = Phi(-|tau_s| / (sqrt(2) noise_scale))`` clipped to
``[eps, 1 - eps]`` and ``MI = H(mean_s gamma_s) - mean_s H(gamma_s)``
(Bernoulli entropies, nats).

Sampling uses the Gumbel-top-k trick on the log weights
(:func:`~knowable.acquire.gumbel_top_k`), which draws from the same
Plackett-Luce law as sequential weighted sampling without replacement, in log
space (no overflow). ``temperature=0`` selects the top ``b`` deterministically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy.special import ndtr

from .._random import check_random_state
from .._validation import (
    check_array,
    check_binary_treatment,
    check_in_options,
    check_probability_array,
    check_real,
)
from ..models import Categorical, Posterior
from ._inputs import check_batch_size
from ._registry import StrategyNames, get_strategy, register_strategy
from ._select import gumbel_top_k, top_k
from ._strategies import Batch

__all__ = [
    "CAUSAL_STRATEGIES",
    "CausalInputs",
    "arm_moments",
    "causal_log_weights",
    "select_causal",
    "sundin_information",
]

DEFAULT_EPS = 1e-7


def _check_outcome_posterior(posterior: Any) -> Posterior:
    if not isinstance(posterior, Posterior):
        raise TypeError(
            "posterior must be a knowable.models.Posterior over (mu0, mu1) "
            "(call estimator.predict_outcomes(X) first), got "
            f"{type(posterior).__name__}."
        )
    if posterior.n_outputs != 2:
        raise ValueError(
            "causal acquisition needs a Posterior with two outputs (mu0, mu1); got "
            f"k = {posterior.n_outputs}."
        )
    if isinstance(posterior.observation, Categorical):
        raise ValueError(
            "causal acquisition needs a Posterior over the potential outcomes (mu0, mu1) "
            "(estimator.predict_outcomes(X)); got a Categorical Posterior of class probabilities."
        )
    names = posterior.output_names
    if names is not None and list(names) != ["mu0", "mu1"]:
        raise ValueError(f"the Posterior's outputs must be ['mu0', 'mu1'], got {names}.")
    if posterior.n_inputs == 0:
        raise ValueError("the pool is empty: the Posterior has no inputs.")
    return posterior


def arm_moments(posterior: Posterior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Epistemic variances of both arms and of the CATE at each pool unit.

    Parameters
    ----------
    posterior : Posterior
        Joint posterior over ``(mu0, mu1)``: draws ``(S, n, 2)``, optionally an
        exact covariance ``(n, 2, 2)`` (used when present).

    Returns
    -------
    var_mu0, var_mu1, var_tau : numpy.ndarray of shape (n,)
        ``Var[mu0]``, ``Var[mu1]`` and ``Var[mu1 - mu0]`` (including the
        cross-covariance), clipped at 0.
    """
    return _moments(_check_outcome_posterior(posterior))


def _moments(post: Posterior) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cov = post.cov()
    var0 = np.maximum(cov[:, 0, 0], 0.0)
    var1 = np.maximum(cov[:, 1, 1], 0.0)
    var_tau = np.maximum(var0 + var1 - 2.0 * cov[:, 0, 1], 0.0)
    return var0, var1, var_tau


def sundin_information(
    tau_draws: Any, noise_scale: float = 1.0, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """Sundin et al. (2019)'s information about the sign of the CATE, per unit.

    Parameters
    ----------
    tau_draws : array-like of shape (S, n)
        Posterior draws of ``tau = mu1 - mu0``.
    noise_scale : float
        Outcome noise standard deviation ``sigma`` (units of ``y``): a type-S
        error has probability ``Phi(-|tau| / (sqrt(2) sigma))``. The reference
        code uses 1 on standardised outcomes, i.e. ``sigma = std(y)``.
    eps : float
        Clipping of the error probabilities away from 0 and 1.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``H(mean_s gamma_s) - mean_s H(gamma_s)`` in nats, in ``[0, log 2]``.
    """
    tau = check_array(tau_draws, "tau_draws", ndim=2)
    sigma = check_real(noise_scale, "noise_scale", low=0.0, low_inclusive=False)
    eps = check_real(eps, "eps", low=0.0, high=0.5, low_inclusive=False, high_inclusive=False)
    gamma = np.clip(ndtr(-np.abs(tau) / (np.sqrt(2.0) * sigma)), eps, 1.0 - eps)

    def bernoulli_entropy(p: np.ndarray) -> np.ndarray:
        return -(p * np.log(p) + (1.0 - p) * np.log1p(-p))

    return np.maximum(
        bernoulli_entropy(gamma.mean(axis=0)) - bernoulli_entropy(gamma).mean(axis=0), 0.0
    )


@dataclass(frozen=True)
class CausalInputs:
    """Validated inputs of a ``"causal"`` strategy, built by :func:`causal_log_weights`.

    A registered causal strategy is ``log_weights_fn(inputs) -> (n,)``; the
    helpers below give the terms of the Causal-BALD family, so a new rule is
    a line of arithmetic on them.

    Attributes
    ----------
    posterior : Posterior
        Joint posterior over ``(mu0, mu1)`` at the pool units, draws ``(S, n, 2)``.
    t : numpy.ndarray of shape (n,)
        Factual treatments, 0.0 or 1.0.
    beta : float
        ``1 / temperature`` (1 where the temperature is 0).
    eps : float
        Added to every variance (and propensity) before its logarithm.
    noise_scale : float
        Outcome noise standard deviation (units of ``y``).
    propensity : numpy.ndarray of shape (n,) or None
        ``P(T = 1 | x)``, given to strategies registered with ``needs_propensity``.
    """

    posterior: Posterior
    t: np.ndarray
    beta: float
    eps: float
    noise_scale: float = 1.0
    propensity: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of pool units."""
        return int(self.posterior.n_inputs)

    @property
    def factual(self) -> np.ndarray:
        """``t == 1`` as a boolean mask of shape (n,)."""
        return self.t == 1.0

    @cached_property
    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(Var[mu0], Var[mu1], Var[tau])``, each (n,) (see :func:`arm_moments`)."""
        return _moments(self.posterior)

    def log_var_factual(self) -> np.ndarray:
        """``beta * log(Var[mu_t] + eps)``, shape (n,)."""
        var0, var1, _ = self.moments
        return self.beta * np.log(np.where(self.factual, var1, var0) + self.eps)

    def log_var_counterfactual(self) -> np.ndarray:
        """``beta * log(Var[mu_{1-t}] + eps)``, shape (n,)."""
        var0, var1, _ = self.moments
        return self.beta * np.log(np.where(self.factual, var0, var1) + self.eps)

    def log_var_tau(self) -> np.ndarray:
        """``beta * log(Var[tau] + eps)``, shape (n,)."""
        return self.beta * np.log(self.moments[2] + self.eps)

    def log_counterfactual_propensity(self) -> np.ndarray:
        """``log(P(T = 1 - t | x) + eps)``, shape (n,)."""
        if self.propensity is None:
            raise ValueError("this strategy needs the pool's propensity P(T=1|x).")
        pi = self.propensity
        return np.log(np.where(self.factual, 1.0 - pi, pi) + self.eps)

    def tau_draws(self) -> np.ndarray:
        """Draws of ``tau = mu1 - mu0``, shape (S, n)."""
        draws = self.posterior.draws
        return draws[..., 1] - draws[..., 0]


def _rho(inputs: CausalInputs) -> np.ndarray:
    return inputs.log_var_tau() - inputs.log_var_counterfactual()


def _log_var_factual(inputs: CausalInputs) -> np.ndarray:
    return inputs.log_var_factual()


def _sundin(inputs: CausalInputs) -> np.ndarray:
    return sundin_information(inputs.tau_draws(), inputs.noise_scale, inputs.eps)


# name, log weights, label, description, needs (the paper's order)
_SPREAD = {"needs_spread": True, "uses_exact_cov": True}
_PI = {"needs_propensity": True}
_BUILT_IN: tuple[tuple[str, Any, str, str, dict[str, bool]], ...] = (
    ("random", lambda i: np.zeros(i.n), "random", "uniform", {"needs_posterior": False}),
    ("mu-bald", _log_var_factual, "μBALD", "Var[mu_t]^(1/T)", _SPREAD),
    ("tau-bald", CausalInputs.log_var_tau, "τBALD", "Var[tau]^(1/T)", _SPREAD),
    ("rho-bald", _rho, "ρBALD", "(Var[tau] / Var[mu_{1-t}])^(1/T)", _SPREAD),
    (
        "mu-rho-bald",
        lambda i: i.log_var_factual() + _rho(i),
        "μρBALD",
        "Var[mu_t] Var[tau] / Var[mu_{1-t}], to the 1/T",
        _SPREAD,
    ),
    ("pi-bald", CausalInputs.log_counterfactual_propensity, "πBALD", "P(T = 1 - t | x)", _PI),
    (
        "mu-pi-bald",
        lambda i: i.log_var_factual() + i.log_counterfactual_propensity(),
        "μπBALD",
        "Var[mu_t]^(1/T) P(T = 1 - t | x)",
        {**_PI, **_SPREAD},
    ),
    ("sundin", _sundin, "Sundin", "exp(MI) of the sign of the CATE", {"needs_spread": True}),
)
for _name, _fn, _label, _text, _needs in _BUILT_IN:
    register_strategy(_name, _fn, family="causal", label=_label, description=_text, **_needs)

CAUSAL_STRATEGIES: Sequence[str] = StrategyNames("causal")
"""Names :func:`select_causal` accepts: a live view of the ``"causal"`` family of the registry."""


def causal_log_weights(
    posterior: Posterior,
    t: Any,
    strategy: str = "mu-rho-bald",
    *,
    propensity: Any = None,
    temperature: float = 0.25,
    noise_scale: float = 1.0,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Log selection weights of a Causal-BALD strategy for every pool unit.

    Parameters
    ----------
    posterior : Posterior
        Joint posterior over ``(mu0, mu1)`` at the pool units, draws ``(S, n, 2)``.
    t : array-like of shape (n,)
        The pool units' (factual) treatments, 0 or 1.
    strategy : str
        One of :data:`CAUSAL_STRATEGIES` (see the module docstring).
    propensity : array-like of shape (n,), optional
        ``P(T = 1 | x)`` at the pool units, in [0, 1]; required by
        ``"pi-bald"`` and ``"mu-pi-bald"``.
    temperature : float
        ``T >= 0``; the variance terms are raised to ``1 / T`` (``T = 0`` is
        treated as ``T = 1`` here: :func:`select_causal` then takes the top-k).
        ``"pi-bald"``'s propensity term and ``"sundin"`` ignore it.
    noise_scale : float
        Outcome noise standard deviation for ``"sundin"`` (units of ``y``).
    eps : float
        Added to every variance before its logarithm.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``log w_i``: the batch is drawn with probabilities proportional to
        ``w_i`` (all zeros for ``"random"``).
    """
    check_in_options(strategy, "strategy", CAUSAL_STRATEGIES)
    spec = get_strategy(strategy, "causal")
    post = _check_outcome_posterior(posterior)
    n = post.n_inputs
    t_arr = check_binary_treatment(t, "t")
    if t_arr.shape != (n,):
        raise ValueError(f"t must have shape ({n},) to match the Posterior, got {t_arr.shape}.")
    temp = check_real(temperature, "temperature", low=0.0)
    beta = 1.0 / temp if temp > 0 else 1.0
    eps = check_real(eps, "eps", low=0.0, high=0.5, low_inclusive=False, high_inclusive=False)
    pi = None
    if spec.needs_propensity:
        if propensity is None:
            raise ValueError(f"strategy {strategy!r} needs the pool's propensity P(T=1|x).")
        # 0 and 1 are allowed: log(p + eps) keeps the weight finite, as in the reference
        pi = check_probability_array(propensity, "propensity", open_interval=False)
        if pi.shape != (n,):
            raise ValueError(f"propensity must have shape ({n},), got {pi.shape}.")
    if spec.needs_spread and post.n_draws < 2 and not post.has_exact_cov:
        raise ValueError(
            f"strategy {strategy!r} needs the posterior's spread, but the Posterior has one "
            "draw and no exact covariance: every unit would score the same."
        )
    inputs = CausalInputs(post, t_arr, beta, eps, noise_scale=noise_scale, propensity=pi)
    return spec.log_weights_fn(inputs)  # type: ignore[misc]


def select_causal(
    posterior: Posterior,
    t: Any,
    batch_size: int,
    strategy: str = "mu-rho-bald",
    *,
    propensity: Any = None,
    temperature: float = 0.25,
    noise_scale: float = 1.0,
    eps: float = DEFAULT_EPS,
    random_state: Any = None,
) -> Batch:
    """Choose which pool units' outcomes to acquire next (Causal-BALD).

    Parameters
    ----------
    posterior : Posterior
        Joint posterior over ``(mu0, mu1)`` at the pool units, draws ``(S, n, 2)``.
    t : array-like of shape (n,)
        The pool units' treatments, 0 or 1.
    batch_size : int
        Units to acquire, ``1 <= b <= n``.
    strategy : str
        One of :data:`CAUSAL_STRATEGIES`.
    propensity : array-like of shape (n,), optional
        ``P(T = 1 | x)`` at the pool units (``"pi-bald"``, ``"mu-pi-bald"``).
    temperature : float
        ``T`` of the stochastic selection (the paper's 0.25); ``0`` takes the
        top ``b`` log weights instead of sampling. ``"random"`` always samples
        uniformly.
    noise_scale : float
        Outcome noise standard deviation for ``"sundin"``.
    eps : float
        Variance guard (see :func:`causal_log_weights`).
    random_state : None, int or numpy.random.Generator
        Seed of the sampling.

    Returns
    -------
    Batch
        ``indices`` (b,) into the pool in the order drawn; ``scores`` the picks'
        log weights; ``pool_scores`` every unit's log weight.

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.models import Posterior
    >>> rng = np.random.default_rng(0)
    >>> post = Posterior(rng.normal(size=(50, 8, 2)), output_names=["mu0", "mu1"])
    >>> t = np.array([0, 1] * 4)
    >>> select_causal(post, t, 3, "mu-rho-bald", random_state=0).indices.shape
    (3,)
    """
    log_w = causal_log_weights(
        posterior,
        t,
        strategy,
        propensity=propensity,
        temperature=temperature,
        noise_scale=noise_scale,
        eps=eps,
    )
    b = check_batch_size(batch_size, len(log_w))
    rng = check_random_state(random_state)
    if strategy != "random" and float(temperature) == 0.0:
        indices = top_k(log_w, b)
    else:
        indices = gumbel_top_k(log_w, b, rng)
    return Batch(indices, log_w[indices], strategy, pool_scores=log_w)
