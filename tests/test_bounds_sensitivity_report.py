"""ATE-level sensitivity: OLS omitted-variable bias, long story short, E-value, SensitivityReport."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from knowable.bounds import (
    SensitivityReport,
    e_value,
    lss_benchmark,
    lss_robustness_value,
    lss_sensitivity,
    ols_sensitivity,
    rv_from_ratio,
)


def _confounded(n: int, seed: int, gamma_u: float = 1.0):
    """Y = 1.0·D + X·β + γ U + ε, D ~ Bern(σ(0.8 x₀ − 0.5 x₁ + 0.8 U)); U is hidden."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    u = rng.normal(size=n)
    d = rng.binomial(1, special.expit(0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.8 * u)).astype(float)
    y = 1.0 * d + x @ np.array([1.0, 0.5, 0.0]) + gamma_u * u + rng.normal(size=n)
    return x, u, d, y


@settings(max_examples=50, deadline=None)
@given(a=st.floats(0.0, 50.0))
def test_rv_solves_its_defining_equation(a):
    r = float(rv_from_ratio(a))
    assert 0.0 <= r < 1.0
    assert r**2 / (1 - r) == pytest.approx(a**2, rel=1e-9, abs=1e-12)


def test_e_value_known_values():
    # VanderWeele & Ding (2017): RR = 3.9 → E-value 7.26; protective ratios are inverted
    assert float(e_value(3.9)) == pytest.approx(7.26, abs=0.005)
    assert float(e_value(1 / 3.9)) == pytest.approx(float(e_value(3.9)))
    assert float(e_value(1.0)) == 1.0
    with pytest.raises(ValueError, match="rr must be > 0"):
        e_value(0.0)


def test_ols_partial_r2_is_the_frisch_waugh_r2_and_rv_explains_the_estimate_away():
    x, _, d, y = _confounded(800, 0)
    res = ols_sensitivity(y, d, x, benchmark=[0, 2])
    z = np.column_stack([np.ones(len(y)), x])
    ry = y - z @ np.linalg.lstsq(z, y, rcond=None)[0]
    rd = d - z @ np.linalg.lstsq(z, d, rcond=None)[0]
    r2 = (ry @ rd) ** 2 / ((ry @ ry) * (rd @ rd))
    assert res.partial_r2 == pytest.approx(r2, rel=1e-10)
    assert res.estimate == pytest.approx((ry @ rd) / (rd @ rd), rel=1e-10)
    # a confounder with R²_D = R²_Y = RV_1 has bias = |estimate|
    assert float(res.bias(res.rv_q, res.rv_q)) == pytest.approx(abs(res.estimate), rel=1e-9)
    assert 0 < res.rv_qa < res.rv_q
    row = res.benchmarks.iloc[1]  # x2 does not enter Y: its benchmark barely moves it
    assert row["r2yz_dx"] < 0.01 and row["benchmark"] == "x2"


def test_lss_identities_rv_rva_and_monotone_bounds():
    x, _, d, y = _confounded(2000, 1)
    e = special.expit(0.8 * x[:, 0] - 0.5 * x[:, 1])
    g0 = x @ np.array([1.0, 0.5, 0.0])
    res = lss_sensitivity(y, d, g0, g0 + 1.0, e)
    assert res.theta == pytest.approx(res.mu1 - res.mu0, rel=1e-12)
    b0 = res.bounds(0.0, 0.0)
    assert b0["theta_lower"] == b0["theta_upper"] == pytest.approx(res.theta)
    widths = [res.bounds(c, c)["bias"] for c in (0.01, 0.05, 0.1, 0.3)]
    assert np.all(np.diff(widths) > 0)
    rv, rva = lss_robustness_value(res)
    assert res.bounds(rv, rv)["theta_lower"] == pytest.approx(0.0, abs=1e-9)
    assert res.bounds(rva, rva)["ci_lower"] == pytest.approx(0.0, abs=1e-7)
    assert 0 < rva < rv
    same = lss_benchmark(res, res, "none")
    assert same.cf_y == 0.0 and same.cf_d == 0.0 and same.delta_theta == 0.0


def test_lss_bound_covers_the_truth_at_the_hidden_confounders_own_strength():
    # oracle nuisances with and without U: the benchmark of U itself gives the exact
    # strengths, and the adversarial bound at those strengths contains the true ATE 1.0
    n = 200_000
    x, u, d, y = _confounded(n, 2)
    lin = x @ np.array([1.0, 0.5, 0.0])
    e_long = special.expit(0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.8 * u)
    long = lss_sensitivity(y, d, lin + u, lin + u + 1.0, e_long)
    # short nuisances: E[Y | X, D] and P(D | X), by Monte Carlo over U ~ N(0, 1)
    uu = np.random.default_rng(3).normal(size=(1, 400))
    p_u = special.expit(0.8 * x[:, :1] - 0.5 * x[:, 1:2] + 0.8 * uu)  # (n, 400)
    e_short = p_u.mean(1)
    eu1 = (p_u * uu).mean(1) / e_short
    eu0 = ((1 - p_u) * uu).mean(1) / (1 - e_short)
    short = lss_sensitivity(y, d, lin + eu0, lin + eu1 + 1.0, e_short)
    assert long.theta == pytest.approx(1.0, abs=0.05)
    assert short.theta > 1.3  # the hidden confounder biases the observed analysis
    bm = lss_benchmark(long, short, "U")
    b = short.bounds(min(bm.cf_y, 0.99), min(bm.cf_d, 0.99))
    assert b["theta_lower"] <= 1.0 <= b["theta_upper"]


@pytest.fixture(scope="module")
def report():
    x, _, d, y = _confounded(600, 4)
    return SensitivityReport(
        benchmark=[0, 2], cf_y=0.03, cf_d=0.03, n_folds=3, lam_max=6.0, n_lam=4, random_state=0
    ).fit(x, d, y)


def test_report_tables_and_consistency(report):
    s = report.to_frame().set_index("quantity")["value"]
    assert s["ATE θ"] == pytest.approx(report.lss_.theta)
    rv, _ = lss_robustness_value(report.lss_)
    assert s["RV (cf_y = cf_d, ρ = 1)"] == pytest.approx(rv)
    assert 1.0 < report.lam_robustness_ <= 6.0
    # the MSM's cf_d cap: 0 at Λ = 1, increasing, (Λ − 1)²/(4Λ) at m = ½
    caps = [report.cf_d_implied(v) for v in (1.0, 1.5, 2.0, 3.0)]
    assert caps[0] == pytest.approx(0.0, abs=1e-12) and np.all(np.diff(caps) > 0)
    half = SensitivityReport()
    half.propensity_ = np.full(10, 0.5)
    assert half.cf_d_implied(2.0) == pytest.approx(1 / 8)
    assert report.e_value_ >= report.e_value_ci_ >= 1.0
    assert list(report.benchmark_table_["benchmark"]) == ["x0", "x2"]
    # x0 is a strong observed confounder, x2 is noise
    t = report.benchmark_table_.set_index("benchmark")
    assert t.loc["x0", "cf_d"] > t.loc["x2", "cf_d"]
    md = report.to_markdown()
    assert "RV_q" in md and "x0" in md
    assert set(report.to_dict()) == {"summary", "benchmarks"}


def test_report_contour_grid_and_figure(report):
    from knowable.viz import plot_sensitivity_contours

    g = report.contour_grid(n=15)
    assert g["theta"].shape == (15, 15)
    assert g["theta"][0, 0] == pytest.approx(report.lss_.theta)
    assert np.all(np.diff(g["theta"][5, 1:]) < 0)  # moves towards zero with cf_d (θ > 0)
    fig = plot_sensitivity_contours(report, n=15)
    assert len(fig.axes) == 2


def test_report_binary_outcome_uses_the_risk_ratio():
    x, _, d, y = _confounded(600, 5)
    yb = (y > np.median(y)).astype(float)
    r = SensitivityReport(benchmark=[0], n_folds=2, n_lam=3, lam_max=4.0, random_state=0).fit(
        x, d, yb
    )
    assert r.e_value_kind_ == "risk ratio"
    assert r.rr_ == pytest.approx(r.lss_.mu1 / r.lss_.mu0)
    assert r.e_value_ == pytest.approx(float(e_value(r.rr_)))


def test_report_bad_input():
    x, _, d, y = _confounded(100, 6)
    with pytest.raises(ValueError, match="not fitted"):
        SensitivityReport().to_frame()
    with pytest.raises(ValueError):
        SensitivityReport(n_folds=2).fit(x, d + 2, y)
    import pandas as pd

    with pytest.raises(ValueError, match="not columns of X"):
        SensitivityReport(benchmark=["nope"]).fit(pd.DataFrame(x, columns=list("abc")), d, y)
    with pytest.raises(ValueError, match="binary 0/1"):
        lss_sensitivity(y, d * 2, y, y, np.full(100, 0.5))


def test_report_from_a_fitted_cate_estimator_uses_its_outcomes():
    from knowable.effects import DragonNet

    x, _, d, y = _confounded(300, 7)
    est = DragonNet("ensemble", n_members=2, max_epochs=5, random_state=0).fit(x, d, y)
    r = SensitivityReport.from_estimator(
        est, x, d, y, nuisance="estimator", benchmark=[0], n_folds=2, n_lam=2, lam_max=3.0
    )
    assert r.estimator_ate_ == pytest.approx(float(est.ate(x)))
    g = est.predict_outcomes(x).mean()
    m = est.propensity(x)
    expect = lss_sensitivity(y, d, g[:, 0], g[:, 1], m, clip=0.01)
    assert r.lss_.theta == pytest.approx(expect.theta)
    assert r.lss_.nu2 == pytest.approx(expect.nu2)
    assert "ATE" in set(r.to_frame()["quantity"])
