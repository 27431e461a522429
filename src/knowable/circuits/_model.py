"""An edge-masked residual transformer for circuit experiments on small models.

Without layer norm the residual stream read by any component is the sum of the
outputs of every earlier node (the embedding, each attention head, each MLP).
This model makes that sum explicit: each head's query, key and value input, each
MLP's input and the final (unembedded) residual are *masked* sums over upstream
nodes, ``sum_s m[s, r] out_s + (1 - m[s, r]) ablated_s``. An edge is a
(sender, receiver) pair; a circuit is a set of edges; edges outside it are
ablated to zero or to the sender's output on a corrupted input (resample
ablation). With every edge kept it is exactly the ordinary transformer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["Edge", "EdgeMaskedTransformer", "TransformerSpec"]

Edge = tuple[str, str]


@dataclass(frozen=True)
class TransformerSpec:
    """Shape of an :class:`EdgeMaskedTransformer`.

    Attributes
    ----------
    vocab_size, n_ctx, d_model, n_layers, n_heads, d_head : int
        Usual sizes.
    d_mlp : int
        MLP width; 0 for an attention-only model.
    d_vocab_out : int
        Output width of the unembedding.
    causal : bool
        Causal attention mask.
    """

    vocab_size: int
    n_ctx: int
    d_model: int
    n_layers: int
    n_heads: int
    d_head: int
    d_mlp: int = 0
    d_vocab_out: int = 0
    causal: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_ctx", "d_model", "n_layers", "n_heads", "d_head"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")


class EdgeMaskedTransformer(nn.Module):
    """Residual transformer whose every residual read is a masked sum of node outputs.

    Parameters
    ----------
    spec : TransformerSpec
        Sizes.

    Notes
    -----
    Nodes (senders): ``embed``, ``a{l}.h{h}`` (head h of layer l, its output in the
    residual basis), ``m{l}`` (MLP of layer l). Receivers: ``a{l}.h{h}.q/k/v``,
    ``m{l}.in`` and ``out`` (the residual read by the unembedding). Within a layer the
    MLP reads the same layer's heads.
    """

    def __init__(self, spec: TransformerSpec) -> None:
        super().__init__()
        self.spec = spec
        L, H, D, dh = spec.n_layers, spec.n_heads, spec.d_model, spec.d_head
        out = spec.d_vocab_out or spec.vocab_size
        self.W_E = nn.Parameter(torch.zeros(spec.vocab_size, D))
        self.W_pos = nn.Parameter(torch.zeros(spec.n_ctx, D))
        self.W_Q = nn.Parameter(torch.zeros(L, H, D, dh))
        self.W_K = nn.Parameter(torch.zeros(L, H, D, dh))
        self.W_V = nn.Parameter(torch.zeros(L, H, D, dh))
        self.W_O = nn.Parameter(torch.zeros(L, H, dh, D))
        self.b_Q = nn.Parameter(torch.zeros(L, H, dh))
        self.b_K = nn.Parameter(torch.zeros(L, H, dh))
        self.b_V = nn.Parameter(torch.zeros(L, H, dh))
        self.b_O = nn.Parameter(torch.zeros(L, D))
        if spec.d_mlp:
            self.W_in = nn.Parameter(torch.zeros(L, D, spec.d_mlp))
            self.b_in = nn.Parameter(torch.zeros(L, spec.d_mlp))
            self.W_out = nn.Parameter(torch.zeros(L, spec.d_mlp, D))
            self.b_out = nn.Parameter(torch.zeros(L, D))
        self.W_U = nn.Parameter(torch.zeros(D, out))
        self._nodes, self._receivers, self._edges = self._graph()
        self._edge_index = {e: i for i, e in enumerate(self._edges)}

    # ------------------------------------------------------------------ graph
    def _graph(self) -> tuple[list[str], list[str], list[Edge]]:
        s = self.spec
        nodes, receivers, edges = ["embed"], [], []
        for layer in range(s.n_layers):
            heads = [f"a{layer}.h{h}" for h in range(s.n_heads)]
            for head in heads:
                for part in "qkv":
                    receivers.append(f"{head}.{part}")
                    edges += [(n, f"{head}.{part}") for n in nodes]
            nodes += heads
            if s.d_mlp:
                receivers.append(f"m{layer}.in")
                edges += [(n, f"m{layer}.in") for n in nodes]
                nodes.append(f"m{layer}")
        receivers.append("out")
        edges += [(n, "out") for n in nodes]
        return nodes, receivers, edges

    @property
    def nodes(self) -> list[str]:
        """Sender nodes in computation order."""
        return list(self._nodes)

    @property
    def edges(self) -> list[Edge]:
        """Every (sender, receiver) edge, in a fixed order."""
        return list(self._edges)

    def edge_mask(self, circuit: Iterable[Edge] | None, invert: bool = False) -> torch.Tensor:
        """0/1 vector over :attr:`edges`: 1 where the edge is kept.

        Parameters
        ----------
        circuit : iterable of (sender, receiver), optional
            Edges of the circuit (None: every edge).
        invert : bool
            Keep every edge *except* the circuit's (the model with the circuit knocked out).

        Returns
        -------
        torch.Tensor, shape (n_edges,)
        """
        mask = torch.ones(len(self._edges))
        if circuit is not None:
            mask.zero_()
            for edge in circuit:
                if edge not in self._edge_index:
                    raise ValueError(f"{edge} is not an edge of this model.")
                mask[self._edge_index[edge]] = 1.0
        return 1.0 - mask if invert else mask

    # ---------------------------------------------------------------- forward
    def forward(
        self,
        tokens: torch.Tensor,
        circuit: Iterable[Edge] | None = None,
        invert: bool = False,
        corrupted: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Logits ``(batch, seq, d_vocab_out)`` with edges outside ``circuit`` ablated.

        Parameters
        ----------
        tokens : torch.Tensor of int, shape (batch, seq)
            Input tokens.
        circuit : iterable of edges, optional
            Edges to keep (None: the whole model).
        invert : bool
            Ablate the circuit's edges instead, keeping all others.
        corrupted : torch.Tensor of int, shape (batch, seq), optional
            Resample ablation: an ablated edge carries its sender's output on these
            tokens; zero ablation when omitted.
        """
        mask = self.edge_mask(circuit, invert).to(self.W_E.dtype)
        if circuit is None and not invert:
            return self._run(tokens, None, None)
        ablated = None
        if corrupted is not None:
            _, ablated = self._run(corrupted, None, None, keep_outputs=True)
        return self._run(tokens, mask, ablated)

    def _run(
        self,
        tokens: torch.Tensor,
        mask: torch.Tensor | None,
        ablated: list[torch.Tensor] | None,
        keep_outputs: bool = False,
    ):
        s = self.spec
        if tokens.ndim != 2:
            raise ValueError("tokens must have shape (batch, seq).")
        seq = tokens.shape[1]
        if seq > s.n_ctx:
            raise ValueError(f"sequences longer than n_ctx = {s.n_ctx}.")
        outs = [self.W_E[tokens] + self.W_pos[:seq]]
        cursor = 0

        def read(n_receivers: int) -> torch.Tensor:
            # (n_receivers, batch, seq, d_model): masked sums over the nodes so far
            nonlocal cursor
            stacked = torch.stack(outs)  # (k, B, S, D)
            k = stacked.shape[0]
            if mask is None:
                total = stacked.sum(0)
                cursor += n_receivers * k
                return total.expand(n_receivers, *total.shape)
            m = mask[cursor : cursor + n_receivers * k].view(n_receivers, k)
            cursor += n_receivers * k
            mixed = torch.einsum("rk,kbsd->rbsd", m, stacked)
            if ablated is not None:
                alt = torch.stack(ablated[:k])
                mixed = mixed + torch.einsum("rk,kbsd->rbsd", 1 - m, alt)
            return mixed

        causal = None
        if s.causal:
            causal = torch.triu(torch.ones(seq, seq, dtype=torch.bool, device=tokens.device), 1)
        for layer in range(s.n_layers):
            qkv = read(3 * s.n_heads).view(s.n_heads, 3, *outs[0].shape)
            q = (
                torch.einsum("hbsd,hde->hbse", qkv[:, 0], self.W_Q[layer])
                + self.b_Q[layer][:, None, None]
            )
            k = (
                torch.einsum("hbsd,hde->hbse", qkv[:, 1], self.W_K[layer])
                + self.b_K[layer][:, None, None]
            )
            v = (
                torch.einsum("hbsd,hde->hbse", qkv[:, 2], self.W_V[layer])
                + self.b_V[layer][:, None, None]
            )
            scores = torch.einsum("hbqe,hbke->hbqk", q, k) / math.sqrt(s.d_head)
            if causal is not None:
                scores = scores.masked_fill(causal, float("-inf"))
            pattern = torch.softmax(scores, dim=-1)
            z = torch.einsum("hbqk,hbke->hbqe", pattern, v)
            head_out = torch.einsum("hbqe,hed->hbqd", z, self.W_O[layer])
            # the output bias is shared by the heads: split it evenly between them
            head_out = head_out + self.b_O[layer] / s.n_heads
            outs += list(head_out)
            if s.d_mlp:
                x = read(1)[0]
                hidden = F.relu(x @ self.W_in[layer] + self.b_in[layer])
                outs.append(hidden @ self.W_out[layer] + self.b_out[layer])
        final = read(1)[0]
        logits = final @ self.W_U
        return (logits, outs) if keep_outputs else logits

    def attention_patterns(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Attention patterns of the unmasked model, one ``(heads, batch, q, k)`` per layer."""
        patterns = []
        s = self.spec
        seq = tokens.shape[1]
        resid = self.W_E[tokens] + self.W_pos[:seq]
        causal = torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1) if s.causal else None
        for layer in range(s.n_layers):
            q = (
                torch.einsum("bsd,hde->hbse", resid, self.W_Q[layer])
                + self.b_Q[layer][:, None, None]
            )
            k = (
                torch.einsum("bsd,hde->hbse", resid, self.W_K[layer])
                + self.b_K[layer][:, None, None]
            )
            v = (
                torch.einsum("bsd,hde->hbse", resid, self.W_V[layer])
                + self.b_V[layer][:, None, None]
            )
            scores = torch.einsum("hbqe,hbke->hbqk", q, k) / math.sqrt(s.d_head)
            if causal is not None:
                scores = scores.masked_fill(causal, float("-inf"))
            pattern = torch.softmax(scores, dim=-1)
            patterns.append(pattern)
            z = torch.einsum("hbqk,hbke->hbqe", pattern, v)
            resid = resid + torch.einsum("hbqe,hed->bqd", z, self.W_O[layer]) + self.b_O[layer]
            if s.d_mlp:
                hidden = F.relu(resid @ self.W_in[layer] + self.b_in[layer])
                resid = resid + hidden @ self.W_out[layer] + self.b_out[layer]
        return patterns
