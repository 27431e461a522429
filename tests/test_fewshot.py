"""ATAML / MAML: which parameters the inner loop touches, gradient flow, attention, task generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from knowable.exceptions import NotFittedError
from knowable.fewshot import ATAML, AttentiveTextClassifier, TopicTaskGenerator, inner_adapt

GEN = TopicTaskGenerator(
    vocab_size=60, n_topics=12, n_key_words=20, length=12, train_fraction=0.5, random_state=0
)


def _net(seed: int = 0) -> AttentiveTextClassifier:
    return ATAML(embed_dim=8, hidden_size=8, attention_size=4).build(GEN.vocab_size, seed)


def _episode(k_shot: int = 1):
    task = GEN.sample_task(5, k_shot, 3, random_state=1)
    return task, torch.as_tensor(task.support_x), torch.as_tensor(task.support_y)


@pytest.mark.parametrize("second_order", [False, True])
def test_ataml_inner_loop_updates_only_attention_and_classifier(second_order):
    model = _net()
    params = dict(model.named_parameters())
    _, xs, ys = _episode()
    fast = inner_adapt(
        model, params, xs, ys, adapt=("head.",), steps=2, lr=0.5, second_order=second_order
    )
    for name, p in params.items():
        if name.startswith("encoder."):
            assert fast[name] is p  # untouched, the very same tensor
        else:
            assert not torch.equal(fast[name], p), name
    # the module's own parameters are never modified in place
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), params.values(), strict=True))


def test_maml_inner_loop_updates_every_parameter():
    model = _net()
    params = dict(model.named_parameters())
    _, xs, ys = _episode()
    fast = inner_adapt(model, params, xs, ys, adapt=("",), steps=1, lr=0.5)
    changed = {n for n in params if not torch.equal(fast[n], params[n])}
    assert "encoder.conv.weight" in changed and "head.classifier.weight" in changed


@pytest.mark.parametrize("second_order", [False, True])
def test_outer_gradient_reaches_the_encoder(second_order):
    model = _net()
    task, xs, ys = _episode()
    fast = inner_adapt(
        model,
        dict(model.named_parameters()),
        xs,
        ys,
        adapt=("head.",),
        steps=2,
        lr=0.5,
        second_order=second_order,
    )
    logits = functional_call(model, fast, (torch.as_tensor(task.query_x),))
    F.cross_entropy(logits, torch.as_tensor(task.query_y)).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.any(p.grad != 0), name


def test_second_order_differs_from_first_order():
    task, xs, ys = _episode()
    grads = []
    for second in (False, True):
        model = _net()
        fast = inner_adapt(
            model,
            dict(model.named_parameters()),
            xs,
            ys,
            adapt=("head.",),
            steps=2,
            lr=0.5,
            second_order=second,
        )
        logits = functional_call(model, fast, (torch.as_tensor(task.query_x),))
        F.cross_entropy(logits, torch.as_tensor(task.query_y)).backward()
        grads.append(model.head["att_w"].weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])


def test_first_order_outer_gradient_is_query_gradient_at_adapted_point():
    # first order: d L_Q(phi') / d phi = d L_Q / d phi' (the inner gradient is a constant)
    model = _net()
    task, xs, ys = _episode()
    fast = inner_adapt(
        model, dict(model.named_parameters()), xs, ys, adapt=("head.",), steps=1, lr=0.5
    )
    q = torch.as_tensor(task.query_x)
    loss = F.cross_entropy(functional_call(model, fast, (q,)), torch.as_tensor(task.query_y))
    loss.backward()
    detached = {k: v.detach().clone().requires_grad_(True) for k, v in fast.items()}
    loss2 = F.cross_entropy(functional_call(model, detached, (q,)), torch.as_tensor(task.query_y))
    loss2.backward()
    torch.testing.assert_close(
        model.head["classifier"].weight.grad, detached["head.classifier.weight"].grad
    )


def test_attention_weights_sum_to_one():
    model = _net()
    x = torch.as_tensor(GEN.documents(np.arange(6), np.random.default_rng(0)))
    a = model.attention(x)
    assert a.shape == (6, GEN.length)
    assert torch.all(a >= 0)
    torch.testing.assert_close(a.sum(1), torch.ones(6))


def test_task_generator_shapes_and_planted_keywords():
    task = GEN.sample_task(4, 2, 3, split="test", random_state=0)
    assert task.support_x.shape == (8, GEN.length) and task.query_x.shape == (12, GEN.length)
    assert np.array_equal(task.support_y, np.repeat(np.arange(4), 2))
    assert set(task.topics) <= set(GEN.test_topics)
    assert not set(GEN.train_topics) & set(GEN.test_topics)
    for doc, label in zip(task.support_x, task.support_y, strict=True):
        own = GEN.topic_keywords[task.topics[label]]
        assert np.isin(doc, own).sum() >= GEN.n_planted
        assert (doc < GEN.n_key_words).sum() == GEN.n_planted + GEN.n_distractor
    again = GEN.sample_task(4, 2, 3, split="test", random_state=0)
    assert np.array_equal(task.query_x, again.query_x)


def test_fit_is_deterministic_and_evaluate_shapes():
    kw = dict(embed_dim=8, hidden_size=8, attention_size=4, n_iterations=3, meta_batch_size=2)
    a = ATAML(random_state=0, **kw).fit(GEN)
    b = ATAML(random_state=0, **kw).fit(GEN)
    np.testing.assert_array_equal(a.loss_history_, b.loss_history_)
    acc = a.evaluate(GEN, 4, random_state=0)
    assert acc.shape == (4,) and np.all((acc >= 0) & (acc <= 1))
    np.testing.assert_array_equal(acc, b.evaluate(GEN, 4, random_state=0))


def test_errors():
    with pytest.raises(NotFittedError):
        ATAML().evaluate(GEN, 2)
    with pytest.raises(ValueError, match="method"):
        ATAML("reptile", n_iterations=1).fit(GEN)
    with pytest.raises(TypeError, match="TopicTaskGenerator"):
        ATAML(n_iterations=1).fit(np.zeros(3))
    with pytest.raises(ValueError, match="n_way"):
        GEN.sample_task(20, 1, 1)
    with pytest.raises(ValueError, match="vocab_size"):
        TopicTaskGenerator(vocab_size=10, n_key_words=20)


def test_pretrained_encoder_baseline_copies_encoder_and_resets_head():
    from knowable.fewshot import pretrained_encoder_model

    est = ATAML(embed_dim=8, hidden_size=8, attention_size=4)
    model = pretrained_encoder_model(est, GEN, n_steps=5, batch_size=8, random_state=0)
    fresh = est.build(GEN.vocab_size, 0)
    assert model.head["classifier"].out_features == est.n_way
    # pretraining moved the encoder away from any fresh initialisation
    assert not torch.equal(model.encoder["conv"].weight, fresh.encoder["conv"].weight)
    acc = est.evaluate(GEN, 2, model=model, random_state=0)
    assert acc.shape == (2,)
