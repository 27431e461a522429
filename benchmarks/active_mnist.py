"""Active learning benchmark: acquisition speed, bounded memory, MNIST learning curves.

Sections (``--sections``, comma-separated):

* ``speed``: PowerBALD versus greedy BatchBALD acquisition time on a synthetic
  pool of 5,000 inputs, 10 classes, batch 10 (same probability draws).
* ``memory``: power-BALD over a pool of 1,000,000 inputs x 20 draws streamed
  in Posterior chunks, and BALD on one in-memory 1,000,000 x 20 regression
  Posterior; peak RSS from ``resource.getrusage``.
* ``curves``: MNIST learning curves (shipped 5k training subset as pool,
  official 10k test set), MC-dropout CNN, 20 balanced initial labels, batch 10,
  up to 300 labels; random, BALD top-k, BatchBALD, PowerBALD, SoftmaxBALD,
  SoftrankBALD. ``--repeats 3`` with ``--noise 0.1`` gives Repeated-MNIST x3.

Peers (``batchbald_redux``, ``baal``) are not installed in the project
environment and are not run here.

Usage::

    python benchmarks/active_mnist.py --quick --sections speed,memory
    python benchmarks/active_mnist.py --sections curves --seeds 3 --repeats 3 --noise 0.1
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

from knowable.acquire import batchbald, score, select
from knowable.models import Categorical, GaussianNoise, Posterior

RESULTS = Path(__file__).parent / "results"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def speed(quick: bool) -> dict:
    """Seconds per batch of 10 from 5,000 pool inputs: PowerBALD vs BatchBALD."""
    K = 20 if quick else 100
    M = 2_000 if quick else 10_000
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), size=(K, 5000))
    post = Posterior(probs, Categorical())
    t0 = time.perf_counter()
    for rep in range(5):
        select(post, 10, "power-bald", random_state=rep)
    power_s = (time.perf_counter() - t0) / 5
    t0 = time.perf_counter()
    res = batchbald(post, 10, n_configurations=M, random_state=0)
    bb_s = time.perf_counter() - t0
    return {
        "pool": 5000,
        "classes": 10,
        "draws_K": K,
        "batch": 10,
        "batchbald_n_configurations": M,
        "batchbald_exact_picks": int(res.exact.sum()),
        "power_bald_seconds": power_s,
        "batchbald_seconds": bb_s,
        "speedup": bb_s / power_s,
    }


def memory(quick: bool) -> dict:
    """Power-BALD on 1,000,000 x 20 draws streamed in chunks; BALD on one in-memory Posterior."""
    n, S, C, chunk = 1_000_000, 20, 10, 20_000
    base = _peak_rss_mib()

    def chunks():
        for start in range(0, n, chunk):
            rng = np.random.default_rng(start)
            p = rng.dirichlet(np.full(C, 0.5), size=(S, min(chunk, n - start))).astype(np.float32)
            p /= p.sum(-1, keepdims=True)
            yield Posterior(p, Categorical())

    t0 = time.perf_counter()
    batch = select(chunks(), 100, "power-bald", random_state=0, chunk_size=chunk)
    stream_s = time.perf_counter() - t0
    after_stream = _peak_rss_mib()
    f = np.random.default_rng(1).normal(size=(S, n, 1))  # 160 MB of draws
    t0 = time.perf_counter()
    s = score(Posterior(f, GaussianNoise(np.array(0.5))), "bald")
    whole_s = time.perf_counter() - t0
    after_whole = _peak_rss_mib()
    return {
        "pool": n,
        "draws": S,
        "classes_streamed": C,
        "stream_chunk": chunk,
        "streamed_full_draws_mib_if_materialised": n * S * C * 4 / 2**20,
        "peak_rss_mib_before": base,
        "peak_rss_mib_after_streamed_power_bald": after_stream,
        "streamed_seconds": stream_s,
        "streamed_batch_size": len(batch.indices),
        "inmemory_regression_draws_mib": f.nbytes / 2**20,
        "peak_rss_mib_after_inmemory_regression_bald": after_whole,
        "inmemory_seconds": whole_s,
        "inmemory_scores": len(s),
    }


def curves(quick: bool, seeds: int, repeats: int, noise: float) -> dict:
    """Learning curves with the MC-dropout CNN (slow on CPU)."""
    from knowable.campaign import ActiveLoop, learning_curve_figure, learning_curve_table
    from knowable.data import Dataset, load_mnist
    from knowable.models import UncertainClassifier

    train, test = load_mnist("train"), load_mnist("test")
    x, y = train.x, train.y
    if repeats > 1:
        rng = np.random.default_rng(0)
        x = np.concatenate(
            [x + noise * rng.normal(size=x.shape).astype(np.float32) for _ in range(repeats)]
        )
        y = np.concatenate([y] * repeats)
    pool = Dataset(x, y=y)
    n_test = 1000 if quick else len(test)
    test_set = test.subset(np.arange(n_test))
    n_draws = 10 if quick else 20
    max_labels = 40 if quick else 300
    strategies = ["random", "bald", "batchbald", "power-bald", "softmax-bald", "softrank-bald"]
    histories = []
    for seed in range(seeds):
        for strategy in strategies:
            loop = ActiveLoop(
                lambda s: UncertainClassifier(
                    "dropout",
                    extractor="cnn",
                    n_samples=n_draws,
                    max_epochs=10 if quick else 100,
                    patience=3,
                    min_steps_per_epoch=20,
                    random_state=s,
                ),
                pool,
                test_set,
                strategy=strategy,
                batch_size=10,
                n_initial=20,
                max_labels=max_labels,
                n_configurations=1_000 if quick else 10_000,
                random_state=seed,
            )
            histories.append(loop.run().history)
    import pandas as pd

    frame = pd.concat(histories)
    table = learning_curve_table(frame, "accuracy")
    tag = "quick" if quick else "full"
    fig = learning_curve_figure(frame, "accuracy", title=f"MNIST x{repeats} ({tag})")
    fig.savefig(RESULTS / f"active_mnist_curves_{tag}.png", dpi=120)
    return {"table": table.to_dict(orient="records"), "n_test": n_test, "draws": n_draws}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small settings (minutes on a laptop)")
    parser.add_argument("--sections", default="speed,memory,curves")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--noise", type=float, default=0.1)
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    out: dict = {
        "command": "python benchmarks/active_mnist.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "peers": "not run (batchbald_redux and baal are not installed in the project environment)",
    }
    if "memory" in sections:  # first: ru_maxrss is a lifetime peak
        out["memory"] = memory(args.quick)
    if "speed" in sections:
        out["speed"] = speed(args.quick)
    if "curves" in sections:
        out["curves"] = curves(
            args.quick, 1 if args.quick else args.seeds, args.repeats, args.noise
        )
    RESULTS.mkdir(exist_ok=True)
    tag = ("quick" if args.quick else "full") + "_" + "-".join(sections)
    (RESULTS / f"active_mnist_{tag}.json").write_text(json.dumps(out, indent=2, default=float))
    lines = [
        f"# active_mnist ({tag})",
        "",
        f"Command: `{out['command']}`",
        "",
        f"Peers: {out['peers']}",
        "",
    ]
    if "speed" in out:
        sp = out["speed"]
        lines += [
            "## Acquisition speed (pool 5,000, 10 classes, batch 10)",
            "",
            "| method | seconds per batch |",
            "|---|---|",
            f"| PowerBALD | {sp['power_bald_seconds']:.4f} |",
            f"| BatchBALD (K = {sp['draws_K']}, M = {sp['batchbald_n_configurations']}, "
            f"{sp['batchbald_exact_picks']} exact picks) | {sp['batchbald_seconds']:.2f} |",
            "",
            f"Speed-up: {sp['speedup']:.0f}x",
            "",
        ]
    if "memory" in out:
        me = out["memory"]
        lines += [
            "## Bounded memory (pool 1,000,000 x 20 draws)",
            "",
            f"- streamed power-BALD, 10 classes (draws would be {me['streamed_full_draws_mib_if_materialised']:.0f} MiB "
            f"if materialised): peak RSS {me['peak_rss_mib_before']:.0f} -> "
            f"{me['peak_rss_mib_after_streamed_power_bald']:.0f} MiB, {me['streamed_seconds']:.1f} s",
            f"- in-memory regression BALD ({me['inmemory_regression_draws_mib']:.0f} MiB of draws): peak RSS "
            f"{me['peak_rss_mib_after_inmemory_regression_bald']:.0f} MiB, {me['inmemory_seconds']:.1f} s",
            "",
        ]
    if "curves" in out:
        lines += [
            "## Learning curves (test accuracy)",
            "",
            "| strategy | labels | mean | sd | seeds |",
            "|---|---|---|---|---|",
        ]
        for r in out["curves"]["table"]:
            lines.append(
                f"| {r['strategy']} | {r['n_labels']} | {r['mean']:.3f} | {r['std']:.3f} | {r['n_seeds']} |"
            )
    (RESULTS / f"active_mnist_{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
