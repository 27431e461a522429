"""AMM vs k-means vs a Gaussian mixture on scikit-learn's bundled digits (unsupervised clustering).

Data: ``sklearn.datasets.load_digits`` (1,797 8 x 8 images, 10 classes, no
download). Every method clusters all 1,797 images into 10 clusters and is
scored on the same images against the true digit (clustering is transductive):
Hungarian-matched accuracy (``knowable.mixture.cluster_accuracy``) and NMI.

Methods, per seed:
- ``kmeans``: ``sklearn.cluster.KMeans(10, n_init=10)`` on raw pixels.
- ``gmm``: ``sklearn.mixture.GaussianMixture(10, covariance_type="diag")`` on raw
  pixels (``reg_covar=1e-2``: many pixels are nearly constant).
- ``amm``: ``knowable.mixture.AdversarialMixture`` (settings in ``AMM_KW``).
- ``samm_10pct``: the same model with 10 % of the labels given (SAMM); scored
  on all images, so it is not comparable to the unsupervised rows.

Summary: mean ± s.d. over seeds.

Usage::

    python benchmarks/amm_digits.py            # 5 seeds, 400 epochs
    python benchmarks/amm_digits.py --quick    # 2 seeds, 10 epochs

Writes ``benchmarks/results/amm_digits[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.mixture import GaussianMixture

from knowable.mixture import AdversarialMixture, cluster_accuracy, cluster_nmi

RESULTS = Path(__file__).resolve().parent / "results"
AMM_KW = dict(latent_dim=8, hidden_size=128, depth=2, batch_size=64, learning_rate=1e-3)


def sd(a: np.ndarray) -> float:
    return float(a.std(ddof=1)) if len(a) > 1 else 0.0


def run(method: str, seed: int, epochs: int, X: np.ndarray, y: np.ndarray) -> dict:
    t0 = time.perf_counter()
    if method == "kmeans":
        pred = KMeans(10, n_init=10, random_state=seed).fit_predict(X)
    elif method == "gmm":
        pred = GaussianMixture(
            10, covariance_type="diag", reg_covar=1e-2, random_state=seed
        ).fit_predict(X)
    elif method == "amm":
        pred = AdversarialMixture(10, n_epochs=epochs, random_state=seed, **AMM_KW).fit_predict(X)
    elif method == "samm_10pct":
        rng = np.random.default_rng(seed)
        partial = np.where(rng.random(len(y)) < 0.1, y, -1)
        model = AdversarialMixture(10, n_epochs=epochs, random_state=seed, **AMM_KW)
        pred = model.fit_predict(X, partial)
    else:  # pragma: no cover
        raise ValueError(method)
    return {
        "method": method,
        "seed": seed,
        "accuracy": cluster_accuracy(y, pred),
        "nmi": cluster_nmi(y, pred),
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 10 epochs")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args()
    seeds = args.seeds or (2 if args.quick else 5)
    epochs = args.epochs or (10 if args.quick else 400)
    X, y = load_digits(return_X_y=True)
    rows = []
    for seed in range(seeds):
        for method in ("kmeans", "gmm", "amm", "samm_10pct"):
            row = run(method, seed, epochs, X, y)
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = {}
    for method in ("kmeans", "gmm", "amm", "samm_10pct"):
        acc = np.array([r["accuracy"] for r in rows if r["method"] == method])
        nmi = np.array([r["nmi"] for r in rows if r["method"] == method])
        summary[method] = {
            "accuracy_mean": float(acc.mean()),
            "accuracy_sd": sd(acc),
            "nmi_mean": float(nmi.mean()),
            "nmi_sd": sd(nmi),
        }
    name = "amm_digits_quick" if args.quick else "amm_digits"
    cmd = "python benchmarks/amm_digits.py" + (" --quick" if args.quick else "")
    if args.seeds or args.epochs:
        cmd += f" --seeds {seeds} --epochs {epochs}"
    RESULTS.mkdir(exist_ok=True)
    meta = {"seeds": seeds, "epochs": epochs, "amm": AMM_KW, "command": cmd}
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "summary": summary}, indent=2)
    )
    lines = [
        f"# AMM on digits ({seeds} seeds, {epochs} AMM epochs)",
        "",
        f"Command: `{cmd}`. Mean ± s.d. over seeds; 1,797 images, 10 clusters.",
        "",
        "| method | Hungarian accuracy | NMI |",
        "|---|---|---|",
    ]
    for method, s in summary.items():
        lines.append(
            f"| {method} | {s['accuracy_mean']:.3f} ± {s['accuracy_sd']:.3f} "
            f"| {s['nmi_mean']:.3f} ± {s['nmi_sd']:.3f} |"
        )
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
