"""CPU/GPU agreement of the default CATE estimators and of the dose-response scale run.

Run on a machine with CUDA. For each configuration and IHDP realisation, the estimator
is fitted three times: on the CPU with ``random_state=1000 + k`` (the benchmark's seed),
on the CPU with a second seed, and on CUDA with the benchmark's seed. CPU and CUDA fits
with the same seed start from the same initial weights (they are drawn on the CPU), but
float32 reductions run in another order on the GPU and the trajectories part, so
bit-equality is not expected. The stated tolerance is the CPU's own seed-to-seed
difference: CPU and GPU agree when ``|√PEHE_cpu - √PEHE_gpu|`` is within that spread
(mean over realisations), and coverage within 0.05.

The CPU fits run in a process pool (one thread each) while the GPU fits run in the main
process, so the fit times are each device's own. The dose-response part repeats the
100,000-unit scale run of ``benchmarks/dose_response.py --scale`` (its ``scale_run``)
with ``device="cuda"``.

Usage::

    python benchmarks/gpu_agreement.py --realisations 1-5 --out DIR
    python benchmarks/gpu_agreement.py --quick --out DIR      # realisations 1-2, no scale run

Writes ``gpu_agreement.json`` and ``gpu_agreement.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dose_response import scale_run
from ihdp_effects import CONFIGS

from knowable.parallel import parse_range

AGREEMENT_CONFIGS = ("tarnet-due", "tarnet-ensemble", "tarnet-dropout", "dragonnet-due")
SECOND_SEED_OFFSET = 5000


def fit_ihdp(args: tuple[str, int, int, str]) -> dict[str, Any]:
    """Fit one configuration on one IHDP realisation and score it on the test units."""
    config, k, seed, device = args
    import torch

    torch.set_num_threads(1)
    import knowable.effects as eff
    from knowable.data import load_ihdp_train_test
    from knowable.effects.metrics import sqrt_pehe

    cls_name, kwargs = CONFIGS[config]
    tr, te = load_ihdp_train_test(k)
    est = getattr(eff, cls_name)(**kwargs, device=device, random_state=seed)
    t0 = time.perf_counter()
    est.fit(tr.x, tr.t, tr.y)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    fit_s = time.perf_counter() - t0
    tau = est.effect(te.x)
    lo, hi = est.effect_interval(te.x)
    truth = te.truth["cate"]
    return {
        "config": config,
        "realisation": k,
        "seed": seed,
        "device": device,
        "fit_s": fit_s,
        "epochs": [len(h.train_loss) for h in est.history_],
        "pehe": float(sqrt_pehe(tau, truth)),
        "coverage": float(np.mean((lo <= truth) & (truth <= hi))),
        "ate": float(np.mean(tau)),
        "tau": [float(v) for v in tau],
    }


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per configuration: mean √PEHE and coverage per run, and the CPU/GPU differences."""
    out = []
    for config in dict.fromkeys(r["config"] for r in rows):
        by = {
            (r["realisation"], r["seed"]): r
            for r in rows
            if r["config"] == config and not r["gpu_run"]
        }
        reals = sorted({k for k, _ in by})
        cpu = [by[(k, 1000 + k)] for k in reals]
        cpu2 = [by[(k, 1000 + k + SECOND_SEED_OFFSET)] for k in reals]
        gpu = sorted(
            (r for r in rows if r["config"] == config and r["gpu_run"]),
            key=lambda r: r["realisation"],
        )
        d_dev = [abs(a["pehe"] - b["pehe"]) for a, b in zip(cpu, gpu, strict=True)]
        d_seed = [abs(a["pehe"] - b["pehe"]) for a, b in zip(cpu, cpu2, strict=True)]
        d_tau = [
            float(np.max(np.abs(np.subtract(a["tau"], b["tau"]))) / (np.std(a["tau"]) + 1e-12))
            for a, b in zip(cpu, gpu, strict=True)
        ]
        out.append(
            {
                "config": config,
                "realisations": reals,
                "pehe_cpu": float(np.mean([r["pehe"] for r in cpu])),
                "pehe_cpu_seed2": float(np.mean([r["pehe"] for r in cpu2])),
                "pehe_gpu": float(np.mean([r["pehe"] for r in gpu])),
                "cover_cpu": float(np.mean([r["coverage"] for r in cpu])),
                "cover_gpu": float(np.mean([r["coverage"] for r in gpu])),
                "abs_dpehe_cpu_gpu": float(np.mean(d_dev)),
                "abs_dpehe_cpu_seeds": float(np.mean(d_seed)),
                "max_dtau_over_sd": float(np.max(d_tau)),
                "fit_s_cpu_median": float(np.median([r["fit_s"] for r in cpu])),
                "fit_s_gpu_median": float(np.median([r["fit_s"] for r in gpu])),
                "agree": bool(
                    np.mean(d_dev) <= max(np.mean(d_seed), 0.02)
                    and abs(
                        np.mean([r["coverage"] for r in cpu])
                        - np.mean([r["coverage"] for r in gpu])
                    )
                    <= 0.05
                ),
            }
        )
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# CPU/GPU agreement",
        "",
        f"GPU: {result['gpu']}; torch {result['torch']}; command: `{result['command']}`.",
        "",
        "| config | √PEHE CPU | √PEHE CPU, 2nd seed | √PEHE GPU | \\|Δ\\| CPU-GPU | \\|Δ\\| CPU seeds"
        " | cover CPU | cover GPU | max \\|Δτ̂\\|/sd | fit s CPU (1 thread) | fit s GPU | agree |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in result["summary"]:
        lines.append(
            f"| {s['config']} | {s['pehe_cpu']:.3f} | {s['pehe_cpu_seed2']:.3f} | {s['pehe_gpu']:.3f}"
            f" | {s['abs_dpehe_cpu_gpu']:.3f} | {s['abs_dpehe_cpu_seeds']:.3f}"
            f" | {s['cover_cpu']:.3f} | {s['cover_gpu']:.3f} | {s['max_dtau_over_sd']:.1e}"
            f" | {s['fit_s_cpu_median']:.2f} | {s['fit_s_gpu_median']:.2f} | {s['agree']} |"
        )
    sc = result.get("scale_cuda")
    if sc:
        lines += [
            "",
            f"Dose response, n = {sc['n']:,} on {sc['device']}: fit {sc['fit_s']:.1f} s, curve {sc['curve_s']:.1f} s,"
            f" both bounds at four Λ {sc['bounds_both_methods_s']:.1f} s (total {sc['total_s']:.1f} s);"
            f" peak GPU memory {sc.get('peak_gpu_mib', 0.0):.0f} MiB; ISE {sc['ise']:.5f};"
            f" Overcast coverage at Λ* {sc['overcast_cov_lambda_star']:.3f}.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realisations", default="1-5")
    parser.add_argument("--configs", default=",".join(AGREEMENT_CONFIGS))
    parser.add_argument("--workers", type=int, default=12, help="CPU processes")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument(
        "--time-budget-s", type=float, default=float("inf"), help="start nothing new after this"
    )
    parser.add_argument(
        "--scale-needs-s", type=float, default=150.0, help="budget left to start the scale run"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument(
        "--device", default="cuda", help="the accelerator ('cpu' only to dry-run this script)"
    )
    args = parser.parse_args(argv)
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_agreement.py needs CUDA; none is available here.")
    reals = [1, 2] if args.quick else parse_range(args.realisations)
    configs = args.configs.split(",")
    cpu_jobs = [
        (c, k, 1000 + k + off, "cpu")
        for c in configs
        for k in reals
        for off in (0, SECOND_SEED_OFFSET)
    ]
    start = time.perf_counter()
    result: dict[str, Any] = {
        "command": " ".join(["python benchmarks/gpu_agreement.py", *(argv or sys.argv[1:])]),
        "gpu": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else args.device,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    args.out.mkdir(parents=True, exist_ok=True)

    def write() -> None:
        (args.out / "gpu_agreement.json").write_text(json.dumps(result, indent=1))
        (args.out / "gpu_agreement.md").write_text(markdown(result))

    # spawned CPU workers: a child forked from a process that has used CUDA cannot train
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, mp_context=spawn) as pool:
        futures = {job: pool.submit(fit_ihdp, job) for job in cpu_jobs}
        rows: list[dict[str, Any]] = []
        for c in configs:  # one configuration at a time: a partial run still compares
            if time.perf_counter() - start > args.time_budget_s:
                break
            gpu_rows = [{**fit_ihdp((c, k, 1000 + k, args.device)), "gpu_run": True} for k in reals]
            cpu_rows = [
                {**futures[job].result(), "gpu_run": False} for job in cpu_jobs if job[0] == c
            ]
            rows += cpu_rows + gpu_rows
            result["rows"] = rows
            result["summary"] = summarise(rows)
            result["ihdp_wall_s"] = time.perf_counter() - start
            write()
            print(markdown(result), flush=True)
        for f in futures.values():
            f.cancel()
    remaining = args.time_budget_s - (time.perf_counter() - start)
    if not (args.quick or args.no_scale) and remaining > args.scale_needs_s:
        result["scale_cuda"] = scale_run(100_000, args.device)
        write()
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
