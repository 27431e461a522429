"""Learning curves on Repeated-MNIST x3: seven acquisition strategies, several seeds, CPU-sized.

Protocol (BatchBALD paper's Repeated-MNIST, with the deviations listed in ``DEVIATIONS``):

* pool: the shipped 5,000-image MNIST training subset, normalised with the usual
  MNIST mean/sd, repeated 3 times, isotropic Gaussian noise N(0, 0.1^2) added to
  every copy (fixed seed 0, the same pool for every run): 15,000 pool images;
* evaluation: a fixed random subset of the official 10,000-image test set
  (``--n-test``, default 3,000); a disjoint 500 test images are the early-stopping
  validation set (their labels are not counted as acquired);
* model: a small MC-dropout CNN (defined here), re-trained from scratch every round,
  early stopping on the validation NLL; dropout (p = 0.5) on the two dense layers,
  one mask per draw shared by all inputs (consistent MC dropout), K = 10 draws;
* loop: :class:`knowable.campaign.ActiveLoop`, 20 balanced initial labels, batch 10,
  up to 300 labels, acquisition among ~3,000 candidates per round drawn as whole groups
  of copies (``--n-candidates``); strategies random, BALD top-k, BatchBALD, PowerBALD, SoftmaxBALD,
  SoftrankBALD (beta = 1) and BADGE, all from ``knowable.acquire``;
* peers: in BatchBALD runs, ``batchbald_redux.get_batchbald_batch`` on the identical
  log-probabilities (exact-regime picks compared index by index); in PowerBALD runs,
  ``baal``'s BALD scores and ``PowerSampling`` on the identical probabilities (every
  ``--peer-every`` rounds, when the peers are importable).

Each finished (strategy, seed) run is one JSON file in
``benchmarks/results/active_mnist_curves.jobs/`` (:func:`knowable.parallel.run_jobs`:
``--workers`` processes share the work and a run resumes); ``--aggregate`` writes
``active_mnist_curves.{json,md}`` and ``docs/figures/active_mnist_curves.png`` (``--quick``:
``active_mnist_curves_quick.{json,md,png}`` in ``benchmarks/results``).

Usage (run in the environment holding the peers, one torch thread per process)::

    python benchmarks/active_mnist_curves.py --workers 2
    python benchmarks/active_mnist_curves.py --aggregate
    python benchmarks/active_mnist_curves.py --quick            # smoke run, minutes
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from knowable.acquire import badge_embeddings, batchbald, score, strategy_label
from knowable.campaign import ActiveLoop, learning_curve_figure, learning_curve_table
from knowable.data import Dataset, load_mnist
from knowable.models import Categorical, Posterior
from knowable.parallel import add_runner_arguments, load_records, run_jobs, runner_options

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
FIGURES = ROOT / "docs" / "figures"
CORE = ["random", "bald", "batchbald", "power-bald"]
EXTRA = ["softmax-bald", "softrank-bald", "badge"]
LABELS = {name: strategy_label(name) for name in CORE + EXTRA}  # display names: the registry's
MNIST_MEAN, MNIST_SD = 0.1307, 0.3081

DEVIATIONS = [
    "Pool: the shipped 5,000-image MNIST subset x3 (15,000 images), not the full 60,000 x3.",
    "Model: a small CNN (conv 8 and 16 channels instead of 32 and 64; dense 256 -> 128 -> 10) "
    "with MC dropout on the two dense layers only (the paper also drops conv activations); "
    "convolutional features are computed once per input and the K draws differ only in the "
    "dense-layer masks. K = 10 draws for every strategy (the paper's Repeated-MNIST BatchBALD "
    "runs also use K = 10).",
    "Training: Adam (lr 1e-3), batch 64, epochs of 8 minibatches drawn with replacement from the "
    "labelled set, at most 30 epochs, early stopping with patience 3 on the NLL of 500 validation "
    "images taken from the official test set (disjoint from the evaluation images); the paper "
    "uses 5,056 samples per epoch and a 1,024-image validation set from the training split.",
    "Evaluation: a fixed random subset of the official test set (--n-test, default 3,000 images; "
    "the remaining test images are never used), accuracy of the posterior-mean prediction over "
    "the K draws.",
    "BatchBALD: n_configurations = 1,000, so the first 4 picks of a batch use exact joint "
    "entropies and picks 5-10 use 1,000 importance-sampled configurations (the paper's "
    "implementation typically uses 10^4-10^5).",
    "Candidate subsampling: each round every strategy acquires among about 3,000 unlabelled "
    "pool images (--n-candidates), drawn afresh as whole groups of copies of one source image "
    "(ActiveLoop's candidate_groups), so the redundancy Repeated-MNIST tests is kept inside the "
    "candidate set; the paper scores the whole pool.",
    "Seeds: 3 (the paper: 5-6).",
]


# ----------------------------------------------------------------------------- data
def repeated_mnist(
    repeats: int, noise: float, n_base: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalised pool images ``(repeats * n, 1, 28, 28)``, labels and base-image ids."""
    train = load_mnist("train")
    x = (np.asarray(train.x, dtype=np.float32) - MNIST_MEAN) / MNIST_SD
    y = np.asarray(train.y)
    if n_base is not None:
        keep = np.random.default_rng(123).permutation(len(y))[:n_base]
        x, y = x[keep], y[keep]
    rng = np.random.default_rng(0)
    xs = [x + noise * rng.standard_normal(x.shape).astype(np.float32) for _ in range(repeats)]
    base = np.tile(np.arange(len(y)), repeats)
    return np.concatenate(xs), np.tile(y, repeats), base


def test_split(n_test: int, n_valid: int) -> tuple[Dataset, Dataset]:
    """Disjoint evaluation and validation subsets of the official test set (fixed seed)."""
    test = load_mnist("test")
    perm = np.random.default_rng(2024).permutation(len(test.y))
    x = (np.asarray(test.x, dtype=np.float32) - MNIST_MEAN) / MNIST_SD
    y = np.asarray(test.y)
    ev, va = perm[:n_test], perm[n_test : n_test + n_valid]
    return Dataset(x[ev], y=y[ev]), Dataset(x[va], y=y[va])


# ---------------------------------------------------------------------------- model
class DropoutCNN:
    """Small MC-dropout CNN with ``fit(X, y)`` and ``posterior(X)`` for :class:`ActiveLoop`.

    Parameters
    ----------
    seed : int
        Seed of initialisation, minibatches, training dropout and the prediction masks.
    valid : tuple of numpy.ndarray
        ``(X_valid, y_valid)`` for early stopping.
    n_draws : int
        MC-dropout draws ``K``; one mask per draw shared by all inputs.
    """

    def __init__(
        self,
        seed: int,
        valid: tuple[np.ndarray, np.ndarray],
        *,
        n_draws: int = 10,
        channels: tuple[int, int] = (8, 16),
        hidden: int = 128,
        dropout: float = 0.5,
        batch_size: int = 64,
        steps_per_epoch: int = 8,
        max_epochs: int = 30,
        patience: int = 3,
        learning_rate: float = 1e-3,
    ) -> None:
        self.seed, self.valid, self.n_draws = seed, valid, n_draws
        self.channels, self.hidden, self.dropout = channels, hidden, dropout
        self.batch_size, self.steps_per_epoch = batch_size, steps_per_epoch
        self.max_epochs, self.patience, self.learning_rate = max_epochs, patience, learning_rate

    def _build(self, gen: torch.Generator) -> None:
        c1, c2 = self.channels
        self.conv_ = nn.Sequential(
            nn.Conv2d(1, c1, 5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 5),
            nn.MaxPool2d(2),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.fc1_ = nn.Linear(16 * c2, self.hidden)
        self.fc2_ = nn.Linear(self.hidden, 10)
        for mod in [*self.conv_, self.fc1_, self.fc2_]:
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(mod.weight, a=math.sqrt(5), generator=gen)
                bound = 1 / math.sqrt(mod.weight[0].numel())
                nn.init.uniform_(mod.bias, -bound, bound, generator=gen)

    def _params(self) -> list[nn.Parameter]:
        return [*self.conv_.parameters(), *self.fc1_.parameters(), *self.fc2_.parameters()]

    def _head(self, feats: torch.Tensor, m1: torch.Tensor | None, m2: torch.Tensor | None):
        keep = 1.0 - self.dropout
        h = feats if m1 is None else feats * m1 / keep
        h = torch.relu(self.fc1_(h))
        h = h if m2 is None else h * m2 / keep
        return self.fc2_(h)

    def _features(self, x: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            t = torch.as_tensor(x, dtype=torch.float32)
            return torch.cat([self.conv_(t[i : i + 2048]) for i in range(0, len(t), 2048)])

    def fit(self, X: np.ndarray, y: np.ndarray) -> DropoutCNN:
        gen = torch.Generator().manual_seed(int(self.seed))
        self._build(gen)
        x = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        yt = torch.as_tensor(np.asarray(y), dtype=torch.int64)
        xv = np.asarray(self.valid[0])
        yv = torch.as_tensor(np.asarray(self.valid[1]), dtype=torch.int64)
        opt = torch.optim.Adam(self._params(), lr=self.learning_rate)
        best, best_state, since = float("inf"), None, 0
        self.epochs_ = 0
        for _ in range(self.max_epochs):
            for _ in range(self.steps_per_epoch):
                idx = torch.randint(0, len(x), (self.batch_size,), generator=gen)
                feats = self.conv_(x[idx])
                m1 = torch.rand(feats.shape, generator=gen) >= self.dropout
                m2 = torch.rand((len(idx), self.hidden), generator=gen) >= self.dropout
                loss = nn.functional.cross_entropy(self._head(feats, m1, m2), yt[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            self.epochs_ += 1
            with torch.no_grad():
                val = float(
                    nn.functional.cross_entropy(self._head(self._features(xv), None, None), yv)
                )
            if val < best - 1e-6:
                best, since = val, 0
                best_state = [p.detach().clone() for p in self._params()]
            else:
                since += 1
                if since >= self.patience:
                    break
        with torch.no_grad():
            for p, b in zip(self._params(), best_state, strict=True):  # type: ignore[arg-type]
                p.copy_(b)
        d = self.fc1_.in_features
        self.masks1_ = torch.rand((self.n_draws, d), generator=gen) >= self.dropout
        self.masks2_ = torch.rand((self.n_draws, self.hidden), generator=gen) >= self.dropout
        return self

    def posterior(self, X: np.ndarray) -> Posterior:
        feats = self._features(np.asarray(X))
        with torch.no_grad():
            logits = torch.stack(
                [self._head(feats, self.masks1_[k], self.masks2_[k]) for k in range(self.n_draws)]
            )
        probs = torch.softmax(logits.double(), dim=-1).numpy()  # (K, n, C)
        return Posterior(probs, Categorical())

    def badge_embed(self, X: np.ndarray) -> np.ndarray:
        """BADGE gradient embeddings from the deterministic network (no dropout), ``(n, 10 * hidden)``."""
        feats = self._features(np.asarray(X))
        with torch.no_grad():
            h = torch.relu(self.fc1_(feats))
            p = torch.softmax(self.fc2_(h).double(), dim=-1)
        return badge_embeddings(p.numpy(), h.double().numpy())


# ---------------------------------------------------------------------------- peers
def peer_check(post: Posterior, strategy: str, n_configurations: int, n_classes: int) -> dict:
    """Compare knowable with batchbald_redux / baal on the identical probabilities."""
    out: dict[str, Any] = {"pool": post.n_inputs}
    probs = post.draws  # (K, n, C)
    if strategy == "batchbald":
        from batchbald_redux.batchbald import get_batchbald_batch

        n_exact = sum(1 for j in range(10) if n_classes**j <= n_configurations)
        t0 = time.perf_counter()
        ours = batchbald(post, n_exact, n_configurations=n_configurations, random_state=0)
        t_ours = time.perf_counter() - t0
        log_probs = torch.log(torch.as_tensor(probs.transpose(1, 0, 2)).clamp_min(1e-300))
        t0 = time.perf_counter()
        theirs = get_batchbald_batch(
            log_probs, n_exact, num_samples=n_configurations, dtype=torch.float64
        )
        t_theirs = time.perf_counter() - t0
        out.update(
            peer="batchbald_redux",
            exact_picks=n_exact,
            knowable=[int(i) for i in ours.indices],
            peer_indices=[int(i) for i in theirs.indices],
            same=[int(i) for i in ours.indices] == [int(i) for i in theirs.indices],
            knowable_s=t_ours,
            peer_s=t_theirs,
        )
    elif strategy == "power-bald":
        from baal.active.heuristics import BALD
        from baal.active.heuristics.stochastics import PowerSampling

        baal_in = probs.transpose(1, 2, 0)  # (n, C, K)
        t0 = time.perf_counter()
        ours = score(post, "bald")
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        theirs = BALD().get_uncertainties(baal_in)
        # baal 2.1's PowerSampling.__call__ passes an extra argument to get_ranks: call get_ranks
        picks = PowerSampling(BALD(), query_size=10, temperature=1.0).get_ranks(baal_in)[0][:10]
        t_theirs = time.perf_counter() - t0
        out.update(
            peer="baal",
            bald_max_abs_diff=float(np.max(np.abs(ours - theirs))),
            baal_power_picks=[int(i) for i in picks],
            knowable_score_s=t_ours,
            peer_score_and_power_s=t_theirs,
        )
    return out


# ------------------------------------------------------------------------------ runs
def run_one(strategy: str, seed: int, cfg: dict, data: dict) -> dict:
    valid = (data["valid"].x, data["valid"].y)
    test_x = data["test"].x
    counter = {"round": 0}
    peers: list[dict] = []

    def factory(model_seed: int) -> DropoutCNN:
        model = DropoutCNN(model_seed, valid, n_draws=cfg["n_draws"])
        rnd = counter["round"]
        counter["round"] += 1
        if (
            cfg["peers"]
            and strategy in ("batchbald", "power-bald")
            and seed < cfg["peer_seeds"]
            and rnd % cfg["peer_every"] == 0
        ):
            original = model.posterior

            def posterior(X: np.ndarray) -> Posterior:
                post = original(X)
                if not np.shares_memory(X, test_x):  # the pool candidates, not the test set
                    rec = peer_check(post, strategy, cfg["n_configurations"], 10)
                    rec["round"] = rnd
                    peers.append(rec)
                return post

            model.posterior = posterior  # type: ignore[method-assign]
        return model

    loop = ActiveLoop(
        factory,
        data["pool"],
        data["test"],
        strategy=strategy,
        batch_size=10,
        n_initial=20,
        max_labels=cfg["max_labels"],
        n_configurations=cfg["n_configurations"],
        n_candidates=cfg["n_candidates"],
        candidate_groups=data["base"],
        embed=(lambda model, x: model.badge_embed(x)) if strategy == "badge" else None,
        random_state=seed,
    )
    t0 = time.perf_counter()
    result = loop.run()
    wall = time.perf_counter() - t0
    base = data["base"][result.labelled]
    n0 = 20
    return {
        "strategy": strategy,
        "seed": seed,
        "config": cfg,
        "wall_seconds": wall,
        "history": result.history.to_dict(orient="records"),
        "acquired_duplicates": int(len(base) - len(np.unique(base))),
        "acquired": len(base) - n0,
        "peers": peers,
    }


def jobs(strategies: list[str], seeds: int) -> list[tuple[str, int]]:
    core = [s for s in strategies if s in CORE]
    extra = [s for s in strategies if s not in CORE]
    return [(s, k) for k in range(seeds) for s in core] + [
        (s, k) for k in range(seeds) for s in extra
    ]


_STATE: dict[
    str, Any
] = {}  # config and data, set before the runner starts (forked workers share it)


def _run_job(job: tuple[str, int]) -> dict:
    strategy, seed = job
    rec = run_one(strategy, seed, _STATE["cfg"], _STATE["data"])
    rec["command"] = _STATE["command"]
    return rec


def _describe(record: Any) -> str:
    rec = record.result
    acc = [h for h in rec["history"] if h["metric"] == "accuracy"][-1]["value"]
    return f"{rec['strategy']} seed {rec['seed']}: acc@{rec['config']['max_labels']} {acc:.4f}"


# ------------------------------------------------------------------------- aggregate
def aggregate(runs: list[dict], stem: str, command: str) -> dict:
    if not runs:
        raise SystemExit(f"no finished runs of {stem}")
    frame = pd.concat([pd.DataFrame(r["history"]) for r in runs], ignore_index=True)
    frame["strategy"] = frame["strategy"].map(LABELS).fillna(frame["strategy"])
    table = learning_curve_table(frame, "accuracy")
    order = [LABELS[s] for s in CORE + EXTRA if LABELS[s] in set(table["strategy"])]
    max_labels = int(frame["n_labels"].max())
    acc = frame[(frame["metric"] == "accuracy") & (frame["n_labels"] == max_labels)]
    final: dict[str, dict] = {}
    for name in order:
        rows = acc[acc["strategy"] == name].sort_values("seed")
        vals = rows["value"].to_numpy()
        final[name] = {
            "seeds": [int(s) for s in rows["seed"]],
            "per_seed": [float(v) for v in vals],
            "mean": float(vals.mean()),
            "sd": float(vals.std(ddof=1)) if len(vals) > 1 else float("nan"),
        }
    comparisons = {}
    for a in ("BatchBALD", "PowerBALD"):
        for b in ("BALD top-k", "random"):
            if a in final and b in final:
                common = sorted(set(final[a]["seeds"]) & set(final[b]["seeds"]))
                da = dict(zip(final[a]["seeds"], final[a]["per_seed"], strict=True))
                db = dict(zip(final[b]["seeds"], final[b]["per_seed"], strict=True))
                diffs = [da[s] - db[s] for s in common]
                comparisons[f"{a} - {b}"] = {
                    "mean_difference": final[a]["mean"] - final[b]["mean"],
                    "per_seed_difference": diffs,
                    "above_in_mean": bool(final[a]["mean"] > final[b]["mean"]),
                    "above_in_seeds": int(sum(d > 0 for d in diffs)),
                    "seeds_compared": len(common),
                }
    labels_to = {}
    for name in order:
        rows = frame[(frame["metric"] == "accuracy") & (frame["strategy"] == name)]
        per = {}
        for seed, g in rows.groupby("seed"):
            g = g.sort_values("n_labels")
            hit = g[g["value"] >= 0.90]
            per[int(seed)] = int(hit["n_labels"].iloc[0]) if len(hit) else None
        labels_to[name] = per
    timing = {}
    for name in order:
        rows = frame[frame["strategy"] == name]
        timing[name] = {
            m: float(rows[rows["metric"] == m]["value"].median())
            for m in ("fit_seconds", "acquire_seconds")
        }
        timing[name]["run_wall_seconds_median"] = float(
            np.median([r["wall_seconds"] for r in runs if LABELS[r["strategy"]] == name])
        )
    dup = {LABELS[r["strategy"]] + f" (seed {r['seed']})": r["acquired_duplicates"] for r in runs}
    dup_mean = {
        name: float(
            np.mean([r["acquired_duplicates"] for r in runs if LABELS[r["strategy"]] == name])
        )
        for name in order
    }
    peers = [dict(p, strategy=r["strategy"], seed=r["seed"]) for r in runs for p in r["peers"]]
    bb = [p for p in peers if p.get("peer") == "batchbald_redux"]
    pb = [p for p in peers if p.get("peer") == "baal"]
    peer_summary = {
        "batchbald_redux_checks": len(bb),
        "batchbald_redux_same_exact_picks": int(sum(p["same"] for p in bb)),
        "batchbald_redux_seconds_median": float(np.median([p["peer_s"] for p in bb]))
        if bb
        else None,
        "knowable_batchbald_seconds_median": float(np.median([p["knowable_s"] for p in bb]))
        if bb
        else None,
        "baal_checks": len(pb),
        "baal_bald_max_abs_diff": float(max(p["bald_max_abs_diff"] for p in pb)) if pb else None,
    }
    cfg = runs[0]["config"]
    out = {
        "command": command,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.machine(),
            "note": "2 shared CPU cores (other jobs running), 1 torch thread per process",
        },
        "config": cfg,
        "deviations_from_paper": DEVIATIONS,
        "runs_finished": sorted([f"{r['strategy']}/seed{r['seed']}" for r in runs]),
        "final_labels": max_labels,
        "final_accuracy": final,
        "comparisons_at_final": comparisons,
        "labels_to_90pct": labels_to,
        "median_seconds": timing,
        "acquired_duplicate_images_mean": dup_mean,
        "acquired_duplicate_images": dup,
        "peers": peer_summary,
        "peer_checks": peers,
        "curve": table.to_dict(orient="records"),
        "per_seed_accuracy": {
            name: {
                int(seed): [float(v) for v in g.sort_values("n_labels")["value"]]
                for seed, g in frame[
                    (frame["metric"] == "accuracy") & (frame["strategy"] == name)
                ].groupby("seed")
            }
            for name in order
        },
    }
    (RESULTS / f"{stem}.json").write_text(json.dumps(out, indent=2))
    fig_dir = RESULTS if stem.endswith("quick") else FIGURES  # only the full run goes to the docs
    fig_dir.mkdir(parents=True, exist_ok=True)
    plot = frame[frame["strategy"].isin(order)].copy()
    plot["strategy"] = pd.Categorical(plot["strategy"], categories=order, ordered=True)
    plot = plot.sort_values(["strategy", "seed", "n_labels"])
    n_seeds = {name: len(final[name]["seeds"]) for name in order}
    plot["strategy"] = (
        plot["strategy"]
        .astype(str)
        .map(lambda n: f"{n} ({n_seeds[n]} seed{'s' if n_seeds[n] > 1 else ''})")
    )
    fig = learning_curve_figure(
        plot,
        "accuracy",
        title=f"Repeated-MNIST x{cfg['repeats']}: mean ± sd over seeds (test n = {cfg['n_test']})",
    )
    fig.set_size_inches(7.5, 4.8)
    fig.axes[0].set_ylim(0.5, 1.0)
    fig.savefig(fig_dir / f"{stem}.png", dpi=110)
    lines = [
        f"# Active learning on Repeated-MNIST x{cfg['repeats']} ({stem})",
        "",
        "Commands: "
        + "; ".join(f"`{c}`" for c in sorted({r.get("command", "") for r in runs}))
        + f" (runs, one or more workers), then `{command}`",
        "",
        f"Finished runs ({len(runs)}): {', '.join(out['runs_finished'])}",
        "",
        f"## Test accuracy at {max_labels} labels (mean ± sd over seeds; per-seed values)",
        "",
        "| strategy | mean | sd | per seed | labels to 90 % (per seed) | duplicate images acquired (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for name in order:
        f = final[name]
        to90 = ", ".join("never" if v is None else str(v) for v in labels_to[name].values())
        lines.append(
            f"| {name} | {f['mean']:.4f} | {f['sd']:.4f} | "
            + ", ".join(f"{v:.4f}" for v in f["per_seed"])
            + f" (seeds {', '.join(map(str, f['seeds']))}) | {to90} | {dup_mean[name]:.1f} |"
        )
    lines += [
        "",
        "## Differences at the last point",
        "",
        "| comparison | mean difference | per seed | above in mean |",
        "|---|---|---|---|",
    ]
    for key, c in comparisons.items():
        lines.append(
            f"| {key} | {c['mean_difference']:+.4f} | "
            + ", ".join(f"{d:+.4f}" for d in c["per_seed_difference"])
            + f" | {c['above_in_mean']} ({c['above_in_seeds']}/{c['seeds_compared']} seeds) |"
        )
    lines += ["", "## Accuracy curve (mean over seeds)", ""]
    pivot = table.pivot(index="n_labels", columns="strategy", values="mean")[order]
    lines.append("| labels | " + " | ".join(order) + " |")
    lines.append("|---" * (len(order) + 1) + "|")
    for n, row in pivot.iterrows():
        if n % 40 == 0 or n == max_labels or n == 20:
            lines.append(f"| {n} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    lines += [
        "",
        "## Seconds per round (median; machine shared, indicative only)",
        "",
        "| strategy | fit | acquire (pool posterior + selection) | whole run |",
        "|---|---|---|---|",
    ]
    for name in order:
        t = timing[name]
        lines.append(
            f"| {name} | {t['fit_seconds']:.2f} | {t['acquire_seconds']:.2f} | {t['run_wall_seconds_median']:.0f} |"
        )
    ps = peer_summary
    lines += ["", "## Peers on the identical log-probabilities", ""]
    if ps["batchbald_redux_checks"]:
        lines.append(
            f"- BatchBALD vs `batchbald_redux.get_batchbald_batch` (first {bb[0]['exact_picks']} picks, exact "
            f"regime, pool {bb[0]['pool']}): same indices in {ps['batchbald_redux_same_exact_picks']}/"
            f"{ps['batchbald_redux_checks']} checked rounds; median seconds knowable "
            f"{ps['knowable_batchbald_seconds_median']:.2f}, batchbald_redux {ps['batchbald_redux_seconds_median']:.2f}."
        )
    if ps["baal_checks"]:
        lines.append(
            f"- PowerBALD: knowable's BALD scores vs `baal` `BALD().get_uncertainties` in "
            f"{ps['baal_checks']} checked rounds: max abs difference {ps['baal_bald_max_abs_diff']:.1e}; "
            "baal `PowerSampling(BALD())` ran on the same input (picks differ by construction: "
            "baal samples from numpy's global random state)."
        )
    lines += ["", "## Deviations from the paper's protocol", ""] + [f"- {d}" for d in DEVIATIONS]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small pool, 60 labels, 1 seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategies", default=",".join(CORE + EXTRA))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--n-test", type=int, default=3000)
    parser.add_argument("--n-draws", type=int, default=10)
    parser.add_argument("--n-configurations", type=int, default=1000)
    parser.add_argument("--max-labels", type=int, default=300)
    parser.add_argument("--n-candidates", type=int, default=3000)
    parser.add_argument("--peer-every", type=int, default=10)
    parser.add_argument("--peer-seeds", type=int, default=1, help="peer checks in seeds < this")
    parser.add_argument("--no-peers", action="store_true")
    add_runner_arguments(parser, workers=1)
    parser.add_argument("--aggregate", action="store_true", help="only merge finished runs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    stem = "active_mnist_curves_quick" if args.quick else "active_mnist_curves"
    store = RESULTS / f"{stem}.jobs"
    RESULTS.mkdir(exist_ok=True)
    command = " ".join(
        ["python benchmarks/active_mnist_curves.py", *(argv if argv is not None else sys.argv[1:])]
    )
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    keyed = {f"{s}-s{k}": (s, k) for s, k in jobs(strategies, 1 if args.quick else args.seeds)}
    if args.aggregate:  # every finished run in the store, in job order
        records = load_records(store)
        order = {key: i for i, key in enumerate(keyed)}
        runs = sorted(records.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        aggregate([r.result for _, r in runs], stem, command)
        return
    peers = not args.no_peers
    if peers:
        try:
            import baal  # noqa: F401
            import batchbald_redux  # noqa: F401
        except ImportError:
            peers = False
    cfg = {
        "repeats": args.repeats,
        "noise": args.noise,
        "n_base": 1000 if args.quick else None,
        "n_test": 1000 if args.quick else args.n_test,
        "n_valid": 500,
        "n_draws": args.n_draws,
        "n_configurations": args.n_configurations,
        "n_candidates": 1000 if args.quick else args.n_candidates,
        "max_labels": 60 if args.quick else args.max_labels,
        "batch_size": 10,
        "n_initial": 20,
        "peers": peers,
        "peer_every": args.peer_every,
        "peer_seeds": args.peer_seeds,
    }
    x, y, base = repeated_mnist(args.repeats, args.noise, cfg["n_base"])
    test, valid = test_split(cfg["n_test"], cfg["n_valid"])
    data = {"pool": Dataset(x, y=y), "base": base, "test": test, "valid": valid}
    _STATE.update(cfg=cfg, data=data, command=command)
    report = run_jobs(_run_job, keyed, store, describe=_describe, **runner_options(args))
    if args.quick:
        aggregate(report.results, stem, command)


if __name__ == "__main__":
    main()
