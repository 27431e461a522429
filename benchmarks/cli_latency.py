"""Latency of the ``knowable`` command line where no model is fitted.

Measures, as fresh processes, the wall time of

* ``knowable --help``,
* ``knowable effects fit --data d.csv ... --uncertainty nope`` (a rejected option value),
* ``knowable --version``,
* and, for scale, ``python -c "import typer"`` (the floor any typer command pays: this typer
  version imports pydantic to convert option values) and ``python -c "import torch"`` (what
  the commands avoid before validating),

each run ``--repeats`` times (default 5), reporting the median, min and max.
Options are validated before NumPy, pandas or torch are imported, so the first
three stay well under a second; the issue asked for under 1 s (median of 5).

Usage::

    python benchmarks/cli_latency.py            # 5 repeats
    python benchmarks/cli_latency.py --quick    # 3 repeats

Writes ``benchmarks/results/cli_latency[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def _time(argv: list[str], env: dict[str, str], expect: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != expect:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode} (expected {expect}): {proc.stderr}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    cli = [sys.executable, "-m", "knowable.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.csv"
        data.write_text("x,t,y\n0.1,0,1.0\n0.2,1,2.0\n0.3,0,1.5\n0.4,1,2.5\n")
        fit_args = ["--treatment", "t", "--outcome", "y", "--uncertainty", "nope"]
        cases = {
            "knowable --help": ([*cli, "--help"], 0),
            "knowable effects fit ... --uncertainty nope": (
                [*cli, "effects", "fit", "--data", str(data), *fit_args],
                1,
            ),
            "knowable --version": ([*cli, "--version"], 0),
            'python -c "import typer" (floor: typer, click, rich, pydantic)': (
                [sys.executable, "-c", "import typer, typer._adapters"],
                0,
            ),
            'python -c "import torch" (reference)': (
                [sys.executable, "-c", "import torch"],
                0,
            ),
        }
        rows = []
        for name, (argv, expect) in cases.items():
            _time(argv, env, expect)  # warm the file cache
            times = [_time(argv, env, expect) for _ in range(repeats)]
            rows.append(
                {
                    "command": name,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "max_s": max(times),
                    "times_s": times,
                }
            )
    meta = {
        "repeats": repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "command": "python benchmarks/cli_latency.py" + (" --quick" if args.quick else ""),
        "note": "wall time of a fresh process each; the machine may be shared",
    }
    tag = "_quick" if args.quick else ""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"cli_latency{tag}.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=2)
    )
    lines = [
        f"# CLI latency (median of {repeats} fresh processes)",
        "",
        f"`{meta['command']}` — Python {meta['python']}, {meta['cpu_count']} CPUs "
        "(shared machine: absolute times vary with load).",
        "",
        "| command | median (s) | min (s) | max (s) |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| `{r['command']}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} |"
        for r in rows
    ]
    (RESULTS / f"cli_latency{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
