"""tau-pi-BALD: the CATE's epistemic variance weighted by the counterfactual propensity
(save as src/knowable/acquire/strategies/tau_pi_bald.py).
"""

from __future__ import annotations

import numpy as np

from knowable.acquire import CausalInputs, register_strategy


@register_strategy(
    "tau-pi-bald",
    family="causal",
    label="τπBALD",
    description="Var[tau]^(1/T) P(T = 1 - t | x)",
    needs_propensity=True,  # select_causal and the loop supply P(T=1|x)
    needs_spread=True,  # refuse a Posterior with one draw and no covariance
    uses_exact_cov=True,  # Var[tau] reads the exact covariance where the model has one
)
def tau_pi_bald(inputs: CausalInputs) -> np.ndarray:
    """``log w = (1/T) log(Var[tau] + eps) + log(P(T = 1 - t | x) + eps)``."""
    return inputs.log_var_tau() + inputs.log_counterfactual_propensity()
