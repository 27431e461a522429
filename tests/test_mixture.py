"""AMM / SAMM and the clustering scores: loss signs, Hungarian matching, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from knowable.exceptions import NotFittedError
from knowable.mixture import (
    AdversarialMixture,
    cluster_accuracy,
    cluster_nmi,
    discriminator_loss,
    generator_loss,
    gumbel_softmax_st,
    match_clusters,
)


def _blobs(n: int = 60, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[4.0] * d, [-4.0] * d, [4.0, -4.0] * (d // 2)])
    return centres[y] + rng.normal(size=(n, d)), y


# ----------------------------------------------------------------- loss signs
def test_discriminator_loss_small_when_discriminator_is_right():
    right = discriminator_loss(torch.tensor([8.0, 9.0]), torch.tensor([-8.0, -9.0]))
    wrong = discriminator_loss(torch.tensor([-8.0, -9.0]), torch.tensor([8.0, 9.0]))
    assert right.item() < 1e-3
    assert wrong.item() > 15.0


def test_generator_loss_small_when_discriminator_is_fooled():
    fooled = generator_loss(torch.tensor([-8.0]), torch.tensor([8.0]))
    caught = generator_loss(torch.tensor([8.0]), torch.tensor([-8.0]))
    assert fooled.item() < 1e-3
    assert caught.item() > 15.0


def test_losses_at_chance_equal_two_log_two():
    zero = torch.zeros(5)
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * np.log(2))
    assert generator_loss(zero, zero).item() == pytest.approx(2 * np.log(2))


def test_loss_gradients_point_the_right_way():
    lq = torch.zeros(3, requires_grad=True)
    lp = torch.zeros(3, requires_grad=True)
    discriminator_loss(lq, lp).backward()
    # descending L_D raises D on inference tuples and lowers it on generated ones
    assert torch.all(lq.grad < 0) and torch.all(lp.grad > 0)
    lq.grad = None
    lp.grad = None
    generator_loss(lq, lp).backward()
    assert torch.all(lq.grad > 0) and torch.all(lp.grad < 0)


@pytest.mark.parametrize("fused", [False, True])
def test_class_posterior_is_trained_through_the_joint_discriminator(fused):
    # AMM without labels: q(y | x) gets its only training signal from D(x, y^, z^)
    # (via the straight-through sample, and via q(z | x, y^) which sees y^)
    from knowable._random import torch_generator
    from knowable.mixture._amm import _AMMNets

    gen = torch_generator(0)
    nets = _AMMNets(6, 3, 2, 16, 1, gen, fused)
    x = torch.randn(8, 6, generator=gen)
    y_hat = gumbel_softmax_st(nets.classifier(x), 0.5, gen)
    mu, logstd = nets.encode_z(x, y_hat)
    z_hat = mu + logstd.exp() * torch.randn(mu.shape, generator=gen)
    x_gen, y_gen, z_gen = nets.sample_prior(8, gen)
    generator_loss(nets.disc(x, y_hat, z_hat), nets.disc(x_gen, y_gen, z_gen)).backward()
    grads = [p.grad for p in nets.classifier.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    # the y columns of the discriminator's first layer receive gradient too
    if fused:
        first, cols = nets.discriminator["yz"][0].weight.grad, slice(0, 3)
    else:
        first, cols = nets.discriminator[0].weight.grad, slice(6, 9)
    assert first is not None and float(first[:, cols].abs().sum()) > 0


def test_fused_discriminator_fits_and_refuses_unknown_names():
    X, _ = _blobs()
    amm = AdversarialMixture(3, n_epochs=2, discriminator="fused", random_state=0).fit(X)
    assert amm.predict_proba(X).shape == (len(X), 3)
    assert set(amm.nets_.discriminator) == {"x", "yz", "joint"}
    with pytest.raises(ValueError, match="discriminator must be"):
        AdversarialMixture(3, n_epochs=1, discriminator="branches").fit(X)


# -------------------------------------------------------------- gumbel-softmax
def test_gumbel_softmax_is_one_hot_with_gradients():
    logits = torch.randn(7, 4, generator=torch.Generator().manual_seed(1), requires_grad=True)
    s = gumbel_softmax_st(logits, 0.5, torch.Generator().manual_seed(2))
    assert s.shape == (7, 4)
    assert torch.all((s == 0) | (s == 1))
    assert torch.all(s.sum(1) == 1)
    (s * torch.arange(4.0)).sum().backward()
    assert logits.grad is not None and torch.any(logits.grad != 0)


def test_gumbel_softmax_follows_the_probabilities():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).expand(20000, 3)
    s = gumbel_softmax_st(logits, 1.0, torch.Generator().manual_seed(0))
    freq = s.mean(0).numpy()
    # standard error ~ 0.0032; 5 s.e. tolerance
    np.testing.assert_allclose(freq, [0.7, 0.2, 0.1], atol=0.016)


# ---------------------------------------------------------- hungarian matching
def test_known_permutation_has_accuracy_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, size=200)
    perm = rng.permutation(6)
    pred = perm[y]
    assert cluster_accuracy(y, pred) == 1.0
    mapping = match_clusters(y, pred)
    assert all(mapping[int(perm[c])] == c for c in range(6))
    assert cluster_nmi(y, pred) == pytest.approx(1.0)


def test_accuracy_against_brute_force():
    from itertools import permutations

    rng = np.random.default_rng(3)
    for _ in range(5):
        y = rng.integers(0, 4, size=30)
        pred = rng.integers(0, 4, size=30)
        brute = max(np.mean(np.array(p)[pred] == y) for p in permutations(range(4)))
        assert cluster_accuracy(y, pred) == pytest.approx(brute)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=2, max_size=40), st.permutations(range(5)))
def test_accuracy_is_invariant_to_relabelling(labels, perm):
    y = np.array(labels)
    pred = np.array(labels[::-1])
    relabelled = np.array(perm)[pred]
    assert cluster_accuracy(y, pred) == pytest.approx(cluster_accuracy(y, relabelled))


def test_more_clusters_than_classes():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 2, 3])
    assert cluster_accuracy(y, pred) == 0.5


def test_metric_errors():
    with pytest.raises(ValueError, match="rows"):
        cluster_accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        cluster_accuracy([0, -1], [0, 1])
    with pytest.raises(ValueError, match="integer"):
        cluster_nmi([0.5, 1.0], [0, 1])


# ------------------------------------------------------------------ the model
def test_shapes_and_probabilities():
    X, _ = _blobs()
    m = AdversarialMixture(3, latent_dim=2, hidden_size=16, n_epochs=2, random_state=0).fit(X)
    proba = m.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert m.predict(X).shape == (60,)
    assert set(np.unique(m.predict(X))) <= {0, 1, 2}
    assert m.transform(X).shape == (60, 2)
    assert m.loss_history_.shape == (2, 2)
    assert np.all(np.isfinite(m.loss_history_))
    xs, ys = m.sample(5, cluster=1, random_state=0)
    assert xs.shape == (5, 4) and np.all(ys == 1)


def test_same_seed_same_numbers_and_global_rng_untouched():
    X, _ = _blobs()
    kw = dict(latent_dim=2, hidden_size=16, n_epochs=2)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = AdversarialMixture(3, random_state=5, **kw).fit(X).predict_proba(X)
    after = torch.rand(1)
    b = AdversarialMixture(3, random_state=5, **kw).fit(X).predict_proba(X)
    c = AdversarialMixture(3, random_state=6, **kw).fit(X).predict_proba(X)
    assert torch.equal(before, after)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_semi_supervised_labels_are_learned():
    X, y = _blobs(seed=1)
    partial = np.where(np.arange(60) % 2 == 0, y, -1)
    m = AdversarialMixture(
        3,
        latent_dim=2,
        hidden_size=16,
        n_epochs=30,
        batch_size=16,
        learning_rate=5e-3,
        semi_supervised_weight=5.0,
        random_state=0,
    ).fit(X, partial)
    # with half the labels given, the classifier must put the labelled rows in their class
    # (supervised cross-entropy on three well-separated blobs; identity labels, no matching)
    labelled = partial >= 0
    assert np.mean(m.predict(X)[labelled] == y[labelled]) == 1.0


def test_sklearn_params_and_not_fitted():
    m = AdversarialMixture(4, n_epochs=3)
    assert m.get_params()["n_clusters"] == 4
    m.set_params(n_clusters=5)
    assert m.n_clusters == 5
    with pytest.raises(NotFittedError):
        m.predict(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("kwargs", "X", "y", "exc", "match"),
    [
        ({"n_clusters": 1}, np.zeros((5, 2)), None, ValueError, "n_clusters"),
        ({"n_clusters": 2.5}, np.zeros((5, 2)), None, TypeError, "n_clusters"),
        ({"learning_rate": 0.0}, np.zeros((5, 2)), None, ValueError, "learning_rate"),
        ({}, np.zeros(5), None, ValueError, "X"),
        ({}, np.array([[0.0, np.nan]] * 3), None, ValueError, "X"),
        ({"n_clusters": 2}, np.zeros((4, 2)), [0, 1, 2, -1], ValueError, "y must hold"),
        ({"n_clusters": 2}, np.zeros((4, 2)), [0, 1], ValueError, "rows"),
    ],
)
def test_bad_inputs(kwargs, X, y, exc, match):
    with pytest.raises(exc, match=match):
        AdversarialMixture(n_epochs=1, **kwargs).fit(X, y)


def test_wrong_feature_count_at_predict():
    X, _ = _blobs()
    m = AdversarialMixture(3, latent_dim=2, hidden_size=8, n_epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        m.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="cluster"):
        m.sample(2, cluster=3)


def test_linear_lr_schedule_starts_at_the_rate_and_then_decays():
    X, _ = _blobs()
    kw = dict(latent_dim=2, hidden_size=8, batch_size=len(X), random_state=0)  # one step / epoch

    def fit(schedule, epochs):
        m = AdversarialMixture(3, n_epochs=epochs, lr_schedule=schedule, **kw).fit(X)
        return m.predict_proba(X)

    # the first step runs at the full rate: one step is the same either way
    np.testing.assert_array_equal(fit("linear", 1), fit("constant", 1))
    # later steps run at lower rates, so the fits part
    assert not np.allclose(fit("linear", 3), fit("constant", 3))
    with pytest.raises(ValueError, match="lr_schedule"):
        AdversarialMixture(3, n_epochs=1, lr_schedule="cosine").fit(X)
