"""Sensitivity benchmark: δMSM vs CMSM, DR sharp APO bounds vs the existing sharp bounds, ATE peers.

Three parts, one JSON + Markdown file (``benchmarks/results/dose_response_sensitivity[_quick].*``)
and one figure (``docs/figures/dose_response_sensitivity.png``):

**A. δMSM vs CMSM** on the semi-synthetic protocol of Marmarelis et al. (2023,
supplement E) as far as the method notes give it: per trial, k random
projections (iid N(0, 1) coefficients) of a real covariate matrix, each
quantile-normalised to U(0, 1); one is the treatment T ∈ [0, 1], half of the
others are visible confounders, half hidden. Outcome pre-activation
u = M·v (``linear``, M_i ~ N(0, 1)) or vᵀMv (``quadratic``) with the treatment
entry scaled by (k − 1); Y ~ Bernoulli(Φ((u − m)/s)), m the median of u and s
the mean absolute deviation from it. 750 training / 250 test units; the true
APO(t) is the test mean of Φ((u(t) − m)/s) with the hidden confounders held.
Fitted models are linear, by maximum likelihood: a logistic outcome model on
(visible, T) and :class:`knowable.bounds.BetaPropensity`. For a Bernoulli
outcome every bound is closed form: with weight ratio r (CMSM: Λ²; δMSM:
d̄/d̲ from :func:`knowable.bounds.delta_msm_factors_beta`) the Overcast/sweep
CAPO bound is p·r/(p·r + 1 − p) (and its mirror); the sharp CMSM bound is
min(pΛ, p/Λ + 1 − 1/Λ). APO bounds average CAPO bounds over the test units.
Coverage is measured on 100 doses in [0.01, 0.99]; each method's Γ (or Λ) is
the smallest of a grid log Γ ∈ [0, 2.5] that covers ≥ 90 % of the doses
(the paper's reading); at that Γ we report the mean width and the paper's
divergence cost (×1000: ∫ KL(Bern(true) ‖ Bern(p)) dp / width, averaged over
doses), and the share of trials where each method has the smallest cost
(ties split). Covariate source: NHEFS (1,566 × 50 numeric columns, missing
values median-imputed) instead of the paper's UK Biobank / scRNA / tweet
sources, which are not available here.

**B. DR sharp APO bounds** (:class:`knowable.bounds.KernelAPOBounds`, gradient
boosting nuisances, 2 folds, B bootstrap resamples) **vs the existing sharp
bounds** (:class:`knowable.bounds.ContinuousMSMBounds` ``method="sharp"`` on a
:class:`knowable.effects.DoseResponse` ensemble) on Baitairian et al.'s DGP
(method notes §2.4; the 10 % high-leverage trimming is not applied), n = 1000,
5 doses between the 5 % and 95 % sample quantiles of T, at the true Λ (the
0.99-quantile of max(r, 1/r), r = p(T | X, U)/p(T | X), on a separate sample).
Coverage of the true APO θ(t) = t(1 + 0.0888e^{0.148t²}) − 0.21 by the DR
bootstrap CI, the point bounds of the three DR pseudo-outcome forms
(quantile-centred, μ-centred, the authors' uncentred) and of the plug-in, the
sharp CMSM bounds and their ensemble band; mean widths; wall-clock ratio
(each includes its model fit). Because Y | X, T is Gaussian in this DGP, the
identified set itself (the population sharp bounds at Λ) is exact; we report
where the true APO sits in it, how often each interval contains it, the bias
and RMSE of each end, and the DR estimate at Λ = 1 against E_X μ(X, t₀).
The δMSM rows of part A also include the window-free bound
(``correction="window_free"``) and the width cost of the Taylor window.

**C. ATE-level numbers next to DoubleML and sensemakr** (needs the ``[peers]``
extra; skipped otherwise) on NHEFS (qsmk → wt82_71, 9 covariates) and on the
simulator of ``tests/test_bounds_sensitivity_report.py`` with a known
omitted confounder: (i) on DoubleML's own cross-fitted predictions (same
definitions: differences are rounding), (ii) knowable's
:class:`~knowable.bounds.SensitivityReport` with its own learners against DoubleML
with the same learner classes and its own folds (differences are fold noise),
(iii) sensemakr's OLS statistics.

Usage::

    python benchmarks/dose_response_sensitivity.py --quick   # A: 20 seeds; B: 3 samples
    python benchmarks/dose_response_sensitivity.py           # A: 50 seeds × 2 outcomes; B: 10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from scipy import special, stats

from knowable.bounds import (
    BetaPropensity,
    ContinuousMSMBounds,
    KernelAPOBounds,
    delta_msm_factors_beta,
)

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
FIGURES = ROOT.parent / "docs" / "figures"
NHEFS = os.environ.get("KNOWABLE_NHEFS", "/work/shared/data/nhefs/NHEFS.csv")
DOSES = np.linspace(0.01, 0.99, 100)


# =========================================================================== part A
def _covariates() -> np.ndarray:
    import pandas as pd

    df = pd.read_csv(NHEFS)
    drop = {"seqn", "qsmk", "death", "yrdth", "modth", "dadth", "wt82", "wt82_71"}
    df = df[[c for c in df.columns if c not in drop]].select_dtypes("number")
    df = df.fillna(df.median())
    x = df.to_numpy(float)
    return (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)


def _quantile_normalise(v: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(v, axis=0)
    return (ranks - 0.5) / v.shape[0]


def _semi_synthetic(data: np.ndarray, seed: int, kind: str, n_conf: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    idx = rng.choice(data.shape[0], 1000, replace=False)
    k = n_conf + 1
    v = _quantile_normalise(data[idx] @ rng.normal(size=(data.shape[1], k)))
    t = v[:, 0]
    visible, hidden = v[:, 1 : 1 + n_conf // 2], v[:, 1 + n_conf // 2 :]
    scale = np.ones(k)
    scale[0] = k - 1

    if kind == "linear":
        m_vec = rng.normal(size=k)

        def pre(tt: np.ndarray) -> np.ndarray:
            vv = np.column_stack([tt, visible, hidden]) * scale
            return vv @ m_vec
    else:
        m_mat = rng.normal(size=(k, k))

        def pre(tt: np.ndarray) -> np.ndarray:
            vv = np.column_stack([tt, visible, hidden]) * scale
            return np.einsum("ni,ij,nj->n", vv, m_mat, vv)

    u = pre(t)
    med = np.median(u)
    mad = np.mean(np.abs(u - med))
    y = rng.binomial(1, special.ndtr((u - med) / mad)).astype(float)
    tr, te = np.arange(750), np.arange(750, 1000)
    truth = np.array([special.ndtr((pre(np.full(1000, d)) - med) / mad)[te].mean() for d in DOSES])
    return {"t": t, "x": visible, "y": y, "train": tr, "test": te, "truth": truth}


def _fit_logistic(x: np.ndarray, t: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    z = np.column_stack([x, t])
    return LogisticRegression(C=1e4, max_iter=2000).fit(z, y)


def _kl_cost(truth: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean over p ∈ [lo, hi] of KL(Bern(truth) ‖ Bern(p)), per dose (the paper's cost)."""
    grid = np.linspace(0, 1, 41)[None, :]
    p = np.clip(lo[:, None] + (hi - lo)[:, None] * grid, 1e-9, 1 - 1e-9)
    q = np.clip(truth[:, None], 1e-9, 1 - 1e-9)
    kl = q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))
    return kl.mean(1)


def _bernoulli_bounds(p: np.ndarray, ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = p * ratio / (p * ratio + 1 - p)
    lo = p / (p + (1 - p) * ratio)
    return lo, hi


def _sharp_bernoulli(p: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    up = lambda q: np.minimum(q * lam, q / lam + 1 - 1 / lam)  # noqa: E731
    return 1 - up(1 - p), up(p)


def part_a(n_seeds: int, kinds: list[str], n_conf: int, log_grid: np.ndarray) -> dict[str, Any]:
    data = _covariates()
    gammas = np.exp(log_grid)
    methods = ("delta_balanced", "delta_anchored", "cmsm_overcast", "cmsm_sharp")
    # window-free δMSM (no Taylor step, d ∈ [Γ^−|t−a|, Γ^|t−a|]): reported beside the
    # paper's four, not counted in the lowest-cost share
    extra = ("delta_wf_balanced", "delta_wf_anchored")
    rows = []
    for kind in kinds:
        for seed in range(n_seeds):
            s = _semi_synthetic(data, seed, kind, n_conf)
            tr, te = s["train"], s["test"]
            outcome = _fit_logistic(s["x"][tr], s["t"][tr], s["y"][tr])
            gps = BetaPropensity().fit(s["x"][tr], s["t"][tr])
            a, b = gps.beta_params(s["x"][te])
            # p̂(y = 1 | x, t) for every test unit and dose: (g, n)
            p = np.stack(
                [
                    outcome.predict_proba(np.column_stack([s["x"][te], np.full(te.size, d)]))[:, 1]
                    for d in DOSES
                ]
            )
            res: dict[str, Any] = {"kind": kind, "seed": seed}
            for m in methods + extra:
                lo_all, hi_all = [], []
                for g in gammas:
                    if m.startswith("delta"):
                        variant = "balanced" if m.endswith("balanced") else "anchored"
                        dl, dh = delta_msm_factors_beta(
                            a[None, :],
                            b[None, :],
                            DOSES[:, None],
                            g,
                            variant=variant,
                            correction="window_free" if "_wf_" in m else "symmetric",
                        )
                        ratio = np.where(dl > 1e-8, dh / np.maximum(dl, 1e-300), np.inf)
                        lo, hi = _bernoulli_bounds(p, ratio)
                        lo = np.where(np.isfinite(ratio), lo, 0.0)
                        hi = np.where(np.isfinite(ratio), hi, 1.0)
                    elif m == "cmsm_overcast":
                        lo, hi = _bernoulli_bounds(p, g**2)
                    else:
                        lo, hi = _sharp_bernoulli(p, g)
                    lo_all.append(lo.mean(1))
                    hi_all.append(hi.mean(1))
                lo_a, hi_a = np.array(lo_all), np.array(hi_all)  # (Γ, doses)
                cov = ((lo_a <= s["truth"]) & (s["truth"] <= hi_a)).mean(1)
                ok = np.flatnonzero(cov >= 0.9)
                j = int(ok[0]) if ok.size else len(gammas) - 1
                res[m] = {
                    "gamma": float(gammas[j]),
                    "reached": bool(ok.size),
                    "coverage": float(cov[j]),
                    "width": float((hi_a[j] - lo_a[j]).mean()),
                    "cost_x1000": float(1000 * _kl_cost(s["truth"], lo_a[j], hi_a[j]).mean()),
                    "coverage_at_gamma_1": float(cov[0]),
                }
            costs = np.array([res[m]["cost_x1000"] for m in methods])
            best = np.isclose(costs, costs.min())
            for m, flag in zip(methods, best, strict=True):
                res[m]["best_share"] = float(flag) / best.sum()
            for m in extra:
                res[m]["best_share"] = float("nan")
            # what the Taylor window costs at a fixed Γ = 1.5: mean width of the default
            # (symmetric) δMSM APO bound over the window-free one, same p̂ (1 = no cost)
            widths = []
            for correction in ("symmetric", "window_free"):
                dl, dh = delta_msm_factors_beta(
                    a[None, :], b[None, :], DOSES[:, None], 1.5, correction=correction
                )
                lo, hi = _bernoulli_bounds(
                    p, np.where(dl > 1e-8, dh / np.maximum(dl, 1e-300), np.inf)
                )
                widths.append((hi.mean(1) - lo.mean(1)).mean())
            res["window_width_ratio_at_1.5"] = float(widths[0] / widths[1])
            rows.append(res)
    summary = {}
    for kind in kinds:
        sub = [r for r in rows if r["kind"] == kind]
        summary[kind] = {
            m: {
                key: float(np.mean([r[m][key] for r in sub]))
                for key in (
                    "gamma",
                    "coverage",
                    "width",
                    "cost_x1000",
                    "best_share",
                    "coverage_at_gamma_1",
                )
            }
            | {
                "cost_sd": float(np.std([r[m]["cost_x1000"] for r in sub], ddof=1)),
                "reached_share": float(np.mean([r[m]["reached"] for r in sub])),
                "delta_balanced_tighter_share": float(
                    np.mean([r["delta_balanced"]["width"] < r[m]["width"] for r in sub])
                ),
            }
            for m in methods + extra
        }
        summary[kind]["window_width_ratio_at_1.5"] = float(
            np.mean([r["window_width_ratio_at_1.5"] for r in sub])
        )
    return {"trials": rows, "summary": summary, "n_seeds": n_seeds, "n_confounders": n_conf}


# =========================================================================== part B
_GX, _GU, _ZETA = 0.2 * np.ones(5), np.array([0.4, 0.7, 0.7]), -0.3


def _cov_xu() -> np.ndarray:
    sx = np.eye(5) + 0.3 * (np.eye(5, k=1) + np.eye(5, k=-1))
    su = np.eye(3) + 0.3 * (np.eye(3, k=1) + np.eye(3, k=-1))
    c = np.full((5, 3), 0.5 * (1 - 0.3) / 3)
    return np.block([[sx, c], [c.T, su]])


def _baitairian(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    xu = rng.multivariate_normal(np.zeros(8), _cov_xu(), size=n)
    x, u = xu[:, :5], xu[:, 5:]
    t = 0.3 * x.sum(1) + 0.2 * u.sum(1) + 0.5 * rng.normal(size=n)
    gx = x @ _GX
    y = t + _ZETA * gx * np.exp(-t * gx) - (u @ _GU) * gx + 0.3 * rng.normal(size=n)
    return {"x": x, "u": u, "t": t, "y": y}


def _true_apo(t: np.ndarray) -> np.ndarray:
    return t * (1 + 0.0888 * np.exp(0.148 * t**2)) - 0.21


def _true_lambda(rng: np.random.Generator) -> float:
    s = _baitairian(1000, rng)  # the code sets Γ on one first dataset of the same size
    cov = _cov_xu()
    sxx, sux = cov[:5, :5], cov[5:, :5]
    w = np.ones(3) @ sux @ np.linalg.inv(sxx)  # E[ΣU | X] = w·X
    var_su = np.ones(3) @ (cov[5:, 5:] - sux @ np.linalg.inv(sxx) @ sux.T) @ np.ones(3)
    full = stats.norm.pdf(s["t"], 0.3 * s["x"].sum(1) + 0.2 * s["u"].sum(1), 0.5) + 1e-4
    nominal = (
        stats.norm.pdf(
            s["t"], 0.3 * s["x"].sum(1) + 0.2 * s["x"] @ w, np.sqrt(0.25 + 0.04 * var_su)
        )
        + 1e-4
    )
    r = full / nominal
    return float(np.quantile(r, 0.99))  # the code's rule (method notes §2.3)


def _conditional_y(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact mean and sd of Y | X = x, T = t in the DGP ((X, U, T) jointly Gaussian)."""
    cov = _cov_xu()
    a = np.r_[0.3 * np.ones(5), 0.2 * np.ones(3)]
    c_t = cov @ a
    joint = np.block([[cov, c_t[:, None]], [c_t[None, :], np.array([[a @ cov @ a + 0.25]])]])
    obs, hid = [0, 1, 2, 3, 4, 8], [5, 6, 7]
    reg = joint[np.ix_(hid, obs)] @ np.linalg.inv(joint[np.ix_(obs, obs)])  # E[U | x, t]
    v_u = joint[np.ix_(hid, hid)] - reg @ joint[np.ix_(hid, obs)].T
    gx = x @ _GX
    eu = np.column_stack([x, t]) @ reg.T
    mean = t + _ZETA * gx * np.exp(-t * gx) - gx * (eu @ _GU)
    return mean, np.sqrt(gx**2 * (_GU @ v_u @ _GU) + 0.09)


def _identified_set(doses: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Population sharp CMSM bounds at Λ and E_X μ(X, t₀) (X from 200,000 draws).

    Y | x, t is Gaussian here, so CAPO± = μ ± σ(x)(Λ² − 1)/Λ·φ(Φ⁻¹(Λ/(1 + Λ))).
    """
    x = _baitairian(200_000, np.random.default_rng(777))["x"]
    c = (lam**2 - 1) / lam * stats.norm.pdf(stats.norm.ppf(lam / (1 + lam)))
    out = np.empty((3, doses.size))
    for j, d in enumerate(doses):
        m, sd = _conditional_y(x, np.full(x.shape[0], d))
        out[:, j] = (m - c * sd).mean(), (m + c * sd).mean(), m.mean()
    return out[0], out[1], out[2]


_B_ESTIMATORS = (  # key, method, centre, bootstrap
    ("dr", "dr", "quantile", True),
    ("dr_mean", "dr", "mean", False),
    ("dr_code", "dr", "none", False),
    ("plugin", "plugin", "quantile", False),
)


def _record(
    row: dict[str, Any],
    key: str,
    lo: np.ndarray,
    hi: np.ndarray,
    truth: np.ndarray,
    set_lo: np.ndarray,
    set_hi: np.ndarray,
) -> None:
    """Coverage of the true APO and of the identified set, width, bias and RMSE of each end."""
    row[f"{key}_coverage"] = float(((lo <= truth) & (truth <= hi)).mean())
    row[f"{key}_width"] = float((hi - lo).mean())
    row[f"{key}_covers_set"] = float(((lo <= set_lo) & (set_hi <= hi)).mean())
    row[f"{key}_bias_lower"] = float((lo - set_lo).mean())
    row[f"{key}_bias_upper"] = float((hi - set_hi).mean())
    row[f"{key}_rmse_lower"] = float(np.sqrt(((lo - set_lo) ** 2).mean()))
    row[f"{key}_rmse_upper"] = float(np.sqrt(((hi - set_hi) ** 2).mean()))


def part_b(n_samples: int, n_boot: int, epochs: int, members: int) -> dict[str, Any]:
    from knowable.effects import DoseResponse

    lam = _true_lambda(np.random.default_rng(12345))
    rows = []
    for k in range(n_samples):
        rng = np.random.default_rng(1000 + k)
        s = _baitairian(1000, rng)
        doses = np.linspace(*np.quantile(s["t"], [0.05, 0.95]), 5)
        truth = _true_apo(doses)
        set_lo, set_hi, obs_mean = _identified_set(doses, lam)
        row: dict[str, Any] = {
            "sample": k,
            "truth_position_in_set": float(((truth - set_lo) / (set_hi - set_lo)).mean()),
            "set_width": float((set_hi - set_lo).mean()),
            "set_coverage": float(((set_lo <= truth) & (truth <= set_hi)).mean()),
        }

        ref = (truth, set_lo, set_hi)

        for key, method, centre, boot in _B_ESTIMATORS:
            t0 = time.perf_counter()
            kb = KernelAPOBounds(
                method=method, centre=centre, n_bootstrap=n_boot if boot else 0, random_state=k
            )
            r = kb.fit(s["x"], s["t"], s["y"]).dose_response(doses, [1.0, lam])
            if key == "dr":
                row["seconds_kernel"] = time.perf_counter() - t0
                _record(row, "dr_ci", r.ci_lower[1], r.ci_upper[1], *ref)
                # at Λ = 1 the estimand is E_X μ(X, t₀): the positivity / smoothing bias
                row["dr_lambda1_bias"] = float((r.point - obs_mean).mean())
                row["dr_lambda1_bias_end_doses"] = float(np.abs(r.point - obs_mean)[[0, -1]].mean())
            _record(row, f"{key}_point", r.lower[1], r.upper[1], *ref)
        t0 = time.perf_counter()
        model = DoseResponse(n_members=members, max_epochs=epochs, random_state=k).fit(
            s["x"], s["t"], s["y"]
        )
        sharp = ContinuousMSMBounds(model, method="sharp", random_state=k).dose_response(doses, lam)
        row["seconds_sharp"] = time.perf_counter() - t0
        band_lo, band_hi = sharp.band(0.05)
        _record(row, "sharp", sharp.lower[0], sharp.upper[0], *ref)
        _record(row, "sharp_band", band_lo[0], band_hi[0], *ref)
        rows.append(row)
    keys = [k for k in rows[0] if k != "sample"]
    summary = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    summary["time_ratio_kernel_over_sharp"] = summary["seconds_kernel"] / summary["seconds_sharp"]
    return {"true_lambda": lam, "samples": rows, "summary": summary, "n_bootstrap": n_boot}


# =========================================================================== part C
def part_c() -> dict[str, Any]:
    try:
        import doubleml
        import sensemakr
        import statsmodels.formula.api as smf
    except ImportError as err:
        return {"skipped": f"needs knowable[peers] ({err})"}
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from knowable.bounds import SensitivityReport, lss_robustness_value, lss_sensitivity

    cols = [
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
    nh = pd.read_csv(NHEFS).dropna(subset=["wt82_71"])
    nh = nh[["qsmk", "wt82_71", *cols]].dropna().astype(float)
    rng = np.random.default_rng(0)
    n = 1500
    x = rng.normal(size=(n, 3))
    u = rng.normal(size=n)
    d = rng.binomial(1, special.expit(0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.8 * u)).astype(float)
    y = 1.0 * d + x @ np.array([1.0, 0.5, 0.0]) + u + rng.normal(size=n)
    sim = pd.DataFrame({"d": d, "y": y, "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2]})
    cases = {
        "nhefs": (nh, "qsmk", "wt82_71", cols, "smokeintensity"),
        "simulator (true ATE 1.0, hidden U)": (sim, "d", "y", ["x0", "x1", "x2"], "x0"),
    }
    out = {}
    for name, (df, dc, yc, xc, bench) in cases.items():
        data = doubleml.DoubleMLData(df, y_col=yc, d_cols=dc, x_cols=xc)
        learner_g = HistGradientBoostingRegressor(max_iter=100, min_samples_leaf=20, random_state=0)
        learner_m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        m = doubleml.DoubleMLIRM(
            data, ml_g=learner_g, ml_m=learner_m, n_folds=5, draw_sample_splitting=False
        )
        m.set_sample_splitting(list(KFold(5, shuffle=True, random_state=1).split(df)))
        m.fit()
        m.sensitivity_analysis(cf_y=0.03, cf_d=0.03)
        sp = m.sensitivity_params
        bm = m.sensitivity_benchmark([bench]).iloc[0]
        p = m.predictions
        same = lss_sensitivity(
            df[yc].to_numpy(),
            df[dc].to_numpy(),
            p["ml_g0"][:, 0, 0],
            p["ml_g1"][:, 0, 0],
            p["ml_m"][:, 0, 0],
        )
        rv_same, rva_same = lss_robustness_value(same)
        b_same = same.bounds(0.03, 0.03)
        rep = SensitivityReport(benchmark=[bench], cf_y=0.03, cf_d=0.03, random_state=0).fit(
            df[xc], df[dc], df[yc]
        )
        b_rep = rep.lss_.bounds(0.03, 0.03)
        rb = rep.benchmark_table_.iloc[0]
        dml_vals = {
            "theta": float(m.coef[0]),
            "se": float(m.se[0]),
            "theta_lower(cf=0.03)": float(sp["theta"]["lower"][0]),
            "ci_lower(cf=0.03)": float(sp["ci"]["lower"][0]),
            "RV": float(sp["rv"][0]),
            "RVa": float(sp["rva"][0]),
            f"cf_y[{bench}]": float(bm["cf_y"]),
            f"cf_d[{bench}]": float(bm["cf_d"]),
        }
        same_vals = {
            "theta": same.theta,
            "se": same.se,
            "theta_lower(cf=0.03)": b_same["theta_lower"],
            "ci_lower(cf=0.03)": b_same["ci_lower"],
            "RV": rv_same,
            "RVa": rva_same,
        }
        own_vals = {
            "theta": rep.lss_.theta,
            "se": rep.lss_.se,
            "theta_lower(cf=0.03)": b_rep["theta_lower"],
            "ci_lower(cf=0.03)": b_rep["ci_lower"],
            "RV": rep.rv_,
            "RVa": rep.rva_,
            f"cf_y[{bench}]": float(rb["cf_y"]),
            f"cf_d[{bench}]": float(rb["cf_d"]),
        }
        fit = smf.ols(f"{yc} ~ {dc} + " + " + ".join(xc), data=df).fit()
        sm = sensemakr.sensitivity_stats(
            estimate=float(fit.params[dc]),
            se=float(fit.bse[dc]),
            dof=int(fit.df_resid),
            q=1,
            alpha=0.05,
        )
        sm_vals = {
            "OLS estimate": float(sm["estimate"]),
            "partial R² Y~D|X": float(sm["r2yd_x"]),
            "RV_q": float(np.ravel(sm["rv_q"])[0]),
            "RV_qa": float(np.ravel(sm["rv_qa"])[0]),
        }
        mine_sm = {
            "OLS estimate": rep.ols_.estimate,
            "partial R² Y~D|X": rep.ols_.partial_r2,
            "RV_q": rep.ols_.rv_q,
            "RV_qa": rep.ols_.rv_qa,
        }
        out[name] = {
            "doubleml": dml_vals,
            "knowable_on_doubleml_predictions": same_vals,
            "knowable_own_fit": own_vals,
            "sensemakr": sm_vals,
            "knowable_ols": mine_sm,
            "knowable_only": {
                "E-value": rep.e_value_,
                "E-value (CI)": rep.e_value_ci_,
                "ATE Λ-robustness": rep.lam_robustness_,
            },
        }
    return out


# =========================================================================== output
def _fmt(v: float) -> str:
    return f"{v:.4g}"


_B_ROWS = (
    ("DR kernel (quantile-centred), bootstrap CI", "dr_ci"),
    ("DR kernel (quantile-centred), point bounds", "dr_point"),
    ("DR kernel (μ-centred), point bounds", "dr_mean_point"),
    ("DR kernel (uncentred, authors' code), point bounds", "dr_code_point"),
    ("plug-in kernel, point bounds", "plugin_point"),
    ("sharp CMSM (DoseResponse), bounds", "sharp"),
    ("sharp CMSM (DoseResponse), ensemble band", "sharp_band"),
)


def _markdown(res: dict[str, Any], cmd: str) -> str:
    lines = [f"# Sensitivity benchmark\n\nCommand: `{cmd}`\n"]
    a = res["A"]
    lines.append(
        f"## A. δMSM vs CMSM (semi-synthetic, NHEFS covariates, {a['n_seeds']} seeds, "
        f"{a['n_confounders']} confounders, half hidden)\n"
    )
    for kind, summ in a["summary"].items():
        lines.append(f"### {kind} outcome\n")
        lines.append(
            "| method | Γ (or Λ) at 90 % coverage | coverage there | width | cost ×1000 (sd) | "
            "best share | δMSM-Balanced narrower share | coverage at Γ = 1 |"
        )
        lines.append("|---|---|---|---|---|---|---|---|")
        for m, v in summ.items():
            if not isinstance(v, dict):
                continue
            lines.append(
                f"| {m} | {_fmt(v['gamma'])} | {_fmt(v['coverage'])} | {_fmt(v['width'])} | "
                f"{_fmt(v['cost_x1000'])} ({_fmt(v['cost_sd'])}) | {_fmt(v['best_share'])} | "
                f"{_fmt(v['delta_balanced_tighter_share'])} | {_fmt(v['coverage_at_gamma_1'])} |"
            )
        if "window_width_ratio_at_1.5" in summ:
            lines.append(
                "\nδMSM anchored at Γ = 1.5: mean APO width with the default (symmetric) "
                "Taylor window over the window-free width (= CMSM at Λ = Γ^|t|): "
                f"{_fmt(summ['window_width_ratio_at_1.5'])}."
            )
        lines.append("")
    b = res["B"]["summary"]
    if not b:
        lines.append("## B. not run\n")
    else:
        lines.append(
            f"## B. DR sharp APO bounds vs existing sharp CMSM bounds (Baitairian DGP, true Λ = "
            f"{res['B']['true_lambda']:.3g}, {len(res['B']['samples'])} samples, B = {res['B']['n_bootstrap']})\n"
        )
        lines.append(
            f"Identified set (population sharp bounds at Λ, exact): mean width "
            f"{_fmt(b['set_width'])}, covers the true APO at {_fmt(b['set_coverage'])} of the "
            f"doses; the true APO sits at {_fmt(b['truth_position_in_set'])} of the set's width "
            f"above its lower end. DR at Λ = 1 minus E_X μ(X, t₀): mean {_fmt(b['dr_lambda1_bias'])}, "
            f"mean |·| at the two end doses {_fmt(b['dr_lambda1_bias_end_doses'])}.\n"
        )
        lines.append(
            "| estimator | coverage of true APO | mean width | contains the identified set | "
            "bias lower / upper end | RMSE lower / upper end |"
        )
        lines.append("|---|---|---|---|---|---|")
        for label, key in _B_ROWS:
            lines.append(
                f"| {label} | {_fmt(b[key + '_coverage'])} | {_fmt(b[key + '_width'])} | "
                f"{_fmt(b[key + '_covers_set'])} | {_fmt(b[key + '_bias_lower'])} / "
                f"{_fmt(b[key + '_bias_upper'])} | {_fmt(b[key + '_rmse_lower'])} / "
                f"{_fmt(b[key + '_rmse_upper'])} |"
            )
        lines.append(
            f"\nWall clock per sample: DR kernel with bootstrap {b['seconds_kernel']:.3g} s, "
            f"sharp CMSM (fit + bounds) {b['seconds_sharp']:.3g} s, ratio {b['time_ratio_kernel_over_sharp']:.3g}.\n"
        )
    c = res["C"]
    lines.append("## C. ATE-level numbers next to DoubleML and sensemakr\n")
    if "skipped" in c:
        lines.append(c["skipped"])
    else:
        for name, v in c.items():
            lines.append(f"### {name}\n")
            lines.append(
                "| quantity | DoubleML | knowable on DoubleML's predictions | abs diff | "
                "knowable own fit | abs diff |"
            )
            lines.append("|---|---|---|---|---|---|")
            for q, dv in v["doubleml"].items():
                same = v["knowable_on_doubleml_predictions"].get(q)
                own = v["knowable_own_fit"].get(q)
                s1 = f"{_fmt(same)} | {abs(same - dv):.2g}" if same is not None else "— | —"
                s2 = f"{_fmt(own)} | {abs(own - dv):.2g}" if own is not None else "— | —"
                lines.append(f"| {q} | {_fmt(dv)} | {s1} | {s2} |")
            lines.append("\n| quantity | sensemakr | knowable | abs diff |\n|---|---|---|---|")
            for q, sv in v["sensemakr"].items():
                kv = v["knowable_ols"][q]
                lines.append(f"| {q} | {_fmt(sv)} | {_fmt(kv)} | {abs(kv - sv):.2g} |")
            ko = v["knowable_only"]
            lines.append(
                f"\nknowable only: E-value {ko['E-value']:.3g} (CI limit {ko['E-value (CI)']:.3g}), "
                f"ATE Λ-robustness {ko['ATE Λ-robustness']:.3g}.\n"
            )
    return "\n".join(lines) + "\n"


def _markdown_b(res: dict[str, Any], cmd: str) -> str:
    full = _markdown(
        {
            "A": {"summary": {}, "n_seeds": 0, "n_confounders": 0},
            "B": res["B"],
            "C": {"skipped": "not run"},
        },
        cmd,
    )
    start = full.index("## B.")
    return (
        f"# Sensitivity benchmark, part B\n\nCommand: `{cmd}`\n\n"
        + full[start : full.index("## C.")]
    )


def _markdown_a(res: dict[str, Any], cmd: str) -> str:
    stub = {"summary": {}, "samples": [{}], "n_bootstrap": 0, "true_lambda": float("nan")}
    full = _markdown({"A": res["A"], "B": stub, "C": {"skipped": "not run"}}, cmd)
    return (
        f"# Sensitivity benchmark, part A\n\nCommand: `{cmd}`\n\n"
        + full[full.index("## A.") : full.index("## B.")]
    )


def _figure(res: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    a = res["A"]
    fig = Figure(figsize=(9, 3.6), layout="constrained")
    axes = fig.subplots(1, len(a["summary"]), squeeze=False)[0]
    methods = ("delta_balanced", "delta_anchored", "cmsm_overcast", "cmsm_sharp")
    for ax, kind in zip(axes, a["summary"], strict=True):
        sub = [r for r in a["trials"] if r["kind"] == kind]
        data = [[r[m]["cost_x1000"] for r in sub] for m in methods]
        ax.boxplot(data, tick_labels=["δMSM bal.", "δMSM anch.", "CMSM", "CMSM sharp"])
        ax.set_ylabel("divergence cost ×1000 at 90 % coverage")
        ax.set_title(f"{kind} outcome, {len(sub)} trials")
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def _figure_b(res: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    b = res["B"]["summary"]
    rows = _B_ROWS
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for i, (label, key) in enumerate(rows):
        ax.scatter(b[f"{key}_width"], b[f"{key}_coverage"], color=f"C{i}", label=label, s=40)
    ax.axvline(b["set_width"], color="0.5", ls="--", lw=0.8, label="identified set width")
    ax.axhline(1.0, color="0.7", lw=0.8)
    ax.set_xlabel("mean width of the APO interval")
    ax.set_ylabel("coverage of the true APO (5 doses)")
    ax.set_title(
        f"Baitairian DGP, true Λ = {res['B']['true_lambda']:.3g}, {len(res['B']['samples'])} samples"
    )
    ax.legend(fontsize=7, loc="lower right")
    FIGURES.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A: 20 seeds (linear); B: 3 samples")
    parser.add_argument("--parts", default="ABC", help="which parts to run (default ABC)")
    parser.add_argument(
        "--b-samples", type=int, default=None, help="override part B's sample count"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.quick:
        cfg = {
            "seeds": 20,
            "kinds": ["linear", "quadratic"],
            "grid": 40,
            "b_samples": 3,
            "boot": 50,
            "epochs": 30,
            "members": 2,
        }
    else:
        cfg = {
            "seeds": 50,
            "kinds": ["linear", "quadratic"],
            "grid": 60,
            "b_samples": 10,
            "boot": 100,
            "epochs": 60,
            "members": 3,
        }
    if args.b_samples is not None:
        cfg["b_samples"] = args.b_samples
    res: dict[str, Any] = {"config": cfg, "platform": platform.platform()}
    t0 = time.perf_counter()
    if "A" in args.parts:
        res["A"] = part_a(cfg["seeds"], cfg["kinds"], 6, np.linspace(0.0, 2.5, cfg["grid"]))
        print(f"A done {time.perf_counter() - t0:.0f}s", flush=True)
    if "B" in args.parts:
        res["B"] = part_b(cfg["b_samples"], cfg["boot"], cfg["epochs"], cfg["members"])
        print(f"B done {time.perf_counter() - t0:.0f}s", flush=True)
    if "C" in args.parts:
        res["C"] = part_c()
        print(f"C done {time.perf_counter() - t0:.0f}s", flush=True)
    res["seconds"] = time.perf_counter() - t0
    stem = "dose_response_sensitivity" + ("_quick" if args.quick else "")
    if set(args.parts) != {"A", "B", "C"}:
        stem += "_" + "".join(sorted(set(args.parts)))  # a partial run never overwrites a full one
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(res, indent=1, default=float))
    if args.parts == "A":
        cmd = " ".join(["python", *__import__("sys").argv])
        (RESULTS / f"{stem}.md").write_text(_markdown_a(res, cmd))
        _figure(res, FIGURES / f"{stem}.png")
    if "B" in args.parts and "A" not in args.parts:
        (RESULTS / f"{stem}.md").write_text(
            _markdown_b(res, " ".join(["python", *__import__("sys").argv]))
        )
        _figure_b(res, FIGURES / f"{stem}.png")
    if {"A", "B", "C"} <= set(args.parts):
        cmd = "python benchmarks/dose_response_sensitivity.py" + (" --quick" if args.quick else "")
        (RESULTS / f"{stem}.md").write_text(_markdown(res, cmd))
        _figure(res, FIGURES / f"{stem}.png")
    print((RESULTS / f"{stem}.md").read_text() if (RESULTS / f"{stem}.md").exists() else "")


if __name__ == "__main__":
    main()
