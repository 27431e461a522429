"""TARNet / DragonNet behaviour: numbers that pin the maths, errors that name the problem."""

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from knowable.cli import app
from knowable.effects import DragonNet, TARNet
from knowable.effects.metrics import sqrt_pehe

SMALL = dict(hidden_size=32, depth=2, arm_hidden_size=16, arm_depth=1, device="cpu")


@pytest.fixture(scope="module")
def toy():
    """tau(x) = 1 + x1 with confounded treatment; noise sd 0.1."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    t = (rng.random(400) < 1 / (1 + np.exp(-X[:, 0]))).astype(int)
    tau = 1 + X[:, 1]
    y = np.sin(X[:, 0]) + t * tau + 0.1 * rng.normal(size=400)
    return X, t, y, tau


@pytest.mark.parametrize(
    ("cls", "method"),
    [(TARNet, "ensemble"), (DragonNet, "ensemble"), (TARNet, "dropout"), (TARNet, "due")],
)
def test_learns_a_heterogeneous_effect(toy, cls, method):
    """√PEHE well below sd(tau) = 1 (measured 0.10-0.25)."""
    X, t, y, tau = toy
    est = cls(method, n_members=3, n_draws=30, max_epochs=60, random_state=0, **SMALL)
    est.fit(X, t, y)
    err = sqrt_pehe(est.effect(X), tau)
    assert err < 0.4, f"{cls.__name__}({method}) √PEHE {err:.3f}"
    assert abs(est.ate() - tau.mean()) < 0.2


def test_outcome_is_standardised_inside(toy):
    """An affine change of y scales every effect output by the same factor."""
    X, t, y, _ = toy
    kw = dict(n_members=2, max_epochs=5, random_state=3, **SMALL)  # DUE by default
    base = TARNet(**kw).fit(X, t, y)
    scaled = TARNet(**kw).fit(X, t, 50 + 1000 * y)
    np.testing.assert_allclose(
        scaled.effect(X[:20]), 1000 * base.effect(X[:20]), rtol=1e-4, atol=1e-3
    )
    np.testing.assert_allclose(
        scaled.effect_var(X[:20]), 1000**2 * base.effect_var(X[:20]), rtol=1e-3, atol=1e-3
    )


def test_due_effect_variance_uses_the_exact_cross_covariance(toy):
    """Var tau = Var mu1 + Var mu0 - 2 Cov from the GP's joint posterior; draws agree."""
    X, t, y, _ = toy
    kw = dict(gp_members=1, batch_size=64, n_draws=4000, max_epochs=20, random_state=0)
    est = TARNet("due", **kw, **SMALL).fit(X, t, y)
    post = est.predict_outcomes(X[:10])
    cov = post._covariance
    exact = cov[:, 0, 0] + cov[:, 1, 1] - 2 * cov[:, 0, 1]
    np.testing.assert_allclose(est.effect_var(X[:10]), exact, rtol=1e-8)
    assert np.all(cov[:, 0, 1] > 0), "the arms of one unit should covary under the GP"
    assert np.all(exact < cov[:, 0, 0] + cov[:, 1, 1]), "the covariance must reduce Var tau"
    sampled = est.effect_samples(X[:10]).var(0)
    np.testing.assert_allclose(sampled, exact, rtol=0.15)
    assert post.output_names == ["mu0", "mu1"]
    # the Posterior carries the exact mean, consistent with effect()
    mean = post.mean()
    np.testing.assert_allclose(mean[:, 1] - mean[:, 0], est.effect(X[:10]), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(post.draws.mean(0), mean, atol=0.1 * float(np.sqrt(cov.max())))


def test_due_ate_interval_is_exact_under_the_joint_posterior(toy):
    """The ATE's variance keeps the residual covariance between units (GPyTorch's dense joint)."""
    X, t, y, _ = toy
    est = TARNet("due", gp_members=1, n_draws=2000, max_epochs=20, random_state=0, **SMALL).fit(
        X, t, y
    )
    x = X[:60]
    module = est.members_[0]
    with torch.no_grad():
        blocks = module.blocks(
            module.extractor(est._standardise_X(est._validate_X(x, fitting=False)))
        )
        joint = module.gp(blocks.reshape(1, 120, -1), diag=False)
    d = np.tile([-1.0, 1.0], 60) / 60
    exact_var = d @ joint.covariance_matrix[0].double().numpy() @ d * est.y_scale_**2
    exact_mean = d @ joint.mean[0].double().numpy() * est.y_scale_
    lo, hi = est.ate_interval(x, alpha=0.05)
    z = 1.959963984540054
    assert (lo + hi) / 2 == pytest.approx(exact_mean, rel=1e-6)
    assert (lo + hi) / 2 == pytest.approx(est.ate(x), rel=1e-6)
    assert ((hi - lo) / (2 * z)) ** 2 == pytest.approx(exact_var, rel=2e-3)  # float32 model
    # the draws are functions, so their averages agree (up to Monte Carlo and random features)
    assert est.effect_samples(x).mean(1).var() == pytest.approx(exact_var, rel=0.15)
    for alpha in (0.0, 1.0):  # an interval of zero or full coverage is not an interval
        with pytest.raises(ValueError, match="alpha"):
            est.ate_interval(x, alpha=alpha)
        with pytest.raises(ValueError, match="alpha"):
            est.effect_interval(x, alpha=alpha)


def test_due_is_more_uncertain_far_from_the_data(toy):
    X, t, y, _ = toy
    est = TARNet("due", max_epochs=40, random_state=0, **SMALL).fit(X, t, y)
    far = np.full((20, 3), 6.0)
    assert est.effect_var(far).mean() > 3 * est.effect_var(X[:100]).mean()


def test_dragonnet_epsilon_is_trained(toy):
    X, t, y, _ = toy
    for method in ("ensemble", "due"):
        est = DragonNet(method, n_members=1, max_epochs=10, random_state=0, **SMALL).fit(X, t, y)
        module = est.members_[0]
        eps = module.head.epsilon if method == "ensemble" else module.epsilon
        assert isinstance(eps, torch.nn.Parameter) and eps.requires_grad
        assert float(eps.detach().abs()) > 0, f"{method}: epsilon stayed at its initial 0"


def test_tarnet_propensity_head_does_not_touch_the_representation(toy):
    X, t, _, _ = toy
    est = TARNet("ensemble", n_members=1, max_epochs=1, random_state=0, **SMALL)
    est.fit(X, t, t * 1.0)
    module = est.members_[0]
    out = module(torch.as_tensor(X[:50], dtype=torch.float32))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        out.logit, torch.as_tensor(t[:50], dtype=torch.float32)
    )
    module.zero_grad()
    loss.backward()
    assert all(p.grad is None or not p.grad.any() for p in module.extractor.parameters())
    assert module.head.propensity.linear.weight.grad.abs().sum() > 0


def test_non_binary_treatment_message(toy):
    X, t, y, _ = toy
    with pytest.raises(ValueError, match="binary"):
        TARNet(**SMALL).fit(X, t + 1, y)
    with pytest.raises(ValueError, match="both arms"):
        TARNet(**SMALL).fit(X, np.zeros_like(t), y)


def test_cli_fit_and_report(tmp_path, toy):
    X, t, y, tau = toy
    frame = pd.DataFrame(X[:120], columns=["a", "b", "c"]).assign(
        t=t[:120], y=y[:120], tau=tau[:120]
    )
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "effects.csv"
    runner = CliRunner()
    args = ["effects", "fit", "--data", str(data), "--treatment", "t", "--outcome", "y"]
    # 2 epochs: a DUE model's features have moved away from the inducing points and many
    # units tie at the prior's variance; ranking still defers exactly 10 %
    res = runner.invoke(app, [*args, "--truth", "tau", "--out", str(out), "--max-epochs", "2"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert list(table.columns[:9]) == [
        "row",
        "treatment",
        "effect",
        "lower",
        "upper",
        "effect_std",
        "sign_flip_prob",
        "propensity",
        "defer",
    ]
    assert len(table) == 120 and table["defer"].sum() == 12
    fig = tmp_path / "fig.png"
    res = runner.invoke(app, ["effects", "report", "--effects", str(out), "--out", str(fig)])
    assert res.exit_code == 0, res.output
    assert fig.stat().st_size > 0
    bad = runner.invoke(
        app, ["effects", "fit", "--data", str(data), "--treatment", "a", "--outcome", "y"]
    )
    assert bad.exit_code == 1 and "binary" in bad.stderr and "Traceback" not in bad.output
    missing = runner.invoke(app, [*args[:5], "nope", "--outcome", "y"])
    assert missing.exit_code == 1 and "nope" in missing.stderr
    one = runner.invoke(app, [*args, "--out", str(out), "--alpha", "1"])
    assert one.exit_code == 1 and "--alpha" in one.stderr


def test_validation_data_is_used_for_early_stopping_only(toy):
    """Every training unit is fitted; the kept epoch minimises the loss on the given units."""
    X, t, y, _ = toy
    val = (X[300:], t[300:], y[300:])
    est = TARNet("ensemble", n_members=1, max_epochs=8, random_state=0, **SMALL)
    est.fit(X[:300], t[:300], y[:300], validation_data=val)
    assert est._n_fit == 300
    module = est.members_[0]
    batch = {"x": est._standardise_X(np.asarray(val[0], dtype=np.float32))}
    batch.update(est._targets(val[1].astype(float), val[2]))
    with torch.no_grad():
        kept = float(est._loss(module, batch))
    assert kept == pytest.approx(min(est.history_[0].valid_loss), rel=1e-4)
    again = TARNet("ensemble", n_members=1, max_epochs=8, random_state=0, **SMALL)
    again.fit(X[:300], t[:300], y[:300], validation_data=val)
    np.testing.assert_array_equal(est.effect(X[:20]), again.effect(X[:20]))
    column = TARNet("ensemble", n_members=1, max_epochs=8, random_state=0, **SMALL)
    column.fit(X[:300], t[:300], y[:300], validation_data=(val[0], val[1], val[2][:, None]))
    np.testing.assert_array_equal(est.effect(X[:20]), column.effect(X[:20]))


@pytest.mark.parametrize(
    ("validation", "error", "match"),
    [
        (lambda X, t, y: (X, t), TypeError, "tuple"),
        (lambda X, t, y: (X[:, :2], t, y), ValueError, "columns"),
        (lambda X, t, y: (X, t + 1, y), ValueError, "t_val"),
        (lambda X, t, y: (X, t, np.where(np.arange(len(y)) == 0, np.nan, y)), ValueError, "y_val"),
        (lambda X, t, y: (X, t[:-1], y), ValueError, "Inconsistent numbers of rows"),
        (lambda X, t, y: (X, t, np.stack([y, y], 1)), ValueError, "y_val must be one outcome"),
    ],
)
def test_bad_validation_data(toy, validation, error, match):
    X, t, y, _ = toy
    with pytest.raises(error, match=match):
        TARNet(max_epochs=1, **SMALL).fit(X, t, y, validation_data=validation(X, t, y))


def test_due_with_more_inducing_points_than_it_places_saves_and_loads(tmp_path) -> None:
    # the inducing points start from k-means on at most 1000 units, so asking for 1050
    # places 1000; the saved config must say 1000 or loading cannot rebuild the GP
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1100, 2))
    t = (rng.random(1100) < 0.5).astype(float)
    y = x[:, 0] + t + 0.1 * rng.normal(size=1100)
    model = TARNet(
        "due", n_inducing=1050, hidden_size=8, depth=1, max_epochs=1, batch_size=512, random_state=0
    ).fit(x, t, y)
    assert model.n_inducing_ == 1000
    model.save(tmp_path / "m")
    loaded = TARNet.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.effect(x[:50]), model.effect(x[:50]))


def test_dataframe_columns_are_checked_by_name(toy, tmp_path) -> None:
    X, t, y, _ = toy
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    est = TARNet("ensemble", n_members=1, max_epochs=1, random_state=0, **SMALL).fit(frame, t, y)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    np.testing.assert_array_equal(est.effect(frame[:5]), est.effect(X[:5]))
    with pytest.raises(ValueError, match=r"fitted on \['a', 'b', 'c'\]"):
        est.effect(frame[["c", "b", "a"]])
    est.save(tmp_path / "m")
    loaded = TARNet.load(tmp_path / "m")
    with pytest.raises(ValueError, match="feature_names_in_"):
        loaded.propensity(frame[["b", "a", "c"]])
    assert not hasattr(
        TARNet("ensemble", n_members=1, max_epochs=1, **SMALL).fit(X, t, y), "feature_names_in_"
    )


@pytest.mark.parametrize("cls", [TARNet, DragonNet])
def test_lengthscale_factor_scales_the_initial_lengthscale_and_t_scale(toy, cls, monkeypatch):
    """The factor multiplies the measured length-scale, and t_scale follows it exactly."""
    import knowable.effects._base as base_module

    seen: list[float] = []
    real_gp = base_module.VariationalGP

    def recording_gp(centres, n_latent, kernel, lengthscale):
        seen.append(lengthscale)
        return real_gp(centres, n_latent, kernel, lengthscale)

    monkeypatch.setattr(base_module, "VariationalGP", recording_gp)
    X = torch.as_tensor(toy[0], dtype=torch.float32)
    built = {}
    for factor in (1.0, 4.0, 0.5):  # powers of two: the scaled floats are exact
        est = cls("due", lengthscale_factor=factor, **SMALL)
        est.resolved_params_ = est._resolved()
        est.input_shape_ = (X.shape[1],)
        built[factor] = (est._build_gp_member(torch.Generator().manual_seed(0), X), seen[-1])
    module_1, ell_1 = built[1.0]
    assert ell_1 > 0.01  # measured on the features, not the 1.0 placeholder
    for factor in (4.0, 0.5):
        module, ell = built[factor]
        assert ell == factor * ell_1
        assert float(module.t_scale) == factor * float(module_1.t_scale)
        assert float(module.t_scale) == pytest.approx(ell, rel=1e-6)
        got = float(module.gp.covar_module.base_kernel.lengthscale.detach().reshape(-1)[0])
        assert got == pytest.approx(ell, rel=1e-5)


@pytest.mark.parametrize("factor", [0.0, -1.0, float("nan")])
def test_lengthscale_factor_must_be_positive(toy, factor):
    X, t, y, _ = toy
    with pytest.raises(ValueError, match="lengthscale_factor"):
        TARNet("due", lengthscale_factor=factor, max_epochs=1, **SMALL).fit(X, t, y)


def test_model_saved_before_lengthscale_factor_loads(tmp_path, toy) -> None:
    """A folder without the parameters (older versions) loads as factor 1 and one GP member."""
    import hashlib
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    from knowable._persistence import CONFIG_DIGEST_KEY

    X, t, y, _ = toy
    est = TARNet("due", gp_members=1, max_epochs=2, random_state=0, **SMALL).fit(X, t, y)
    folder = est.save(tmp_path / "m")
    config = json.loads((folder / "config.json").read_text())
    config["params"].pop("lengthscale_factor")
    config["params"].pop("gp_members")  # older still: one deep-kernel model, whatever n_members
    config["params"]["n_members"] = 5
    config["params"]["batch_size"] = 64  # saved as numbers then
    config["fitted"]["resolved_params"].pop("lengthscale_factor")
    text = json.dumps(config, indent=2, sort_keys=True)
    weights = folder / "weights.safetensors"
    with safe_open(str(weights), framework="pt") as f:
        metadata = dict(f.metadata())
    metadata[CONFIG_DIGEST_KEY] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    save_file(load_file(str(weights)), str(weights), metadata=metadata)
    (folder / "config.json").write_text(text, encoding="utf-8")
    loaded = TARNet.load(folder)
    assert loaded.lengthscale_factor == 1.0
    np.testing.assert_array_equal(loaded.effect(X[:5]), est.effect(X[:5]))


def _one_member(est, k):
    """A copy of a multi-member DUE estimator that holds member k only."""
    import copy

    single = copy.deepcopy(est)
    single.members_ = [est.members_[k]]
    single.resolved_params_ = {**est.resolved_params_, "n_members": 1}
    return single


def test_due_gp_members_are_an_equal_mixture(toy):
    """Moments of gp_members > 1 are the law-of-total-variance mixture of the members' own."""
    X, t, y, _ = toy
    est = TARNet("due", gp_members=3, n_draws=90, max_epochs=5, random_state=0, **SMALL)
    est.fit(X, t, y)
    assert len(est.members_) == 3 and len(est.history_) == 3
    x = X[:20]
    moments = [_one_member(est, k)._exact_effect_moments(x) for k in range(3)]
    means = np.stack([m for m, _ in moments])
    assert np.ptp(means, axis=0).max() > 0, "the members start from different seeds"
    np.testing.assert_allclose(est.effect(x), means.mean(0), rtol=1e-10)
    mixture_var = np.mean([v for _, v in moments], axis=0) + means.var(0)
    np.testing.assert_allclose(est.effect_var(x), mixture_var, rtol=1e-10)
    ates = [_one_member(est, k)._exact_ate_moments(x) for k in range(3)]
    centre = np.mean([c for c, _ in ates])
    sd = np.sqrt(np.mean([v for _, v in ates]) + np.var([c for c, _ in ates]))
    lo, hi = est.ate_interval(x)
    assert (lo + hi) / 2 == pytest.approx(centre, rel=1e-10)
    assert (hi - lo) / 2 == pytest.approx(1.959963984540054 * sd, rel=1e-10)
    # 90 draws shared 30/30/30; each member's draws come from its own GP
    post = est.predict_outcomes(x)
    assert post.draws.shape == (90, 20, 2)
    assert post.observation.scale.shape == (90, 1, 2)
    np.testing.assert_allclose(
        post.cov()[:, 0, 0] + post.cov()[:, 1, 1] - 2 * post.cov()[:, 0, 1],
        est.effect_var(x),
        rtol=1e-8,
    )
    assert est.effect_samples(x).shape == (90, 20)


def test_due_gp_members_one_is_the_single_model(toy, tmp_path):
    """Member 0 is the same network whatever the number of members (the seeds come in order)."""
    X, t, y, _ = toy
    one = TARNet("due", gp_members=1, max_epochs=3, random_state=0, **SMALL).fit(X, t, y)
    assert len(one.members_) == 1
    three = TARNet("due", gp_members=3, max_epochs=3, random_state=0, **SMALL).fit(X, t, y)
    np.testing.assert_array_equal(one.effect(X[:5]), _one_member(three, 0).effect(X[:5]))
    # ignored by the network methods, like n_members by DUE
    ens = TARNet("ensemble", n_members=2, gp_members=3, max_epochs=2, random_state=0, **SMALL)
    assert len(ens.fit(X, t, y).members_) == 2
    # saved and loaded with every member
    three = TARNet("due", gp_members=3, max_epochs=2, random_state=0, **SMALL).fit(X, t, y)
    loaded = TARNet.load(three.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.effect_samples(X[:5]), three.effect_samples(X[:5]))
    assert loaded.ate_interval(X[:50]) == three.ate_interval(X[:50])


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_due_gp_members_rejects_bad_values(toy, bad):
    X, t, y, _ = toy
    with pytest.raises((ValueError, TypeError), match="gp_members"):
        TARNet("due", gp_members=bad, max_epochs=1, **SMALL).fit(X[:50], t[:50], y[:50])


def test_due_gp_members_need_a_draw_each(toy):
    X, t, y, _ = toy
    with pytest.raises(ValueError, match="n_draws=2 is fewer than gp_members=3"):
        TARNet("due", gp_members=3, n_draws=2, max_epochs=1, **SMALL).fit(X[:50], t[:50], y[:50])


def test_due_gp_members_train_in_parallel_workers_to_the_same_fit(toy, tmp_path):
    """fit(workers=2) trains the DUE models as parallel jobs, with the same result."""
    X, t, y, _ = toy
    kw = dict(gp_members=2, max_epochs=2, random_state=0, **SMALL)
    serial = TARNet("due", **kw).fit(X, t, y)
    parallel = TARNet("due", **kw).fit(X, t, y, workers=2)
    np.testing.assert_array_equal(parallel.effect_samples(X[:5]), serial.effect_samples(X[:5]))
    assert parallel.n_inducing_ == serial.n_inducing_
    loaded = TARNet.load(parallel.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.effect(X[:5]), serial.effect(X[:5]))
