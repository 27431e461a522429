"""``knowable rl``: train and evaluate VSOP / PPO agents on Gymnasium tasks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._output import make_console

__all__ = ["rl_app"]

rl_app = typer.Typer(
    name="rl",
    help="On-policy RL with positive advantages and dropout Thompson sampling (extra: rl).",
    no_args_is_help=True,
)

_ALGOS = "vsop, ppo, vsop-no-relu, vsop-no-spectral or vsop-no-dropout"


@rl_app.command("train")
def train_command(
    env: Annotated[str, typer.Option("--env", help="Gymnasium id, e.g. Hopper-v5.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the checkpoint and logs.")],
    algo: Annotated[str, typer.Option("--algo", help=_ALGOS + ".")] = "vsop",
    steps: Annotated[int, typer.Option("--steps", help="Environment steps.")] = 300_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    eval_episodes: Annotated[
        int, typer.Option("--eval-episodes", help="Evaluation episodes after training.")
    ] = 10,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Train an agent; write weights.safetensors, config.json, episodes.csv, updates.csv,
    evaluation.json and curve.png into --out."""
    from knowable.rl import PRESETS

    if algo not in PRESETS:
        raise ValueError(f"--algo must be one of {_ALGOS}, got {algo!r}.")
    if steps < 1 or eval_episodes < 1:
        raise ValueError("--steps and --eval-episodes must be >= 1.")
    from knowable.rl import preset, train_agent

    console = make_console()
    run = train_agent(env, preset(algo), total_steps=steps, seed=seed, progress=not quiet)
    folder = run.save(out)
    returns = run.evaluate(eval_episodes, seed=10_000 + seed)
    evaluation = {
        "episodes": eval_episodes,
        "mean_return": float(returns.mean()),
        "returns": returns.tolist(),
    }
    (folder / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
    _curve(run.episodes, folder / "curve.png", f"{algo} on {env}, seed {seed}")
    console.print(
        f"{algo} on {env}: {run.meta['total_steps']} steps, {len(run.episodes)} episodes; "
        f"evaluation return {returns.mean():.1f} ± {returns.std():.1f} over {eval_episodes} "
        f"episodes. Wrote {folder}/"
    )


@rl_app.command("evaluate")
def evaluate_command(
    run: Annotated[Path, typer.Option("--run", help="Folder written by `knowable rl train`.")],
    episodes: Annotated[int, typer.Option("--episodes", help="Evaluation episodes.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode.")] = 10_000,
    thompson: Annotated[
        bool, typer.Option("--thompson", help="Act with sampled dropout sub-networks.")
    ] = False,
) -> None:
    """Evaluate a saved agent and print its mean return."""
    from knowable.rl import load_run

    loaded = load_run(run)
    returns = loaded.evaluate(episodes, seed=seed, thompson=thompson)
    make_console().print(
        f"{loaded.env_id}: mean return {returns.mean():.1f} ± {returns.std():.1f} "
        f"over {episodes} episodes"
    )


def _curve(episodes, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    if len(episodes):
        ax.plot(episodes["step"], episodes["return"], lw=0.6, alpha=0.5, label="episode")
        smooth = episodes["return"].rolling(20, min_periods=1).mean()
        ax.plot(episodes["step"], smooth, lw=1.5, label="rolling mean (20)")
        ax.legend(fontsize=8)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("training return")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
