"""Does ``ContinuousMSMBounds`` memory grow with the number of Λ values?

Fits a 3-member ``DoseResponse`` ensemble briefly (2 epochs: the fit is not what is
measured) on the Overcast simulator, then computes both dose-response bounds
(``dose_response_all``, Overcast and sharp) on a 50-point grid over every unit for
1, 4 and 16 values of Λ in [1, 3], each in a fresh process, and reports the time and
the peak resident memory after the fit and at the end.

Usage::

    python benchmarks/continuous_bounds_memory.py             # n = 20,000
    python benchmarks/continuous_bounds_memory.py --quick     # n = 5,000

Writes ``benchmarks/results/continuous_bounds_memory{_quick}.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, peak_rss_mib, runs_in_fresh_processes, write_result

LAMBDA_COUNTS = (1, 4, 16)


def measure(n: int, n_lam: int) -> dict[str, Any]:
    """One setting, in this process."""
    import torch

    torch.set_num_threads(1)
    from knowable.bounds import ContinuousMSMBounds
    from knowable.data import simulate_dose_response
    from knowable.effects import DoseResponse

    data = simulate_dose_response(n, random_state=0)
    model = DoseResponse(n_members=3, max_epochs=2, random_state=0, device="cpu")
    model.fit(data.x, data.t, data.y)
    rss_fit = peak_rss_mib()
    grid = np.linspace(0.1, 0.9, 50)
    lams = [float(v) for v in np.linspace(1.0, 3.0, n_lam)]
    t0 = time.perf_counter()
    ContinuousMSMBounds(model, n_samples=100, random_state=0).dose_response_all(grid, lams)
    return {
        "n": n,
        "n_lambda": n_lam,
        "bounds_s": time.perf_counter() - t0,
        "peak_rss_mib_after_fit": rss_fit,
        "peak_rss_mib_end": peak_rss_mib(),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# ContinuousMSMBounds: memory against the number of Λ values",
        "",
        f"Command: `{result['command']}`. Overcast and sharp bounds on a 50-point grid over "
        "every unit; 3 members, 100 draws per unit; one thread; each row a fresh process.",
        "",
        "| n | Λ values | bounds s | peak RSS MiB (after fit → end) |",
        "|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['n']:,} | {r['n_lambda']} | {r['bounds_s']:.1f} | "
            f"{r['peak_rss_mib_after_fit']:.0f} → {r['peak_rss_mib_end']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = 5_000 if args.quick else args.n
    if args.one is not None:  # a child process: one setting, printed as JSON
        print(json.dumps(measure(n, args.one)))
        return {}
    runs = runs_in_fresh_processes(__file__, ["--n", str(n)], LAMBDA_COUNTS)
    result = {
        "command": command_line("continuous_bounds_memory.py", argv or sys.argv[1:]),
        "runs": runs,
    }
    write_result(
        "continuous_bounds_memory_quick" if args.quick else "continuous_bounds_memory",
        result,
        markdown(result),
    )
    return result


if __name__ == "__main__":
    main()
