"""knowable's BatchBALD and PowerBALD against batchbald_redux and baal on identical inputs.

Run in an environment with the peers (never the test environment)::

    python3.11 -m venv .venv-peers-al && .venv-peers-al/bin/pip install torch==2.13.0
    .venv-peers-al/bin/pip install -c constraints.txt --no-deps batchbald-redux   # constraints: torch==2.13.0
    .venv-peers-al/bin/pip install -c constraints.txt toma baal && .venv-peers-al/bin/pip install -e .
    .venv-peers-al/bin/python benchmarks/al_peers.py [--quick]

Inputs are seeded Dirichlet class-probability draws (N pool points x K draws x C classes)
that play the role of MC-dropout outputs. Writes ``benchmarks/results/al_peers.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

from knowable.acquire import bald_from_probs, batchbald, stochastic_batch
from knowable.models import Categorical, Posterior

RESULTS = Path(__file__).parent / "results"


def make_probs(n: int, k: int, c: int, seed: int) -> np.ndarray:
    """Draws ``(K, N, C)`` with input-dependent disagreement between draws."""
    rng = np.random.default_rng(seed)
    centre = rng.dirichlet(np.ones(c), size=n)  # (N, C)
    concentration = rng.uniform(2.0, 50.0, size=(n, 1))
    alpha = centre * concentration + 0.05
    return np.stack([np.stack([rng.dirichlet(a) for a in alpha]) for _ in range(k)])


def timed(fn, repeats: int = 1):
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def compare_batchbald(n: int, k: int, c: int, b: int, m: int, seed: int) -> dict:
    from batchbald_redux.batchbald import get_batchbald_batch

    probs = make_probs(n, k, c, seed)
    post = Posterior(probs, Categorical())
    log_probs = torch.as_tensor(np.log(probs).transpose(1, 0, 2), dtype=torch.float64)  # (N, K, C)
    ours, t_ours = timed(
        lambda: batchbald(post, b, n_configurations=m, random_state=seed), repeats=2
    )
    theirs, t_theirs = timed(
        lambda: get_batchbald_batch(log_probs, b, num_samples=m, dtype=torch.float64), repeats=2
    )
    exact_picks = sum(1 for j in range(b) if c**j <= m)
    same_exact = list(ours.indices[:exact_picks]) == list(theirs.indices[:exact_picks])
    return {
        "pool": n,
        "draws": k,
        "classes": c,
        "batch": b,
        "configurations": m,
        "exact_picks": exact_picks,
        "knowable_indices": [int(i) for i in ours.indices],
        "batchbald_redux_indices": [int(i) for i in theirs.indices],
        "same_indices_exact_regime": bool(same_exact),
        "same_indices_all": list(ours.indices) == list(theirs.indices),
        "knowable_s": t_ours,
        "batchbald_redux_s": t_theirs,
        "speedup": t_theirs / t_ours,
    }


def compare_powerbald(n: int, k: int, c: int, b: int, seed: int) -> dict:
    from baal.active.heuristics import BALD
    from baal.active.heuristics.stochastics import PowerSampling

    probs = make_probs(n, k, c, seed)
    post = Posterior(probs, Categorical())
    baal_input = probs.transpose(1, 2, 0)  # baal expects (N, C, iterations)

    def ours():
        return stochastic_batch(
            bald_from_probs(post.draws), b, mode="power", temperature=1.0, random_state=seed
        )

    heuristic = PowerSampling(BALD(), query_size=b, temperature=1.0)
    picks_ours, t_ours = timed(ours, repeats=3)
    # baal 2.1's PowerSampling.__call__ passes an extra argument to get_ranks; call get_ranks directly
    picks_baal, t_baal = timed(lambda: heuristic.get_ranks(baal_input)[0], repeats=3)
    ours_scores = bald_from_probs(post.draws)
    baal_scores = BALD().get_uncertainties(baal_input)
    return {
        "pool": n,
        "draws": k,
        "classes": c,
        "batch": b,
        "bald_scores_max_abs_diff": float(np.max(np.abs(ours_scores - baal_scores))),
        "knowable_s": t_ours,
        "baal_s": t_baal,
        "speedup": t_baal / t_ours,
        "note": "stochastic picks differ by construction (different random streams); scores are compared instead",
        "knowable_first_picks": [int(i) for i in picks_ours[:5]],
        "baal_first_picks": [int(i) for i in picks_baal[:5]],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small pools for a smoke run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    n_bb = 500 if args.quick else 2000
    n_pb = 5000 if args.quick else 100_000
    results = {
        "command": "python benchmarks/al_peers.py" + (" --quick" if args.quick else ""),
        "machine": f"{platform.machine()}, torch threads 1",
        "batchbald_exact": compare_batchbald(n_bb, 20, 3, 5, 10_000, seed=0),
        "batchbald_sampled": compare_batchbald(n_bb, 20, 10, 5, 1_000, seed=1),
        "powerbald": compare_powerbald(n_pb, 20, 10, 10, seed=2),
    }
    RESULTS.mkdir(exist_ok=True)
    stem = "al_peers_quick" if args.quick else "al_peers"
    (RESULTS / f"{stem}.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# Acquisition against peers, identical inputs",
        "",
        f"Command: `{results['command']}`; {results['machine']}.",
        "",
        "| comparison | pool | classes | batch | configs | same indices | knowable s | peer s | peer / knowable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key in ("batchbald_exact", "batchbald_sampled"):
        r = results[key]
        same = f"{r['same_indices_exact_regime']} (first {r['exact_picks']} exact picks), all: {r['same_indices_all']}"
        lines.append(
            f"| BatchBALD vs batchbald_redux ({key.split('_')[1]}) | {r['pool']} | {r['classes']} | {r['batch']} | "
            f"{r['configurations']} | {same} | {r['knowable_s']:.3f} | {r['batchbald_redux_s']:.3f} | {r['speedup']:.1f}x |"
        )
    r = results["powerbald"]
    lines.append(
        f"| PowerBALD vs baal PowerSampling(BALD) | {r['pool']} | {r['classes']} | {r['batch']} | – | "
        f"BALD scores max diff {r['bald_scores_max_abs_diff']:.1e} | {r['knowable_s']:.4f} | {r['baal_s']:.4f} | {r['speedup']:.1f}x |"
    )
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
