"""Rounds of propose -> measure -> ingest.

:class:`ActiveLoop` simulates pool-based active learning against an oracle that
reveals a :class:`~knowable.data.Dataset`'s labels; results are a tidy
DataFrame and :func:`learning_curve_figure`.
"""

from ._loop import ActiveLoop, ActiveLoopResult, evaluate_posterior
from ._oracle import DatasetOracle
from ._plots import learning_curve_figure, learning_curve_table

__all__ = [
    "ActiveLoop",
    "ActiveLoopResult",
    "DatasetOracle",
    "evaluate_posterior",
    "learning_curve_figure",
    "learning_curve_table",
]
