"""Time and accuracy of the DUE ATE interval at large n: exact against the subsampled term.

``TARNet(uncertainty="due", gp_members=1).ate_interval`` is exact up to 4,096 units; above, the
between-unit part of the unexplained covariance is a seeded U-statistic over 4,096
units (:meth:`knowable.models._gp.VariationalGP.weighted_sum_moments`). This fits one
DUE model briefly on a simulator (the fit is not what is measured), then, at each
n, times ``ate_interval`` and the exact computation (``max_exact_units`` above n) in
the same process, and reports the relative error of the ATE's standard deviation over
five subsample seeds. One thread.

Usage::

    python benchmarks/due_ate_interval.py                 # n = 4,000 ... 100,000
    python benchmarks/due_ate_interval.py --quick         # n = 4,000 and 16,000

Writes ``benchmarks/results/due_ate_interval{_quick}.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import command_line, write_result

SIZES = (4_000, 16_000, 32_000, 100_000)
QUICK_SIZES = (4_000, 16_000)
SEEDS = 5


def measure(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    import torch

    from knowable.effects import TARNet

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2_000, 10)).astype(np.float32)
    t = (rng.random(2_000) < 0.5).astype(float)
    y = x[:, 0] + t * (1 + x[:, 1]) + rng.normal(size=2_000)
    # one DUE model, the single-model default of earlier versions: the exact variance below
    # is that model's (gp_members > 1 mixes several models' moments)
    single = {"gp_members": 1, "hidden_size": 200, "batch_size": 64}
    est = TARNet(**single, max_epochs=5, random_state=0, device="cpu").fit(x, t, y)
    module = est._due_modules()[0]
    rows = []
    for n in sizes:
        xn = rng.normal(size=(n, 10)).astype(np.float32)
        t0 = time.perf_counter()
        lo, hi = est.ate_interval(xn)
        interval_s = time.perf_counter() - t0
        with torch.no_grad():
            z = est._standardise_X(est._validate_X(xn, fitting=False))
            blocks = module.blocks(module.extractor(z))
        w = torch.tensor([[-1.0, 1.0]], dtype=torch.float64).expand(n, 2) / n
        t0 = time.perf_counter()
        _, exact = module.gp.weighted_sum_moments(blocks, w, max_exact_units=n)
        exact_s = time.perf_counter() - t0
        sd_exact = float(exact[0]) ** 0.5 * est.y_scale_
        sds = [
            float(module.gp.weighted_sum_moments(blocks, w, seed=s)[1][0]) ** 0.5 * est.y_scale_
            for s in range(SEEDS)
        ]
        rel = np.abs(np.array(sds) / sd_exact - 1)
        rows.append(
            {
                "n": n,
                "interval_s": interval_s,
                "exact_s": exact_s,
                "sd_exact": sd_exact,
                "sd_subsample": sds,
                "rel_err_max": float(rel.max()),
                "rel_err_mean": float(rel.mean()),
                "interval": [float(lo), float(hi)],
            }
        )
        print(rows[-1], flush=True)
    return rows


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# DUE ATE interval at large n",
        "",
        f"Command: `{result['command']}`. One thread; {SEEDS} subsample seeds per n.",
        "",
        "| n | `ate_interval` s | exact s | ATE sd, exact | \\|relative error\\| of the sd, mean / max |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['n']:,} | {r['interval_s']:.2f} | {r['exact_s']:.2f} | {r['sd_exact']:.5f} | "
            f"{r['rel_err_mean']:.4f} / {r['rel_err_max']:.4f} |"
        )
    lines += ["", "Up to 4,096 units `ate_interval` is the exact computation (error 0)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    result = {
        "command": command_line("due_ate_interval.py", argv or sys.argv[1:]),
        "rows": measure(QUICK_SIZES if args.quick else SIZES),
    }
    name = "due_ate_interval_quick" if args.quick else "due_ate_interval"
    write_result(name, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
