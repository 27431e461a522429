"""Rounds of propose -> measure -> ingest.

:class:`ActiveLoop` simulates pool-based active learning against an oracle that
reveals a :class:`~knowable.data.Dataset`'s labels; results are a tidy
DataFrame and :func:`learning_curve_figure`. :class:`CausalActiveLoop` does the
same for treatment effects: acquiring a unit reveals its factual outcome only.
:class:`Campaign` is the persisted loop for real work: candidates, proposed
batches, measured results and model snapshots in a database (SQLite file by
default, any SQLAlchemy URL), every write one transaction.
"""

from ._campaign import DEFAULT_MODEL_PARAMS, Campaign, IngestResult, Proposal
from ._causal_loop import CausalActiveLoop, CausalLoopResult
from ._loop import ActiveLoop, ActiveLoopResult, evaluate_posterior
from ._oracle import DatasetOracle
from ._plots import learning_curve_figure, learning_curve_table
from ._report import round_metrics, write_report

__all__ = [
    "DEFAULT_MODEL_PARAMS",
    "ActiveLoop",
    "ActiveLoopResult",
    "Campaign",
    "CausalActiveLoop",
    "CausalLoopResult",
    "DatasetOracle",
    "IngestResult",
    "Proposal",
    "evaluate_posterior",
    "learning_curve_figure",
    "learning_curve_table",
    "round_metrics",
    "write_report",
]
