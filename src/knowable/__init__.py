"""knowable: decisions under uncertainty from data.

Effects with epistemic uncertainty and deferral, bounds under hidden
confounding, and what to measure next.
"""

from ._version import __version__

__all__ = ["__version__"]
