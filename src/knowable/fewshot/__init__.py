"""Few-shot text classification by meta-learning.

ATAML (Jiang et al., arXiv 1806.00852): a task-agnostic encoder learned in the
outer loop only, with attention and classifier meta-learned and adapted in the
inner loop (:class:`ATAML`, ``method="ataml"``); MAML on the same network
(``method="maml"``); a pretrained-encoder baseline
(:func:`pretrained_encoder_model`); and a synthetic task generator with sparse topic key words
planted in distractor text (:class:`TopicTaskGenerator`, single- and
multi-label episodes); and a reader for user-supplied Reuters-21578 ``.sgm``
files (:func:`read_reuters21578`, :func:`encode_documents`).
"""

from ._ataml import (
    ATAML,
    AttentiveTextClassifier,
    inner_adapt,
    micro_f1,
    pretrained_encoder_model,
    task_loss,
)
from ._reuters import ReutersDocument, encode_documents, read_reuters21578, tokenize
from ._tasks import FewShotTask, TopicTaskGenerator

__all__ = [
    "ATAML",
    "AttentiveTextClassifier",
    "FewShotTask",
    "ReutersDocument",
    "TopicTaskGenerator",
    "encode_documents",
    "inner_adapt",
    "micro_f1",
    "pretrained_encoder_model",
    "read_reuters21578",
    "task_loss",
    "tokenize",
]
