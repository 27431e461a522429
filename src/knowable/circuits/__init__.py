"""Hypothesis tests for circuits in transformers (Shi et al., NeurIPS 2024).

A *circuit* is a set of edges of a transformer's computational graph. The five
tests ask whether it is equivalent to the model, whether the rest of the model
is independent of the task, whether every edge is needed (minimality), whether it
is more faithful than random circuits of its size (sufficiency), and whether
knocking it out hurts more than knocking out random circuits (partial
necessity). :class:`EdgeMaskedTransformer` runs any circuit on a small
transformer; :func:`tracr_task` loads Tracr-compiled RASP programs into it (extra
``knowable[circuits]``) and :func:`induction_task` a 2-layer attention-only model trained
here on repeated random tokens (pure torch, shipped weights).
"""

from ._experiment import TESTS, run_circuit_tests, score_metric
from ._hypothesis import (
    CircuitTestResult,
    equivalence_test,
    hsic,
    independence_test,
    minimality_test,
    partial_necessity_test,
    sufficiency_test,
)
from ._induction import (
    InductionConfig,
    InductionTask,
    induction_batch,
    induction_circuit,
    induction_head_scores,
    induction_task,
    load_induction_model,
    save_induction_model,
    train_induction_model,
)
from ._model import Edge, EdgeMaskedTransformer, TransformerSpec
from ._tracr import TracrTask, canonical_circuit, support_circuit, tracr_task

__all__ = [
    "TESTS",
    "CircuitTestResult",
    "Edge",
    "EdgeMaskedTransformer",
    "InductionConfig",
    "InductionTask",
    "TracrTask",
    "TransformerSpec",
    "canonical_circuit",
    "equivalence_test",
    "hsic",
    "independence_test",
    "induction_batch",
    "induction_circuit",
    "induction_head_scores",
    "induction_task",
    "load_induction_model",
    "minimality_test",
    "partial_necessity_test",
    "run_circuit_tests",
    "save_induction_model",
    "score_metric",
    "sufficiency_test",
    "support_circuit",
    "tracr_task",
    "train_induction_model",
]
