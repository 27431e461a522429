"""The induction task: a 2-layer attention-only transformer trained here on repeated random tokens.

Sequences are a random prefix then ``x_1 ... x_h x_1 ... x_h`` with uniform random
tokens and a random ``h``; in the second copy the next token is predictable only by an induction mechanism
(a previous-token head in layer 0 whose output the induction head in layer 1
reads through its key: K-composition). The shipped weights were trained with
:func:`train_induction_model` (``python -m knowable.circuits.train_induction``
reproduces them bit for bit on a CPU).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from knowable._random import torch_generator

from ._model import Edge, EdgeMaskedTransformer, TransformerSpec

__all__ = [
    "INDUCTION_SPEC",
    "canonical_induction_circuit",
    "induction_batch",
    "induction_scores",
    "load_induction_model",
    "train_induction_model",
]

INDUCTION_SPEC = TransformerSpec(
    vocab_size=32, n_ctx=24, d_model=64, n_layers=2, n_heads=4, d_head=16, d_mlp=0, causal=True
)
_HALF = INDUCTION_SPEC.n_ctx // 2
_WEIGHTS = "induction_2l.safetensors"


def induction_batch(
    n: int, generator: torch.Generator, min_half: int = 4, max_half: int = 10
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences ``prefix, x_1..x_h, x_1..x_h`` of uniform random tokens, ``n_ctx`` long.

    The repeat length ``h`` is drawn per sequence from ``[min_half, max_half]`` and a
    random prefix fills the rest, so the position of the earlier copy varies and only an
    induction mechanism (not position alone) predicts the second copy.

    Returns
    -------
    tokens : torch.Tensor of int, shape (n, n_ctx)
    scored : torch.Tensor of bool, shape (n, n_ctx)
        True at positions ``t`` whose next token ``t + 1`` lies in the second copy and is
        predictable by induction.
    """
    length = INDUCTION_SPEC.n_ctx
    tokens = torch.randint(0, INDUCTION_SPEC.vocab_size, (n, length), generator=generator)
    halves = torch.randint(min_half, max_half + 1, (n,), generator=generator)
    scored = torch.zeros(n, length, dtype=torch.bool)
    for i, h in enumerate(halves.tolist()):
        start = length - 2 * h
        tokens[i, start + h :] = tokens[i, start : start + h]
        scored[i, start + h : length - 1] = True
    return tokens, scored


def induction_scores(
    model: EdgeMaskedTransformer,
    tokens: torch.Tensor,
    scored: torch.Tensor,
    circuit: list[Edge] | None = None,
    invert: bool = False,
    corrupted: torch.Tensor | None = None,
) -> np.ndarray:
    """Per-sequence task score: mean log-probability of the correct next token at the
    ``scored`` positions (the repeated copy).

    Parameters
    ----------
    model : EdgeMaskedTransformer
        The model.
    tokens : torch.Tensor of int, shape (n, seq)
        Sequences from :func:`induction_batch`.
    scored : torch.Tensor of bool, shape (n, seq)
        Positions to score.
    circuit, invert, corrupted
        As in :meth:`EdgeMaskedTransformer.forward`.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    with torch.no_grad():
        logits = model(tokens, circuit, invert, corrupted)
        logp = torch.log_softmax(logits[:, :-1], dim=-1)
        correct = logp.gather(-1, tokens[:, 1:, None]).squeeze(-1)
        weights = scored[:, :-1].float()
        return ((correct * weights).sum(1) / weights.sum(1)).numpy()


def train_induction_model(
    steps: int = 1500, batch: int = 64, lr: float = 1e-3, seed: int = 0
) -> EdgeMaskedTransformer:
    """Train the 2-layer attention-only model on repeated random tokens.

    Parameters
    ----------
    steps, batch : int
        Adam steps and sequences per step.
    lr : float
        Learning rate.
    seed : int
        Seeds the initial weights and the data.

    Returns
    -------
    EdgeMaskedTransformer
    """
    gen = torch_generator(seed)
    model = EdgeMaskedTransformer(INDUCTION_SPEC)
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim >= 2:
                p.normal_(0.0, 0.02 if p.shape[-1] != INDUCTION_SPEC.d_head else 0.1, generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        tokens, _ = induction_batch(batch, gen)
        logits = model(tokens)
        loss = F.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def load_induction_model() -> EdgeMaskedTransformer:
    """The shipped induction model (weights trained here, stored as safetensors)."""
    from safetensors.torch import load_file

    model = EdgeMaskedTransformer(INDUCTION_SPEC)
    path = resources.files("knowable.circuits") / "weights" / _WEIGHTS
    with resources.as_file(path) as file:
        tensors = load_file(str(file))
    state = model.state_dict()
    if set(tensors) != set(state) or any(tensors[k].shape != state[k].shape for k in state):
        raise ValueError(f"{_WEIGHTS} does not match the induction model's parameters.")
    model.load_state_dict(tensors)
    return model.eval()


def save_induction_model(model: EdgeMaskedTransformer, folder: Path) -> Path:
    """Write the model's weights (safetensors) and spec (JSON) into ``folder``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(folder / _WEIGHTS))
    (folder / "induction_2l.json").write_text(json.dumps(INDUCTION_SPEC.__dict__, indent=1))
    return folder / _WEIGHTS


def canonical_induction_circuit(
    model: EdgeMaskedTransformer, generator: torch.Generator | None = None
) -> tuple[list[Edge], dict[str, int]]:
    """The previous-token head -> induction head circuit, heads found from attention patterns.

    The previous-token head is the layer-0 head with the most attention on position
    ``i - 1``; the induction head is the layer-1 head with the most attention on
    position ``i - half + 1`` (the token after the earlier copy of the current one).
    Edges: the embedding into the previous-token head's query, key and value; the
    previous-token head into the induction head's key; the embedding into the
    induction head's query and value; the induction head and the embedding into the
    output.

    Returns
    -------
    edges : list of (sender, receiver)
    heads : dict
        ``{"previous_token": h0, "induction": h1}``.
    """
    gen = generator or torch_generator(12345)
    tokens, scored = induction_batch(64, gen)
    with torch.no_grad():
        p0, p1 = model.attention_patterns(tokens)
    idx = torch.arange(1, tokens.shape[1])
    prev = p0[:, :, idx, idx - 1].mean((1, 2))
    # induction target: the position after the earlier copy of the current token
    rows, cols = torch.nonzero(scored, as_tuple=True)
    halves = scored.sum(1) + 1
    targets = cols - halves[rows] + 1
    ind = p1[:, rows, cols, targets].mean(1)
    h0, h1 = int(prev.argmax()), int(ind.argmax())
    a, b = f"a0.h{h0}", f"a1.h{h1}"
    edges = [
        ("embed", f"{a}.q"),
        ("embed", f"{a}.k"),
        ("embed", f"{a}.v"),
        (a, f"{b}.k"),
        ("embed", f"{b}.q"),
        ("embed", f"{b}.v"),
        (b, "out"),
        ("embed", "out"),
    ]
    return edges, {"previous_token": h0, "induction": h1}
