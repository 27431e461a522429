"""The one contract between models and everything above them.

A :class:`Posterior` holds ``S`` epistemic draws of function values for ``n``
inputs and ``k`` outputs, shape ``(S, n, k)``, plus an observation model that
says how data scatter around one draw. Draws are *consistent across inputs*:
draw ``s`` comes from the same ensemble member, dropout mask or GP sample for
every input, so joint quantities over several inputs (BatchBALD) are meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._random import check_random_state
from ._observation import Categorical, GaussianMixture, GaussianNoise, ObservationModel

__all__ = ["Posterior"]

_LOG_2PI_E = float(np.log(2 * np.pi * np.e))


class Posterior:
    """Epistemic draws of a model's outputs plus their observation model.

    Parameters
    ----------
    draws : array-like of shape (S, n, k)
        ``S`` epistemic draws (ensemble members, dropout masks, GP samples) of
        the function values at ``n`` inputs for ``k`` outputs. For a
        classifier ``k`` is the number of classes and the draws are
        probabilities; for a treatment-conditioned model ``k = 2`` (``mu0, mu1``).
    observation : GaussianNoise, Categorical, GaussianMixture or None
        How an observation scatters around one draw. ``None`` means the
        observation model is unknown; aleatoric quantities then raise.
    covariance : array-like of shape (n, k, k), optional
        Exact epistemic covariance between the ``k`` outputs at each input,
        when the model has it in closed form (the GP head of DUE). Otherwise
        :meth:`cov` estimates it from the draws.
    mean : array-like of shape (n, k), optional
        Exact posterior mean, when the model has it in closed form (DUE);
        otherwise :meth:`mean` averages the draws.
    output_names : sequence of str, optional
        Names of the ``k`` outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from knowable.models import Posterior, GaussianNoise
    >>> post = Posterior(np.zeros((4, 3, 1)), GaussianNoise(np.array(0.5)))
    >>> post.mean().shape, post.var().shape
    ((3, 1), (3, 1))
    """

    def __init__(
        self,
        draws: Any,
        observation: ObservationModel | None = None,
        *,
        covariance: Any = None,
        mean: Any = None,
        output_names: Sequence[str] | None = None,
    ) -> None:
        arr = np.asarray(draws)
        if arr.dtype.kind not in "fiu":
            raise TypeError(f"Posterior draws must be numeric, got dtype {arr.dtype}.")
        if arr.ndim != 3:
            raise ValueError(f"Posterior draws must have shape (S, n, k), got {arr.shape}.")
        if arr.shape[0] == 0:
            raise ValueError("Posterior has no draws (S = 0); a Posterior needs at least one draw.")
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError("Posterior draws contain NaN or infinite values.")
        if isinstance(observation, Categorical) and (
            (arr < -1e-6).any() or not np.allclose(arr.sum(-1), 1.0, atol=1e-4)
        ):
            raise ValueError(
                "Categorical Posterior draws must be probabilities summing to 1 over k."
            )
        if isinstance(observation, GaussianMixture) and observation.logits.shape[:3] != arr.shape:
            raise ValueError(
                "GaussianMixture parameters must have shape (S, n, k, C) matching the draws."
            )
        if covariance is not None:
            covariance = np.asarray(covariance, dtype=float)
            if covariance.shape != (arr.shape[1], arr.shape[2], arr.shape[2]):
                raise ValueError(
                    f"covariance must have shape (n, k, k) = {(arr.shape[1], arr.shape[2], arr.shape[2])}, "
                    f"got {covariance.shape}."
                )
            if not np.isfinite(covariance).all():
                raise ValueError("Posterior covariance contains NaN or infinite values.")
        if mean is not None:
            mean = np.asarray(mean, dtype=float)
            if mean.shape != arr.shape[1:]:
                raise ValueError(
                    f"mean must have shape (n, k) = {arr.shape[1:]}, got {mean.shape}."
                )
            if not np.isfinite(mean).all():
                raise ValueError("Posterior mean contains NaN or infinite values.")
        if output_names is not None and len(output_names) != arr.shape[2]:
            raise ValueError(
                f"output_names has {len(output_names)} names for k = {arr.shape[2]} outputs."
            )
        self._draws = arr
        self._observation = observation
        self._covariance = covariance
        self._mean = mean
        self._output_names = list(output_names) if output_names is not None else None

    # ------------------------------------------------------------------ shape
    @property
    def draws(self) -> np.ndarray:
        """Function-value draws, shape ``(S, n, k)``."""
        return self._draws

    @property
    def observation(self) -> ObservationModel | None:
        """The observation model (aleatoric part)."""
        return self._observation

    @property
    def output_names(self) -> list[str] | None:
        """Names of the ``k`` outputs, if known."""
        return self._output_names

    @property
    def has_exact_cov(self) -> bool:
        """Whether the model supplied the exact covariance (else :attr:`cov` comes from the draws)."""
        return self._covariance is not None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(S, n, k)``."""
        return self._draws.shape  # type: ignore[return-value]

    @property
    def n_draws(self) -> int:
        """Number of epistemic draws ``S``."""
        return self._draws.shape[0]

    @property
    def n_inputs(self) -> int:
        """Number of inputs ``n``."""
        return self._draws.shape[1]

    @property
    def n_outputs(self) -> int:
        """Number of outputs ``k``."""
        return self._draws.shape[2]

    def __len__(self) -> int:
        return self.n_inputs

    def __repr__(self) -> str:
        obs = type(self._observation).__name__ if self._observation is not None else None
        return (
            f"Posterior(S={self.n_draws}, n={self.n_inputs}, k={self.n_outputs}, observation={obs})"
        )

    def __getitem__(self, index: Any) -> Posterior:
        """Restrict to a subset of inputs (``index`` selects along ``n``)."""
        if isinstance(index, (int, np.integer)):
            index = np.array([index])
        draws = self._draws[:, index]
        obs = self._observation.take(index, self.shape) if self._observation is not None else None
        cov = self._covariance[index] if self._covariance is not None else None
        mean = self._mean[index] if self._mean is not None else None
        return Posterior(draws, obs, covariance=cov, mean=mean, output_names=self._output_names)

    # ---------------------------------------------------------- epistemic part
    def mean(self) -> np.ndarray:
        """Posterior mean of the function values, shape ``(n, k)``.

        Exact where the model supplied it, otherwise the mean of the draws.
        """
        if self._mean is not None:
            return self._mean
        return self._draws.mean(axis=0, dtype=np.float64)

    def var(self) -> np.ndarray:
        """Epistemic variance over draws (``ddof=0``), shape ``(n, k)``.

        Where an exact covariance was supplied, its diagonal is returned.
        """
        if self._covariance is not None:
            return np.diagonal(self._covariance, axis1=1, axis2=2).copy()
        return self._draws.var(axis=0, dtype=np.float64)

    def std(self) -> np.ndarray:
        """Epistemic standard deviation, shape ``(n, k)``."""
        return np.sqrt(self.var())

    def cov(self) -> np.ndarray:
        """Epistemic covariance between outputs at each input, shape ``(n, k, k)``.

        Exact when the model supplied it, otherwise estimated from the draws
        (``ddof=0``).
        """
        if self._covariance is not None:
            return self._covariance
        centred = self._draws - self._draws.mean(axis=0, keepdims=True, dtype=np.float64)
        return np.einsum("sni,snj->nij", centred, centred) / self.n_draws

    def quantile(self, q: float | Sequence[float]) -> np.ndarray:
        """Quantile(s) of the function values over draws.

        Parameters
        ----------
        q : float or sequence of float
            Level(s) in [0, 1].

        Returns
        -------
        numpy.ndarray
            Shape ``(n, k)`` for a scalar ``q``, ``(len(q), n, k)`` otherwise.
        """
        qs = np.asarray(q, dtype=float)
        if ((qs < 0) | (qs > 1)).any():
            raise ValueError(f"quantile levels must lie in [0, 1], got {q}.")
        return np.quantile(self._draws, qs, axis=0)

    def interval(self, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed ``1 - alpha`` interval of the function values over draws.

        Parameters
        ----------
        alpha : float
            Total tail mass, in (0, 1).

        Returns
        -------
        lower, upper : numpy.ndarray of shape (n, k)
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must lie in (0, 1), got {alpha}.")
        lo, hi = self.quantile([alpha / 2, 1 - alpha / 2])
        return lo, hi

    # ---------------------------------------------------------- aleatoric part
    def _require_observation(self) -> ObservationModel:
        if self._observation is None:
            raise ValueError(
                "This Posterior has no observation model; aleatoric quantities are undefined."
            )
        return self._observation

    def aleatoric_var(self) -> np.ndarray:
        """Expected observation-noise variance, ``E_s Var[y | f_s]``, shape ``(n, k)``."""
        obs = self._require_observation()
        if isinstance(obs, Categorical):
            raise ValueError(
                "aleatoric_var is defined for real-valued outputs, not for a Categorical model."
            )
        return np.asarray(obs.variance(self.shape)).mean(axis=0)

    def predictive_var(self) -> np.ndarray:
        """Total predictive variance (law of total variance), shape ``(n, k)``."""
        return self.var() + self.aleatoric_var()

    def entropy(self) -> np.ndarray:
        """Entropy of the predictive distribution ``H[y | x]`` in nats.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)`` for a Categorical model (exact, from the mean of the
            probability draws); shape ``(n, k)`` for Gaussian noise, where the
            predictive mixture over draws is moment-matched by a Gaussian (exact
            when the draws are themselves Gaussian and the noise is shared).
        """
        obs = self._require_observation()
        if isinstance(obs, Categorical):
            return obs.entropy_of(self.mean())
        if isinstance(obs, GaussianNoise):
            return 0.5 * (_LOG_2PI_E + np.log(self.predictive_var()))
        raise NotImplementedError(
            "entropy is not available in closed form for a GaussianMixture Posterior."
        )

    def expected_entropy(self) -> np.ndarray:
        """Expected entropy over draws ``E_s H[y | x, f_s]`` in nats.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)`` for Categorical, ``(n, k)`` for Gaussian noise.
        """
        obs = self._require_observation()
        if isinstance(obs, Categorical):
            return obs.entropy_of(self._draws.astype(np.float64)).mean(axis=0)
        if isinstance(obs, GaussianNoise):
            return np.asarray(obs.entropy(self.shape)).mean(axis=0)
        raise NotImplementedError(
            "expected_entropy is not available in closed form for a GaussianMixture Posterior."
        )

    def mutual_information(self) -> np.ndarray:
        """``H[y|x] - E_s H[y|x, f_s]``: the BALD score, in nats (shapes as :meth:`entropy`)."""
        return np.maximum(self.entropy() - self.expected_entropy(), 0.0)

    def log_likelihood(self, y: Any) -> np.ndarray:
        """Log predictive density of observations, ``log mean_s p(y | f_s)``.

        Parameters
        ----------
        y : array-like
            Shape ``(n, k)`` (or ``(n,)`` when ``k = 1``) for real outputs;
            integer labels of shape ``(n,)`` for a Categorical model.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, k)``, or ``(n,)`` for Categorical.
        """
        from scipy.special import logsumexp

        obs = self._require_observation()
        y_arr = np.asarray(y, dtype=float)
        if not isinstance(obs, Categorical) and y_arr.ndim == 1:
            y_arr = y_arr[:, None]
        log_p = obs.log_prob(self._draws, y_arr)
        return logsumexp(log_p, axis=0) - np.log(self.n_draws)

    def sample_observations(self, n_samples: int, random_state: Any = None) -> np.ndarray:
        """Draw observations from every epistemic draw.

        Parameters
        ----------
        n_samples : int
            Observations per draw.
        random_state : None, int or numpy.random.Generator
            Seed.

        Returns
        -------
        numpy.ndarray
            Shape ``(S, n_samples, n, k)``; integer labels ``(S, n_samples, n)``
            for a Categorical model.
        """
        obs = self._require_observation()
        rng = check_random_state(random_state)
        return obs.sample(self._draws, int(n_samples), rng)

    # -------------------------------------------------------------- assembly
    @classmethod
    def concatenate(cls, parts: Sequence[Posterior]) -> Posterior:
        """Join Posteriors computed on consecutive chunks of inputs.

        Parameters
        ----------
        parts : sequence of Posterior
            Chunks with the same ``S``, ``k`` and observation type.

        Returns
        -------
        Posterior
        """
        if not parts:
            raise ValueError("concatenate needs at least one Posterior.")
        first = parts[0]
        draws = np.concatenate([p.draws for p in parts], axis=1)
        obs = first.observation
        if isinstance(obs, GaussianNoise):
            scales = [p.observation.scale for p in parts]  # type: ignore[union-attr]
            shared = all(np.ndim(sc) < 2 or np.shape(sc)[1] == 1 for sc in scales) and all(
                np.array_equal(sc, scales[0]) for sc in scales
            )
            new_obs: ObservationModel | None = (
                obs
                if shared
                else GaussianNoise(
                    np.concatenate(
                        [np.broadcast_to(sc, p.shape) for sc, p in zip(scales, parts, strict=True)],
                        axis=1,
                    )
                )
            )
        elif isinstance(obs, GaussianMixture):
            new_obs = GaussianMixture(
                *(
                    np.concatenate([getattr(p.observation, a) for p in parts], axis=1)
                    for a in ("logits", "loc", "scale")
                )
            )
        else:
            new_obs = obs
        covs = [p._covariance for p in parts]
        cov = np.concatenate(covs, axis=0) if all(c is not None for c in covs) else None
        means = [p._mean for p in parts]
        mean = np.concatenate(means, axis=0) if all(m is not None for m in means) else None
        return cls(draws, new_obs, covariance=cov, mean=mean, output_names=first.output_names)
