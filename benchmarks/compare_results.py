"""Compare the numbers of two sets of benchmark result files, ignoring timing and provenance.

Used to show that a refactor leaves every quick benchmark's numbers unchanged: run the quick
benchmarks on the old and the new tree, copy each run's JSON into ``BEFORE/<bench>/`` and
``AFTER/<bench>/``, then::

    python benchmarks/compare_results.py BEFORE AFTER

Every JSON value is compared exactly (floats with ``==``, NaN equal to NaN), except keys that
name timing, machine or provenance (a word part of the key is in ``IGNORED``; ``s`` is a
duration in seconds, as in ``fit_s_mean``).
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

IGNORED = (
    "time", "times", "wall", "cpu", "seconds", "date", "version", "versions", "machine",
    "command", "hash", "rss", "memory", "duration", "elapsed", "loadavg", "library", "speed",
    "resumed", "status", "s", "ms", "sec", "mib", "python", "torch", "threads",
)  # fmt: skip


def ignored(key: str) -> bool:
    """True for a key naming timing, machine or provenance: one of its word parts is in IGNORED.

    Word parts are split on ``_``, ``-``, ``.`` and spaces, so ``fit_s_mean`` (``s``) and
    ``loadavg_start`` are ignored while ``sharp_cov``, ``ise_se`` and ``hit_ratio`` are compared.
    """
    parts = re.split(r"[_\-. ]+", key.lower())
    return any(p in IGNORED for p in parts)


def differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Paths where ``a`` and ``b`` differ, with both values."""
    out: list[tuple[str, Any, Any]] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if ignored(str(k)):
                continue
            if k not in a or k not in b:
                out.append((f"{path}/{k}", a.get(k, "<absent>"), b.get(k, "<absent>")))
            else:
                out += differences(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path, f"length {len(a)}", f"length {len(b)}"))
        for i, (x, y) in enumerate(zip(a, b, strict=False)):  # lengths checked above
            out += differences(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        if not (a == b or (math.isnan(a) and math.isnan(b))):
            out.append((path, a, b))
    elif a != b:
        out.append((path, a, b))
    return out


def main(argv: list[str]) -> int:
    before, after = Path(argv[0]), Path(argv[1])
    changed = 0
    for old in sorted(before.rglob("*.json")):
        new = after / old.relative_to(before)
        name = old.relative_to(before).as_posix()
        if not new.exists():
            print(f"{name}: no file in {after}")
            changed += 1
            continue
        diffs = differences(json.loads(old.read_text()), json.loads(new.read_text()))
        changed += bool(diffs)
        print(
            f"{name}: " + ("identical" if not diffs else f"{len(diffs)} differences: {diffs[:4]}")
        )
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
