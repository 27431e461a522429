"""`SensitivityReport`: the ATE-level summaries of DoubleML, sensemakr and DoWhy beside knowable's Λ.

One object, one table: for a binary treatment and the data a CATE estimator
or bounds object was fitted on, it computes

* the AIPW ATE with cross-fitted nuisances and the "long story short" robustness
  values RV / RVa and bias bounds benchmarked against every observed
  covariate (DoubleML's ``sensitivity_analysis`` / ``sensitivity_benchmark``);
* the OLS partial R², RV_q, RV_{q,α} and benchmark bounds of sensemakr;
* the E-value (risk ratio for a 0/1 outcome; otherwise VanderWeele's
  approximation RR ≈ exp(0.91·θ/sd(Y)) for a continuous one);
* knowable's own ATE Λ-robustness: the smallest Λ of the marginal sensitivity
  model at which the sharp ATE bound contains zero (from the bounds object
  passed, else a B-Learner fitted on the same data);
* the estimator's own ATE, when one is passed.

See :mod:`knowable.bounds._ovb` for the formulas, and
:func:`knowable.viz.plot_sensitivity_contours` for the contour figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import StratifiedKFold

from .._validation import (
    as_feature_names,
    check_array,
    check_binary_treatment,
    check_consistent_length,
    check_in_options,
    check_is_fitted,
    check_positive_int,
    check_real,
)
from ._blearner import BLearner
from ._common import clone_seeded, default_propensity_model
from ._ovb import (
    LSSBenchmark,
    LSSResult,
    OLSSensitivity,
    e_value,
    lss_benchmark,
    lss_robustness_value,
    lss_sensitivity,
    ols_sensitivity,
)
from ._robustness import robustness_from_grid

__all__ = ["SensitivityReport"]


def _default_outcome() -> Any:
    return HistGradientBoostingRegressor(max_iter=100, learning_rate=0.1, min_samples_leaf=20)


def _default_propensity() -> Any:
    # calibrated probabilities matter here (ν² averages 1/m terms): the library's
    # standardised logistic regression, as for the B-Learner
    return default_propensity_model()


class SensitivityReport(BaseEstimator):
    """ATE-level sensitivity analysis: long-story-short, sensemakr, E-value and Λ, side by side.

    Parameters
    ----------
    estimator : fitted knowable CATE estimator, optional
        Its ATE is reported; with ``nuisance="estimator"`` its outcome
        predictions (and propensity, when it has one) replace the cross-fitted
        nuisances of the long-story-short analysis.
    bounds : fitted MSMBounds or BLearner, optional
        Source of the Λ-robustness of the ATE (via ``ate_bounds`` on a grid);
        default a B-Learner fitted on the same data.
    outcome_model : scikit-learn regressor, optional
        g_d(x) = E[Y | X, D = d], fitted per arm; default gradient boosting.
    propensity_model : scikit-learn classifier, optional
        m(x) = P(D = 1 | X); default standardised logistic regression.
    nuisance : {"crossfit", "estimator"}
        Where g₀, g₁ (and m) of the main analysis come from. Benchmarks always
        use the cross-fitted models (long and short fits must be alike).
    benchmark : sequence of int or str, optional
        Covariates benchmarked one at a time; default all.
    cf_y, cf_d : float, optional
        A scenario reported in addition to the benchmarks.
    rho : float
        Adversity of the bias bounds (1: worst case, DoubleML's default).
    level : float
        One-sided level of the long-story-short confidence bounds (DoubleML: 0.95).
    alpha : float
        Two-sided level of sensemakr's RV_{q,α} and intervals.
    n_folds : int
        Cross-fitting folds.
    clip : float
        Propensity clipping of the AIPW score.
    lam_max : float
        Largest Λ searched for the Λ-robustness.
    n_lam : int
        Λ grid size (log-spaced in [1, lam_max]).
    random_state : None or int
        Seeds folds and models.

    Attributes
    ----------
    lss_ : LSSResult
    rv_, rva_ : float
    benchmarks_ : list of LSSBenchmark
    ols_ : OLSSensitivity
    e_value_, e_value_ci_ : float
    lam_robustness_ : float
    cf_d_at_lam_ : float
        :meth:`cf_d_implied` at the Λ-robustness value.
    summary_ : pandas.DataFrame
        One row per statistic (``framework``, ``quantity``, ``value``).
    benchmark_table_ : pandas.DataFrame
        One row per benchmark covariate.
    """

    def __init__(
        self,
        estimator: Any = None,
        bounds: Any = None,
        outcome_model: Any = None,
        propensity_model: Any = None,
        *,
        nuisance: str = "crossfit",
        benchmark: Any = None,
        cf_y: float | None = None,
        cf_d: float | None = None,
        rho: float = 1.0,
        level: float = 0.95,
        alpha: float = 0.05,
        n_folds: int = 5,
        clip: float = 0.01,
        lam_max: float = 10.0,
        n_lam: int = 8,
        random_state: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.bounds = bounds
        self.outcome_model = outcome_model
        self.propensity_model = propensity_model
        self.nuisance = nuisance
        self.benchmark = benchmark
        self.cf_y = cf_y
        self.cf_d = cf_d
        self.rho = rho
        self.level = level
        self.alpha = alpha
        self.n_folds = n_folds
        self.clip = clip
        self.lam_max = lam_max
        self.n_lam = n_lam
        self.random_state = random_state

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_estimator(
        cls, estimator: Any, X: Any, t: Any, y: Any, **params: Any
    ) -> SensitivityReport:
        """Report for a fitted CATE estimator on its data (``SensitivityReport(estimator, ...).fit``).

        Parameters
        ----------
        estimator : fitted knowable CATE estimator
            The estimator.
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Binary treatment.
        y : array-like of shape (n,)
            Outcome.
        **params
            Other constructor parameters.

        Returns
        -------
        SensitivityReport
        """
        return cls(estimator=estimator, **params).fit(X, t, y)

    @classmethod
    def from_bounds(cls, bounds: Any, X: Any, t: Any, y: Any, **params: Any) -> SensitivityReport:
        """Report for a fitted bounds object (MSMBounds, BLearner) on its data.

        Parameters
        ----------
        bounds : fitted MSMBounds or BLearner
            Gives the Λ-robustness.
        X : array-like of shape (n, d)
            Covariates.
        t : array-like of shape (n,)
            Binary treatment.
        y : array-like of shape (n,)
            Outcome.
        **params
            Other constructor parameters.

        Returns
        -------
        SensitivityReport
        """
        return cls(bounds=bounds, **params).fit(X, t, y)

    # ------------------------------------------------------------ nuisances
    def _seed(self, k: int) -> int:
        base = 0 if self.random_state is None else int(self.random_state)
        return (base * 1_000_003 + k) % (2**32)

    def _crossfit(self, x: np.ndarray, d: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
        """Cross-fitted g₀, g₁ (per-arm regressions) and m, each (n,)."""
        out_m = _default_outcome() if self.outcome_model is None else self.outcome_model
        ps_m = _default_propensity() if self.propensity_model is None else self.propensity_model
        g0, g1, m = (np.empty(y.size) for _ in range(3))
        for j, (train, test) in enumerate(self.folds_):
            for arm, g in ((0, g0), (1, g1)):
                sel = train[d[train] == arm]
                model = clone_seeded(out_m, self._seed(10 * j + arm)).fit(x[sel], y[sel])
                g[test] = model.predict(x[test])
            clf = clone_seeded(ps_m, self._seed(10 * j + 5)).fit(x[train], d[train])
            m[test] = clf.predict_proba(x[test])[:, 1]
        return g0, g1, m

    def _lam_robustness(self, x: np.ndarray, d: np.ndarray, y: np.ndarray) -> float:
        lam_max = check_real(self.lam_max, "lam_max", low=1.0, low_inclusive=False)
        grid = np.exp(
            np.linspace(0.0, np.log(lam_max), check_positive_int(self.n_lam, "n_lam", minimum=2))
        )
        b = self.bounds
        if b is None:
            # a light B-Learner: only its ATE (the mean of the DR pseudo-outcomes) is used,
            # so the final stage is linear and the nuisances are small boosting models
            b = BLearner(
                quantile_model=HistGradientBoostingRegressor(
                    loss="quantile", quantile=0.5, max_iter=30, min_samples_leaf=20
                ),
                cvar_model=HistGradientBoostingRegressor(max_iter=30, min_samples_leaf=20),
                final_model=LinearRegression(),
                cv=self.n_folds,
                random_state=self._seed(77),
            ).fit(x, d, y)
        if not hasattr(b, "ate_bounds"):
            raise TypeError("bounds must be a fitted MSMBounds or BLearner (it needs ate_bounds).")
        a = b.ate_bounds(grid)
        return float(
            robustness_from_grid(
                np.atleast_1d(a.lower)[:, None], np.atleast_1d(a.upper)[:, None], grid
            )[0]
        )

    # ------------------------------------------------------------ fit
    def fit(self, X: Any, t: Any, y: Any) -> SensitivityReport:
        """Compute every summary.

        Parameters
        ----------
        X : array-like of shape (n, d)
            Observed covariates (a DataFrame's column names label the benchmarks).
        t : array-like of shape (n,)
            Binary treatment, 0/1.
        y : array-like of shape (n,)
            Outcome.

        Returns
        -------
        self
        """
        nuisance = check_in_options(self.nuisance, "nuisance", ("crossfit", "estimator"))
        x = check_array(X, "X", ndim=2)
        names = as_feature_names(X, x.shape[1])
        d = check_binary_treatment(t, "t").astype(np.float64)
        y_arr = check_array(y, "y", ndim=1)
        check_consistent_length(X=x, t=d, y=y_arr)
        unknown = [b for b in (self.benchmark or []) if isinstance(b, str) and b not in names]
        if unknown:
            raise ValueError(f"benchmark names {unknown} are not columns of X ({names}).")
        self.feature_names_ = names
        k = check_positive_int(self.n_folds, "n_folds", minimum=2)
        rho = check_real(self.rho, "rho", low=-1.0, high=1.0)
        level = check_real(
            self.level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
        )
        self.folds_ = [
            (tr, te)
            for tr, te in StratifiedKFold(k, shuffle=True, random_state=self._seed(0)).split(x, d)
        ]
        g0, g1, m = self._crossfit(x, d, y_arr)
        self.propensity_ = np.clip(m, self.clip, 1 - self.clip)
        long_cf = lss_sensitivity(y_arr, d, g0, g1, m, clip=self.clip)
        if nuisance == "estimator":
            if self.estimator is None:
                raise ValueError("nuisance='estimator' needs an estimator.")
            outcomes = self.estimator.predict_outcomes(x).mean()
            eg0, eg1 = outcomes[:, 0], outcomes[:, 1]
            try:
                em = self.estimator.propensity(x)
            except (AttributeError, NotImplementedError, ValueError, TypeError):
                em = m  # no propensity head: the cross-fitted one
            self.lss_ = lss_sensitivity(y_arr, d, eg0, eg1, em, clip=self.clip)
        else:
            self.lss_ = long_cf
        self.rv_, self.rva_ = lss_robustness_value(self.lss_, rho=abs(rho) or 1.0, level=level)
        # benchmarks: drop one covariate at a time, same folds and learners
        bench = list(range(x.shape[1])) if self.benchmark is None else list(self.benchmark)
        idx = [names.index(b) if isinstance(b, str) else int(b) for b in bench]
        self.benchmarks_: list[LSSBenchmark] = []
        for j in idx:
            keep = np.delete(np.arange(x.shape[1]), j)
            s0, s1, sm = self._crossfit(x[:, keep], d, y_arr)
            short = lss_sensitivity(y_arr, d, s0, s1, sm, clip=self.clip)
            self.benchmarks_.append(lss_benchmark(long_cf, short, names[j]))
        self.ols_: OLSSensitivity = ols_sensitivity(
            y_arr, d, x, benchmark=idx, alpha=self.alpha, feature_names=names
        )
        self._e_values(y_arr)
        self.lam_robustness_ = self._lam_robustness(x, d, y_arr)
        self.cf_d_at_lam_ = self.cf_d_implied(self.lam_robustness_)
        self.estimator_ate_ = (
            float(self.estimator.ate(x))
            if self.estimator is not None and hasattr(self.estimator, "ate")
            else float("nan")
        )
        self._tables(level)
        return self

    def _e_values(self, y: np.ndarray) -> None:
        res: LSSResult = self.lss_
        z = stats.norm.ppf(1 - self.alpha / 2)
        if np.isin(y, (0.0, 1.0)).all() and res.mu0 > 0 and res.mu1 > 0:
            rr = res.mu1 / res.mu0
            # delta method on log RR with the AIPW influence functions of μ₁ and μ₀
            assert res.psi_mu1 is not None and res.psi_mu0 is not None
            infl = res.psi_mu1 / res.mu1 - res.psi_mu0 / res.mu0
            se_log = float(np.sqrt(np.mean(infl**2) / y.size))
            self.e_value_kind_ = "risk ratio"
        else:
            sd = float(np.std(y))
            rr = float(np.exp(0.91 * res.theta / sd))
            se_log = 0.91 * res.se / sd
            self.e_value_kind_ = "RR ≈ exp(0.91·θ/sd(Y))"
        lo, hi = rr * np.exp(-z * se_log), rr * np.exp(z * se_log)
        self.rr_ = float(rr)
        self.rr_ci_ = (float(lo), float(hi))
        self.e_value_ = float(e_value(rr))
        near = lo if rr >= 1 else hi
        self.e_value_ci_ = 1.0 if (lo <= 1 <= hi) else float(e_value(near))

    def _tables(self, level: float) -> None:
        res, ols = self.lss_, self.ols_
        rows = [
            ("long story short (AIPW)", "ATE θ", res.theta),
            ("long story short (AIPW)", "se", res.se),
            ("long story short (AIPW)", "sigma2 (outcome residual variance)", res.sigma2),
            ("long story short (AIPW)", "nu2 (Riesz representer 2nd moment)", res.nu2),
            ("long story short (AIPW)", "RV (cf_y = cf_d, ρ = 1)", self.rv_),
            ("long story short (AIPW)", f"RVa (level {level:g})", self.rva_),
            ("sensemakr (OLS)", "estimate", ols.estimate),
            ("sensemakr (OLS)", "se", ols.se),
            ("sensemakr (OLS)", "t", ols.t_stat),
            ("sensemakr (OLS)", "partial R² Y~D|X", ols.partial_r2),
            ("sensemakr (OLS)", f"RV_q (q = {ols.q:g})", ols.rv_q),
            ("sensemakr (OLS)", f"RV_q,α (α = {ols.alpha:g})", ols.rv_qa),
            ("E-value", f"risk ratio ({self.e_value_kind_})", self.rr_),
            ("E-value", "E-value (estimate)", self.e_value_),
            ("E-value", "E-value (CI limit)", self.e_value_ci_),
            ("knowable MSM", "ATE Λ-robustness (sharp bound contains 0)", self.lam_robustness_),
            ("knowable MSM", "largest cf_d the MSM allows at that Λ", self.cf_d_at_lam_),
        ]
        if np.isfinite(self.estimator_ate_):
            rows.append(("knowable estimator", "ATE", self.estimator_ate_))
        if self.cf_y is not None and self.cf_d is not None:
            b = res.bounds(self.cf_y, self.cf_d, self.rho, level)
            for key in ("theta_lower", "theta_upper", "ci_lower", "ci_upper"):
                rows.append(
                    (
                        "long story short (AIPW)",
                        f"{key} at cf_y={self.cf_y:g}, cf_d={self.cf_d:g}",
                        b[key],
                    )
                )
        self.summary_ = pd.DataFrame(rows, columns=["framework", "quantity", "value"])
        brows = []
        ob = ols.benchmarks.set_index("benchmark") if len(ols.benchmarks) else None
        for bm in self.benchmarks_:
            cfy, cfd = min(bm.cf_y, 0.9999), min(bm.cf_d, 0.9999)
            bb = res.bounds(cfy, cfd, self.rho, level)
            row = {
                "benchmark": bm.name,
                "cf_y": bm.cf_y,
                "cf_d": bm.cf_d,
                "rho": bm.rho,
                "delta_theta": bm.delta_theta,
                "theta_lower": bb["theta_lower"],
                "theta_upper": bb["theta_upper"],
            }
            if ob is not None and bm.name in ob.index:
                row.update(
                    ols_r2dz_x=ob.loc[bm.name, "r2dz_x"],
                    ols_r2yz_dx=ob.loc[bm.name, "r2yz_dx"],
                    ols_adjusted_estimate=ob.loc[bm.name, "adjusted_estimate"],
                )
            brows.append(row)
        self.benchmark_table_ = pd.DataFrame(brows)

    def cf_d_implied(self, lam: float) -> float:
        """Largest cf_d a binary-treatment MSM with parameter Λ allows (derived bound).

        Under the MSM the odds of treatment given (x, u) lie within a factor Λ
        of the nominal odds o(x) = m/(1 − m). The Riesz representer's second
        moment is E[f(odds)] with f(o) = (1 + o)²/o = 1/(π(1 − π)), so
        ν²_long ≤ mean_i max(f(o_i Λ), f(o_i / Λ)) and
        cf_d = ν²_long / ν²_short − 1 ≤ that / mean_i f(o_i) − 1
        (at m = ½: (Λ − 1)²/(4Λ)). The MSM leaves cf_y free (any outcome
        dependence on u), so Λ maps to a cf_d cap, not to a point.

        Parameters
        ----------
        lam : float
            Λ ≥ 1 (``inf`` gives ``inf``).

        Returns
        -------
        float
        """
        if not hasattr(self, "propensity_"):
            raise ValueError("SensitivityReport is not fitted; call fit(X, t, y) first.")
        if not np.isfinite(lam):
            return float("inf")
        o = self.propensity_ / (1 - self.propensity_)
        f = lambda v: (1 + v) ** 2 / v  # noqa: E731
        return float(np.maximum(f(o * lam), f(o / lam)).mean() / f(o).mean() - 1.0)

    # ------------------------------------------------------------ outputs
    def _check_fitted(self) -> None:
        check_is_fitted(self, "summary_")

    def to_frame(self) -> pd.DataFrame:
        """The summary table (one row per statistic).

        Returns
        -------
        pandas.DataFrame
        """
        self._check_fitted()
        return self.summary_.copy()

    def to_markdown(self, digits: int = 4) -> str:
        """Summary and benchmark tables as Markdown.

        Parameters
        ----------
        digits : int
            Significant digits.

        Returns
        -------
        str
        """
        self._check_fitted()

        def fmt(df: pd.DataFrame) -> str:
            cols = list(df.columns)
            lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            for _, r in df.iterrows():
                cells = [
                    f"{v:.{digits}g}" if isinstance(v, (float, np.floating)) else str(v) for v in r
                ]
                lines.append("| " + " | ".join(cells) + " |")
            return "\n".join(lines)

        return fmt(self.summary_) + "\n\n" + fmt(self.benchmark_table_)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of both tables.

        Returns
        -------
        dict
        """
        self._check_fitted()
        return {
            "summary": self.summary_.to_dict(orient="records"),
            "benchmarks": self.benchmark_table_.to_dict(orient="records"),
        }

    def contour_grid(self, n: int = 60, cf_max: float | None = None) -> dict[str, Any]:
        """Long-story-short bound on θ over a (cf_d, cf_y) grid, for the contour figure.

        The bound moves θ towards zero (the adversarial side, ρ = ``rho``).

        Parameters
        ----------
        n : int
            Grid points per axis.
        cf_max : float, optional
            Largest strength shown; default max(0.15, 1.5 × the largest benchmark).

        Returns
        -------
        dict
            ``cf_d`` (n,), ``cf_y`` (n,), ``theta`` (n, n) indexed [cf_y, cf_d],
            ``null`` (0.0), ``estimate`` (θ̂).
        """
        self._check_fitted()
        n = check_positive_int(n, "n", minimum=2)
        top = max([0.15] + [1.5 * max(b.cf_y, b.cf_d) for b in self.benchmarks_])
        cf_max = (
            min(top, 0.99)
            if cf_max is None
            else check_real(
                cf_max, "cf_max", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
            )
        )
        grid = np.linspace(0.0, cf_max, n)
        cd, cy = np.meshgrid(grid, grid)
        bias = abs(self.rho) * np.sqrt(cy * cd / (1 - cd)) * self.lss_.max_bias
        sign = np.sign(self.lss_.theta) or 1.0
        return {
            "cf_d": grid,
            "cf_y": grid,
            "theta": self.lss_.theta - sign * bias,
            "null": 0.0,
            "estimate": self.lss_.theta,
        }
