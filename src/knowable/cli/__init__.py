"""The ``knowable`` command-line interface: a thin face over the Python API.

Nothing in the library imports this package. Commands import the layers they
need lazily, inside the command, so that ``knowable --version`` stays fast.
"""

from ._app import app, main

__all__ = ["app", "main"]
