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


# ----------------------------------------------------------------- multi-label
GEN_ML = TopicTaskGenerator(
    vocab_size=80, n_topics=12, n_key_words=30, length=30, train_fraction=0.5, random_state=0
)


@pytest.mark.parametrize("k_shot", [1, 5])
def test_multi_label_episode_labels_match_planted_keywords(k_shot):
    task = GEN_ML.sample_task(5, k_shot, 4, multi_label=True, extra_label_p=0.4, random_state=3)
    assert task.multi_label
    assert task.support_y.shape == (5 * k_shot, 5) and task.query_y.shape == (20, 5)
    assert set(np.unique(task.support_y)) <= {0, 1}
    # anchors: k_shot positives per class at least, every document has >= 1 label
    assert np.all(task.support_y.sum(0) >= k_shot) and np.all(task.query_y.sum(1) >= 1)
    assert np.array_equal(
        task.support_y[np.arange(5 * k_shot), np.repeat(np.arange(5), k_shot)],
        np.ones(5 * k_shot, dtype=int),
    )
    for docs, ys in ((task.support_x, task.support_y), (task.query_x, task.query_y)):
        for doc, row in zip(docs, ys, strict=True):
            n_key = (doc < GEN_ML.n_key_words).sum()
            assert n_key == GEN_ML.n_planted * row.sum() + GEN_ML.n_distractor
            for j, t in enumerate(task.topics):
                if row[j]:
                    assert np.isin(doc, GEN_ML.topic_keywords[t]).sum() >= GEN_ML.n_planted


def test_multi_label_extra_probability_controls_label_count():
    none = GEN_ML.sample_task(4, 1, 10, multi_label=True, extra_label_p=0.0, random_state=0)
    assert np.all(none.query_y.sum(1) == 1)
    full = GEN_ML.sample_task(4, 1, 10, multi_label=True, extra_label_p=1.0, random_state=0)
    assert np.all(full.query_y == 1)


def test_single_label_stream_unchanged_by_multi_label_option():
    a = GEN.sample_task(4, 2, 3, split="test", random_state=5)
    b = GEN.sample_task(4, 2, 3, split="test", multi_label=False, random_state=5)
    assert np.array_equal(a.query_x, b.query_x) and not a.multi_label


def test_micro_f1_and_task_loss():
    from knowable.fewshot import micro_f1, task_loss

    t = np.array([[1, 0, 1], [0, 1, 0]])
    assert micro_f1(t, t) == 1.0
    # TP=2, FP=1, FN=1 -> 4 / 6
    assert micro_f1(t, np.array([[1, 1, 0], [0, 1, 0]])) == pytest.approx(4 / 6)
    assert micro_f1(np.zeros((2, 3)), np.zeros((2, 3))) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        micro_f1(t, t[:1])
    logits = torch.tensor([[2.0, -1.0, 0.5]])
    y = torch.tensor([[1, 0, 1]])
    expected = F.binary_cross_entropy_with_logits(logits, y.float())
    torch.testing.assert_close(task_loss(logits, y, True), expected)
    torch.testing.assert_close(
        task_loss(logits, torch.tensor([2]), False), F.cross_entropy(logits, torch.tensor([2]))
    )


@pytest.mark.parametrize("second_order", [False, True])
def test_multi_label_inner_loop_touches_only_head_and_outer_reaches_encoder(second_order):
    model = ATAML(embed_dim=8, hidden_size=8, attention_size=4).build(GEN_ML.vocab_size, 0)
    task = GEN_ML.sample_task(5, 1, 3, multi_label=True, extra_label_p=0.5, random_state=2)
    params = dict(model.named_parameters())
    fast = inner_adapt(
        model,
        params,
        torch.as_tensor(task.support_x),
        torch.as_tensor(task.support_y),
        adapt=("head.",),
        steps=2,
        lr=0.5,
        second_order=second_order,
        multi_label=True,
    )
    for name, p in params.items():
        assert (fast[name] is p) == name.startswith("encoder."), name
    logits = functional_call(model, fast, (torch.as_tensor(task.query_x),))
    F.binary_cross_entropy_with_logits(logits, torch.as_tensor(task.query_y).float()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.any(p.grad != 0), name


def test_multi_label_fit_and_evaluate_return_micro_f1():
    kw = dict(embed_dim=8, hidden_size=8, attention_size=4, n_iterations=3, meta_batch_size=2)
    est = ATAML(multi_label=True, extra_label_p=0.3, random_state=0, **kw).fit(GEN_ML)
    f1 = est.evaluate(GEN_ML, 4, random_state=0)
    assert f1.shape == (4,) and np.all((f1 >= 0) & (f1 <= 1))
    # the same number recomputed by hand for the first episode
    rng = np.random.default_rng(0)
    task = GEN_ML.sample_task(
        5, 1, 5, split="test", multi_label=True, extra_label_p=0.3, random_state=rng
    )
    params = {k: v.detach().requires_grad_(True) for k, v in est.model_.named_parameters()}
    fast = inner_adapt(
        est.model_,
        params,
        torch.as_tensor(task.support_x),
        torch.as_tensor(task.support_y),
        adapt=("head.",),
        steps=est.inner_steps,
        lr=est.inner_lr,
        multi_label=True,
    )
    with torch.no_grad():
        logits = functional_call(est.model_, fast, (torch.as_tensor(task.query_x),))
    pred = (logits > 0).numpy()
    pred[np.arange(len(pred)), logits.argmax(1).numpy()] = True  # at_least_one_label
    from knowable.fewshot import micro_f1

    assert f1[0] == pytest.approx(micro_f1(task.query_y, pred))
    est.set_params(at_least_one_label=False)
    assert est.evaluate(GEN_ML, 1, random_state=0)[0] == pytest.approx(
        micro_f1(task.query_y, (logits > 0).numpy())
    )


def test_multi_label_errors():
    with pytest.raises(TypeError, match="multi_label"):
        ATAML(multi_label="yes", n_iterations=1).fit(GEN_ML)
    with pytest.raises(ValueError, match="extra_label_p"):
        ATAML(multi_label=True, extra_label_p=1.5, n_iterations=1).fit(GEN_ML)
    with pytest.raises(ValueError, match="extra_label_p"):
        GEN_ML.sample_task(3, 1, 1, multi_label=True, extra_label_p=-0.1)
    with pytest.raises(ValueError, match="exceeds length"):
        GEN.sample_task(5, 1, 2, multi_label=True, extra_label_p=1.0, random_state=0)
