"""Peak memory and time of DiscoBAX on large pools (no n x n matrix anywhere).

Each pool size runs in a fresh process: a regression Posterior with S draws
(random low-rank functions of d features plus per-draw noise), then
``discobax(post, 64, subset_size=20, n_noise=20, n_fantasies=20, features=X)``.
Peak RSS is ``ru_maxrss`` of that process; the baseline is the RSS after the
inputs exist (draws, features), so the increment is DiscoBAX's own working memory.

    PYTHONPATH=src python benchmarks/discobax_memory.py [--quick]

Writes benchmarks/results/discobax_memory[_quick].json and .md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def child(n: int, s: int, d: int) -> dict:
    import numpy as np

    from knowable.acquire import discobax
    from knowable.models import GaussianNoise, Posterior

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, d))
    w = rng.normal(size=(s, d)) / np.sqrt(d)
    draws = (np.sin(x @ w.T).T + 0.3 * rng.normal(size=(s, n)))[:, :, None]
    post = Posterior(draws, GaussianNoise(0.2))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    res = discobax(post, 64, subset_size=20, n_noise=20, n_fantasies=20, features=x,
                   random_state=0)  # fmt: skip
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "n": n,
        "draws": s,
        "features": d,
        "seconds": round(secs, 2),
        "baseline_rss_mib": round(base, 1),
        "peak_rss_mib": round(peak, 1),
        "increment_mib": round(peak - base, 1),
        "inputs_mib": round((draws.nbytes + x.nbytes) / 2**20, 1),
        "dense_nxn_float64_gib": round(n * n * 8 / 2**30, 1),
        "first_picks": res.indices[:5].tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 candidates only")
    parser.add_argument("--child", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sizes = [10_000] if args.quick else [10_000, 100_000]
    rows = []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "20", "16"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    stem = "discobax_memory" + ("_quick" if args.quick else "")
    command = "PYTHONPATH=src python benchmarks/discobax_memory.py" + (
        " --quick" if args.quick else ""
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"command": command, "rows": rows}, indent=2))
    lines = [
        "# DiscoBAX memory and time (one process per pool size, 1 thread)",
        "",
        f"Command: `{command}`; b = 64, k = 20, 20 noise draws, 20 fantasies, S = 20 draws, d = 16.",
        "",
        "| pool n | seconds | peak RSS (MiB) | baseline RSS (MiB) | DiscoBAX increment (MiB) "
        "| inputs (MiB) | a dense n x n float64 would be (GiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']:,} | {r['seconds']} | {r['peak_rss_mib']} | {r['baseline_rss_mib']} | "
            f"{r['increment_mib']} | {r['inputs_mib']} | {r['dense_nxn_float64_gib']} |"
        )
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
