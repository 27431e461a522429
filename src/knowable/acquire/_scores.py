"""Single-point acquisition scores from Posterior draws, computed chunk by chunk.

Every score is higher for inputs worth labelling first. All entropies are in
nats. The pure kernels (``*_from_probs``, ``*_from_draws``) work on one chunk of
draws; :func:`score` runs one of them over a whole pool, chunk by chunk, so the
temporaries never exceed ``S * chunk_size * k`` numbers.

Classification (``Categorical`` observation model, draws are probabilities
``p[s, n, c]``):

* predictive entropy ``H[y|x] = -sum_c pbar_c log pbar_c``, ``pbar = mean_s p_s``;
* BALD ``I[y; w | x] = H[y|x] - mean_s H[p_s]``;
* margin ``1 - (pbar_(1) - pbar_(2))``; variation ratio ``1 - max_c pbar_c``;
* variance ``mean_c Var_s p_sc``.

Regression (``GaussianNoise``, draws are function values ``f[s, n, k]`` with
noise scale ``sigma``): with ``Sigma_f`` the epistemic covariance of the ``k``
outputs over draws and ``D = diag(mean_s sigma_s**2)``,

* BALD ``I[y; f | x] = 1/2 log det(I + D^-1 Sigma_f)`` (``= 1/2 log(1 + Var f / sigma**2)``
  for one output): exact when the draws are Gaussian and the noise is
  homoscedastic across draws; the epistemic/aleatoric split comes from the
  observation model;
* predictive entropy ``1/2 log det(2 pi e (Sigma_f + D))``;
* variance ``trace Sigma_f``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .._random import check_random_state
from .._validation import check_array, check_in_options
from ..models import Categorical, Posterior
from ._inputs import DEFAULT_CHUNK, iter_chunks, observation_kind
from ._registry import StrategyNames, StrategySpec, get_strategy, register_strategy

__all__ = [
    "SCORES",
    "bald_from_draws",
    "bald_from_probs",
    "entropy_from_probs",
    "margin_from_probs",
    "score",
    "variance_from_probs",
    "variation_ratio_from_probs",
]

_LOG_2PI_E = float(np.log(2 * np.pi * np.e))
_CATEGORICAL = Categorical()  # its entropy is the one the Posterior uses


def _probs(probs: Any) -> np.ndarray:
    """Probability draws ``(S, n, C)``, validated as a Categorical :class:`Posterior` is."""
    return np.asarray(Posterior(probs, _CATEGORICAL).draws, dtype=np.float64)


# ------------------------------------------------------------ classification
def entropy_from_probs(probs: np.ndarray) -> np.ndarray:
    """Predictive entropy of the mean of probability draws.

    Parameters
    ----------
    probs : numpy.ndarray of shape (S, n, C)
        Class-probability draws.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    return _CATEGORICAL.entropy_of(_probs(probs).mean(axis=0))


def bald_from_probs(probs: np.ndarray) -> np.ndarray:
    """BALD, the mutual information between the label and the model draw.

    Parameters
    ----------
    probs : numpy.ndarray of shape (S, n, C)
        Class-probability draws, consistent across inputs.

    Returns
    -------
    numpy.ndarray of shape (n,)
        ``H[mean_s p_s] - mean_s H[p_s]`` in nats, clipped at 0 (rounding).
    """
    p = _probs(probs)
    expected = _CATEGORICAL.entropy_of(p).mean(axis=0)
    return np.maximum(entropy_from_probs(p) - expected, 0.0)


def margin_from_probs(probs: np.ndarray) -> np.ndarray:
    """One minus the gap between the two most probable classes of the mean probabilities.

    Parameters
    ----------
    probs : numpy.ndarray of shape (S, n, C)
        Class-probability draws.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    mean = _probs(probs).mean(axis=0)
    if mean.shape[-1] < 2:
        raise ValueError("margin needs at least two classes.")
    top2 = np.partition(mean, mean.shape[-1] - 2, axis=-1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def variation_ratio_from_probs(probs: np.ndarray) -> np.ndarray:
    """One minus the largest mean class probability.

    Parameters
    ----------
    probs : numpy.ndarray of shape (S, n, C)
        Class-probability draws.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    return 1.0 - _probs(probs).mean(axis=0).max(axis=-1)


def variance_from_probs(probs: np.ndarray) -> np.ndarray:
    """Epistemic variance of the class probabilities, averaged over classes.

    Parameters
    ----------
    probs : numpy.ndarray of shape (S, n, C)
        Class-probability draws.

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    return _probs(probs).var(axis=0).mean(axis=-1)


# ---------------------------------------------------------------- regression
def _gaussian_parts(post: Posterior) -> tuple[np.ndarray, np.ndarray]:
    """Epistemic covariance (n, k, k) and mean noise variance (n, k) of a Gaussian chunk."""
    f = post.draws.astype(np.float64, copy=False)
    centred = f - f.mean(axis=0, keepdims=True)
    cov = np.einsum("sni,snj->nij", centred, centred) / f.shape[0]
    noise = np.asarray(post.observation.variance(post.shape), dtype=np.float64).mean(axis=0)  # type: ignore[union-attr]
    return cov, noise


def bald_from_draws(draws: np.ndarray, noise_var: Any) -> np.ndarray:
    """Gaussian BALD ``1/2 log det(I + D^-1 Sigma_f)`` from function draws.

    Parameters
    ----------
    draws : numpy.ndarray of shape (S, n, k)
        Function-value draws.
    noise_var : float or numpy.ndarray broadcastable to (n, k)
        Observation-noise variance (mean over draws when heteroscedastic).

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    f = np.asarray(Posterior(draws).draws, dtype=np.float64)  # (S, n, k), finite
    noise = check_array(noise_var, "noise_var", ndim=(0, 1, 2))
    if (noise <= 0).any():
        raise ValueError(f"noise_var must be positive, got minimum {float(noise.min()):.3g}.")
    try:
        noise = np.broadcast_to(noise, f.shape[1:])
    except ValueError:
        raise ValueError(
            f"noise_var has shape {noise.shape}, which does not broadcast to (n, k) = {f.shape[1:]}."
        ) from None
    centred = f - f.mean(axis=0, keepdims=True)
    cov = np.einsum("sni,snj->nij", centred, centred) / f.shape[0]
    return _gaussian_mi(cov, noise)


def _gaussian_mi(cov: np.ndarray, noise: np.ndarray) -> np.ndarray:
    if cov.shape[-1] == 1:
        return 0.5 * np.log1p(cov[:, 0, 0] / noise[:, 0])
    inv_sd = 1.0 / np.sqrt(noise)
    scaled = cov * inv_sd[:, :, None] * inv_sd[:, None, :]
    scaled[:, np.arange(cov.shape[-1]), np.arange(cov.shape[-1])] += 1.0
    return 0.5 * np.linalg.slogdet(scaled)[1]


def _gaussian_entropy(cov: np.ndarray, noise: np.ndarray) -> np.ndarray:
    k = cov.shape[-1]
    total = cov.copy()
    total[:, np.arange(k), np.arange(k)] += noise
    return 0.5 * (k * _LOG_2PI_E + np.linalg.slogdet(total)[1])


# ------------------------------------------------------------------ registry
def _on_probs(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Posterior], np.ndarray]:
    def chunk_score(chunk: Posterior) -> np.ndarray:
        return fn(chunk.draws)

    chunk_score.__name__ = fn.__name__
    return chunk_score


def _gaussian_bald(chunk: Posterior) -> np.ndarray:
    return _gaussian_mi(*_gaussian_parts(chunk))


def _gaussian_predictive_entropy(chunk: Posterior) -> np.ndarray:
    return _gaussian_entropy(*_gaussian_parts(chunk))


def _gaussian_variance(chunk: Posterior) -> np.ndarray:
    return chunk.draws.var(axis=0, dtype=np.float64).sum(axis=-1)


def _uniform(chunk: Posterior, rng: np.random.Generator) -> np.ndarray:
    return rng.random(chunk.n_inputs)


_BUILT_IN: tuple[tuple[str, dict[str, Callable[..., np.ndarray]], str, str], ...] = (
    (
        "bald",
        {"categorical": _on_probs(bald_from_probs), "gaussian": _gaussian_bald},
        "BALD",
        "mutual information between the outcome and the model (epistemic)",
    ),
    (
        "entropy",
        {"categorical": _on_probs(entropy_from_probs), "gaussian": _gaussian_predictive_entropy},
        "Entropy",
        "predictive entropy (epistemic + aleatoric)",
    ),
    (
        "margin",
        {"categorical": _on_probs(margin_from_probs)},
        "Margin",
        "one minus the gap between the two most probable classes",
    ),
    (
        "variation-ratio",
        {"categorical": _on_probs(variation_ratio_from_probs)},
        "VariationRatio",
        "one minus the largest mean class probability",
    ),
    (
        "variance",
        {"categorical": _on_probs(variance_from_probs), "gaussian": _gaussian_variance},
        "Variance",
        "epistemic variance of the outputs",
    ),
)
for _name, _fns, _label, _text in _BUILT_IN:
    register_strategy(_name, _fns, family="score", label=_label, description=_text)
register_strategy(
    "random",
    _uniform,
    family="score",
    label="random",
    description="uniform scores in [0, 1) (select's 'random' is a batch strategy)",
    needs_posterior=False,
    uses_random_state=True,
    selectable=False,
)

SCORES: Sequence[str] = StrategyNames("score")
"""Names accepted by :func:`score`: a live view of the ``"score"`` family of the registry."""


def _chunk_score(spec: StrategySpec, chunk: Posterior, rng: Any) -> np.ndarray:
    if spec.uses_random_state:
        return spec.scores[next(iter(spec.scores))](chunk, rng)
    kind = observation_kind(chunk, f"score {spec.name!r}")
    fn = spec.scores.get(kind)
    if fn is None:
        allowed = " or ".join(
            {
                "categorical": "classification (Categorical)",
                "gaussian": "regression (GaussianNoise)",
            }[k]
            for k in spec.scores
        )
        raise ValueError(f"score {spec.name!r} is defined for {allowed} only.")
    return fn(chunk)


def score(
    pool: Posterior | Iterable[Posterior],
    method: str = "bald",
    *,
    chunk_size: int = DEFAULT_CHUNK,
    random_state: Any = None,
    callback: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Score every pool input, chunk by chunk (bounded memory).

    Parameters
    ----------
    pool : Posterior or iterable of Posterior
        Draws over the pool: one Posterior, or consecutive chunks of it
        (for example a generator calling ``model.posterior`` on slices of the
        pool, so that draws for a pool of millions never sit in memory at once).
    method : str
        A registered score (:data:`SCORES`: ``"bald"``, ``"entropy"``,
        ``"margin"``, ``"variation-ratio"``, ``"variance"``, ``"random"``, and
        any added with :func:`~knowable.acquire.register_strategy`); see the
        module docstring for the formulas.
    chunk_size : int
        Inputs scored at once.
    random_state : None, int or numpy.random.Generator
        Only for random scores (``"random"``: uniform in [0, 1)).
    callback : callable, optional
        Called with the number of inputs scored after each chunk (progress).

    Returns
    -------
    numpy.ndarray of shape (n,)
        float64 scores, higher = acquire first.

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.models import Posterior, Categorical
    >>> p = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two draws that disagree
    >>> float(np.round(score(Posterior(p, Categorical()), "bald")[0], 6))
    0.693147
    """
    check_in_options(method, "method", SCORES)
    spec = get_strategy(method, "score")
    rng = check_random_state(random_state) if spec.uses_random_state else None
    parts = []
    for chunk in iter_chunks(pool, chunk_size):
        part = _chunk_score(spec, chunk, rng)
        parts.append(part)
        if callback is not None:
            callback(chunk.n_inputs)
    return np.concatenate(parts)
