"""Where and how a benchmark script writes its result: JSON and a Markdown table.

Shared by the smaller scripts (``speed.py``, ``msm_bounds_memory.py``,
``continuous_bounds_memory.py``, ``due_ate_interval.py``, ``ensemble_vmap.py``);
import it after putting this folder on ``sys.path``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def command_line(script: str, argv: Sequence[str]) -> str:
    """The command that reproduces a run, as quoted in results and docs."""
    return " ".join([f"python benchmarks/{script}", *argv])


def write_result(name: str, result: dict[str, Any], markdown: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md``, and print the table."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1))
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def runs_in_fresh_processes(script: str, args: Sequence[str], settings: Iterable[int]) -> list:
    """Run ``script args --one S`` once per setting, each in a new interpreter.

    Peak memory is per process, so each setting gets its own; the child prints
    its result as JSON on its last line of output.
    """
    runs = []
    for setting in settings:
        cmd = [sys.executable, script, *args, "--one", str(setting)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    return runs
