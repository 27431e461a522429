"""Does the default's error fall with data at least as fast as CausalForestDML's?

Runs ``benchmarks/cate_families.py`` on the three nested scaling families
(``scale1k``, ``scale4k``, ``scale16k``: the non-linear design on resampled raw
IHDP covariates, n = 1,000, 4,000 and 16,000 units, 70 % for training) with the
default ``TARNet()`` (``due``) and EconML's ``CausalForestDML`` in the same run,
then writes a table of mean √PEHE per n, the log-log slope of each method
(least squares of log √PEHE on log n over the replications' means) and a
log-log figure. Where both methods ran, it also pairs them replication by
replication (the default's √PEHE minus the forest's, and fit-time ratios).

Usage::

    python benchmarks/cate_scaling.py --reps 0-2 --workers 2
    python benchmarks/cate_scaling.py --quick      # 1 replication, capped epochs (smoke test)

Writes ``benchmarks/results/cate_scaling{suffix}.json``, ``.md`` and ``.png`` (the
jobs themselves resume from ``cate_families_scaling{suffix}.jobs/``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import cate_families

RESULTS = Path(__file__).parent / "results"


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and s.e.m. of √PEHE per (method, n) and each method's log-log slope."""
    out: dict[str, Any] = {}
    for method in sorted({r["method"] for r in rows}):
        per_n = {}
        for family in cate_families.SCALING:
            vals = [r["pehe"] for r in rows if r["method"] == method and r["family"] == family]
            if vals:
                n = cate_families.FAMILIES[family].n
                per_n[n] = {
                    "mean": float(np.mean(vals)),
                    "sem": float(np.std(vals, ddof=1) / np.sqrt(len(vals)))
                    if len(vals) > 1
                    else 0.0,
                    "reps": len(vals),
                    "fit_s_mean": float(
                        np.mean(
                            [
                                r["fit_s"]
                                for r in rows
                                if r["method"] == method and r["family"] == family
                            ]
                        )
                    ),
                }
        ns = np.array(sorted(per_n), dtype=float)
        slope = (
            float(np.polyfit(np.log(ns), np.log([per_n[int(n)]["mean"] for n in ns]), 1)[0])
            if len(ns) >= 2
            else float("nan")
        )
        out[method] = {"per_n": per_n, "loglog_slope": slope}
    return out


def paired(
    rows: list[dict[str, Any]], a: str = "due", b: str = "causalforestdml"
) -> dict[int, Any]:
    """Per n: ``a``'s √PEHE minus ``b``'s on the same replications, and ``a``'s fit ÷ ``b``'s.

    Returns, for every n where both ran, the mean and s.e.m. of the paired
    differences, how many replications ``a`` is lower on, the median ratio of
    fit seconds, and one row per replication (both √PEHE and ``a``'s coverage).
    """
    out: dict[int, Any] = {}
    for family in cate_families.SCALING:
        by_rep = {
            m: {r["rep"]: r for r in rows if r["method"] == m and r["family"] == family}
            for m in (a, b)
        }
        reps = sorted(set(by_rep[a]) & set(by_rep[b]))
        if not reps:
            continue
        diff = np.array([by_rep[a][k]["pehe"] - by_rep[b][k]["pehe"] for k in reps])
        out[cate_families.FAMILIES[family].n] = {
            "mean_diff": float(diff.mean()),
            "sem_diff": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0,
            "lower": int((diff < 0).sum()),
            "pairs": len(reps),
            "fit_ratio_median": float(
                np.median([by_rep[a][k]["fit_s"] / by_rep[b][k]["fit_s"] for k in reps])
            ),
            "per_rep": [
                {
                    "rep": k,
                    a: by_rep[a][k]["pehe"],
                    b: by_rep[b][k]["pehe"],
                    f"{a}_cover95": by_rep[a][k]["cover95"],
                }
                for k in reps
            ],
        }
    return out


def markdown(summary: dict[str, Any], command: str, pairs: dict[int, Any] | None = None) -> str:
    methods = list(summary)
    ns = sorted({n for m in methods for n in summary[m]["per_n"]})
    lines = [
        "# CATE error against n (nested samples of one population)",
        "",
        f"Command: `{command}`. √PEHE on the 30 % test units, mean ± s.e.m. over replications.",
        "",
        "| method | " + " | ".join(f"n = {n:,}" for n in ns) + " | log-log slope |",
        "|---|" + "---|" * (len(ns) + 1),
    ]
    for m in methods:
        cells = []
        for n in ns:
            c = summary[m]["per_n"].get(n)
            cells.append("-" if c is None else f"{c['mean']:.3f} ± {c['sem']:.3f} ({c['reps']})")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {summary[m]['loglog_slope']:.3f} |")
    lines += [
        "",
        "Mean fit seconds per n: "
        + "; ".join(
            f"{m}: "
            + ", ".join(
                f"{summary[m]['per_n'][n]['fit_s_mean']:.0f}"
                for n in ns
                if n in summary[m]["per_n"]
            )
            for m in methods
        ),
        "",
    ]
    if pairs:
        lines += [
            "## due − causalforestdml, paired by replication",
            "",
            "| n | √PEHE difference, mean ± s.e.m. | due lower on | fit ÷ forest (median) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {n:,} | {p['mean_diff']:+.3f} ± {p['sem_diff']:.3f} | {p['lower']} of "
            f"{p['pairs']} | {p['fit_ratio_median']:.1f} |"
            for n, p in sorted(pairs.items())
        ]
        lines += [
            "",
            "Per replication: due √PEHE / causalforestdml √PEHE / due cover95.",
            "",
            "| rep | " + " | ".join(f"n = {n:,}" for n in sorted(pairs)) + " |",
            "|---|" + "---|" * len(pairs),
        ]
        reps = sorted({r["rep"] for p in pairs.values() for r in p["per_rep"]})
        for k in reps:
            cells = []
            for n in sorted(pairs):
                row = next((r for r in pairs[n]["per_rep"] if r["rep"] == k), None)
                cells.append(
                    "-"
                    if row is None
                    else f"{row['due']:.3f} / {row['causalforestdml']:.3f} / "
                    f"{row['due_cover95']:.2f}"
                )
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def figure(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for m, s in summary.items():
        ns = sorted(s["per_n"])
        means = [s["per_n"][n]["mean"] for n in ns]
        sems = [s["per_n"][n]["sem"] for n in ns]
        ax.errorbar(
            ns,
            means,
            yerr=sems,
            marker="o",
            capsize=3,
            label=f"{m} (slope {s['loglog_slope']:.2f})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("units n (70 % for training)")
    ax.set_ylabel("test √PEHE")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 replication, 20 epochs")
    parser.add_argument("--reps", default="0-2")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--methods", default="due,causalforestdml")
    parser.add_argument("--suffix", default="")
    args = parser.parse_args(argv)
    suffix = args.suffix or ("_quick" if args.quick else "")
    inner = [
        "--families", ",".join(cate_families.SCALING),
        "--reps", "0" if args.quick else args.reps,
        "--methods", args.methods,
        "--workers", args.workers,
        "--suffix", f"_scaling{suffix}",
    ]  # fmt: skip
    if args.quick:
        inner += ["--max-epochs", str(cate_families.QUICK_EPOCHS)]
    result = cate_families.main(inner)
    rows = result["rows"]
    summary = summarise(rows)
    pairs = paired(rows)
    command = " ".join(
        ["python benchmarks/cate_scaling.py", *(argv if argv is not None else sys.argv[1:])]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"cate_scaling{suffix}"
    (stem.parent / (stem.name + ".json")).write_text(
        json.dumps(
            {"command": command.strip(), "summary": summary, "paired": pairs, "rows": rows},
            indent=1,
        )
    )
    text = markdown(summary, command.strip(), pairs)
    (stem.parent / (stem.name + ".md")).write_text(text)
    figure(summary, stem.parent / (stem.name + ".png"))
    print(text)
    return summary


if __name__ == "__main__":
    main()
