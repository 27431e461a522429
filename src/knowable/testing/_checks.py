"""Conformance checks of the regressor, classifier and CATE estimator kinds.

In the spirit of scikit-learn's ``check_estimator``: each check is a small
function ``check(estimator, data)`` that raises ``AssertionError`` with a
message when the contract is broken. The dose-response and bounds kinds are in
``_kind_checks``; ``_kit`` holds the table of kinds and hands out the checks.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

import numpy as np
from sklearn.base import clone

from knowable.exceptions import NotFittedError

__all__ = ["CheckData", "make_check_data"]


def expect_errors(cases: list[tuple[str, Callable[[], Any], type[Exception]]]) -> None:
    """Each ``(name, call, error)``: ``call()`` must raise ``error`` with a non-empty message."""
    for name, call, error in cases:
        try:
            call()
        except error as err:
            assert str(err), f"{name}: the error message is empty"
            continue
        except Exception as err:
            raise AssertionError(
                f"{name}: raised {type(err).__name__}, expected {error.__name__}: {err}"
            ) from err
        raise AssertionError(f"{name}: no error raised, expected {error.__name__}")


def expect_not_fitted(estimator: Any, calls: dict[str, Callable[[Any], Any]]) -> None:
    """Each ``calls[name](unfitted clone)`` must raise ``NotFittedError``."""
    for name, call in calls.items():
        try:
            call(clone(estimator))
        except NotFittedError:
            continue
        raise AssertionError(f"{name}() before fit() must raise NotFittedError")


def expect_predict_rejects(
    method: Callable[[np.ndarray], Any], X: np.ndarray, bad_X: np.ndarray
) -> None:
    """``method`` rejects ``X`` less a column, and ``bad_X`` (with a NaN), by ``ValueError``."""
    expect_errors(
        [
            ("wrong n_features", lambda: method(X[:, :-1]), ValueError),
            ("NaN at predict", lambda: method(bad_X), ValueError),
        ]
    )


def save_and_load(est: Any) -> Any:
    """Save ``est`` to a fresh folder, check it holds only safetensors + JSON, load it back."""
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        est.save(folder)
        files = sorted(p.name for p in Path(folder).iterdir())
        assert files == ["config.json", "weights.safetensors"], f"unexpected files {files}"
        loaded = type(est).load(folder)
    assert loaded.get_params() == est.get_params(), "load changed parameters"
    return loaded


@dataclass(frozen=True)
class CheckData:
    """Small seeded data for the checks: inputs ``X (n, d)``, targets ``y (n,)``.

    For CATE and bounds estimators (kinds ``"cate"``, ``"bounds"``) also a
    binary treatment ``t (n,)``; for dose response a continuous one.
    """

    X: np.ndarray
    y: np.ndarray
    t: np.ndarray | None = None

    @property
    def treatment(self) -> np.ndarray:
        """``t``, which the treatment kinds' checks need; an error when the data has none."""
        if self.t is None:
            raise ValueError("this CheckData has no treatment t (make it for a treatment kind).")
        return self.t


def make_check_data(kind: str, n: int = 60, d: int = 3, seed: int = 0) -> CheckData:
    """Seeded toy data for an estimator kind.

    Parameters
    ----------
    kind : {"regressor", "classifier", "cate", "bounds", "dose_response"}
        Estimator kind.
    n, d : int
        Rows and features.
    seed : int
        Seed.

    Returns
    -------
    CheckData
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if kind == "classifier":
        return CheckData(X, (X[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.int64))
    if kind == "dose_response":
        t = 1 / (1 + np.exp(-X[:, 0])) + 0.2 * rng.random(n)
        y = np.sin(X[:, 0]) + t * (1 + 0.5 * X[:, 1]) + 0.1 * rng.normal(size=n)
        return CheckData(X, y, t)
    if kind in ("cate", "bounds"):
        t = (rng.random(n) < 1 / (1 + np.exp(-X[:, 0]))).astype(np.int64)
        t[:2] = [0, 1]  # both arms always present
        y = np.sin(X[:, 0]) + t * (1 + 0.5 * X[:, 1]) + 0.1 * rng.normal(size=n)
        return CheckData(X, y, t)
    return CheckData(X, np.sin(X[:, 0]) + 0.1 * rng.normal(size=n))


def _draws(estimator: Any, X: np.ndarray) -> np.ndarray:
    return estimator.posterior(X).draws


def check_init_stores_params(estimator: Any, data: CheckData) -> None:
    """``__init__`` only stores its arguments; clone and get/set_params round-trip."""
    params = estimator.get_params(deep=False)
    twin = clone(estimator)
    assert twin.get_params(deep=False).keys() == params.keys(), "clone changed the parameter names"
    for key, value in params.items():
        assert _same_param(twin.get_params(deep=False)[key], value), (
            f"clone changed parameter {key}"
        )
    twin.set_params(**params)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(twin)), (
        "an unfitted estimator holds fitted attributes (names ending in '_')"
    )


def _same_param(a: Any, b: Any) -> bool:
    """Equal parameters; a sub-estimator (cloned by ``clone``) equal by type and parameters."""
    if a is b:
        return True
    if hasattr(a, "get_params") and hasattr(b, "get_params"):
        return type(a) is type(b) and a.get_params() == b.get_params()
    return bool(a == b)


def check_not_fitted(estimator: Any, data: CheckData) -> None:
    """Prediction before ``fit`` raises ``NotFittedError``."""
    try:
        clone(estimator).posterior(data.X)
    except NotFittedError:
        return
    raise AssertionError("posterior() before fit() must raise NotFittedError")


def check_fit_returns_self(estimator: Any, data: CheckData) -> None:
    """``fit`` returns the estimator itself."""
    est = clone(estimator)
    assert est.fit(data.X, data.y) is est, "fit must return self"


def check_posterior_shape(estimator: Any, data: CheckData) -> None:
    """The Posterior has shape ``(S, n, k)`` and accepts pandas input."""
    import pandas as pd

    est = clone(estimator).fit(data.X, data.y)
    post = est.posterior(data.X[:7])
    assert post.draws.ndim == 3 and post.n_inputs == 7, f"bad Posterior shape {post.shape}"
    frame = pd.DataFrame(data.X[:7], columns=[f"c{i}" for i in range(data.X.shape[1])])
    np.testing.assert_array_equal(
        est.posterior(frame).draws, post.draws, err_msg="pandas input changed results"
    )


def check_reproducible(estimator: Any, data: CheckData) -> None:
    """Same integer seed gives bit-identical outputs; another seed gives different ones."""
    est = clone(estimator).set_params(random_state=7)
    a = _draws(clone(est).fit(data.X, data.y), data.X)
    b = _draws(clone(est).fit(data.X, data.y), data.X)
    np.testing.assert_array_equal(a, b, err_msg="same seed gave different outputs")
    c = _draws(clone(est).set_params(random_state=8).fit(data.X, data.y), data.X)
    assert not np.array_equal(a, c), "different seeds gave identical outputs"


def check_bad_inputs(estimator: Any, data: CheckData) -> None:
    """Wrong shapes, NaN, inf, strings, empty and mismatched inputs raise clear errors."""
    X, y = data.X, data.y
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    inf_X = X.copy()
    inf_X[1, 1] = np.inf
    cases: list[tuple[str, Callable[[], Any], type[Exception]]] = [
        ("NaN in X", lambda: clone(estimator).fit(bad_X, y), ValueError),
        ("inf in X", lambda: clone(estimator).fit(inf_X, y), ValueError),
        ("strings in X", lambda: clone(estimator).fit(X.astype(str), y), TypeError),
        ("1-d X", lambda: clone(estimator).fit(X[:, 0], y), ValueError),
        ("empty X", lambda: clone(estimator).fit(X[:0], y[:0]), ValueError),
        ("length mismatch", lambda: clone(estimator).fit(X, y[:-1]), ValueError),
        (
            "NaN in y",
            lambda: clone(estimator).fit(X, np.where(np.arange(len(y)) == 0, np.nan, y)),
            ValueError,
        ),
        ("strings in y", lambda: clone(estimator).fit(X, y.astype(str)), TypeError),
    ]
    expect_errors(cases)
    fitted = clone(estimator).fit(X, y)
    expect_predict_rejects(fitted.posterior, X, bad_X)


def check_save_load_round_trip(estimator: Any, data: CheckData) -> None:
    """``save`` then ``load`` gives identical predictions, from safetensors + JSON only."""
    est = clone(estimator).fit(data.X, data.y)
    loaded = save_and_load(est)
    np.testing.assert_array_equal(
        _draws(loaded, data.X), _draws(est, data.X), err_msg="load changed predictions"
    )


# ------------------------------------------------------------------ CATE estimators
def _fit_cate(estimator: Any, data: CheckData) -> Any:
    return clone(estimator).fit(data.X, data.t, data.y)


def check_cate_not_fitted(estimator: Any, data: CheckData) -> None:
    """``effect`` and ``predict_outcomes`` before ``fit`` raise ``NotFittedError``."""
    names = ("effect", "predict_outcomes", "effect_samples", "propensity")
    expect_not_fitted(estimator, {name: methodcaller(name, data.X) for name in names})


def check_cate_fit_returns_self(estimator: Any, data: CheckData) -> None:
    """``fit(X, t, y)`` returns the estimator itself."""
    est = clone(estimator)
    assert est.fit(data.X, data.t, data.y) is est, "fit must return self"


def check_cate_outputs(estimator: Any, data: CheckData) -> None:
    """Shapes of the effect API; effect = mean of the draws' mu1 - mu0; pandas input works."""
    import pandas as pd

    est = _fit_cate(estimator, data)
    X = data.X[:7]
    post = est.predict_outcomes(X)
    assert post.draws.ndim == 3 and post.draws.shape[1:] == (7, 2), f"bad shape {post.shape}"
    samples = est.effect_samples(X)
    assert samples.shape == (post.draws.shape[0], 7), f"effect_samples shape {samples.shape}"
    tau = est.effect(X)
    assert tau.shape == (7,), f"effect shape {tau.shape}"
    lo, hi = est.effect_interval(X, alpha=0.1)
    assert lo.shape == hi.shape == (7,) and np.all(lo <= tau + 1e-9) and np.all(tau <= hi + 1e-9)
    p = est.propensity(X)
    assert p.shape == (7,) and np.all((p > 0) & (p < 1)), "propensity must lie in (0, 1)"
    assert np.isfinite(est.ate()), "ate() must be finite"
    a_lo, a_hi = est.ate_interval()
    assert a_lo <= est.ate() <= a_hi, "ate_interval must contain ate()"
    frame = pd.DataFrame(X, columns=[f"c{i}" for i in range(X.shape[1])])
    np.testing.assert_array_equal(est.effect(frame), tau, err_msg="pandas input changed results")


def check_cate_reproducible(estimator: Any, data: CheckData) -> None:
    """Same integer seed gives bit-identical effects; another seed gives different ones."""
    est = clone(estimator).set_params(random_state=7)
    a = _fit_cate(est, data).effect_samples(data.X)
    b = _fit_cate(est, data).effect_samples(data.X)
    np.testing.assert_array_equal(a, b, err_msg="same seed gave different outputs")
    c = _fit_cate(clone(est).set_params(random_state=8), data).effect_samples(data.X)
    assert not np.array_equal(a, c), "different seeds gave identical outputs"


def check_cate_bad_inputs(estimator: Any, data: CheckData) -> None:
    """Non-binary t, one arm only, NaN, strings, shapes and mismatches raise clear errors."""
    X, t, y = data.X, data.treatment, data.y
    bad_X = X.copy()
    bad_X[0, 0] = np.nan
    cases: list[tuple[str, Callable[[], Any], type[Exception]]] = [
        ("non-binary t", lambda: clone(estimator).fit(X, t * 2.0, y), ValueError),
        ("continuous t", lambda: clone(estimator).fit(X, t + 0.5, y), ValueError),
        ("one arm only", lambda: clone(estimator).fit(X, np.ones_like(t), y), ValueError),
        ("NaN in t", lambda: clone(estimator).fit(X, np.where(t == 0, np.nan, t), y), ValueError),
        ("NaN in X", lambda: clone(estimator).fit(bad_X, t, y), ValueError),
        (
            "NaN in y",
            lambda: clone(estimator).fit(X, t, np.where(np.arange(len(y)) == 0, np.nan, y)),
            ValueError,
        ),
        ("strings in X", lambda: clone(estimator).fit(X.astype(str), t, y), TypeError),
        ("strings in t", lambda: clone(estimator).fit(X, t.astype(str), y), TypeError),
        ("1-d X", lambda: clone(estimator).fit(X[:, 0], t, y), ValueError),
        ("length mismatch", lambda: clone(estimator).fit(X, t[:-1], y), ValueError),
        ("two outcome columns", lambda: clone(estimator).fit(X, t, np.c_[y, y]), ValueError),
    ]
    expect_errors(cases)
    fitted = _fit_cate(estimator, data)
    expect_predict_rejects(fitted.effect, X, bad_X)


def check_cate_save_load_round_trip(estimator: Any, data: CheckData) -> None:
    """``save`` then ``load`` gives identical effects, from safetensors + JSON only."""
    est = _fit_cate(estimator, data)
    loaded = save_and_load(est)
    np.testing.assert_array_equal(
        loaded.effect_samples(data.X), est.effect_samples(data.X), err_msg="load changed draws"
    )
    np.testing.assert_array_equal(loaded.propensity(data.X), est.propensity(data.X))
    assert loaded.ate() == est.ate(), "load changed ate()"
