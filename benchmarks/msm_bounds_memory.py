"""Peak memory and time of ``MSMBounds(computation="samples")`` at large n, one pass vs passes.

The default outcome model (a 5-member mixture-density ensemble, trained for 2 epochs here:
the fit is not what is measured) and the default 300 draws per unit, arm and member; CATE
bounds at four Λ on every unit, then the ATE bounds. Each setting runs in a fresh process
(peak RSS is per process): ``--units-per-pass 0`` holds every unit's draws at once, as
before passes existed; the default is the library's pass size.

Usage::

    python benchmarks/msm_bounds_memory.py --n 100000
    python benchmarks/msm_bounds_memory.py --quick          # n = 20,000

Writes ``benchmarks/results/msm_bounds_memory{_quick}.json`` and ``.md``.
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

LAMBDAS = [1.0, 1.5, 2.0, 3.0]


def measure(n: int, units_per_pass: int) -> dict[str, Any]:
    """One setting, in this process."""
    import torch

    torch.set_num_threads(1)
    import knowable.bounds._msm_bounds as msm
    from knowable.bounds import MSMBounds, default_outcome_model
    from knowable.data import simulate_hidden_confounding

    if units_per_pass == 0:  # every unit at once
        msm._UNITS_PER_PASS = n + 1
    elif units_per_pass > 0:
        msm._UNITS_PER_PASS = units_per_pass
    data = simulate_hidden_confounding(n, lam_star=2.0, random_state=0)
    outcome = default_outcome_model().set_params(max_epochs=2, batch_size=1024)
    model = MSMBounds(outcome, random_state=0).fit(data.x, data.t, data.y)
    rss_fit = peak_rss_mib()
    t0 = time.perf_counter()
    b = model.bounds(data.x, LAMBDAS)
    ate = model.ate_bounds(LAMBDAS)
    seconds = time.perf_counter() - t0
    return {
        "n": n,
        "units_per_pass": msm._UNITS_PER_PASS,
        "bounds_and_ate_s": seconds,
        "peak_rss_mib_after_fit": rss_fit,
        "peak_rss_mib_end": peak_rss_mib(),
        "checksum_lower": float(np.sum(b.lower)),
        "checksum_upper": float(np.sum(b.upper)),
        "ate_lower": [float(v) for v in ate.lower],
        "ate_upper": [float(v) for v in ate.upper],
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# MSMBounds(computation='samples') at large n",
        "",
        f"Command: `{result['command']}`. CATE bounds at Λ = {LAMBDAS} on every unit, then "
        "the ATE bounds; 5 members, 300 draws per unit, arm and member.",
        "",
        "| n | units per pass | bounds + ATE s | peak RSS MiB (after fit → end) | ATE upper at Λ = 3 |",
        "|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['n']:,} | {r['units_per_pass']:,} | {r['bounds_and_ate_s']:.1f} | "
            f"{r['peak_rss_mib_after_fit']:.0f} → {r['peak_rss_mib_end']:.0f} | "
            f"{r['ate_upper'][-1]:.6f} |"
        )
    same = len({(r["checksum_lower"], r["checksum_upper"]) for r in result["runs"]}) == 1
    lines += ["", f"Bounds identical across settings: {same}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    n = 20_000 if args.quick else args.n
    if args.one is not None:  # a child process: one setting, printed as JSON
        print(json.dumps(measure(n, args.one)))
        return {}
    runs = runs_in_fresh_processes(__file__, ["--n", str(n)], (0, -1))
    result = {
        "command": command_line("msm_bounds_memory.py", argv or sys.argv[1:]),
        "runs": runs,
    }
    name = "msm_bounds_memory_quick" if args.quick else "msm_bounds_memory"
    write_result(name, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
