"""GeneDisco-style active learning on a shipped CRISPR screen (honest numbers, small budget).

Target: the Schmidt et al. (2021) IL-2 screen in primary human T cells, one value per
gene = the mean over the two donors of MAGeCK ``pos|lfc`` (GeneDisco's definition).

Features (``--features``): built from the *other* shipped screens, for the genes present
in all of them (inner join; no imputation):

* ``all`` (default): the sibling Schmidt IFN-gamma screen (lfc and -log10 of the negative
  and positive MAGeCK scores, per donor), Zhuang 2019 NK-cell resistance (Rep1/Rep2 z),
  Sanchez 2021 tau (RSA_Down, RSA_Up, Q1, Q3), Zhu 2021 SARS-CoV-2 (-log10 pos|score):
  13 columns. **Leakage risk:** the IFN-gamma screen is the same lab, the same donors,
  the same cells and library with another cytokine read out, so it predicts IL-2 hits far
  better than any feature set available *before* running an IL-2 screen would; it stands
  in for GeneDisco's Achilles/STRING embeddings, which are not shipped.
* ``others``: the same without the IFN-gamma screen (7 columns): no sibling-screen
  leakage, but weak features.

Protocol (GeneDisco, Mehrjou et al. 2022): 20 % of genes held out as test genes (seeded);
an initial random batch of ``B``; then ``C`` cycles of fit -> evaluate -> acquire ``B``
from the pool. Model: ``UncertainRegressor`` deep ensemble (5 members, 2 x 32 hidden,
early stopping), refitted from scratch each cycle with the cycle's seed, the same for all
strategies of a seed. Metrics after each cycle, on the genes selected so far:

* hit ratio: |selected ∩ top 5 % of |y| among non-test genes| / |that top 5 %| (GeneDisco);
* top-1 % recall: the same with the top 1 % by *signed* y, descending (DiscoBAX);
* cluster coverage: the top-1 % genes are clustered into 20 groups (standardised
  features, k-means, 10 inits; the reference uses a 20-component Gaussian mixture on
  PCA(20), which is ill-conditioned on ~100 points); the share of groups with a
  selected gene;
* test RMSE of the model's mean on the held-out genes.

Strategies: random, topk-bald (top uncertainty: BALD on the regression Posterior),
power-bald, coreset (on standardised features), badge (k-means++ on standardised features;
the regression Posterior has no class-gradient embedding), discobax.

    PYTHONPATH=src python benchmarks/genedisco.py --quick     # 3 seeds, B = 32, 8 cycles
    PYTHONPATH=src python benchmarks/genedisco.py             # 5 seeds, B = 32, 25 cycles

Writes benchmarks/results/genedisco[_quick].json, .md and .png.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from knowable.acquire import discobax, select
from knowable.models import UncertainRegressor
from knowable.parallel import add_runner_arguments, run_jobs, runner_options

ROOT = Path(__file__).resolve().parents[1]
DATA = next(
    (p / "shared" / "data" / "genedisco_screens" for p in (ROOT.parent, ROOT.parent.parent)
     if (p / "shared" / "data" / "genedisco_screens").is_dir()),
    ROOT.parent / "shared" / "data" / "genedisco_screens",
)  # fmt: skip
RESULTS = ROOT / "benchmarks" / "results"
STRATEGIES = ["random", "topk-bald", "power-bald", "coreset", "badge", "discobax"]
MODEL = {"n_members": 5, "hidden_size": 32, "depth": 2, "max_epochs": 100, "patience": 10,
         "batch_size": 64, "device": "cpu"}  # fmt: skip


def _mageck(data: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(data / name, sep="\t").set_index("id")


def _nlog(p: pd.Series) -> pd.Series:
    return -np.log10(p.clip(lower=1e-300))


def load(features: str, data: Path = DATA) -> tuple[pd.DataFrame, pd.Series]:
    """Gene x feature table and the IL-2 target, on the genes present everywhere."""
    il2 = (_mageck(data, "schmidt_il2_d1.gene_summary.txt")["pos|lfc"]
           + _mageck(data, "schmidt_il2_d2.gene_summary.txt")["pos|lfc"]) / 2  # fmt: skip
    cols: dict[str, pd.Series] = {}
    if features == "all":
        for d in ("d1", "d2"):
            g = _mageck(data, f"schmidt_ifng_{d}.gene_summary.txt")
            cols[f"ifng_lfc_{d}"] = g["pos|lfc"]
            cols[f"ifng_neg_{d}"] = _nlog(g["neg|score"])
            cols[f"ifng_pos_{d}"] = _nlog(g["pos|score"])
    z = pd.read_csv(data / "zhuang_2019_low_selection.gene_summary.txt", sep="\t").set_index("Gene")
    cols["zhuang_z1"], cols["zhuang_z2"] = z["Rep1|z"], z["Rep2|z"]
    s = pd.read_csv(data / "sanchezetal2021_21days.csv", encoding="utf-8-sig").set_index("Symbol")
    for c in ("RSA_Down", "RSA_Up", "Q1", "Q3"):
        cols[f"sanchez_{c}"] = s[c]
    zhu = pd.read_csv(data / "zhu_2021_sarscov2_host_factors.csv", encoding="utf-8-sig")
    cols["zhu_pos"] = _nlog(zhu.set_index("id")["pos|score"])
    frames = [v.groupby(level=0).mean().rename(k) for k, v in cols.items()]
    x = pd.concat(frames, axis=1, join="inner").dropna()
    y = il2.groupby(level=0).mean()
    genes = x.index.intersection(y.index).sort_values()
    return x.loc[genes], y.loc[genes]


_ARRAYS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def _arrays(features: str, data: str) -> tuple[np.ndarray, np.ndarray]:
    # a plain dict, not functools.lru_cache: Ray ships this script's functions by value,
    # and an lru_cache wrapper from __main__ cannot travel that way
    if (features, data) not in _ARRAYS:
        xf, ys = load(features, Path(data))
        _ARRAYS[features, data] = xf.to_numpy(np.float64), ys.to_numpy(np.float64)
    return _ARRAYS[features, data]


def run_job(job: dict) -> list[dict]:
    """One (seed, strategy) curve: a job of :func:`knowable.parallel.run_jobs`."""
    torch.set_num_threads(1)
    x, y = _arrays(job["features"], job["data"])
    return run_one(x, y, job["strategy"], job["seed"], job["batch"], job["cycles"])


def run_one(x: np.ndarray, y: np.ndarray, strategy: str, seed: int, batch: int,
            cycles: int) -> list[dict]:  # fmt: skip
    rng = np.random.default_rng(seed)
    n = len(y)
    perm = rng.permutation(n)
    n_test = n // 5
    test, train = perm[:n_test], np.sort(perm[n_test:])
    ytr = y[train]
    top5 = set(train[np.argsort(-np.abs(ytr))[: int(np.ceil(0.05 * len(train)))]].tolist())
    top1 = train[np.argsort(-ytr)[: int(np.ceil(0.01 * len(train)))]]
    from sklearn.cluster import KMeans

    z = (x - x[train].mean(0)) / x[train].std(0)
    n_clusters = min(20, len(top1))
    labels = KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(z[top1])
    cluster_of = dict(zip(top1.tolist(), labels.tolist(), strict=True))
    selected = list(rng.choice(train, size=batch, replace=False))
    rows = []
    for cycle in range(cycles):
        t0 = time.perf_counter()
        sel = np.array(selected)
        model = UncertainRegressor(**MODEL, random_state=seed * 1000 + cycle).fit(z[sel], y[sel])
        rmse = float(np.sqrt(np.mean((model.posterior(z[test]).mean()[:, 0] - y[test]) ** 2)))
        got = set(selected)
        rows.append({
            "strategy": strategy, "seed": seed, "cycle": cycle, "n_selected": len(selected),
            "hit_ratio": len(got & top5) / len(top5),
            "top1_recall": len(got & set(top1.tolist())) / len(top1),
            "cluster_coverage": len({cluster_of[g] for g in got if g in cluster_of}) / n_clusters,
            "test_rmse": rmse,
        })  # fmt: skip
        if cycle == cycles - 1:
            break
        pool = np.setdiff1d(train, sel)
        post = model.posterior(z[pool], batch_size=4096)
        arng = np.random.default_rng([seed, cycle])
        if strategy == "discobax":
            idx = discobax(post, batch, features=z[pool], lengthscale=np.sqrt(z.shape[1]),
                           random_state=arng).indices  # fmt: skip
        else:
            idx = select(post, batch, strategy, random_state=arng, embeddings=z[pool],
                         labelled_embeddings=z[sel]).indices  # fmt: skip
        selected.extend(pool[idx].tolist())
        rows[-1]["seconds"] = round(time.perf_counter() - t0, 2)
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    last = frame[frame["cycle"] == frame["cycle"].max()]
    metrics = ["hit_ratio", "top1_recall", "cluster_coverage", "test_rmse"]
    g = last.groupby("strategy")[metrics]
    mean, sem = g.mean(), g.sem()
    out = pd.DataFrame(index=mean.index)
    for m in metrics:
        out[m] = [f"{a:.3f} ± {b:.3f}" for a, b in zip(mean[m], sem[m], strict=True)]
    out["recall + coverage"] = [
        f"{a:.3f}" for a in (mean["top1_recall"] + mean["cluster_coverage"])
    ]
    return out.reindex([s for s in STRATEGIES if s in out.index])


def _markdown(table: pd.DataFrame) -> str:
    head = ["strategy", *table.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([str(i), *map(str, r)]) + " |" for i, r in table.iterrows()]
    return "\n".join(lines)


def figure(frame: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.2), layout="constrained")
    axes = fig.subplots(1, 4)
    for ax, m in zip(axes, ["hit_ratio", "top1_recall", "cluster_coverage", "test_rmse"],
                     strict=True):  # fmt: skip
        for s, g in frame.groupby("strategy"):
            c = g.groupby("n_selected")[m]
            mu, se = c.mean(), c.sem().fillna(0)
            ax.plot(mu.index, mu, label=s)
            ax.fill_between(mu.index, mu - se, mu + se, alpha=0.15)
        ax.set(xlabel="genes selected", title=m.replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--features", choices=["all", "others"], default="all")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--cycles", type=int, default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the .md and .png from the saved .json")  # fmt: skip
    parser.add_argument("--tag", default="", help="suffix of the result files")
    add_runner_arguments(parser)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = args.seeds or (3 if args.quick else 5)
    cycles = args.cycles or (8 if args.quick else 25)
    strategies = [s.strip() for s in args.strategies.split(",")]
    xf, ys = load(args.features, args.data)
    print(f"{len(ys)} genes x {xf.shape[1]} features", flush=True)
    y = ys.to_numpy(np.float64)
    rows, t0 = [], time.perf_counter()
    stem = (
        "genedisco"
        + ("_quick" if args.quick else "")
        + ("_others" if args.features == "others" else "")
    )
    if args.report_only:
        saved = json.loads((RESULTS / f"{stem}{args.tag}.json").read_text())
        rows, seeds, cycles = saved["rows"], saved["seeds"], saved["cycles"]
        strategies = []
    jobs = {
        f"s{seed}_{s}": {"seed": seed, "strategy": s, "batch": args.batch, "cycles": cycles,
                         "features": args.features, "data": str(args.data)}
        for seed in range(seeds if strategies else 0) for s in strategies
    }  # fmt: skip

    def describe(rec: object) -> str:
        last = rec.result[-1]  # type: ignore[attr-defined]
        return (f"{rec.key}: hit {last['hit_ratio']:.3f} recall {last['top1_recall']:.3f} "  # type: ignore[attr-defined]
                f"coverage {last['cluster_coverage']:.3f} rmse {last['test_rmse']:.3f}")  # fmt: skip

    opts = runner_options(args)
    cpu = 0.0
    if jobs:
        report = run_jobs(run_job, jobs, RESULTS / f"{stem}{args.tag}.jobs", describe=describe,
                          **opts)  # fmt: skip
        rows = [r for rec in report.records.values() for r in rec.result]
        cpu = sum(rec.cpu_seconds for rec in report.records.values())
    frame = pd.DataFrame(rows)
    stem += args.tag
    cmd = "PYTHONPATH=src python benchmarks/genedisco.py" + (" --quick" if args.quick else "")
    if args.features != "all":
        cmd += f" --features {args.features}"
    for flag in ("seeds", "cycles", "tag"):
        if getattr(args, flag):
            cmd += f" --{flag} {getattr(args, flag)}"
    if args.strategies != ",".join(STRATEGIES):
        cmd += f" --strategies {args.strategies}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    table = summarise(frame)
    if not args.report_only:
        saved = {
            "command": cmd, "n_genes": len(y), "features": list(xf.columns), "seeds": seeds,
            "cycles": cycles, "batch": args.batch, "model": MODEL, "rows": rows,
            "seconds": round(time.perf_counter() - t0, 1), "job_cpu_seconds": round(cpu, 1),
            "backend": opts["backend"], "workers": opts["workers"],
            "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
        }  # fmt: skip
        (RESULTS / f"{stem}.json").write_text(json.dumps(saved, indent=1))
    figure(frame, RESULTS / f"{stem}.png")
    md = [
        f"# GeneDisco-style benchmark: Schmidt 2021 IL-2, features `{args.features}`",
        "",
        f"Command: `{cmd}`. {len(y)} genes x {xf.shape[1]} features; 20 % test genes; "
        f"batch {args.batch}, {cycles} cycles ({args.batch * cycles} genes selected at the "
        f"last cycle); mean ± s.e.m. over {seeds} seeds at the last cycle.",
        "",
        _markdown(table),
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
