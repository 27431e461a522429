"""ATAML: task-agnostic encoder (outer loop only) + attentive head adapted in the inner loop; MAML.

Jiang, Havaei, Chartrand, Chouaib, Vincent, Jesson, Chapados & Matwin, "On the
Importance of Attention in Meta-Learning for Few-Shot Text Classification",
arXiv 1806.00852. The method notes give the algorithm from secondary sources and
recollection (not checked against the paper)::

    h_t = Enc_θ(words);  a_t = softmax_t(v_φᵀ tanh(W_φ h_t));  c = Σ_t a_t h_t;  logits = W_c c
    inner:  φ_i' = φ − α ∇_φ L_{S_i}(θ, φ)          (θ frozen)
    outer:  (θ, φ) ← (θ, φ) − β ∇_{θ,φ} Σ_i L_{Q_i}(θ, φ_i')

Our choices: the encoder is a word embedding followed by one 1-D convolution
(kernel 3) with ReLU (the notes say "TCN/CNN-style", unverified); the classifier
head is re-initialised per episode from the meta-learned ``W_c`` (no class
permutation trick); the inner gradient is taken with ``torch.autograd.grad`` on
parameters bound by :func:`torch.func.functional_call`, ``create_graph`` only
for the second-order variant (first-order: the inner gradient is a constant in
the outer step, so ∂φ'/∂φ = I). MAML is the same network with every parameter
adapted in the inner loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch import nn
from torch.func import functional_call

from .._random import check_random_state, spawn_seeds, torch_generator
from .._validation import check_in_options, check_is_fitted, check_positive_int, check_real
from ._tasks import TopicTaskGenerator

__all__ = [
    "ATAML",
    "AttentiveTextClassifier",
    "inner_adapt",
    "micro_f1",
    "pretrained_encoder_model",
    "task_loss",
]

METHODS = ("ataml", "maml")


class AttentiveTextClassifier(nn.Module):
    """Embedding + 1-D CNN encoder (θ), additive attention pooling and a linear classifier (φ).

    Parameters
    ----------
    vocab_size : int
        Vocabulary size.
    n_way : int
        Output classes.
    embed_dim : int
        Word-embedding width.
    hidden_size : int
        Encoder channels ``H``.
    attention_size : int
        Width of the attention MLP.
    generator : torch.Generator
        Source of the initialisation.
    """

    def __init__(
        self,
        vocab_size: int,
        n_way: int,
        embed_dim: int,
        hidden_size: int,
        attention_size: int,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict(
            {
                "embed": nn.Embedding(vocab_size, embed_dim),
                "conv": nn.Conv1d(embed_dim, hidden_size, 3, padding=1),
            }
        )
        self.head = nn.ModuleDict(
            {
                "att_w": nn.Linear(hidden_size, attention_size),
                "att_v": nn.Linear(attention_size, 1, bias=False),
                "classifier": nn.Linear(hidden_size, n_way),
            }
        )
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name == "encoder.embed.weight":
                    p.normal_(0.0, 1.0, generator=generator)
                elif p.dim() > 1:  # PyTorch's default bound 1/sqrt(fan_in)
                    bound = (p[0].numel()) ** -0.5
                    p.uniform_(-bound, bound, generator=generator)
                else:
                    p.uniform_(-0.1, 0.1, generator=generator)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, L)`` -> hidden states ``(B, L, H)``."""
        e = self.encoder["embed"](tokens).transpose(1, 2)
        return F.relu(self.encoder["conv"](e)).transpose(1, 2)

    def attention(self, tokens: torch.Tensor) -> torch.Tensor:
        """Attention weights ``a`` of shape ``(B, L)``; every row sums to 1."""
        return self._attend(self.encode(tokens))

    def _attend(self, h: torch.Tensor) -> torch.Tensor:
        score = self.head["att_v"](torch.tanh(self.head["att_w"](h))).squeeze(-1)
        return torch.softmax(score, dim=-1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_way)`` for token ids ``(B, L)``."""
        h = self.encode(tokens)
        a = self._attend(h)
        return self.head["classifier"]((a.unsqueeze(-1) * h).sum(1))


def task_loss(logits: torch.Tensor, labels: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Softmax cross-entropy, or (``multi_label``) mean per-class sigmoid binary cross-entropy.

    Parameters
    ----------
    logits : torch.Tensor of shape (n, n_way)
        Network outputs.
    labels : torch.Tensor of int, shape (n,) or (n, n_way)
        Class indices, or a 0/1 indicator matrix when ``multi_label``.
    multi_label : bool
        Which loss.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    return F.cross_entropy(logits, labels)


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Micro-averaged F1 of 0/1 indicator matrices (1.0 when both are all zero).

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray of shape (n, n_labels)
        True and predicted label indicators.

    Returns
    -------
    float
        ``2 TP / (2 TP + FP + FN)`` pooled over all cells.
    """
    t = np.asarray(y_true).astype(bool)
    p = np.asarray(y_pred).astype(bool)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred shapes differ: {t.shape} vs {p.shape}.")
    tp = np.sum(t & p)
    denom = 2 * tp + np.sum(~t & p) + np.sum(t & ~p)
    return 1.0 if denom == 0 else float(2 * tp / denom)


def inner_adapt(
    model: AttentiveTextClassifier,
    params: Mapping[str, torch.Tensor],
    tokens: torch.Tensor,
    labels: torch.Tensor,
    *,
    adapt: tuple[str, ...],
    steps: int,
    lr: float,
    second_order: bool = False,
    multi_label: bool = False,
) -> dict[str, torch.Tensor]:
    """Inner-loop gradient steps on the support set for the parameters named by ``adapt``.

    Parameters
    ----------
    model : AttentiveTextClassifier
        Network whose structure is used (its own parameters are not changed).
    params : mapping of str to torch.Tensor
        Current parameters (names as in ``model.named_parameters()``).
    tokens : torch.Tensor of int, shape (n, L)
        Support documents.
    labels : torch.Tensor of int, shape (n,) or (n, n_way)
        Support labels (class indices; a 0/1 indicator matrix if ``multi_label``).
    adapt : tuple of str
        Name prefixes of the adapted parameters (``("head.",)`` for ATAML,
        ``("",)`` for MAML); every other parameter is passed through unchanged
        (the same tensor object).
    steps : int
        Gradient steps.
    lr : float
        Inner learning rate α.
    second_order : bool
        Keep the graph of the inner gradient (second-order MAML / ATAML).
    multi_label : bool
        Per-class sigmoid with binary cross-entropy instead of softmax cross-entropy.

    Returns
    -------
    dict of str to torch.Tensor
        Adapted parameters.
    """
    fast = dict(params)
    names = [k for k in fast if any(k.startswith(p) for p in adapt)]
    for _ in range(steps):
        loss = task_loss(functional_call(model, fast, (tokens,)), labels, multi_label)
        grads = torch.autograd.grad(
            loss, [fast[k] for k in names], create_graph=second_order, allow_unused=True
        )
        for k, g in zip(names, grads, strict=True):
            if g is None:
                continue
            fast[k] = fast[k] - lr * (g if second_order else g.detach())
    return fast


class ATAML(BaseEstimator):
    """Meta-learner for few-shot text classification: ATAML (default) or MAML.

    Parameters
    ----------
    method : {"ataml", "maml"}
        ``"ataml"``: only the attention and classifier (φ, ``head.*``) adapt in
        the inner loop; the encoder θ learns in the outer loop only.
        ``"maml"``: every parameter adapts in the inner loop.
    n_way, k_shot, n_query : int
        Episode shape used in meta-training.
    embed_dim, hidden_size, attention_size : int
        Network widths.
    inner_steps : int
        Inner gradient steps (training and adaptation).
    inner_lr : float
        Inner learning rate α.
    meta_lr : float
        Adam learning rate β of the outer loop.
    meta_batch_size : int
        Episodes per outer step.
    n_iterations : int
        Outer steps.
    second_order : bool
        Differentiate through the inner loop.
    multi_label : bool
        Multi-label episodes: sigmoid outputs with binary cross-entropy in both
        loops; :meth:`evaluate` then scores micro-F1 at threshold 0.5.
    extra_label_p : float
        Multi-label only: probability of each extra label per document in the
        episodes drawn for training and evaluation.
    at_least_one_label : bool
        Multi-label only: :meth:`evaluate` predicts the labels with
        ``sigmoid > 0.5`` *and* the top-scoring label, since every synthetic
        document carries at least one label (without it a meta-learner that
        keeps every sigmoid under 0.5 predicts no label at all).
    random_state : None or int
        Seed of initialisation and episode sampling.

    Attributes
    ----------
    model_ : AttentiveTextClassifier
        Meta-learned network (θ and the φ initialisation).
    loss_history_ : numpy.ndarray of shape (n_iterations,)
        Mean query loss per outer step.
    """

    def __init__(
        self,
        method: str = "ataml",
        *,
        n_way: int = 5,
        k_shot: int = 1,
        n_query: int = 5,
        embed_dim: int = 32,
        hidden_size: int = 32,
        attention_size: int = 16,
        inner_steps: int = 3,
        inner_lr: float = 0.5,
        meta_lr: float = 1e-2,
        meta_batch_size: int = 4,
        n_iterations: int = 200,
        second_order: bool = False,
        multi_label: bool = False,
        extra_label_p: float = 0.1,
        at_least_one_label: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.method = method
        self.n_way = n_way
        self.k_shot = k_shot
        self.n_query = n_query
        self.embed_dim = embed_dim
        self.hidden_size = hidden_size
        self.attention_size = attention_size
        self.inner_steps = inner_steps
        self.inner_lr = inner_lr
        self.meta_lr = meta_lr
        self.meta_batch_size = meta_batch_size
        self.n_iterations = n_iterations
        self.second_order = second_order
        self.multi_label = multi_label
        self.extra_label_p = extra_label_p
        self.at_least_one_label = at_least_one_label
        self.random_state = random_state

    def _label_kwargs(self) -> dict[str, Any]:
        if not isinstance(self.multi_label, bool | np.bool_):
            raise TypeError(f"multi_label must be a bool, got {type(self.multi_label).__name__}.")
        if not self.multi_label:
            return {}
        p = check_real(self.extra_label_p, "extra_label_p", low=0.0, high=1.0)
        return {"multi_label": True, "extra_label_p": p}

    def _adapt_prefixes(self) -> tuple[str, ...]:
        return ("head.",) if self.method == "ataml" else ("",)

    def build(self, vocab_size: int, seed: int) -> AttentiveTextClassifier:
        """A freshly initialised network (no meta-training); the random-init baseline.

        Parameters
        ----------
        vocab_size : int
            Vocabulary size.
        seed : int
            Initialisation seed.

        Returns
        -------
        AttentiveTextClassifier
        """
        with torch.random.fork_rng(devices=[]):
            return AttentiveTextClassifier(
                vocab_size,
                check_positive_int(self.n_way, "n_way", minimum=2),
                check_positive_int(self.embed_dim, "embed_dim"),
                check_positive_int(self.hidden_size, "hidden_size"),
                check_positive_int(self.attention_size, "attention_size"),
                torch_generator(seed),
            )

    def fit(self, tasks: TopicTaskGenerator) -> ATAML:
        """Meta-train on episodes from the generator's training topics.

        Parameters
        ----------
        tasks : TopicTaskGenerator
            Episode source.

        Returns
        -------
        ATAML
            ``self``.
        """
        if not isinstance(tasks, TopicTaskGenerator):
            raise TypeError(f"tasks must be a TopicTaskGenerator, got {type(tasks).__name__}.")
        check_in_options(self.method, "method", METHODS)
        steps = check_positive_int(self.inner_steps, "inner_steps", minimum=0)
        alpha = check_real(self.inner_lr, "inner_lr", low=0.0, low_inclusive=False)
        beta = check_real(self.meta_lr, "meta_lr", low=0.0, low_inclusive=False)
        batch = check_positive_int(self.meta_batch_size, "meta_batch_size")
        iters = check_positive_int(self.n_iterations, "n_iterations")
        k_shot = check_positive_int(self.k_shot, "k_shot")
        n_query = check_positive_int(self.n_query, "n_query")
        ml = self._label_kwargs()
        rng = check_random_state(self.random_state)
        init_seed = spawn_seeds(rng, 1)[0]
        model = self.build(tasks.vocab_size, init_seed)
        opt = torch.optim.Adam(model.parameters(), lr=beta)
        history = np.zeros(iters)
        for it in range(iters):
            opt.zero_grad()
            total = 0.0
            for _ in range(batch):
                task = tasks.sample_task(self.n_way, k_shot, n_query, random_state=rng, **ml)
                loss = self._query_loss(model, task, steps, alpha)
                (loss / batch).backward()
                total += loss.item()
            opt.step()
            history[it] = total / batch
        self.model_ = model
        self.loss_history_ = history
        return self

    def _query_loss(
        self, model: AttentiveTextClassifier, task: Any, steps: int, alpha: float
    ) -> torch.Tensor:
        params = dict(model.named_parameters())
        fast = self._adapt(model, params, task, steps, alpha, bool(self.second_order))
        logits = functional_call(model, fast, (torch.as_tensor(task.query_x),))
        return task_loss(logits, torch.as_tensor(task.query_y), task.multi_label)

    def _adapt(
        self,
        model: AttentiveTextClassifier,
        params: Mapping[str, torch.Tensor],
        task: Any,
        steps: int,
        alpha: float,
        second_order: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Inner-loop adaptation of the adaptable parameters on ``task``'s support set."""
        return inner_adapt(
            model,
            params,
            torch.as_tensor(task.support_x),
            torch.as_tensor(task.support_y),
            adapt=self._adapt_prefixes(),
            steps=steps,
            lr=alpha,
            second_order=second_order,
            multi_label=task.multi_label,
        )

    def evaluate(
        self,
        tasks: TopicTaskGenerator,
        n_tasks: int = 50,
        *,
        k_shot: int | None = None,
        split: str = "test",
        model: AttentiveTextClassifier | None = None,
        random_state: Any = None,
    ) -> np.ndarray:
        """Query score after inner-loop adaptation on each of ``n_tasks`` fresh episodes.

        Single-label: accuracy of the arg-max class. Multi-label
        (``multi_label=True``): micro-F1 of ``sigmoid(logit) > 0.5`` (plus the
        top-scoring label if ``at_least_one_label``) over the episode's query
        documents and classes.

        Parameters
        ----------
        tasks : TopicTaskGenerator
            Episode source.
        n_tasks : int
            Episodes.
        k_shot : int, optional
            Shots at test time (default: the training ``k_shot``).
        split : {"train", "test"}
            Topics to draw from (default: the held-out topics).
        model : AttentiveTextClassifier, optional
            Evaluate this network instead of ``model_`` (e.g. :meth:`build` for
            the random-init baseline); adapted with this estimator's rule.
        random_state : None, int or numpy.random.Generator
            Episode seed.

        Returns
        -------
        numpy.ndarray of shape (n_tasks,)
            Query accuracy (or micro-F1) per episode.
        """
        if model is None:
            check_is_fitted(self, "model_")
            model = self.model_
        m = check_positive_int(n_tasks, "n_tasks")
        k = check_positive_int(self.k_shot if k_shot is None else k_shot, "k_shot")
        steps = check_positive_int(self.inner_steps, "inner_steps", minimum=0)
        alpha = check_real(self.inner_lr, "inner_lr", low=0.0, low_inclusive=False)
        ml = self._label_kwargs()
        rng = check_random_state(random_state)
        acc = np.zeros(m)
        params = {k_: v.detach().requires_grad_(True) for k_, v in model.named_parameters()}
        for i in range(m):
            task = tasks.sample_task(
                self.n_way, k, self.n_query, split=split, random_state=rng, **ml
            )
            fast = self._adapt(model, params, task, steps, alpha)
            with torch.no_grad():
                logits = functional_call(model, fast, (torch.as_tensor(task.query_x),))
            if task.multi_label:
                pred = (logits > 0).numpy()
                if self.at_least_one_label:
                    pred[np.arange(len(pred)), logits.argmax(1).numpy()] = True
                acc[i] = micro_f1(task.query_y, pred)
            else:
                acc[i] = float((logits.argmax(1).numpy() == task.query_y).mean())
        return acc


def pretrained_encoder_model(
    estimator: ATAML,
    tasks: TopicTaskGenerator,
    *,
    n_steps: int = 300,
    batch_size: int = 64,
    learning_rate: float = 1e-2,
    random_state: Any = None,
) -> AttentiveTextClassifier:
    """The pretrained-encoder baseline: supervised pretraining on all training topics.

    A network of the estimator's widths with a classifier over every training
    topic is trained by ordinary minibatch cross-entropy (Adam) on documents of
    the training topics; its encoder is then copied into a fresh
    ``n_way``-class network whose attention and classifier are freshly
    initialised. Evaluate it with ``estimator.evaluate(tasks, model=...)``
    (the inner loop then adapts only what ``estimator.method`` adapts).

    Parameters
    ----------
    estimator : ATAML
        Supplies widths, ``n_way`` and the adaptation rule.
    tasks : TopicTaskGenerator
        Document source (training topics only).
    n_steps : int
        Pretraining steps.
    batch_size : int
        Documents per step.
    learning_rate : float
        Adam learning rate.
    random_state : None or int
        Seed of initialisation and documents.

    Returns
    -------
    AttentiveTextClassifier
    """
    if not isinstance(tasks, TopicTaskGenerator):
        raise TypeError(f"tasks must be a TopicTaskGenerator, got {type(tasks).__name__}.")
    steps = check_positive_int(n_steps, "n_steps")
    bs = check_positive_int(batch_size, "batch_size")
    lr = check_real(learning_rate, "learning_rate", low=0.0, low_inclusive=False)
    rng = check_random_state(random_state)
    seed_a, seed_b = spawn_seeds(rng, 2)
    topics = tasks.train_topics
    with torch.random.fork_rng(devices=[]):
        wide = AttentiveTextClassifier(
            tasks.vocab_size,
            len(topics),
            estimator.embed_dim,
            estimator.hidden_size,
            estimator.attention_size,
            torch_generator(seed_a),
        )
    opt = torch.optim.Adam(wide.parameters(), lr=lr)
    for _ in range(steps):
        y = rng.integers(0, len(topics), size=bs)
        x = torch.as_tensor(tasks.documents(topics[y], rng))
        loss = F.cross_entropy(wide(x), torch.as_tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = estimator.build(tasks.vocab_size, seed_b)
    model.encoder.load_state_dict(wide.encoder.state_dict())
    return model
