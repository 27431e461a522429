"""Collect the tuning-family runs of ``cate_families.py`` into one table.

Each run is ``python benchmarks/cate_families.py --families tuning ... --suffix _tuning_X``
(see ``docs/cate-benchmark.md``); this script reads every
``benchmarks/results/cate_families_tuning*.json`` and writes
``benchmarks/results/cate_families_tuning_summary.md``: one row per (run, method) with
√PEHE, CATE-interval coverage, rms z, interval width and ATE coverage.

Usage::

    python benchmarks/cate_families_tuning.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main() -> str:
    lines = [
        "# Tuning family: DUE coverage against its settings",
        "",
        "Rows: one run of `benchmarks/cate_families.py --families tuning` (command shown) and "
        "one method. Cells: mean ± sd over replications. The tuning family is never reported "
        "as evaluation (docs/cate-benchmark.md).",
        "",
        "| run | training | method | reps | √PEHE | cover95 | rms z | width95 | ATE cover | "
        "fit CPU s | load at start |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for path in sorted(RESULTS.glob("cate_families_tuning*.json")):
        res = json.loads(path.read_text())
        for method, s in res["summary"].get("tuning", {}).items():

            def g(key: str, s: dict = s) -> str:
                if f"{key}_mean" not in s:
                    return "-"
                return f"{s[f'{key}_mean']:.3f} ± {s[f'{key}_sd']:.3f}"

            lines.append(
                f"| `{res['command']}` | {res['training']} | {method} | {s['n_reps']} | "
                f"{g('pehe')} | {g('cover95')} | "
                f"{s.get('rms_z_mean', float('nan')):.2f} | {s['width95_mean']:.2f} | "
                f"{s['ate_cover95_mean']:.2f} | {s['fit_cpu_s_mean']:.1f} | "
                f"{res['loadavg_start']} |"
            )
    text = "\n".join(lines) + "\n"
    (RESULTS / "cate_families_tuning_summary.md").write_text(text)
    print(text)
    return text


if __name__ == "__main__":
    main()
