"""SensitivityReport numbers against DoubleML and PySensemakr where the definitions coincide.

Needs the ``[peers]`` extra (doubleml, pysensemakr; statsmodels comes with them).
On the same nuisance predictions (DoubleML's own cross-fitted ones) the
long-story-short quantities agree to rounding; RV/RVa to DoubleML's scalar
search tolerance. sensemakr's OLS statistics agree to rounding.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

doubleml = pytest.importorskip("doubleml", reason="needs knowable[peers]")
sensemakr = pytest.importorskip("sensemakr", reason="needs knowable[peers]")
smf = pytest.importorskip("statsmodels.formula.api", reason="needs knowable[peers]")

from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402

from knowable.bounds import (  # noqa: E402
    lss_benchmark,
    lss_robustness_value,
    lss_sensitivity,
    ols_sensitivity,
)

NHEFS_COLS = [
    "sex",
    "race",
    "age",
    "education",
    "smokeintensity",
    "smokeyrs",
    "exercise",
    "active",
    "wt71",
]


def _nhefs() -> pd.DataFrame:
    candidates = [
        os.environ.get("KNOWABLE_NHEFS", ""),
        "/work/shared/data/nhefs/NHEFS.csv",
        str(Path(__file__).parent / "data" / "NHEFS.csv"),
    ]
    for c in candidates:
        if c and Path(c).exists():
            df = pd.read_csv(c).dropna(subset=["wt82_71"])
            return df[["qsmk", "wt82_71", *NHEFS_COLS]].dropna().astype(float)
    pytest.skip("NHEFS.csv not found (set KNOWABLE_NHEFS)")


def _simulated() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1500
    x = rng.normal(size=(n, 3))
    u = rng.normal(size=n)
    d = rng.binomial(1, special.expit(0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.8 * u))
    y = 1.0 * d + x @ np.array([1.0, 0.5, 0.0]) + u + rng.normal(size=n)
    return pd.DataFrame({"d": d.astype(float), "y": y, "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})


CASES = {
    "nhefs": (lambda: _nhefs(), "qsmk", "wt82_71", NHEFS_COLS, "smokeintensity"),
    "simulated": (_simulated, "d", "y", ["x0", "x1", "x2"], "x0"),
}


def _irm(df, d, y, cols, smpls=None):
    data = doubleml.DoubleMLData(df, y_col=y, d_cols=d, x_cols=cols)
    m = doubleml.DoubleMLIRM(
        data,
        ml_g=LinearRegression(),
        ml_m=LogisticRegression(max_iter=2000),
        n_folds=5,
        draw_sample_splitting=smpls is None,
    )
    if smpls is not None:
        m.set_sample_splitting(smpls)
    return m.fit()


def _mine(m, df, d, y):
    p = m.predictions
    return lss_sensitivity(
        df[y].to_numpy(),
        df[d].to_numpy(),
        p["ml_g0"][:, 0, 0],
        p["ml_g1"][:, 0, 0],
        p["ml_m"][:, 0, 0],
    )


@pytest.mark.parametrize("case", list(CASES))
def test_long_story_short_matches_doubleml(case):
    make, d, y, cols, bench = CASES[case]
    df = make()
    # fixed folds (DoubleML would draw them from numpy's global generator)
    folds = list(KFold(5, shuffle=True, random_state=0).split(df))
    m = _irm(df, d, y, cols, smpls=folds)
    m.sensitivity_analysis(cf_y=0.03, cf_d=0.03, rho=1.0, level=0.95)
    sp = m.sensitivity_params
    r = _mine(m, df, d, y)
    assert r.theta == pytest.approx(float(m.coef[0]), rel=1e-10)
    assert r.se == pytest.approx(float(m.se[0]), rel=1e-10)
    assert r.sigma2 == pytest.approx(float(m.sensitivity_elements["sigma2"].ravel()[0]), rel=1e-10)
    assert r.nu2 == pytest.approx(float(m.sensitivity_elements["nu2"].ravel()[0]), rel=1e-10)
    b = r.bounds(0.03, 0.03, 1.0, 0.95)
    for mine, theirs in (
        (b["theta_lower"], sp["theta"]["lower"]),
        (b["theta_upper"], sp["theta"]["upper"]),
        (b["ci_lower"], sp["ci"]["lower"]),
        (b["ci_upper"], sp["ci"]["upper"]),
    ):
        assert mine == pytest.approx(float(np.ravel(theirs)[0]), rel=1e-9)
    rv, rva = lss_robustness_value(r)
    assert rv == pytest.approx(float(np.ravel(sp["rv"])[0]), abs=1e-4)
    assert rva == pytest.approx(float(np.ravel(sp["rva"])[0]), abs=1e-4)
    # benchmark: same folds, covariate dropped
    theirs = m.sensitivity_benchmark([bench]).iloc[0]
    short = _irm(df, d, y, [c for c in cols if c != bench], smpls=m.smpls)
    bm = lss_benchmark(r, _mine(short, df, d, y), bench)
    for key in ("cf_y", "cf_d", "rho", "delta_theta"):
        assert getattr(bm, key) == pytest.approx(float(theirs[key]), rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_ols_statistics_match_sensemakr(case):
    make, d, y, cols, bench = CASES[case]
    df = make()
    fit = smf.ols(f"{y} ~ {d} + " + " + ".join(cols), data=df).fit()
    est, se, dof = float(fit.params[d]), float(fit.bse[d]), int(fit.df_resid)
    theirs = sensemakr.sensitivity_stats(estimate=est, se=se, dof=dof, q=1, alpha=0.05)
    mine = ols_sensitivity(df[y], df[d], df[cols], benchmark=[bench], feature_names=cols)
    assert mine.estimate == pytest.approx(theirs["estimate"], rel=1e-9)
    assert mine.se == pytest.approx(theirs["se"], rel=1e-9)
    assert mine.dof == theirs["dof"]
    assert mine.partial_r2 == pytest.approx(theirs["r2yd_x"], rel=1e-9)
    assert mine.rv_q == pytest.approx(float(np.ravel(theirs["rv_q"])[0]), rel=1e-9)
    assert mine.rv_qa == pytest.approx(float(np.ravel(theirs["rv_qa"])[0]), rel=1e-9)
    # benchmark bounds (kd = ky = 1) through sensemakr's own functions
    from sensemakr import bias_functions, sensitivity_bounds

    fit_d = smf.ols(f"{d} ~ " + " + ".join(cols), data=df).fit()
    r2y = sensemakr.partial_r2(t_statistic=float(fit.tvalues[bench]), dof=int(fit.df_resid))
    r2d = sensemakr.partial_r2(t_statistic=float(fit_d.tvalues[bench]), dof=int(fit_d.df_resid))
    bd = sensitivity_bounds.ovb_partial_r2_bound(r2dxj_x=r2d, r2yxj_dx=r2y, kd=1)
    adj = bias_functions.adjusted_estimate(
        bd.r2dz_x.values, bd.r2yz_dx.values, estimate=est, se=se, dof=dof
    )
    row = mine.benchmarks.iloc[0]
    assert row["r2dz_x"] == pytest.approx(float(bd.r2dz_x.values[0]), rel=1e-9)
    assert row["r2yz_dx"] == pytest.approx(float(bd.r2yz_dx.values[0]), rel=1e-9)
    assert row["adjusted_estimate"] == pytest.approx(float(np.ravel(adj)[0]), rel=1e-9)
