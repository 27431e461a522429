"""AMM vs k-means vs a Gaussian mixture on scikit-learn's bundled digits (unsupervised clustering).

Data: ``sklearn.datasets.load_digits`` (1,797 8 x 8 images, 10 classes, no
download), split once, stratified, into a tuning half and an evaluation half
(``amm_tuning.digits_halves``). AMM's settings were chosen on the tuning half
with seeds 100-102 (``benchmarks/amm_tuning.py``); this script reports seeds
0-4 on the evaluation half (``--data eval``, the default), whose images the
tuning never saw. ``--data full`` clusters all 1,797 images instead (half of
them were seen, with labels, during tuning). Every method clusters the chosen
images into 10 clusters and is scored on the same images (clustering is
transductive): Hungarian-matched accuracy (``knowable.mixture.cluster_accuracy``)
and NMI.

Methods, per seed:
- ``kmeans``: ``sklearn.cluster.KMeans(10, n_init=10)`` on raw pixels.
- ``gmm``: ``sklearn.mixture.GaussianMixture(10, covariance_type="diag")`` on raw
  pixels (``reg_covar=1e-2``: many pixels are nearly constant).
- ``amm``: ``knowable.mixture.AdversarialMixture`` with configuration ``--config``
  of ``amm_tuning.GRID`` (default ``TUNED``).
- ``samm_10pct``: the same model with 10 % of the labels given (SAMM); scored
  on all images, so it is not comparable to the unsupervised rows.

Summary: mean ± s.d. over seeds.

Usage::

    python benchmarks/amm_digits.py                          # eval half, 5 seeds, TUNED
    python benchmarks/amm_digits.py --quick                  # 2 seeds, 10 epochs
    python benchmarks/amm_digits.py --data full --config constant_400   # the earlier run

Rows are appended to ``benchmarks/results/amm_digits_<data>[_<config>][_quick].json``
as they finish (a rerun skips finished rows); ``.md`` holds the table.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.mixture import GaussianMixture

sys.path.insert(0, str(Path(__file__).resolve().parent))
from amm_tuning import GRID, digits_halves

from knowable.mixture import AdversarialMixture, cluster_accuracy, cluster_nmi

RESULTS = Path(__file__).resolve().parent / "results"
TUNED = "linear_2000_fused"  # the tuning-half winner, see benchmarks/results/amm_tuning.md
METHODS = ("kmeans", "gmm", "amm", "samm_10pct")


def sd(a: np.ndarray) -> float:
    return float(a.std(ddof=1)) if len(a) > 1 else 0.0


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def summarise(rows: list[dict], seeds: Iterable[int]) -> dict[str, dict]:
    """Per method: mean and s.d. of accuracy and NMI over ``seeds`` (one row per seed)."""
    wanted = set(seeds)
    summary = {}
    for method in METHODS:
        # one row per seed (parallel runs may have duplicated one)
        by_seed = {r["seed"]: r for r in rows if r["method"] == method and r["seed"] in wanted}
        got = [by_seed[k] for k in sorted(by_seed)]
        if not got:
            continue
        acc = np.array([r["accuracy"] for r in got])
        nmi = np.array([r["nmi"] for r in got])
        summary[method] = {
            "n_seeds": len(got),
            "accuracy_mean": float(acc.mean()),
            "accuracy_sd": sd(acc),
            "nmi_mean": float(nmi.mean()),
            "nmi_sd": sd(nmi),
            "cpu_seconds_mean": float(np.mean([r.get("cpu_seconds", np.nan) for r in got])),
            "accuracy_per_seed": [float(a) for a in acc],
        }
    return summary


def table_rows(summary: dict[str, dict]) -> list[str]:
    """The Markdown table of :func:`summarise`."""
    return [
        "| method | seeds | Hungarian accuracy | NMI | CPU s / fit |",
        "|---|---|---|---|---|",
        *(
            f"| {method} | {s['n_seeds']} | {s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f} "
            f"| {s['nmi_mean']:.3f} ± {s['nmi_sd']:.3f} | {s['cpu_seconds_mean']:.1f} |"
            for method, s in summary.items()
        ),
    ]


def run(method: str, seed: int, kw: dict, X: np.ndarray, y: np.ndarray) -> dict:
    t0, c0 = time.perf_counter(), cpu_seconds()
    if method == "kmeans":
        pred = KMeans(10, n_init=10, random_state=seed).fit_predict(X)
    elif method == "gmm":
        pred = GaussianMixture(
            10, covariance_type="diag", reg_covar=1e-2, random_state=seed
        ).fit_predict(X)
    elif method == "amm":
        pred = AdversarialMixture(10, random_state=seed, **kw).fit_predict(X)
    elif method == "samm_10pct":
        rng = np.random.default_rng(seed)
        partial = np.where(rng.random(len(y)) < 0.1, y, -1)
        pred = AdversarialMixture(10, random_state=seed, **kw).fit_predict(X, partial)
    else:  # pragma: no cover
        raise ValueError(method)
    return {
        "method": method,
        "seed": seed,
        "accuracy": cluster_accuracy(y, pred),
        "nmi": cluster_nmi(y, pred),
        "clusters_used": len(np.unique(pred)),
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": cpu_seconds() - c0,
        "loadavg": Path("/proc/loadavg").read_text().split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 10 epochs")
    parser.add_argument("--data", choices=("eval", "full"), default="eval")
    parser.add_argument("--config", choices=tuple(GRID), default=TUNED)
    parser.add_argument("--methods", nargs="*", choices=METHODS, default=list(METHODS))
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument(
        "--only-seeds", type=int, nargs="*", default=None, help="run just these (parallel runs)"
    )
    args = parser.parse_args()
    seeds = args.seeds or (2 if args.quick else 5)
    kw = dict(GRID[args.config])
    if args.quick:
        kw["n_epochs"] = 10
    if args.data == "full":
        X, y = load_digits(return_X_y=True)
    else:
        _, _, X, y = digits_halves()
    name = f"amm_digits_{args.data}" + ("" if args.config == TUNED else f"_{args.config}")
    name += "_quick" if args.quick else ""
    cmd = "python benchmarks/amm_digits.py" + (" --quick" if args.quick else "")
    cmd += "" if args.data == "eval" else f" --data {args.data}"
    cmd += "" if args.config == TUNED else f" --config {args.config}"
    cmd += "" if args.seeds is None else f" --seeds {seeds}"
    path = RESULTS / f"{name}.json"
    RESULTS.mkdir(exist_ok=True)
    meta = {"seeds": seeds, "data": args.data, "n_images": len(y), "config": args.config}
    meta |= {"amm": kw, "command": cmd}
    for seed in args.only_seeds if args.only_seeds is not None else range(seeds):
        for method in args.methods:
            rows = json.loads(path.read_text())["rows"] if path.exists() else []
            if any(r["method"] == method and r["seed"] == seed for r in rows):
                continue
            row = run(method, seed, kw, X, y)
            # re-read after the fit: parallel runs may have added rows meanwhile
            rows = json.loads(path.read_text())["rows"] if path.exists() else []
            rows.append(row)
            print(json.dumps(row), flush=True)
            path.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    rows = json.loads(path.read_text())["rows"]
    summary = summarise(rows, range(seeds))
    path.write_text(json.dumps({"meta": meta, "rows": rows, "summary": summary}, indent=2))
    what = "evaluation half, 899 images" if args.data == "eval" else "all 1,797 images"
    lines = [
        f"# AMM on digits ({what}; AMM `{args.config}`, {kw['n_epochs']} epochs)",
        "",
        f"Command: `{cmd}`. Mean ± s.d. over seeds 0-{seeds - 1}; 10 clusters.",
        "",
        *table_rows(summary),
    ]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
