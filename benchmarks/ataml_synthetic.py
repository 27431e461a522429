"""ATAML vs MAML vs pretrained encoder vs random init on synthetic few-shot topic tasks.

Data: ``knowable.fewshot.TopicTaskGenerator`` with its defaults (vocabulary 400,
60 key words, 40 topics with 4 key words each, documents of 40 tokens with 3
key words of their own topic and 1 of another planted in Zipf background text;
24 topics for meta-training, 16 held out). Single-label tasks by default;
``--multi-label`` draws multi-label episodes instead (each document: its anchor
class plus each other episode class with probability ``EXTRA_LABEL_P`` = 0.1,
so 1.4 labels per document on average; 3 key words planted per label; sigmoid
outputs with binary cross-entropy in both loops) and scores micro-F1 at
threshold 0.5, with the trivial ``all_positive`` rule (every label on every
query document) as a floor.

Methods, per seed and shot count (the same network: embedding 32, 1-D CNN 32,
attention 16; 3 inner steps at α = 0.5 in training and testing):
- ``ataml``: encoder learned in the outer loop only; attention + classifier adapted.
- ``maml``: every parameter adapted in the inner loop.
- ``pretrained``: encoder pretrained by ordinary supervised classification over
  all training topics (as many steps of 64 documents as the outer loop has
  steps), fresh attention + classifier, the ATAML inner loop at test time.
- ``random_init``: no meta-training; the ATAML inner loop from a fresh network.

Score: query accuracy (multi-label: micro-F1) on held-out topics, mean over ``N_EVAL`` episodes per
seed; summary mean ± t(0.975, n-1) s.d. / sqrt(n) over seeds.

Usage::

    python benchmarks/ataml_synthetic.py            # 5 seeds, 300 outer steps
    python benchmarks/ataml_synthetic.py --quick    # 2 seeds, 60 outer steps
    python benchmarks/ataml_synthetic.py --multi-label [--quick]

Writes ``benchmarks/results/ataml_synthetic[_multilabel][_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy import stats

from knowable.fewshot import ATAML, TopicTaskGenerator, micro_f1, pretrained_encoder_model

RESULTS = Path(__file__).resolve().parent / "results"
N_EVAL = 100
METHODS = ("ataml", "maml", "pretrained", "random_init")
EXTRA_LABEL_P = 0.1


def all_positive_f1(gen: TopicTaskGenerator, shot: int, seed: int) -> np.ndarray:
    """Micro-F1 of predicting every label, on the very episodes ``evaluate`` draws."""
    rng = np.random.default_rng(1000 + seed)
    out = np.zeros(N_EVAL)
    for i in range(N_EVAL):
        task = gen.sample_task(
            5,
            shot,
            5,
            split="test",
            multi_label=True,
            extra_label_p=EXTRA_LABEL_P,
            random_state=rng,
        )
        out[i] = micro_f1(task.query_y, np.ones_like(task.query_y))
    return out


def interval(a: np.ndarray) -> tuple[float, float]:
    if len(a) < 2:
        return float(a.mean()), float("nan")
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    return float(a.mean()), float(half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 60 outer steps")
    parser.add_argument("--multi-label", action="store_true", help="multi-label episodes, micro-F1")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 5; quick 2)")
    args = parser.parse_args()
    ml = args.multi_label
    methods = (*METHODS, "all_positive") if ml else METHODS
    seeds = args.seeds or (2 if args.quick else 5)
    iters = 60 if args.quick else 300
    gen = TopicTaskGenerator(random_state=0)
    rows = []
    for shot in (1, 5):
        for seed in range(seeds):
            for method in methods:
                t0 = time.perf_counter()
                est = ATAML(
                    "maml" if method == "maml" else "ataml",
                    k_shot=shot,
                    n_iterations=iters,
                    multi_label=ml,
                    extra_label_p=EXTRA_LABEL_P,
                    random_state=seed,
                )
                if method == "all_positive":
                    acc = all_positive_f1(gen, shot, seed)
                elif method == "random_init":
                    acc = est.evaluate(
                        gen, N_EVAL, model=est.build(gen.vocab_size, seed), random_state=1000 + seed
                    )
                elif method == "pretrained":
                    model = pretrained_encoder_model(est, gen, n_steps=iters, random_state=seed)
                    acc = est.evaluate(gen, N_EVAL, model=model, random_state=1000 + seed)
                else:
                    acc = est.fit(gen).evaluate(gen, N_EVAL, random_state=1000 + seed)
                row = {
                    "method": method,
                    "shot": shot,
                    "seed": seed,
                    "accuracy": float(acc.mean()),
                    "seconds": time.perf_counter() - t0,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = []
    for shot in (1, 5):
        for method in methods:
            a = np.array(
                [r["accuracy"] for r in rows if r["method"] == method and r["shot"] == shot]
            )
            mean, half = interval(a)
            summary.append({"method": method, "shot": shot, "mean": mean, "ci95_half": half})
    name = "ataml_synthetic" + ("_multilabel" if ml else "") + ("_quick" if args.quick else "")
    cmd = (
        "python benchmarks/ataml_synthetic.py"
        + (" --multi-label" if ml else "")
        + (" --quick" if args.quick else "")
        + (f" --seeds {seeds}" if args.seeds else "")
    )
    RESULTS.mkdir(exist_ok=True)
    meta = {"seeds": seeds, "outer_steps": iters, "n_eval_tasks": N_EVAL, "command": cmd}
    if ml:
        meta["extra_label_p"] = EXTRA_LABEL_P
    (RESULTS / f"{name}.json").write_text(
        json.dumps({"meta": meta, "rows": rows, "summary": summary}, indent=2)
    )
    kind = "multi-label " if ml else ""
    score = "micro-F1 (sigmoid > 0.5 plus the top label)" if ml else "accuracy"
    floor = "`all_positive` = every label predicted." if ml else "Chance = 0.200."
    lines = [
        f"# ATAML on synthetic {kind}topic tasks ({seeds} seeds, {iters} outer steps, 5-way)",
        "",
        f"Command: `{cmd}`. Query {score} on held-out topics ({N_EVAL} episodes per seed); "
        f"mean ± 95 % t-interval over seeds. {floor}",
        "",
        "| method | 1-shot | 5-shot |",
        "|---|---|---|",
    ]
    for method in methods:
        cells = [
            f"{s['mean']:.3f} ± {s['ci95_half']:.3f}" for s in summary if s["method"] == method
        ]
        lines.append(f"| {method} | {cells[0]} | {cells[1]} |")
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
