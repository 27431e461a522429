"""Mean STD: the epistemic standard deviation of the predictions, averaged over outputs.

The "Mean STD" acquisition of Kampffmeyer et al. (2016), compared in Gal,
Islam & Ghahramani (ICML 2017): for classification the standard deviation over
draws of each class probability, averaged over classes; for regression the
standard deviation over draws of each output, averaged over outputs.
"""

from __future__ import annotations

import numpy as np

from knowable.acquire import register_strategy
from knowable.models import Posterior


@register_strategy(
    "mean-std",
    family="score",
    label="MeanSTD",
    description="standard deviation of the predictions over draws, mean over outputs",
)
def mean_std(chunk: Posterior) -> np.ndarray:
    """Mean over outputs of the standard deviation over draws.

    Parameters
    ----------
    chunk : Posterior
        Draws ``(S, n, k)``: class probabilities (Categorical) or function
        values (GaussianNoise).

    Returns
    -------
    numpy.ndarray of shape (n,)
    """
    return chunk.draws.std(axis=0, dtype=np.float64).mean(axis=-1)
