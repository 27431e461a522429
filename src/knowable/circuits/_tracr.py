"""Tracr-compiled RASP programs as edge-masked transformers (extra ``knowable[circuits]``).

``tracr`` (the ``tracr-pypi`` wheel, on JAX) compiles a RASP program into the
weights of a transformer without layer norm; :func:`tracr_task` copies them into
an :class:`EdgeMaskedTransformer` (one head per layer, attention then MLP), so
every circuit of the compiled model can be run in torch. The canonical circuit
is read off the weights: an edge exists where the sender writes into a
residual dimension the receiver reads, the graph the compiler laid out.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._model import Edge, EdgeMaskedTransformer, TransformerSpec

__all__ = ["TracrTask", "canonical_circuit", "support_circuit", "tracr_task"]

TASKS = ("tracr-reverse", "tracr-proportion")


@dataclass
class TracrTask:
    """A compiled program with its evaluation data and per-example score.

    Attributes
    ----------
    name : str
        ``tracr-reverse`` or ``tracr-proportion``.
    model : EdgeMaskedTransformer
        The compiled weights in torch (float64).
    tokens : torch.Tensor of int, shape (n, seq)
        Encoded inputs (BOS first).
    targets : torch.Tensor, shape (n, seq - 1)
        Expected output per position after BOS: a class index (reverse) or a number
        (proportion).
    """

    name: str
    model: EdgeMaskedTransformer
    tokens: torch.Tensor
    targets: torch.Tensor

    def scores(self, circuit: Sequence[Edge] | None = None, invert: bool = False) -> np.ndarray:
        """Per-example task score, zero ablation (higher is better).

        Reverse: mean over positions of the output logit of the correct token.
        Proportion: minus the mean squared error of the output against the true
        proportion.

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        with torch.no_grad():
            out = self.model(self.tokens, circuit, invert)[:, 1:]
        if self.name == "tracr-reverse":
            return out.gather(-1, self.targets[..., None]).squeeze(-1).mean(1).numpy()
        return -((out[..., 0] - self.targets) ** 2).mean(1).numpy()


def _require_tracr() -> Any:
    try:
        from tracr.compiler import compiling
        from tracr.compiler.lib import make_frac_prevs, make_reverse
        from tracr.rasp import rasp
    except ImportError as exc:
        raise ImportError(
            "the Tracr tasks need tracr and JAX: pip install 'knowable[circuits]'."
        ) from exc
    return compiling, rasp, make_reverse, make_frac_prevs


def tracr_task(name: str) -> TracrTask:
    """Compile a Tracr task (a few seconds) and load it into torch.

    Parameters
    ----------
    name : {"tracr-reverse", "tracr-proportion"}
        ``reverse`` on vocabulary {1, 2, 3}, max length 5, evaluated on the 6
        permutations of (1, 2, 3); ``proportion`` = ``make_frac_prevs(tokens == "x")``
        on {w, x, y, z}, evaluated on 128 random strings of length 4 (seed 0).

    Returns
    -------
    TracrTask
    """
    if name not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {name!r}.")
    compiling, rasp, make_reverse, make_frac_prevs = _require_tracr()
    if name == "tracr-reverse":
        program = make_reverse(rasp.tokens)
        compiled = compiling.compile_rasp_to_model(
            program, vocab={1, 2, 3}, max_seq_len=5, compiler_bos="BOS"
        )
        inputs = [list(p) for p in itertools.permutations([1, 2, 3])]
        targets = [list(reversed(x)) for x in inputs]
    else:
        program = make_frac_prevs(rasp.tokens == "x")
        compiled = compiling.compile_rasp_to_model(
            program, vocab={"w", "x", "y", "z"}, max_seq_len=5, compiler_bos="BOS"
        )
        rng = np.random.default_rng(0)
        inputs = [list(rng.choice(list("wxyz"), size=4)) for _ in range(128)]
        targets = [list(np.cumsum(np.array(x) == "x") / np.arange(1, 5)) for x in inputs]
    model = _from_compiled(compiled, str(program.label))
    enc = compiled.input_encoder.encoding_map
    tokens = torch.tensor([[enc["BOS"]] + [enc[t] for t in x] for x in inputs])
    if name == "tracr-reverse":
        out_enc = compiled.output_encoder.encoding_map
        target_t = torch.tensor([[out_enc[t] for t in y] for y in targets])
    else:
        target_t = torch.tensor(targets, dtype=torch.float64)
    return TracrTask(name, model, tokens, target_t)


def _from_compiled(compiled: Any, output_name: str) -> EdgeMaskedTransformer:
    params = {
        k: {kk: np.asarray(vv, dtype=np.float64) for kk, vv in v.items()}
        for k, v in compiled.params.items()
    }
    cfg = compiled.model_config
    if cfg.layer_norm or cfg.num_heads != 1:
        raise ValueError("only single-head Tracr models without layer norm are supported.")
    d_model = params["token_embed"]["embeddings"].shape[1]
    labels = [str(label) for label in compiled.residual_labels]
    output = compiled.output_encoder
    if output is not None and getattr(output, "encoding_map", None):
        out_dims = [_label_index(labels, output_name, value) for value in output.encoding_map]
    else:  # numerical output: the single residual dimension of the output SOp
        out_dims = [_numeric_output_index(labels, output_name)]
    spec = TransformerSpec(
        vocab_size=params["token_embed"]["embeddings"].shape[0],
        n_ctx=params["pos_embed"]["embeddings"].shape[0],
        d_model=d_model,
        n_layers=cfg.num_layers,
        n_heads=1,
        d_head=cfg.key_size,
        d_mlp=cfg.mlp_hidden_size,
        d_vocab_out=len(out_dims),
        causal=bool(cfg.causal),
    )
    model = EdgeMaskedTransformer(spec).double()
    n_layers = cfg.num_layers

    def stacked(block: str, key: str, field: str, per_head: bool) -> np.ndarray:
        arrays = [params[f"transformer/layer_{i}/{block}/{key}"][field] for i in range(n_layers)]
        return np.stack([a[None] for a in arrays] if per_head else arrays)

    state = {"W_E": params["token_embed"]["embeddings"], "W_pos": params["pos_embed"]["embeddings"]}
    for kind, key in (("Q", "query"), ("K", "key"), ("V", "value")):
        state[f"W_{kind}"] = stacked("attn", key, "w", True)
        state[f"b_{kind}"] = stacked("attn", key, "b", True)
    state["W_O"] = stacked("attn", "linear", "w", True)
    state["b_O"] = stacked("attn", "linear", "b", False)
    state["W_in"], state["b_in"] = (
        stacked("mlp", "linear_1", "w", False),
        stacked("mlp", "linear_1", "b", False),
    )
    state["W_out"], state["b_out"] = (
        stacked("mlp", "linear_2", "w", False),
        stacked("mlp", "linear_2", "b", False),
    )
    unembed = np.zeros((d_model, len(out_dims)))
    unembed[out_dims, np.arange(len(out_dims))] = 1.0
    state["W_U"] = unembed
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    return model.eval()


def _label_index(labels: list[str], name: str, value: Any) -> int:
    wanted = f"{name}:{value}"
    if wanted not in labels:
        raise ValueError(f"no residual dimension {wanted!r} among {labels}.")
    return labels.index(wanted)


def _numeric_output_index(labels: list[str], name: str) -> int:
    candidates = [i for i, lab in enumerate(labels) if lab == name or lab.startswith(f"{name}:")]
    if len(candidates) != 1:
        raise ValueError(f"no numerical output dimension {name!r} among {labels}.")
    return candidates[0]


def support_circuit(model: EdgeMaskedTransformer, tol: float = 1e-9) -> list[Edge]:
    """Edges along which information can reach the output: the sender writes a residual
    dimension the receiver reads (by the weights' support), on a path to the output.

    Parameters
    ----------
    model : EdgeMaskedTransformer
        Any model; for a Tracr-compiled one this is the compiled computational graph.
    tol : float
        Weights below this in absolute value count as zero.

    Returns
    -------
    list of (sender, receiver)
    """
    s = model.spec
    with torch.no_grad():
        writes = {"embed": (model.W_E.abs().sum(0) + model.W_pos.abs().sum(0)) > tol}
        reads: dict[str, torch.Tensor] = {"out": model.W_U.abs().sum(1) > tol}
        for layer in range(s.n_layers):
            for h in range(s.n_heads):
                head = f"a{layer}.h{h}"
                w_o = model.W_O[layer, h].abs().sum(0) + model.b_O[layer].abs() / s.n_heads
                writes[head] = w_o > tol
                for part, w in zip("qkv", (model.W_Q, model.W_K, model.W_V), strict=True):
                    reads[f"{head}.{part}"] = w[layer, h].abs().sum(1) > tol
            if s.d_mlp:
                reads[f"m{layer}.in"] = model.W_in[layer].abs().sum(1) > tol
                writes[f"m{layer}"] = (
                    model.W_out[layer].abs().sum(0) + model.b_out[layer].abs()
                ) > tol
    local = [(a, b) for a, b in model.edges if bool((writes[a] & reads[b]).any())]
    # keep only edges on a path to the output: a node matters when it feeds one that does
    useful = {"out"}
    for node in reversed(model.nodes):
        if any(a == node and _receiver_node(b) in useful for a, b in local):
            useful.add(node)
    return [(a, b) for a, b in local if _receiver_node(b) in useful and a in useful]


def _receiver_node(receiver: str) -> str:
    return "out" if receiver == "out" else receiver.rsplit(".", 1)[0]


def canonical_circuit(task: TracrTask, tol: float = 1e-9) -> list[Edge]:
    """The compiled graph less the edges that change nothing on the task's inputs.

    :func:`support_circuit` keeps every edge the weights connect, including ones that
    carry a constant (e.g. the query and key of the layer that attends to BOS to compute
    a length, whose always-true selector does not depend on them). Such an edge is
    dropped when removing it alone leaves every task score unchanged (within ``tol``).

    Parameters
    ----------
    task : TracrTask
        A compiled task.
    tol : float
        Largest mean squared score change that counts as no change.

    Returns
    -------
    list of (sender, receiver)
    """
    from ._experiment import score_metric

    support = support_circuit(task.model)
    base = task.scores(support)
    return [
        edge
        for edge in support
        if score_metric(base, task.scores([e for e in support if e != edge])) > tol
    ]
