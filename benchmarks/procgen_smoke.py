"""ProcGen smoke run: the 3D (frame-stack Conv3d) and 2D IMPALA networks on coinrun.

Trains each network with VSOP for a few rollouts on this CPU and reports
samples per second (environment steps per wall-clock second, rollouts and
updates included), so the cost of the 3D architecture is measured in one run.
No claim of reproducing the paper: a full run needs a GPU (commands below).

Usage::

    python benchmarks/procgen_smoke.py            # 2 x 1,024 steps per network
    python benchmarks/procgen_smoke.py --steps 4096

Needs ProcGen (see docs/rl.md for the --no-deps install of procgen2).
Writes ``benchmarks/results/procgen_smoke.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

RESULTS = Path(__file__).resolve().parent / "results"

GPU_COMMANDS = """\
# Full 25M-step runs on a GPU machine (not run here): one game, 3D network, 16 frames, width 2
python -c "from knowable.rl import train_procgen; train_procgen('coinrun', '3d', total_steps=25_000_000, \\
    num_envs=64, num_steps=256, frames=16, width=2, num_minibatches=32, seed=0)"
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1024)
    parser.add_argument("--game", default="coinrun")
    args = parser.parse_args()
    import torch

    from knowable.rl import train_procgen

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    rows = []
    load_before = os.getloadavg()[0]
    for net, frames, width in (("3d", 4, 1), ("3d", 16, 2), ("2d", 1, 1)):
        run = train_procgen(
            args.game,
            net,
            total_steps=args.steps,
            num_envs=8,
            num_steps=64,
            frames=frames,
            width=width,
            seed=0,
        )
        rows.append(
            {
                "network": net,
                "frames": frames,
                "width": width,
                "steps": run.steps,
                "samples_per_second": run.samples_per_second,
                "episodes_finished": len(run.episode_returns),
            }
        )
        print(rows[-1])
    lines = [
        f"# ProcGen smoke run ({args.game}, `python benchmarks/procgen_smoke.py --steps {args.steps}`)",
        "",
        f"CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads;"
        " 8 environments x 64 steps per rollout, 4 minibatches, VSOP loss. 1-minute load average"
        f" {load_before:.1f} before and {os.getloadavg()[0]:.1f} after the run (samples/s fall"
        " with the machine's other load).",
        "",
        "| network | frames | width | steps | samples/s | episodes finished |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['network']} | {r['frames']} | {r['width']} | {r['steps']} | "
        f"{r['samples_per_second']:.1f} | {r['episodes_finished']} |"
        for r in rows
    ]
    lines += ["", "Reproduction on a GPU (not run here):", "", "```bash", GPU_COMMANDS, "```"]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "procgen_smoke.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "procgen_smoke.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
