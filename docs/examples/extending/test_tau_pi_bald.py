"""tau-pi-bald (save as tests/test_strategy_tau_pi_bald.py)."""

import numpy as np

from knowable.acquire import CAUSAL_STRATEGIES, causal_log_weights, select_causal
from knowable.models import Posterior


def test_log_weights_by_hand():
    rng = np.random.default_rng(0)
    draws = rng.normal(size=(50, 4, 2))
    post = Posterior(draws, output_names=["mu0", "mu1"])
    t = np.array([0, 1, 0, 1])
    pi = np.array([0.2, 0.3, 0.8, 0.9])
    tau = draws[..., 1] - draws[..., 0]
    var_tau = tau.var(axis=0)  # the draws' covariance, ddof = 0
    expected = 4.0 * np.log(var_tau + 1e-7) + np.log(np.where(t == 1, 1 - pi, pi) + 1e-7)
    got = causal_log_weights(post, t, "tau-pi-bald", propensity=pi, temperature=0.25)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_needs_the_propensity_and_is_listed():
    post = Posterior(np.random.default_rng(1).normal(size=(5, 3, 2)), output_names=["mu0", "mu1"])
    try:
        select_causal(post, [0, 1, 0], 1, "tau-pi-bald")
    except ValueError as err:
        assert "propensity" in str(err)
    else:
        raise AssertionError("no error without a propensity")
    assert "tau-pi-bald" in CAUSAL_STRATEGIES
