"""Latency of the ``knowable`` command line where no model is fitted.

Measures, as fresh processes, the wall time of

* ``knowable --help``,
* ``knowable effects fit --data d.csv ... --uncertainty nope`` (a rejected option value),
* ``knowable --version``,
* and, for scale, ``python -c "import typer"`` (the floor any typer command pays: this typer
  version imports pydantic to convert option values) and ``python -c "import torch"`` (what
  the commands avoid before validating),

each run ``--repeats`` times (default 5), reporting the median, min and max wall time and
the median user+sys CPU time of the child process (``getrusage(RUSAGE_CHILDREN)``), which,
unlike wall time, hardly depends on how loaded the (shared) machine is. The load average is
recorded before and after. Options are validated before NumPy, pandas or torch are imported;
the issue asked for under 1 s (median of 5).

The children may write bytecode, into a temporary ``PYTHONPYCACHEPREFIX`` (an installed
package is byte-compiled by pip; a development shell with ``PYTHONDONTWRITEBYTECODE=1``
instead recompiles knowable's CLI modules from source on every start, which the extra row
``--help, no bytecode for knowable`` shows).

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
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def _time(argv: list[str], env: dict[str, str], expect: int) -> tuple[float, float]:
    """Wall and user+sys CPU seconds of one fresh process."""
    cpu = _cpu_children()
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    cpu = _cpu_children() - cpu
    if proc.returncode != expect:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode} (expected {expect}): {proc.stderr}"
        )
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cli = [sys.executable, "-m", "knowable.cli"]
    load_before = _loadavg()
    with tempfile.TemporaryDirectory() as tmp:
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        # The development shell's setting: the stdlib and site-packages read their own
        # __pycache__, knowable's sources (which have none) are compiled on every start.
        no_cache = {k: v for k, v in env.items() if k != "PYTHONPYCACHEPREFIX"}
        no_cache["PYTHONDONTWRITEBYTECODE"] = "1"
        data = Path(tmp) / "d.csv"
        data.write_text("x,t,y\n0.1,0,1.0\n0.2,1,2.0\n0.3,0,1.5\n0.4,1,2.5\n")
        fit_args = ["--treatment", "t", "--outcome", "y", "--uncertainty", "nope"]
        cases = {
            "knowable --help": ([*cli, "--help"], 0),
            "knowable --help, no bytecode for knowable": ([*cli, "--help"], 0, no_cache),
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
        if any((ROOT / "src" / "knowable").rglob("__pycache__")):
            del cases["knowable --help, no bytecode for knowable"]  # not measurable here
        rows = []
        for name, (argv, expect, *case_env) in cases.items():
            run_env = case_env[0] if case_env else env
            _time(argv, run_env, expect)  # warm the file cache, write bytecode
            runs = [_time(argv, run_env, expect) for _ in range(repeats)]
            times = [wall for wall, _ in runs]
            cpus = [cpu for _, cpu in runs]
            rows.append(
                {
                    "command": name,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "max_s": max(times),
                    "cpu_median_s": statistics.median(cpus),
                    "times_s": times,
                    "cpu_s": cpus,
                }
            )
    meta = {
        "repeats": repeats,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "command": "python benchmarks/cli_latency.py" + (" --quick" if args.quick else ""),
        "note": "wall time of a fresh process each; the machine may be shared",
        "loadavg_before": load_before,
        "loadavg_after": _loadavg(),
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
        "(shared machine: wall times vary with load; CPU = user+sys of the process).",
        f"Load average before: `{meta['loadavg_before']}`; after: `{meta['loadavg_after']}`.",
        "",
        "| command | median wall (s) | min (s) | max (s) | median CPU (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{r['command']}` | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} "
        f"| {r['cpu_median_s']:.3f} |"
        for r in rows
    ]
    (RESULTS / f"cli_latency{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
