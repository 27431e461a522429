"""Does every Taylor trust window give d̄/d̲ ≥ Γ^{2|t−a|}? A randomised check (no proof).

The δMSM CAPO bound depends on d̄/d̲ only, and the window-free bound
(``correction="window_free"``) has d̄/d̲ = Γ^{2|t−a|}, the CMSM with
Λ = Γ^|t−a|. This script draws random compound densities q and reports, per
correction, the smallest excess log(d̄/d̲) − 2|t−a|·log Γ (≥ 0 means the
Taylor-window bound contains the CMSM(Γ^|t−a|) bound) and the share of
violations. Three families: 3-atom discrete q (through
:func:`knowable.bounds.delta_msm_factors`), two-component Gaussian-mixture
propensities with a Gaussian window, Beta propensities with a Beta window.
Fixed seeds; writes ``benchmarks/results/delta_msm_window_check.{json,md}``.

Usage::

    python benchmarks/delta_msm_window_check.py [--n 100000]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from knowable.bounds import delta_msm_factors, delta_msm_factors_beta, delta_msm_factors_gaussian

RESULTS = Path(__file__).resolve().parent / "results"
CORRECTIONS = ("symmetric", "paper", "code2022")


def _excess(lo: np.ndarray, hi: np.ndarray, s: np.ndarray, lg: np.ndarray) -> np.ndarray:
    ok = lo > 1e-8  # below, the bound is the extreme draw (wider still)
    return np.log(hi[ok] / lo[ok]) - 2 * np.abs(s[ok]) * lg[ok]


def run(n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for ci, corr in enumerate(CORRECTIONS):
        rng = np.random.default_rng(100 + ci)
        p = rng.dirichlet(np.full(3, 0.5), n)
        u = rng.normal(0.0, 2.0, (n, 3))
        s = rng.uniform(-2.0, 2.0, n)
        lg = rng.uniform(0.0, 2.0, n)
        e_m = (p * np.exp(-lg[:, None] * np.abs(u))).sum(1)
        e_p = (p * np.exp(lg[:, None] * np.abs(u))).sum(1)
        m1, m2 = (p * (u - s[:, None])).sum(1), (p * (u - s[:, None]) ** 2).sum(1)
        lo, hi = delta_msm_factors(e_m, e_p, m1, m2, s, np.exp(lg), corr)
        res = {"discrete": _excess(lo, hi, s, lg)}
        chunk = 1000
        lo_g, hi_g, lo_b, hi_b = (np.empty(n) for _ in range(4))
        lg_c = np.repeat(rng.uniform(0.0, 1.5, n // chunk + 1), chunk)[:n]
        w = rng.dirichlet(np.ones(2), n)
        loc, sc = rng.normal(0.0, 1.5, (n, 2)), rng.uniform(0.02, 2.0, (n, 2))
        t = rng.uniform(-2.0, 2.0, n)
        sw = np.exp(rng.uniform(np.log(1e-3), np.log(3.0), n))
        a, b = np.exp(rng.uniform(np.log(0.5), np.log(50.0), (2, n)))
        tb = rng.uniform(0.0, 1.0, n)
        r = np.exp(rng.uniform(np.log(0.1), np.log(200.0), n))
        for i in range(0, n, chunk):
            sl, g = slice(i, i + chunk), float(np.exp(lg_c[i]))
            lo_g[sl], hi_g[sl] = delta_msm_factors_gaussian(
                w[sl], loc[sl], sc[sl], t[sl], g, window_scale=sw[sl], correction=corr
            )
            lo_b[sl], hi_b[sl] = delta_msm_factors_beta(
                a[sl], b[sl], tb[sl], g, precision=r[sl], correction=corr
            )
        res["gaussian_mixture"] = _excess(lo_g, hi_g, t, lg_c)
        res["beta"] = _excess(lo_b, hi_b, tb, lg_c)
        for fam, ex in res.items():
            out[f"{corr}/{fam}"] = {
                "cases": int(ex.size),
                "min_excess": float(ex.min()),
                "violations": int((ex < -1e-12).sum()),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="cases per family and correction")
    args = parser.parse_args()
    res = run(args.n)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "delta_msm_window_check.json").write_text(json.dumps(res, indent=1))
    lines = [
        "# δMSM Taylor window vs window-free: d̄/d̲ ≥ Γ^{2|t−a|}?\n",
        f"Command: `python benchmarks/delta_msm_window_check.py --n {args.n}`\n",
        "| correction / family | cases (d̲ > 1e-8) | smallest excess of log(d̄/d̲) over "
        "2|t−a|·log Γ | violations |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {v['cases']} | {v['min_excess']:.3g} | {v['violations']} |"
        for k, v in res.items()
    ]
    (RESULTS / "delta_msm_window_check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
