"""Uncertainty methods: one class per method, one file each.

Every module in this folder that does not start with ``_`` is imported with
:mod:`knowable.models` and registers its class with
:func:`register_uncertainty`; the module's file name is the method's name (the
command line lists the methods from the file names without importing torch).
See the "Extending knowable" page of the documentation.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._contract import (
    UncertaintyMethod,
    get_uncertainty,
    register_uncertainty,
    uncertainty_methods,
)

__all__ = ["UncertaintyMethod", "get_uncertainty", "register_uncertainty", "uncertainty_methods"]

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
