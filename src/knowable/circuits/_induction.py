"""The induction task: a 2-layer attention-only transformer trained here on repeated tokens.

Each sequence is ``[BOS] R A A T``: random filler ``R`` of random length, a segment
``A`` of ``h`` distinct random tokens (``h`` and the start drawn per sequence, so the
copy offset is not a function of position), the same segment again, and random
filler ``T`` up to ``n_ctx``. The loss and the
score are measured only where the next token is predictable by copying: on the
second ``A``, predicting its tokens 2..h from the token before. With causal
attention this needs a head that moves the previous token's identity forward
(layer 0, the *previous-token head*) and a head whose key reads it to find the
earlier occurrence of the current token and copy what followed (layer 1, the
*induction head*), the mechanism of Olsson et al. (2022).

The model is an :class:`EdgeMaskedTransformer` (no MLP, no layer norm), trained
with AdamW, linear warmup and cosine decay, seeded by a ``torch.Generator``; the
shipped weights (``weights/induction.safetensors`` + ``.json``) come from
:func:`train_induction_model` with its defaults (``scripts/train_induction.py``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from knowable._persistence import read_module_file, save_module_file
from knowable._random import torch_generator

from ._model import Edge, EdgeMaskedTransformer, TransformerSpec

__all__ = [
    "InductionConfig",
    "InductionTask",
    "induction_batch",
    "induction_circuit",
    "induction_head_scores",
    "induction_task",
    "load_induction_model",
    "save_induction_model",
    "train_induction_model",
]

WEIGHTS = Path(__file__).resolve().parent / "weights" / "induction.safetensors"
BOS = 0


@dataclass(frozen=True)
class InductionConfig:
    """Sizes, data and optimiser of the induction model.

    Attributes
    ----------
    vocab_size : int
        Tokens, BOS (= 0) included.
    n_ctx : int
        Sequence length.
    d_model, n_heads, d_head : int
        Width, heads per layer, head size (2 layers, attention only).
    min_repeat, max_repeat : int
        Range of the segment length ``h`` (inclusive).
    steps, batch_size : int
        AdamW steps and sequences per step.
    lr, weight_decay : float
        Peak learning rate and AdamW decay.
    warmup : int
        Linear warmup steps (cosine decay to 10 % afterwards).
    seed : int
        Seed of the initial weights and the training batches.
    """

    vocab_size: int = 64
    n_ctx: int = 40
    d_model: int = 64
    n_heads: int = 2
    d_head: int = 16
    min_repeat: int = 4
    max_repeat: int = 12
    steps: int = 4000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup: int = 200
    seed: int = 0

    def __post_init__(self) -> None:
        if self.vocab_size < 2 + self.max_repeat:
            raise ValueError("vocab_size must exceed max_repeat + 1 (distinct segment tokens).")
        if not 2 <= self.min_repeat <= self.max_repeat:
            raise ValueError("need 2 <= min_repeat <= max_repeat.")
        if 1 + 2 * self.max_repeat > self.n_ctx:
            raise ValueError("n_ctx must hold BOS and two copies of the longest segment.")

    def spec(self) -> TransformerSpec:
        """The :class:`TransformerSpec` of the model."""
        return TransformerSpec(
            vocab_size=self.vocab_size,
            n_ctx=self.n_ctx,
            d_model=self.d_model,
            n_layers=2,
            n_heads=self.n_heads,
            d_head=self.d_head,
            d_mlp=0,
            causal=True,
        )


def induction_batch(
    config: InductionConfig, n: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw ``n`` sequences ``[BOS] filler A A filler``.

    Parameters
    ----------
    config : InductionConfig
        Sizes.
    n : int
        Number of sequences.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    tokens : torch.Tensor of int, shape (n, n_ctx)
    mask : torch.Tensor of bool, shape (n, n_ctx)
        True at positions whose *next* token is the repeat of a known token (the
        second copy's tokens 1..h-1, predicting tokens 2..h).
    repeat : torch.Tensor of int, shape (n,)
        Segment length of each sequence.
    start : torch.Tensor of int, shape (n,)
        Position of the first copy's first token.
    """
    c = config
    tokens = torch.randint(1, c.vocab_size, (n, c.n_ctx), generator=generator)
    tokens[:, 0] = BOS
    repeat = torch.randint(c.min_repeat, c.max_repeat + 1, (n,), generator=generator)
    # distinct tokens within a segment: the first c.max_repeat of a random permutation
    perm = torch.argsort(torch.rand(n, c.vocab_size - 1, generator=generator), dim=1) + 1
    pos = torch.arange(c.n_ctx)
    mask = torch.zeros(n, c.n_ctx, dtype=torch.bool)
    # random tokens before the segment: it starts at a random position
    start = 1 + (torch.rand(n, generator=generator) * (c.n_ctx - 2 * repeat)).long()
    for i in range(n):
        h, s0 = int(repeat[i]), int(start[i])
        seg = perm[i, :h]
        tokens[i, s0 : s0 + h] = seg
        tokens[i, s0 + h : s0 + 2 * h] = seg
        mask[i] = (pos >= s0 + h) & (pos < s0 + 2 * h - 1)
    return tokens, mask, repeat, start


def _init(model: EdgeMaskedTransformer, generator: torch.Generator) -> None:
    s = model.spec
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("b_"):
                p.zero_()
                continue
            fan_in = {"W_O": s.d_head, "W_E": 1, "W_pos": 1}.get(name, s.d_model)
            std = 0.1 if fan_in == 1 else 1 / math.sqrt(fan_in)
            p.copy_(std * torch.randn(p.shape, generator=generator))


def _loss(model: EdgeMaskedTransformer, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    logits = model(tokens)[:, :-1]
    target = tokens[:, 1:]
    m = mask[:, :-1]
    return F.cross_entropy(logits[m], target[m])


def train_induction_model(
    config: InductionConfig | None = None, log_every: int = 0
) -> tuple[EdgeMaskedTransformer, dict[str, Any]]:
    """Train the induction model from scratch (deterministic for a given config).

    Parameters
    ----------
    config : InductionConfig, optional
        Defaults to ``InductionConfig()`` (the shipped model).
    log_every : int
        Print the loss every this many steps (0: never).

    Returns
    -------
    model : EdgeMaskedTransformer
    history : dict
        ``loss`` per logged step, ``seconds`` and ``cpu_seconds`` of training.
    """
    c = config or InductionConfig()
    gen = torch_generator(c.seed)
    model = EdgeMaskedTransformer(c.spec())
    _init(model, gen)
    opt = torch.optim.AdamW(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)

    def schedule(step: int) -> float:
        if step < c.warmup:
            return (step + 1) / c.warmup
        frac = (step - c.warmup) / max(1, c.steps - c.warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    start, cpu = time.perf_counter(), time.process_time()
    losses: list[tuple[int, float]] = []
    model.train()
    for step in range(c.steps):
        tokens, mask, *_ = induction_batch(c, c.batch_size, gen)
        loss = _loss(model, tokens, mask)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if log_every and (step % log_every == 0 or step == c.steps - 1):
            losses.append((step, loss.item()))
            print(f"step {step:5d} loss {float(loss):.4f}", flush=True)
    model.eval()
    history = {
        "loss": losses,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
    }
    return model, history


def save_induction_model(
    model: EdgeMaskedTransformer,
    config: InductionConfig,
    path: str | Path,
    record: dict[str, Any] | None = None,
) -> Path:
    """Write ``path`` (safetensors weights) and ``path.with_suffix(".json")``.

    Parameters
    ----------
    model : EdgeMaskedTransformer
        From :func:`train_induction_model`.
    config : InductionConfig
        Its config.
    path : str or Path
        The ``.safetensors`` file.
    record : dict, optional
        Measurements stored beside the config (accuracy, head scores, training time).

    Returns
    -------
    pathlib.Path
    """
    payload = {"config": asdict(config), "record": record or {}}
    return save_module_file(model, payload, path)


def load_induction_model(
    path: str | Path = WEIGHTS,
) -> tuple[EdgeMaskedTransformer, InductionConfig, dict[str, Any]]:
    """The induction model, its config and its recorded measurements.

    Parameters
    ----------
    path : str or Path
        Weights written by :func:`save_induction_model` (default: the shipped model).

    Returns
    -------
    model : EdgeMaskedTransformer
    config : InductionConfig
    record : dict
    """
    state, payload = read_module_file(path, "induction weights", "scripts/train_induction.py")
    config = InductionConfig(**payload["config"])
    model = EdgeMaskedTransformer(config.spec())
    model.load_state_dict(state)
    return model.eval(), config, payload.get("record", {})


def induction_head_scores(
    model: EdgeMaskedTransformer,
    tokens: torch.Tensor,
    repeat: torch.Tensor,
    start: torch.Tensor,
) -> dict[str, np.ndarray]:
    """Previous-token and induction scores of every head.

    Parameters
    ----------
    model : EdgeMaskedTransformer
        Any model of the task's shape.
    tokens, repeat, start : torch.Tensor
        From :func:`induction_batch`: sequences, segment lengths and segment starts.

    Returns
    -------
    dict
        ``previous_token`` (n_layers, n_heads): mean attention from position ``i`` to
        ``i - 1`` over every position ``i >= 1``; ``induction`` (n_layers, n_heads):
        mean attention from each position of the second copy (but its last) to the
        token after the same token's first occurrence (``i - h + 1``).
    """
    with torch.no_grad():
        patterns = torch.stack(model.attention_patterns(tokens))  # (L, H, B, q, k)
    seq = tokens.shape[1]
    q = torch.arange(1, seq)
    previous = patterns[..., q, q - 1].mean(-1).mean(-1)
    rows, queries, keys = [], [], []
    for b in range(tokens.shape[0]):
        h, s0 = int(repeat[b]), int(start[b])
        pos = torch.arange(s0 + h, s0 + 2 * h - 1)
        rows.append(torch.full_like(pos, b))
        queries.append(pos)
        keys.append(pos - h + 1)
    r, qq, kk = torch.cat(rows), torch.cat(queries), torch.cat(keys)
    induction = patterns[:, :, r, qq, kk].mean(-1)
    return {"previous_token": previous.numpy(), "induction": induction.numpy()}


def induction_circuit(
    previous_heads: list[int], induction_heads: list[int], model: EdgeMaskedTransformer
) -> list[Edge]:
    """The previous-token-head -> induction-head circuit.

    Previous-token heads (layer 0) read the embedding (positions and tokens) in their
    query, key and value; each induction head (layer 1) reads the current token from
    the embedding in its query, the previous-token heads' outputs in its key
    (K-composition) and the token to copy from the embedding in its value, and writes
    to the output.

    Parameters
    ----------
    previous_heads, induction_heads : list of int
        Head indices in layers 0 and 1.
    model : EdgeMaskedTransformer
        The model (checks that the edges exist).

    Returns
    -------
    list of (sender, receiver)
    """
    if not previous_heads or not induction_heads:
        raise ValueError("need at least one previous-token head and one induction head.")
    edges: list[Edge] = []
    for p in previous_heads:
        edges += [("embed", f"a0.h{p}.{part}") for part in "qkv"]
    for i in induction_heads:
        edges += [(f"a0.h{p}", f"a1.h{i}.k") for p in previous_heads]
        edges += [("embed", f"a1.h{i}.q"), ("embed", f"a1.h{i}.v"), (f"a1.h{i}", "out")]
    model.edge_mask(edges)  # raises on an edge the model does not have
    return edges


@dataclass
class InductionTask:
    """The trained model, evaluation sequences and the candidate circuit.

    Attributes
    ----------
    model : EdgeMaskedTransformer
        The shipped 2-layer attention-only model.
    config : InductionConfig
        Its training config.
    tokens : torch.Tensor of int, shape (n, n_ctx)
    mask : torch.Tensor of bool, shape (n, n_ctx)
        Scored positions (see :func:`induction_batch`).
    repeat, start : torch.Tensor of int, shape (n,)
        Segment length and start of each sequence.
    record : dict
        Measurements recorded when the weights were saved.
    name : str
        ``"induction"``.
    """

    model: EdgeMaskedTransformer
    config: InductionConfig
    tokens: torch.Tensor
    mask: torch.Tensor
    repeat: torch.Tensor
    start: torch.Tensor
    record: dict[str, Any]
    name: str = "induction"

    def _logprobs(self, circuit: Sequence[Edge] | None, invert: bool) -> torch.Tensor:
        with torch.no_grad():
            logits = self.model(self.tokens, circuit, invert)[:, :-1]
        return torch.log_softmax(logits.double(), -1)

    def scores(self, circuit: Sequence[Edge] | None = None, invert: bool = False) -> np.ndarray:
        """Per-example mean log-probability of the correct next token on the second copy.

        Edges outside ``circuit`` are zero-ablated (with ``invert``: the circuit's own).

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        logp = self._logprobs(circuit, invert)
        correct = logp.gather(-1, self.tokens[:, 1:, None]).squeeze(-1)
        m = self.mask[:, :-1].double()
        return ((correct * m).sum(1) / m.sum(1)).numpy()

    def accuracy(self, circuit: Sequence[Edge] | None = None, invert: bool = False) -> float:
        """Share of scored positions where the argmax is the correct next token."""
        logp = self._logprobs(circuit, invert)
        right = logp.argmax(-1) == self.tokens[:, 1:]
        return float(right[self.mask[:, :-1]].double().mean())

    def head_scores(self) -> dict[str, np.ndarray]:
        """:func:`induction_head_scores` on the evaluation sequences."""
        return induction_head_scores(self.model, self.tokens, self.repeat, self.start)

    def canonical_circuit(self, threshold: float = 0.4) -> list[Edge]:
        """:func:`induction_circuit` with the heads whose score exceeds ``threshold``:
        previous-token score in layer 0, induction score in layer 1.

        Returns
        -------
        list of (sender, receiver)
        """
        s = self.head_scores()
        previous = [int(h) for h in np.flatnonzero(s["previous_token"][0] > threshold)]
        induction = [int(h) for h in np.flatnonzero(s["induction"][1] > threshold)]
        return induction_circuit(previous, induction, self.model)


def induction_task(n: int = 200, seed: int = 1, path: str | Path = WEIGHTS) -> InductionTask:
    """Load the shipped induction model with ``n`` fresh evaluation sequences.

    Parameters
    ----------
    n : int
        Evaluation sequences.
    seed : int
        Seed of the evaluation sequences (training used the config's seed, 0).
    path : str or Path
        Weights (default: the shipped model).

    Returns
    -------
    InductionTask
    """
    if int(n) < 1:
        raise ValueError(f"n must be >= 1, got {n}.")
    model, config, record = load_induction_model(path)
    tokens, mask, repeat, start = induction_batch(config, int(n), torch_generator(seed))
    return InductionTask(model, config, tokens, mask, repeat, start, record)
