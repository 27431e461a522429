"""Train the shipped induction model (2-layer attention-only transformer; safetensors + JSON).

The defaults of :class:`knowable.circuits.InductionConfig` reproduce
``src/knowable/circuits/weights/induction.safetensors`` with ``OMP_NUM_THREADS=1`` on the same
torch build (``KNOWABLE_RETRAIN_INDUCTION=1 pytest tests/test_circuits_induction.py`` checks
it). After training it records, on 1,000 fresh sequences (seed 1), the accuracy of the next-token
argmax on the second copy and the previous-token / induction score of every head.

Usage::

    OMP_NUM_THREADS=1 python scripts/train_induction.py                  # the shipped model
    python scripts/train_induction.py --steps 300 --out /tmp/ind.safetensors  # a quick try
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from knowable.circuits import (
    InductionConfig,
    induction_task,
    save_induction_model,
    train_induction_model,
)
from knowable.circuits._induction import WEIGHTS

EVAL_N, EVAL_SEED = 1000, 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=InductionConfig.steps)
    parser.add_argument("--seed", type=int, default=InductionConfig.seed)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    config = dataclasses.replace(InductionConfig(), steps=args.steps, seed=args.seed)
    model, history = train_induction_model(config, log_every=250)
    record = {
        "train_seconds": round(history["seconds"], 1),
        "train_cpu_seconds": round(history["cpu_seconds"], 1),
        "eval_n": EVAL_N,
        "eval_seed": EVAL_SEED,
    }
    path = save_induction_model(model, config, args.out, record)
    task = induction_task(EVAL_N, EVAL_SEED, path)
    scores = task.head_scores()
    record.update(
        accuracy=task.accuracy(),
        mean_logprob=float(task.scores().mean()),
        previous_token_scores=[
            [round(float(v), 4) for v in row] for row in scores["previous_token"]
        ],
        induction_scores=[[round(float(v), 4) for v in row] for row in scores["induction"]],
    )
    save_induction_model(model, config, path, record)
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
