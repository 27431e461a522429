"""Plots of knowable's outputs, built as :class:`matplotlib.figure.Figure` objects.

Every function here returns a ``Figure`` (or draws into an ``Axes`` you pass
and returns its ``Figure``). Nothing touches pyplot's global state and nothing
is shown: save a figure with ``fig.savefig(path)``, or display it in a
notebook by leaving it as the last expression of a cell.
"""

from ._cate import plot_cate_intervals
from ._demo import plot_demo
from ._regression import plot_regression_posterior
from ._sensitivity import plot_sensitivity_contours

__all__ = [
    "plot_cate_intervals",
    "plot_demo",
    "plot_regression_posterior",
    "plot_sensitivity_contours",
]
