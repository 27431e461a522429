"""Regression tests for the library defects of issue 16 (one block per defect).

Each test failed on the code before the fix (run against the reverted source; see the
issue note). Models are tiny (few epochs, small n) and fitted once per module.
"""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pandas as pd
import pytest
from safetensors.torch import load_file, save_file
from scipy import stats
from sklearn.linear_model import LinearRegression

from knowable.bounds import (
    BLearner,
    ContinuousMSMBounds,
    MSMBounds,
    capo_bound_from_samples,
    msm,
    robustness_value,
)
from knowable.decide import sign_scores, variance_scores
from knowable.effects import DoseResponse, TARNet
from knowable.models import UncertainRegressor

RNG = np.random.default_rng(16)


def _binary_data(n: int = 80, d: int = 2, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    t = (rng.random(n) < 0.5).astype(float)
    y = x[:, 0] + t * (1 + x[:, 1]) + 0.3 * rng.standard_normal(n)
    return x, t, y


@pytest.fixture(scope="module")
def tarnet():
    x, t, y = _binary_data()
    return TARNet(
        "ensemble", n_members=2, max_epochs=3, hidden_size=8, arm_hidden_size=8, random_state=0
    ).fit(x, t, y), x


@pytest.fixture(scope="module")
def dose():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((80, 2))
    t = rng.uniform(0, 1, 80)
    y = x[:, 0] + t + 0.1 * rng.standard_normal(80)
    model = DoseResponse(
        n_members=2, max_epochs=2, hidden_size=8, head_hidden_size=8, n_components=2, random_state=0
    ).fit(x, t, y)
    return model, x


# ------------------------------------------------------------------ defect 2: column names
def _frame(x):
    return pd.DataFrame(x, columns=["a", "b"])


def test_msm_bounds_refuses_reordered_columns() -> None:
    x, t, y = _binary_data(60)
    reg = UncertainRegressor(
        likelihood="mixture",
        n_components=2,
        n_members=2,
        max_epochs=2,
        hidden_size=8,
        random_state=0,
    )
    model = MSMBounds(outcome_model=reg, n_draws=20, random_state=0).fit(_frame(x), t, y)
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b"])
    model.bounds(_frame(x[:3]), 2.0)  # the fitted order is fine
    with pytest.raises(ValueError, match=r"columns \['b', 'a'\].*fitted on \['a', 'b'\]"):
        model.bounds(_frame(x[:3])[["b", "a"]], 2.0)
    with pytest.raises(ValueError, match="fitted on"):
        model.bounds(_frame(x[:3]).rename(columns={"a": "c"}), 2.0)


def test_blearner_refuses_reordered_columns() -> None:
    x, t, y = _binary_data(80)
    bl = BLearner(
        cvar_model=LinearRegression(),
        outcome_model=LinearRegression(),
        final_model=LinearRegression(),
        cv=2,
        random_state=0,
    ).fit(_frame(x), t, y)
    bl.bounds(_frame(x[:3]), 2.0)
    with pytest.raises(ValueError, match=r"columns \['b', 'a'\]"):
        bl.bounds(_frame(x[:3])[["b", "a"]], 2.0)
    with pytest.raises(ValueError, match=r"columns \['b', 'a'\]"):
        bl.effect(_frame(x[:3])[["b", "a"]])


# ------------------------------------------------------------------ defect 3: huge finite values
@pytest.mark.parametrize("kind", ["tarnet_due", "tarnet_ensemble", "dose", "regressor"])
def test_huge_finite_outcome_refused_not_nan(kind) -> None:
    x, t, y = _binary_data(40)
    y = y.copy()
    y[0] = 1e300  # y.std() overflows to inf
    with pytest.raises(ValueError, match="y has values as large as 1e\\+300"):
        if kind == "tarnet_due":
            TARNet("due", max_epochs=1, random_state=0).fit(x, t, y)
        elif kind == "tarnet_ensemble":
            TARNet("ensemble", n_members=1, max_epochs=1, random_state=0).fit(x, t, y)
        elif kind == "dose":
            DoseResponse(n_members=1, max_epochs=1, random_state=0).fit(x, RNG.random(40), y)
        else:
            UncertainRegressor(n_members=1, max_epochs=1, random_state=0).fit(x, y)


def test_largest_accepted_outcome_gives_finite_effects() -> None:
    x, t, y = _binary_data(40)
    model = TARNet("ensemble", n_members=2, max_epochs=1, random_state=0).fit(x, t, 1e149 * y)
    assert np.isfinite(model.effect(x)).all() and np.isfinite(model.effect_var(x)).all()


def test_huge_covariates_refused_or_scaled() -> None:
    x, t, y = _binary_data(40)
    x_big = x.copy()
    x_big[0, 0] = 1e300  # beyond float32: was reported as "infinite"
    with pytest.raises(ValueError, match="beyond the float32 range"):
        TARNet("ensemble", n_members=1, max_epochs=1, random_state=0).fit(x_big, t, y)
    x_wide = x.copy()
    x_wide[0, 0] = 1e20  # inside float32, but its float32 square overflows
    reg = UncertainRegressor(n_members=1, max_epochs=1, random_state=0).fit(x_wide, y)
    scale = reg.x_scale_.numpy()
    assert np.isfinite(scale).all()
    np.testing.assert_allclose(
        scale[0], np.float32(x_wide[:, 0].astype(np.float32)).std(dtype=np.float64), rtol=1e-5
    )


def test_huge_treatment_refused_by_dose_response() -> None:
    x = RNG.standard_normal((30, 1))
    t = RNG.random(30)
    t[0] = 1e300
    with pytest.raises(ValueError, match=r"t has 1 value.*float32"):
        DoseResponse(n_members=1, max_epochs=1).fit(x, t, RNG.standard_normal(30))


# ------------------------------------------------------------------ defect 4: tampered folders
def _saved(model, tmp_path, name="m"):
    folder = tmp_path / name
    model.save(folder)
    return folder


def _without_digests(folder):
    """Drop both SHA-256 digests (as in a folder from before they existed), so that the
    checks behind them are reached."""
    weights = load_file(str(folder / "weights.safetensors"))
    save_file(weights, str(folder / "weights.safetensors"))  # no metadata
    config = json.loads((folder / "config.json").read_text())
    config.pop("tensors_sha256")
    (folder / "config.json").write_text(json.dumps(config))
    return weights, config


def test_edited_config_or_flipped_weight_byte_refused(tarnet, tmp_path) -> None:
    model, _ = tarnet
    folder = _saved(model, tmp_path)
    text = (folder / "config.json").read_text()
    config = json.loads(text)
    config["fitted"]["y_mean"] += 1.0  # valid JSON, every structural check passes
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))
    with pytest.raises(ValueError, match=r"config\.json differs from the config saved with"):
        TARNet.load(folder)
    (folder / "config.json").write_text(text)
    raw = bytearray((folder / "weights.safetensors").read_bytes())
    raw[-3] ^= 0x10  # one bit of the last tensor's data
    (folder / "weights.safetensors").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="tensor data differ from what was saved"):
        TARNet.load(folder)


def test_removed_scaler_tensors_refused(tarnet, tmp_path) -> None:
    model, _ = tarnet
    folder = _saved(model, tmp_path)
    weights = load_file(str(folder / "weights.safetensors"))
    kept = {k: v for k, v in weights.items() if not k.startswith("scaler.")}
    save_file(kept, str(folder / "weights.safetensors"))
    with pytest.raises(ValueError, match=r"weights\.safetensors lacks 2 tensor.*scaler"):
        TARNet.load(folder)
    # the same tamper applied to the config's tensor list too: the model itself needs them
    config = json.loads((folder / "config.json").read_text())
    config.pop("tensors_sha256")
    config["tensors"] = {k: v for k, v in config["tensors"].items() if not k.startswith("scaler")}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"{folder.name}.*lack the tensor 'scaler.x_mean'"):
        TARNet.load(folder)


def test_wrong_dtype_or_shape_refused(tarnet, tmp_path) -> None:
    model, _ = tarnet
    folder = _saved(model, tmp_path)
    weights, config = _without_digests(folder)
    key = next(k for k in weights if k.startswith("member0.") and k.endswith("weight"))
    weights[key] = weights[key].double()  # load_state_dict would cast this silently
    config["tensors"][key]["dtype"] = "float64"
    save_file(weights, str(folder / "weights.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError,
        match=f"tensor '{key}' has shape .* dtype float64, but the model needs .* float32",
    ):
        TARNet.load(folder)
    weights[key] = weights[key].float()
    save_file(weights, str(folder / "weights.safetensors"))
    with pytest.raises(
        ValueError,
        match=f"tensor '{key}' has shape .* dtype float32, but the config says .* float64",
    ):
        TARNet.load(folder)
    weights["fit.X"] = weights["fit.X"][:, :1].contiguous()
    config["tensors"][key]["dtype"] = "float32"
    config["tensors"]["fit.X"]["shape"] = list(weights["fit.X"].shape)
    save_file(weights, str(folder / "weights.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"'fit.X' has shape"):
        TARNet.load(folder)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: [1, 2], "must hold a JSON object, got a JSON list"),
        (
            lambda c: {**c, "fitted": {k: v for k, v in c["fitted"].items() if k != "y_mean"}},
            "lacks the fitted entry 'y_mean'",
        ),
        (
            lambda c: {**c, "fitted": {k: v for k, v in c["fitted"].items() if k != "input_shape"}},
            "lacks the fitted entry 'input_shape'",
        ),
        (lambda c: {k: v for k, v in c.items() if k != "fitted"}, "lacks the JSON object 'fitted'"),
        (lambda c: {**c, "params": {**c["params"], "bogus": 1}}, "saved parameters do not fit"),
    ],
)
def test_malformed_config_one_clear_error(tarnet, tmp_path, edit, message) -> None:
    model, _ = tarnet
    folder = _saved(model, tmp_path)
    _, config = _without_digests(folder)
    (folder / "config.json").write_text(json.dumps(edit(config)))
    with pytest.raises(ValueError, match=message) as info:
        TARNet.load(folder)
    assert "config.json" in str(info.value) or folder.name in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_weights_refused(tarnet, tmp_path) -> None:
    model, _ = tarnet
    folder = _saved(model, tmp_path)
    raw = (folder / "weights.safetensors").read_bytes()
    (folder / "weights.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"weights.safetensors is not a readable safetensors"):
        TARNet.load(folder)


def test_untampered_round_trip_still_exact(tarnet, dose, tmp_path) -> None:
    model, x = tarnet
    loaded = TARNet.load(_saved(model, tmp_path, "t"))
    np.testing.assert_array_equal(loaded.effect(x), model.effect(x))
    dmodel, dx = dose
    dloaded = DoseResponse.load(_saved(dmodel, tmp_path, "d"))
    np.testing.assert_array_equal(dloaded.apo(dx, 0.5)[0], dmodel.apo(dx, 0.5)[0])


# ------------------------------------------------------------------ defect 5: robustness_value
def test_robustness_value_refuses_nan_and_wrong_length() -> None:
    def nan_interval(lam):
        return np.full(lam.shape, np.nan), np.full(lam.shape, np.nan)

    with pytest.raises(ValueError, match="NaN"):
        robustness_value(nan_interval, 3)

    def short(lam):
        return np.ones(2), np.ones(2)

    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(3,\)"):
        robustness_value(short, 3)


# ------------------------------------------------------------------ defect 6: huge Λ
def test_sample_bounds_tend_to_the_support_ends() -> None:
    y = RNG.standard_normal((4, 50))
    e = RNG.uniform(0.1, 0.9, 4)
    for lam in (1e8, 1e16, 1e100, 1e300):
        up = msm.bound_from_samples(y, e, lam, "upper")
        lo = msm.bound_from_samples(y, e, lam, "lower")
        assert np.isfinite(up).all() and np.isfinite(lo).all()
        # the ratio bound's α' -> 0, the top draw alone is the optimum: |bound - max| <= m α' range
        np.testing.assert_allclose(up, y.max(-1), atol=1e-4 if lam == 1e8 else 1e-12)
        np.testing.assert_allclose(lo, y.min(-1), atol=1e-4 if lam == 1e8 else 1e-12)
        # the sharp bound tends to e_t μ + (1 - e_t) max (Dorn-Guo, τ -> 1)
        sharp = msm.sharp_bound_from_samples(y, e, lam, "upper")
        limit = y.mean(-1) + (1 - e) * (1 - 1 / lam) * (y.max(-1) - y.mean(-1))
        np.testing.assert_allclose(sharp, limit, rtol=1e-10)
        for method, ref in (("overcast", y.max(-1)), ("sharp", y.max(-1))):
            np.testing.assert_allclose(
                capo_bound_from_samples(y, lam, method=method),
                ref,
                atol=1e-4 if lam == 1e8 else 1e-12,
            )
    grid = np.logspace(0, 300, 61)
    ups = msm.bound_from_samples(y, e, grid, "upper")
    assert np.isfinite(ups).all() and (np.diff(ups, axis=0) >= -1e-12).all()


def _mp_bisect(f, lo: float, hi: float):
    """Root of an increasing f on [lo, hi] by 200 bisection steps in 60-digit arithmetic."""
    lo, hi = mpmath.mpf(lo), mpmath.mpf(hi)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def _gauss_sharp_reference(e: float, lam: float) -> float:
    """(1 − e)(1 − 1/Λ) φ(z)/s for N(0, 1), with s = 1/(1+Λ) = P(Z ≥ z), in 60 digits."""
    with mpmath.workdps(60):
        s = 1 / (1 + mpmath.mpf(lam))
        z = _mp_bisect(lambda v: s - mpmath.ncdf(-v), -10, 45)
        return float((1 - mpmath.mpf(e)) * (1 - 1 / mpmath.mpf(lam)) * mpmath.npdf(z) / s)


def _gauss_kallus_reference(e: float, lam: float) -> float:
    """Root V of α'(V − μ) = E[(Y − V)₊] for Y ~ N(0, 1), in 60 digits."""
    with mpmath.workdps(60):
        lam_, e_ = mpmath.mpf(lam), mpmath.mpf(e)
        alpha = 1 / (lam_ * e_) + 1 - 1 / lam_
        a_prime = alpha / ((lam_ - 1 / lam_) * (1 / e_ - 1))
        return float(
            _mp_bisect(lambda v: a_prime * v - (mpmath.npdf(v) - v * mpmath.ncdf(-v)), 0, 45)
        )


@pytest.mark.parametrize("lam", [1.5, 10.0, 1e8, 1e16, 1e100, 1e300])
@pytest.mark.parametrize("e", [0.2, 0.5])
def test_gaussian_closed_forms_at_huge_lambda(lam, e) -> None:
    sharp = msm.sharp_bound_gaussian(0.0, 1.0, e, lam)
    kallus = msm.kallus_bound_gaussian(0.0, 1.0, e, lam)
    assert sharp == pytest.approx(_gauss_sharp_reference(e, lam), rel=1e-9)
    assert kallus == pytest.approx(_gauss_kallus_reference(e, lam), rel=1e-9)
    assert kallus >= sharp - 1e-12  # the ratio bound is never narrower than the sharp one
    # reflection: the lower bounds are the negated upper bounds of -Y
    assert msm.sharp_bound_gaussian(0.0, 1.0, e, lam, "lower") == pytest.approx(-sharp)


def test_mixture_closed_forms_finite_and_monotone_in_lambda() -> None:
    w, loc, scale = [0.3, 0.7], [0.0, 1.0], [1.0, 2.0]
    grid = np.logspace(0, 300, 31)
    for fn in (msm.sharp_bound_mixture, msm.kallus_bound_mixture):
        up = fn(w, loc, scale, 0.4, grid)
        assert np.isfinite(up).all() and (np.diff(up) > 0).all()
    assert (
        msm.kallus_bound_mixture(w, loc, scale, 0.4, grid)
        >= msm.sharp_bound_mixture(w, loc, scale, 0.4, grid) - 1e-9
    ).all()


def test_continuous_bounds_at_huge_lambda(dose) -> None:
    model, x = dose
    b = ContinuousMSMBounds(model, n_samples=30, random_state=0).dose_response(
        [0.5], [1.0, 1e8, 1e200], x[:10]
    )
    assert np.isfinite(b.lower).all() and np.isfinite(b.upper).all()
    assert (np.diff(b.upper[:, 0]) >= 0).all() and (np.diff(b.lower[:, 0]) <= 0).all()


# ------------------------------------------------------------------ defect 9: validation gaps
def test_sign_scores_refuses_negative_variance() -> None:
    with pytest.raises(ValueError, match="effect_var must be non-negative"):
        sign_scores(effect_mean=np.array([1.0, -1.0]), effect_var=np.array([0.5, -0.1]))
    with pytest.raises(ValueError, match="effect_var must be non-negative"):
        variance_scores(effect_var=np.array([-1.0]))
    np.testing.assert_allclose(
        sign_scores(effect_mean=np.array([1.0, -2.0]), effect_var=np.array([1.0, 4.0])),
        stats.norm.sf([1.0, 1.0]),
    )


def test_continuous_bounds_names_the_model_it_needs() -> None:
    x = RNG.standard_normal((30, 1))
    reg = UncertainRegressor(n_members=1, max_epochs=1, random_state=0).fit(x, x[:, 0])
    with pytest.raises(
        TypeError, match=r"needs a knowable.effects.DoseResponse.*UncertainRegressor"
    ):
        ContinuousMSMBounds(reg).dose_response([0.5], 2.0, x)
    with pytest.raises(TypeError, match="DoseResponse"):
        ContinuousMSMBounds(reg).capo(x, 0.5, 2.0)


# ------------------------------------------------------------------ defect 10: training data
def test_save_without_training_data(tarnet, dose, tmp_path) -> None:
    model, x = tarnet
    folder = tmp_path / "shared"
    model.save(folder, include_training_data=False)
    weights = load_file(str(folder / "weights.safetensors"))
    assert not any(k.startswith("fit.") for k in weights)
    assert x.astype(np.float32).tobytes()[:64] not in (folder / "weights.safetensors").read_bytes()
    loaded = TARNet.load(folder)
    np.testing.assert_array_equal(loaded.effect(x), model.effect(x))
    assert loaded.ate(x) == model.ate(x)
    with pytest.raises(ValueError, match=r"include_training_data=False.*pass X"):
        loaded.ate()
    loaded.save(tmp_path / "again")  # re-saving a data-free model works and stays data-free
    assert "fit.X" not in load_file(str(tmp_path / "again" / "weights.safetensors"))
    assert "fit.X" in load_file(str(_saved(model, tmp_path, "full") / "weights.safetensors"))

    dmodel, dx = dose
    dmodel.save(tmp_path / "dshared", include_training_data=False)
    dloaded = DoseResponse.load(tmp_path / "dshared")
    with pytest.raises(ValueError, match="include_training_data=False"):
        dloaded.dose_response([0.5])
    np.testing.assert_array_equal(
        dloaded.dose_response([0.5], dx).mean, dmodel.dose_response([0.5], dx).mean
    )
    with pytest.raises(ValueError, match="include_training_data=False"):
        ContinuousMSMBounds(dloaded).dose_response([0.5], 2.0)
    with pytest.raises(TypeError, match="include_training_data must be True or False"):
        model.save(tmp_path / "x", include_training_data="no")


# ------------------------------------------------------------------ found by the fuzz suite
def test_classifier_refuses_labels_beyond_exact_integers() -> None:
    from knowable.models import UncertainClassifier

    x = RNG.standard_normal((20, 2))
    y = np.tile([0.0, 1.0], 10)
    y[0] = 1e19  # int64 overflow: classes_ came out as garbage
    with pytest.raises(ValueError, match="class label of magnitude 1e\\+19"):
        UncertainClassifier(n_members=1, max_epochs=1).fit(x, y)


def test_tiny_alpha_gives_finite_intervals(tarnet) -> None:
    model, x = tarnet
    lo, hi = model.effect_interval(x[:3], 1e-300)
    mean, var = model.effect(x[:3]), model.effect_var(x[:3])
    z = (hi - mean) / np.sqrt(var)
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    np.testing.assert_allclose(z, stats.norm.isf(5e-301), rtol=1e-9)  # ~37.0, not inf


def test_causal_acquisition_refuses_class_probabilities() -> None:
    from knowable.acquire import select_causal
    from knowable.models import Categorical, Posterior

    probs = RNG.dirichlet(np.ones(2), size=(3, 4))
    with pytest.raises(ValueError, match="Categorical Posterior"):
        select_causal(Posterior(probs, Categorical()), [0, 1, 0, 1], 1, "mu-bald")


def test_probability_kernels_validate_their_input() -> None:
    from knowable.acquire import bald_from_draws, bald_from_probs, gumbel_top_k

    probs = RNG.dirichlet(np.ones(3), size=(2, 4))
    probs[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        bald_from_probs(probs)
    with pytest.raises(ValueError, match="probabilities"):
        bald_from_probs(RNG.random((2, 4, 3)) + 1.0)
    with pytest.raises(ValueError, match="noise_var must be positive"):
        bald_from_draws(RNG.standard_normal((3, 4, 1)), -1.0)
    with pytest.raises(TypeError):
        gumbel_top_k(np.array(["1.0", "2.0"]), 1)
    # -inf is a zero weight: never drawn
    picks = {int(gumbel_top_k([0.0, -np.inf, 0.0], 2, random_state=s)[1]) for s in range(20)}
    assert 1 not in picks


def test_lambda_true_is_not_one() -> None:
    with pytest.raises(TypeError, match="booleans"):
        msm.bound_from_samples(RNG.standard_normal((2, 10)), 0.5, True)


def test_mlp_models_refuse_image_shaped_X() -> None:
    with pytest.raises(ValueError, match="extractor='cnn' needs images"):
        UncertainRegressor(n_members=1, max_epochs=1).fit(
            RNG.standard_normal((10, 2, 1, 1)), RNG.standard_normal(10)
        )


def test_blearner_refuses_lambda_beyond_its_data() -> None:
    """At Λ = 1e8 the pseudo-outcomes divided by 1/(1+Λ) gave bounds of ±2e7 for outcomes of
    scale 3 (finite, silently wrong); it needs the top 1/(1+Λ) of y in every arm and fold."""
    x, t, y = _binary_data(40)
    bl = BLearner(
        cvar_model=LinearRegression(),
        outcome_model=LinearRegression(),
        final_model=LinearRegression(),
        cv=2,
        random_state=0,
    ).fit(x, t, y)
    with pytest.raises(ValueError, match=r"Λ = 1e\+08 is too large for the B-Learner.*use Λ <= "):
        bl.bounds(x[:3], 1e8)
    small = bl.bounds(x[:3], 2.0)
    assert np.isfinite(small.lower).all() and (small.lower <= small.upper).all()
