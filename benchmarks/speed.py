"""Speed of the defaults against peers, in one run: ratios, not absolute times.

Part A fits the default CATE estimator (``TARNet(uncertainty="due")``), EconML's
``CausalForestDML`` and CausalML's X-learner (gradient boosting) on IHDP realisations
1-10, each job single-threaded in the same worker pool, and reports each method's fit
time as a ratio to ``CausalForestDML`` on the same realisation (median and range).
The fits are those of ``benchmarks/ihdp_effects.py`` (same settings and seeds).

Part B is the dose-response scale run of ``benchmarks/dose_response.py --scale``:
``DoseResponse`` fitted on 100,000 simulated units, its curve on 50 doses, and both
sensitivity bounds (Overcast-style and sharp) at four Λ, with peak memory.

Usage::

    .venv-peers/bin/python benchmarks/speed.py            # IHDP 1-10 and n = 100,000
    python benchmarks/speed.py --quick                     # IHDP 1-3 and n = 20,000

Without ``econml``/``causalml`` part A reports knowable's times alone. Writes
``benchmarks/results/speed{_quick}.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _results import command_line, write_result
from dose_response import scale_run
from ihdp_effects import PEER_CAUSALML, _job

from knowable.parallel import map_jobs, parse_range

DEFAULT = "tarnet-due"
FOREST = "econml-causalforestdml"


def available_peers() -> list[str]:
    """The peers whose packages import here."""
    peers = []
    try:
        import econml  # noqa: F401

        peers.append(FOREST)
    except ImportError:
        pass
    try:
        import causalml  # noqa: F401

        peers.append(PEER_CAUSALML)
    except ImportError:
        pass
    return peers


def ratio_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per method: median fit time, and the per-realisation ratio to CausalForestDML."""
    forest = {r["realisation"]: r["fit_s"] for r in rows if r["method"] == FOREST}
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        sub = [r for r in rows if r["method"] == method]
        ratios = [r["fit_s"] / forest[r["realisation"]] for r in sub if r["realisation"] in forest]
        out.append(
            {
                "method": method,
                "n": len(sub),
                "fit_s_median": float(np.median([r["fit_s"] for r in sub])),
                "pehe_out_mean": float(np.mean([r["pehe_out"] for r in sub])),
                "ratio_median": float(np.median(ratios)) if ratios else None,
                "ratio_min": float(np.min(ratios)) if ratios else None,
                "ratio_max": float(np.max(ratios)) if ratios else None,
            }
        )
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Speed against peers (one run)",
        "",
        f"Command: `{result['command']}`; {result['machine']}; workers {result['workers']}, "
        "one thread each.",
        "",
        f"## A. CATE fit on IHDP realisations {result['realisations']}",
        "",
        "| method | fits | fit s (median) | ÷ CausalForestDML, median [min, max] | √PEHE out mean |",
        "|---|---|---|---|---|",
    ]
    for t in result["ihdp"]:
        ratio = (
            f"{t['ratio_median']:.2f} [{t['ratio_min']:.2f}, {t['ratio_max']:.2f}]"
            if t["ratio_median"] is not None
            else "n/a (no CausalForestDML)"
        )
        lines.append(
            f"| {t['method']} | {t['n']} | {t['fit_s_median']:.2f} | {ratio} | {t['pehe_out_mean']:.3f} |"
        )
    s = result.get("scale")
    if s:
        lines += [
            "",
            f"## B. Dose response at n = {s['n']:,}",
            "",
            "| fit s | curve s | both bounds, four Λ, s | total s | peak RSS MiB | ISE | "
            "Overcast coverage at Λ* |",
            "|---|---|---|---|---|---|---|",
            f"| {s['fit_s']:.1f} | {s['curve_s']:.1f} | {s['bounds_both_methods_s']:.1f} | "
            f"{s['total_s']:.1f} | {s['peak_rss_mib_end']:.0f} | {s['ise']:.5f} | "
            f"{s['overcast_cov_lambda_star']:.3f} |",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="IHDP 1-3, n = 20,000")
    parser.add_argument("--realisations", default="1-10")
    parser.add_argument("--scale-n", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-scale", action="store_true")
    args = parser.parse_args(argv)
    ks = [1, 2, 3] if args.quick else parse_range(args.realisations)
    methods = [DEFAULT, *available_peers()]
    t0 = time.perf_counter()
    jobs = [(m, k, False, {}) for k in ks for m in methods]
    rows = map_jobs(_job, jobs, workers=args.workers)
    result: dict[str, Any] = {
        "command": command_line("speed.py", argv or sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "workers": args.workers,
        "realisations": ks,
        "rows": rows,
        "ihdp": ratio_table(rows),
        "ihdp_wall_s": time.perf_counter() - t0,
    }
    if not args.no_scale:
        result["scale"] = scale_run(20_000 if args.quick else args.scale_n)
    name = "speed_quick" if args.quick else "speed"
    write_result(name, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
