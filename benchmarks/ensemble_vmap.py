"""Would vectorising the ensemble's members with ``torch.func`` speed up its training?

Builds the default ``TARNet("ensemble")`` members (5) on IHDP realisation 1 and
times Adam steps on minibatches of 64 two ways, in one process and one thread:
one member after another (what ``fit`` does), and all members in one step with
``torch.func.stack_module_state`` + ``vmap`` over ``functional_call`` (each member
its own minibatch). Only the step time is measured; the two agree on the loss of
the first step (checked) because the stacked parameters are the members' own.

Usage::

    python benchmarks/ensemble_vmap.py              # 300 steps, 3 repeats
    python benchmarks/ensemble_vmap.py --quick      # 50 steps, 1 repeat

Writes ``benchmarks/results/ensemble_vmap{_quick}.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import command_line, write_result

BATCH = 64


def measure(steps: int, repeats: int, threads: int) -> dict[str, Any]:
    import torch
    from torch.func import functional_call, stack_module_state, vmap

    from knowable._random import torch_generator
    from knowable.data import load_ihdp
    from knowable.effects import TARNet

    torch.set_num_threads(threads)
    data = load_ihdp(1)
    x_np, t_np, y_np = (np.asarray(v, dtype=float) for v in (data.x, data.t, data.y))
    est = TARNet("ensemble", max_epochs=1, random_state=0, device="cpu").fit(x_np, t_np, y_np)
    k = est.resolved_params_["n_members"]
    loss_fn = est._method.loss(est)
    x = est._standardise_X(x_np.astype(np.float32))
    t = torch.tensor(t_np, dtype=torch.float32)
    y = torch.tensor((y_np - y_np.mean()) / y_np.std(), dtype=torch.float32)

    class MemberLoss(torch.nn.Module):
        def __init__(self, member: torch.nn.Module) -> None:
            super().__init__()
            self.member = member

        def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            return loss_fn(self.member, batch)

    def members() -> list[torch.nn.Module]:
        return [est._seeded_build(torch_generator(i), None) for i in range(k)]

    wrapper = MemberLoss(copy.deepcopy(members()[0]).to("meta"))  # the architecture only

    def one(p: dict, b: dict, batch: dict) -> torch.Tensor:
        return functional_call(wrapper, (p, b), (batch,))

    gen = torch.Generator().manual_seed(0)
    seq_ms, vec_ms = [], []
    for _ in range(repeats):
        mods = members()
        params, buffers = stack_module_state(mods)
        params = {f"member.{n}": v for n, v in params.items()}
        buffers = {f"member.{n}": v for n, v in buffers.items()}

        first = {"x": x[:BATCH], "t": t[:BATCH], "y": y[:BATCH]}
        stacked_first = {n: v.expand(k, *v.shape) for n, v in first.items()}
        vec_loss = vmap(one)(params, buffers, stacked_first)
        seq_loss = torch.stack([loss_fn(m, first) for m in mods])
        torch.testing.assert_close(vec_loss, seq_loss, rtol=1e-4, atol=1e-5)

        opt = torch.optim.Adam(list(params.values()), lr=1e-3, foreach=True)
        t0 = time.perf_counter()
        for _ in range(steps):
            idx = torch.randint(0, len(y), (k, BATCH), generator=gen)
            opt.zero_grad()
            vmap(one)(params, buffers, {"x": x[idx], "t": t[idx], "y": y[idx]}).sum().backward()
            opt.step()
        vec_ms.append((time.perf_counter() - t0) / steps * 1e3)

        opts = [torch.optim.Adam(m.parameters(), lr=1e-3, foreach=True) for m in mods]
        t0 = time.perf_counter()
        for _ in range(steps):
            for m, o in zip(mods, opts, strict=True):
                idx = torch.randint(0, len(y), (BATCH,), generator=gen)
                o.zero_grad()
                loss_fn(m, {"x": x[idx], "t": t[idx], "y": y[idx]}).backward()
                o.step()
        seq_ms.append((time.perf_counter() - t0) / steps * 1e3)
    return {
        "members": k,
        "threads": threads,
        "steps": steps,
        "sequential_ms_per_step": seq_ms,
        "vmap_ms_per_step": vec_ms,
        "speedup_median": float(np.median(np.array(seq_ms) / np.array(vec_ms))),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Ensemble members: sequential steps against one vmapped step",
        "",
        f"Command: `{result['command']}`. Default `TARNet('ensemble')` members on IHDP 1, "
        f"minibatch {BATCH}, Adam; ms per step of all members (median over repeats).",
        "",
        "| threads | members | sequential ms | vmap ms | speed-up |",
        "|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        lines.append(
            f"| {r['threads']} | {r['members']} | {np.median(r['sequential_ms_per_step']):.2f} | "
            f"{np.median(r['vmap_ms_per_step']):.2f} | {r['speedup_median']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    steps, repeats = (50, 1) if args.quick else (300, 3)
    result = {
        "command": command_line("ensemble_vmap.py", argv or sys.argv[1:]),
        "runs": [measure(steps, repeats, threads) for threads in (1, 2)],
    }
    name = "ensemble_vmap_quick" if args.quick else "ensemble_vmap"
    write_result(name, result, markdown(result))
    return result


if __name__ == "__main__":
    main()
