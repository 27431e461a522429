"""VSOP against PPO and VSOP's ablations on MuJoCo tasks (Gymnasium v5).

Every (environment, algorithm, seed) is one job: it trains with
``knowable.rl.train_agent``, evaluates the final policy (mean network, mean
action) on 10 episodes, and writes ``benchmarks/results/rl_mujoco/<job>.json``
with the training curve. Finished jobs are skipped on the next call (resume).
The report aggregates final evaluation returns, min-max normalised per
environment (0 = a uniformly random policy's mean return, 1 = the best final
return of any run on that environment), with ``rliable.metrics`` (IQM, median,
mean, optimality gap) and a stratified bootstrap over runs (2,000 resamples,
95 % percentile intervals). ``rliable.library``'s bootstrap is not used: it needs
``arch<8``, which does not import under pandas 3.

Usage::

    python benchmarks/rl_mujoco.py --quick                      # InvertedPendulum, vsop+ppo, 1 seed, 20k steps
    python benchmarks/rl_mujoco.py --envs InvertedPendulum-v5 --algos vsop,ppo --seeds 0-2 --steps 200000
    python benchmarks/rl_mujoco.py --envs InvertedPendulum-v5,Hopper-v5,HalfCheetah-v5 \\
        --algos vsop,ppo,vsop-no-relu,vsop-no-spectral,vsop-no-dropout --seeds 0-2 --steps 300000 --workers 2

    # one report over the three tasks, reusing the finished runs of the two calls above
    python benchmarks/rl_mujoco.py --envs InvertedPendulum-v5,Hopper-v5,HalfCheetah-v5 \\
        --algos vsop,ppo,vsop-no-relu,vsop-no-spectral,vsop-no-dropout --seeds 0-2 \\
        --steps InvertedPendulum-v5=200000,300000 --suffix _three_tasks \\
        --reuse-from _pendulum,_hopper_cheetah

Writes ``benchmarks/results/rl_mujoco[_quick].json``, ``.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_EPISODES = 10
CURVE_BIN = 10_000


def parse_seeds(text: str) -> list[int]:
    """``"0-2,5"`` -> ``[0, 1, 2, 5]``."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def parse_steps(text: str, envs: list[str]) -> dict[str, int]:
    """``"300000"`` or ``"InvertedPendulum-v5=200000,300000"`` -> steps per environment.

    A bare number is the default for every environment not named explicitly.
    """
    default, named = None, {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep:
            named[key] = int(value)
        else:
            default = int(key)
    missing = [e for e in envs if e not in named and default is None]
    if missing:
        raise SystemExit(f"--steps gives no step count for {', '.join(missing)}")
    return {e: named.get(e, default) for e in envs}


def versus(records: list[dict[str, Any]], env: str, a: str, b: str, reps: int = 2000):
    """Difference of mean final return ``a - b`` on one environment, with a 95 % bootstrap
    interval over seeds (resampling each algorithm's runs), and the verdict it supports."""
    va = np.array([r["final_eval_return"] for r in records if r["env"] == env and r["algo"] == a])
    vb = np.array([r["final_eval_return"] for r in records if r["env"] == env and r["algo"] == b])
    if len(va) < 2 or len(vb) < 2:
        return None
    rng = np.random.default_rng(0)
    boots = [rng.choice(va, len(va)).mean() - rng.choice(vb, len(vb)).mean() for _ in range(reps)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    verdict = "wins" if lo > 0 else "loses" if hi < 0 else "ties"
    return float(va.mean() - vb.mean()), float(lo), float(hi), verdict


def run_job(env_id: str, algo: str, seed: int, steps: int, out: Path) -> dict[str, Any]:
    import torch

    from knowable.rl import preset, train_agent

    torch.set_num_threads(1)
    start = time.perf_counter()
    cpu0 = time.process_time()
    run = train_agent(env_id, preset(algo), total_steps=steps, seed=seed)
    train_s = time.perf_counter() - start
    returns = run.evaluate(EVAL_EPISODES, seed=10_000 + seed)
    ep = run.episodes
    bins = (ep["step"] // CURVE_BIN).to_numpy()
    curve = [
        [int((b + 1) * CURVE_BIN), float(ep["return"].to_numpy()[bins == b].mean())]
        for b in np.unique(bins)
    ]
    record = {
        "env": env_id,
        "algo": algo,
        "seed": seed,
        "steps": int(run.meta["total_steps"]),
        "final_eval_return": float(returns.mean()),
        "eval_returns": returns.tolist(),
        "curve": curve,
        "train_seconds": train_s,
        "cpu_seconds": time.process_time() - cpu0,
    }
    out.write_text(json.dumps(record, indent=1))
    return record


def random_policy_return(env_id: str, episodes: int = 20) -> float:
    import gymnasium as gym

    env = gym.make(env_id)
    env.action_space.seed(0)
    total = 0.0
    for k in range(episodes):
        env.reset(seed=k)
        done = False
        while not done:
            _, r, term, trunc, _ = env.step(env.action_space.sample())
            total += float(r)
            done = term or trunc
    env.close()
    return total / episodes


def stratified_bootstrap(
    scores: dict[str, np.ndarray], stat, reps: int = 2000, seed: int = 0
) -> dict[str, tuple[float, float, float]]:
    """Point estimate and 95 % interval of ``stat`` over (runs x tasks) score matrices,
    resampling runs with replacement within each task."""
    rng = np.random.default_rng(seed)
    out = {}
    for algo, mat in scores.items():
        n_runs, n_tasks = mat.shape
        boots = np.empty(reps)
        for r in range(reps):
            idx = rng.integers(0, n_runs, size=(n_runs, n_tasks))
            boots[r] = stat(np.take_along_axis(mat, idx, axis=0))
        lo, hi = np.percentile(boots, [2.5, 97.5])
        out[algo] = (float(stat(mat)), float(lo), float(hi))
    return out


def report(records: list[dict[str, Any]], suffix: str, args: argparse.Namespace) -> None:
    from rliable import metrics

    envs = sorted({r["env"] for r in records})
    algos = [a for a in args.algos if any(r["algo"] == a for r in records)]
    random_score = {e: random_policy_return(e) for e in envs}
    best = {e: max(r["final_eval_return"] for r in records if r["env"] == e) for e in envs}
    lines = [
        f"# VSOP vs PPO on MuJoCo (`python benchmarks/rl_mujoco.py {args.cli}`)",
        "",
        "Final evaluation return (10 episodes, mean network) per run; mean ± s.d. over seeds.",
        "",
        "| env | " + " | ".join(algos) + " |",
        "|---|" + "---|" * len(algos),
    ]
    for e in envs:
        cells = []
        for a in algos:
            v = [r["final_eval_return"] for r in records if r["env"] == e and r["algo"] == a]
            cells.append(f"{np.mean(v):.1f} ± {np.std(v):.1f} (n={len(v)})" if v else "—")
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    seeds_common = min(
        sum(1 for r in records if r["env"] == e and r["algo"] == a) for e in envs for a in algos
    )
    scores = {}
    for a in algos:
        cols = []
        for e in envs:
            v = sorted(
                (r["seed"], r["final_eval_return"])
                for r in records
                if r["env"] == e and r["algo"] == a
            )[:seeds_common]
            cols.append(
                [(s - random_score[e]) / max(best[e] - random_score[e], 1e-9) for _, s in v]
            )
        scores[a] = np.array(cols).T
    aggregates = {
        "IQM": metrics.aggregate_iqm,
        "median": metrics.aggregate_median,
        "mean": metrics.aggregate_mean,
        "optimality gap": metrics.aggregate_optimality_gap,
    }
    lines += [
        "",
        f"Aggregates over {len(envs)} environment(s) x {seeds_common} seed(s), scores min-max "
        "normalised per environment (0: random policy, 1: best run); 95 % stratified-bootstrap "
        "intervals:",
        "",
        "| algorithm | " + " | ".join(aggregates) + " |",
        "|---|" + "---|" * len(aggregates),
    ]
    summary: dict[str, Any] = {}
    per_stat = {name: stratified_bootstrap(scores, f) for name, f in aggregates.items()}
    for a in algos:
        cells = []
        for name in aggregates:
            est, lo, hi = per_stat[name][a]
            cells.append(f"{est:.3f} [{lo:.3f}, {hi:.3f}]")
            summary.setdefault(a, {})[name] = [est, lo, hi]
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    if "vsop" in algos and "ppo" in algos:
        lines += [
            "",
            "VSOP against PPO per environment: difference of mean final return, 95 % bootstrap "
            "interval over seeds; 'ties' when the interval contains 0:",
            "",
        ]
        for e in envs:
            cmp = versus(records, e, "vsop", "ppo")
            if cmp is not None:
                d, lo, hi, verdict = cmp
                lines.append(f"- {e}: VSOP {verdict} ({d:+.1f} [{lo:+.1f}, {hi:+.1f}])")
                summary.setdefault("vsop_vs_ppo", {})[e] = [d, lo, hi, verdict]
    lines += ["", "Wall-clock seconds per 1M steps (mean over runs; 1 thread each):", ""]
    for a in algos:
        per_m = [1e6 * r["train_seconds"] / r["steps"] for r in records if r["algo"] == a]
        lines.append(f"- {a}: {np.mean(per_m):.0f} s")
    for e in envs:
        reach = [
            next((s for s, v in r["curve"] if v >= 950), None)
            for r in records
            if r["env"] == e and r["algo"] == "vsop"
        ]
        if e.startswith("InvertedPendulum") and reach:
            lines.append(
                f"- {e}, VSOP: first {CURVE_BIN // 1000}k-step bin with mean training return >= 950, "
                f"per seed: {reach}"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"rl_mujoco{suffix}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"rl_mujoco{suffix}.json").write_text(
        json.dumps(
            {"records": records, "aggregates": summary, "random_score": random_score}, indent=1
        )
    )
    _figure(records, envs, algos, RESULTS / f"rl_mujoco{suffix}.png")
    print("\n".join(lines))


def _figure(records, envs, algos, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(envs), figsize=(4.5 * len(envs), 3.5), squeeze=False)
    for ax, e in zip(axes[0], envs, strict=True):
        for a in algos:
            runs = [r["curve"] for r in records if r["env"] == e and r["algo"] == a]
            if not runs:
                continue
            steps = sorted({s for c in runs for s, _ in c})
            mat = np.array([[dict(c).get(s, np.nan) for s in steps] for c in runs])
            ax.plot(steps, np.nanmean(mat, axis=0), label=a)
        ax.set_title(e)
        ax.set_xlabel("environment steps")
        ax.set_ylabel("training episode return")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", default="InvertedPendulum-v5,Hopper-v5,HalfCheetah-v5")
    parser.add_argument("--algos", default="vsop,ppo")
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument(
        "--steps",
        default="300000",
        help="steps per run: a number, or ENV=N pairs plus an optional default number",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--suffix", default="")
    parser.add_argument(
        "--reuse-from",
        default="",
        help="comma-separated suffixes of earlier runs whose finished jobs with the same key "
        "(env, algo, seed, steps) are copied in instead of re-run",
    )
    args = parser.parse_args()
    args.cli = " ".join(os.sys.argv[1:])
    if args.quick:
        args.envs, args.algos, args.seeds, args.steps = (
            "InvertedPendulum-v5",
            "vsop,ppo",
            "0",
            "20480",
        )
        args.suffix = args.suffix or "_quick"
    args.envs, args.algos = args.envs.split(","), args.algos.split(",")
    jobs_dir = RESULTS / f"rl_mujoco{args.suffix}"
    jobs_dir.mkdir(parents=True, exist_ok=True)
    steps = parse_steps(args.steps, args.envs)
    jobs = [
        (e, a, s, steps[e], jobs_dir / f"{e}__{a}__{s}__{steps[e]}.json")
        for e in args.envs
        for a in args.algos
        for s in parse_seeds(args.seeds)
    ]
    for other in filter(None, args.reuse_from.split(",")):
        for *_, path in jobs:
            earlier = RESULTS / f"rl_mujoco{other}" / path.name
            if not path.exists() and earlier.exists():
                path.write_text(earlier.read_text())
    todo = [j for j in jobs if not j[-1].exists()]
    print(f"{len(jobs)} jobs, {len(jobs) - len(todo)} already done")
    with ProcessPoolExecutor(args.workers) as pool:
        for rec in pool.map(run_job, *zip(*todo, strict=True)) if todo else []:
            print(f"{rec['env']} {rec['algo']} seed {rec['seed']}: {rec['final_eval_return']:.1f}")
    records = [json.loads(j[-1].read_text()) for j in jobs]
    report(records, args.suffix, args)


if __name__ == "__main__":
    main()
