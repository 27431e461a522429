"""Acquisition strategies added as one file each.

Every module in this folder is imported when :mod:`knowable.acquire` is, and
registers its strategy with :func:`knowable.acquire.register_strategy`; nothing
else lists it. See the "Extending knowable" page of the documentation.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__: list[str] = []

for _module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
