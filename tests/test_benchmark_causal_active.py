"""The causal active benchmark's paired reading, on constructed curves with known ratios."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "causal_active.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("causal_active_bench", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(random_curves, mu_rho_curves):
    n_labels = list(range(100, 100 + 10 * len(random_curves[0]), 10))
    rows = []
    for strategy, curves in (("random", random_curves), ("mu-rho-bald", mu_rho_curves)):
        for trial, pehe in enumerate(curves):
            rows.append(
                {
                    "task": "ihdp",
                    "trial": trial,
                    "strategy": strategy,
                    "pehe": list(pehe),
                    "n_labels": n_labels,
                }
            )
    return rows


def test_paired_ratio_is_scale_free(bench):
    # trial scales differ by 100x; mu-rho is 0.8x random at every step after the warm start
    rng = np.random.default_rng(0)
    scales = np.array([0.3, 0.5, 30.0])
    random = scales[:, None] * rng.uniform(1.0, 2.0, size=(3, 10))
    factor = np.r_[1.0, np.full(9, 0.8)]
    out = bench._paired(_rows(random, random * factor), "ihdp")
    assert out["ratio"] == pytest.approx(factor.tolist())
    assert out["ratio_after_5th"] == pytest.approx(0.8)
    assert out["ratio_after_5th_ci95"] == pytest.approx([0.8, 0.8])
    assert out["trials_lower_after_5th"] == 3
    assert out["steps_after_5th"] == 4
    assert out["labels_ratio_not_below_1"] == []


def test_paired_interval_matches_t_interval(bench):
    from scipy import stats

    random = np.ones((4, 8))
    log_r = np.array([-0.3, -0.1, 0.1, -0.5])
    mu_rho = random * np.exp(log_r)[:, None]
    out = bench._paired(_rows(random, mu_rho), "ihdp")
    half = stats.t.ppf(0.975, 3) * log_r.std(ddof=1) / 2
    lo, hi = out["ratio_ci95"]
    assert lo[-1] == pytest.approx(np.exp(log_r.mean() - half))
    assert hi[-1] == pytest.approx(np.exp(log_r.mean() + half))
    # the interval covers 1, so no step is significant either way
    assert out["labels_significantly_below"] == [] and out["labels_significantly_above"] == []
    assert out["trials_mu_rho_lower"][-1] == 3


def test_paired_needs_two_trials(bench):
    assert bench._paired(_rows(np.ones((1, 8)), np.ones((1, 8))), "ihdp") is None
