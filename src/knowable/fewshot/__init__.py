"""Few-shot text classification by meta-learning.

ATAML (Jiang et al., arXiv 1806.00852): a task-agnostic encoder learned in the
outer loop only, with attention and classifier meta-learned and adapted in the
inner loop (:class:`ATAML`, ``method="ataml"``); MAML on the same network
(``method="maml"``); a pretrained-encoder baseline
(:func:`pretrained_encoder_model`); and a synthetic task generator with sparse topic key words
planted in distractor text (:class:`TopicTaskGenerator`).
"""

from ._ataml import ATAML, AttentiveTextClassifier, inner_adapt, pretrained_encoder_model
from ._tasks import FewShotTask, TopicTaskGenerator

__all__ = [
    "ATAML",
    "AttentiveTextClassifier",
    "FewShotTask",
    "TopicTaskGenerator",
    "inner_adapt",
    "pretrained_encoder_model",
]
