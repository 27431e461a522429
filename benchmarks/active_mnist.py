"""Active learning benchmark: acquisition speed and bounded memory.

Sections (``--sections``, comma-separated):

* ``speed``: PowerBALD versus greedy BatchBALD acquisition time on a synthetic
  pool of 5,000 inputs, 10 classes, batch 10 (same probability draws).
* ``memory``: power-BALD over a pool of 1,000,000 inputs x 20 draws streamed
  in Posterior chunks, and BALD on one in-memory 1,000,000 x 20 regression
  Posterior; peak RSS from ``resource.getrusage``.

The Repeated-MNIST learning curves (seven strategies, several seeds, with the
peers on the identical log-probabilities) are ``benchmarks/active_mnist_curves.py``;
peers on synthetic draws are ``benchmarks/al_peers.py``.

Usage::

    python benchmarks/active_mnist.py --quick --sections speed,memory
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small settings (minutes on a laptop)")
    parser.add_argument("--sections", default="speed,memory")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    out: dict = {
        "command": "python benchmarks/active_mnist.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "peers": "see benchmarks/al_peers.py and benchmarks/active_mnist_curves.py",
    }
    if "memory" in sections:  # first: ru_maxrss is a lifetime peak
        out["memory"] = memory(args.quick)
    if "speed" in sections:
        out["speed"] = speed(args.quick)
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
    (RESULTS / f"active_mnist_{tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
