"""``knowable circuits test``: the five circuit hypothesis tests on a built-in task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ._output import make_console, to_jsonable

__all__ = ["circuits_app"]

circuits_app = typer.Typer(
    name="circuits",
    help="Hypothesis tests for circuits in transformers (Tracr tasks need the circuits extra).",
    no_args_is_help=True,
)

_TASKS = ("tracr-reverse", "tracr-proportion", "induction")
_CIRCUITS = ("canonical", "full", "empty", "random")


@circuits_app.command("test")
def test_command(
    task: Annotated[
        str,
        typer.Option(
            "--task",
            help="tracr-reverse, tracr-proportion (both need the extra), or induction "
            "(shipped 2-layer attention-only model, pure torch).",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output JSON file.")] = Path("circuits.json"),
    circuit: Annotated[
        str, typer.Option("--circuit", help="canonical, full, empty or random (same size).")
    ] = "canonical",
    tests: Annotated[
        str,
        typer.Option(
            "--tests",
            help="all, or a comma-separated subset of: equivalence, "
            "independence, minimality, sufficiency, partial_necessity.",
        ),
    ] = "all",
    n_random: Annotated[int, typer.Option("--n-random", help="Random circuits.")] = 100,
    alpha: Annotated[float, typer.Option("--alpha", help="Level.")] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Run the tests; print a table; write --out (JSON) and a figure beside it."""
    from knowable.circuits import TESTS

    if task not in _TASKS:
        raise ValueError(f"--task must be one of {', '.join(_TASKS)}, got {task!r}.")
    if circuit not in _CIRCUITS:
        raise ValueError(f"--circuit must be one of {', '.join(_CIRCUITS)}, got {circuit!r}.")
    chosen = list(TESTS) if tests == "all" else [t.strip() for t in tests.split(",")]
    bad = [t for t in chosen if t not in TESTS]
    if bad:
        raise ValueError(f"--tests: unknown test(s) {bad}; choose from {', '.join(TESTS)}.")
    import numpy as np

    from knowable.circuits import canonical_circuit, induction_task, run_circuit_tests, tracr_task

    loaded: Any
    if task == "induction":
        loaded = induction_task()
        canonical = loaded.canonical_circuit()
    else:
        loaded = tracr_task(task)
        canonical = canonical_circuit(loaded)
    edges = loaded.model.edges
    if circuit == "canonical":
        chosen_edges = canonical
    elif circuit == "full":
        chosen_edges = edges
    elif circuit == "empty":
        chosen_edges = []
    else:
        rng = np.random.default_rng(seed)
        chosen_edges = [edges[i] for i in rng.choice(len(edges), len(canonical), replace=False)]
    results = run_circuit_tests(
        loaded.scores,
        edges,
        chosen_edges,
        chosen,
        n_random=n_random,
        alpha=alpha,
        random_state=seed,
    )
    from rich.table import Table

    table = Table(title=f"{task}, {circuit} circuit ({len(chosen_edges)} of {len(edges)} edges)")
    for col in ("test", "statistic", "p-value", "decision", "property holds"):
        table.add_column(col)
    for name, res in results.items():
        table.add_row(
            name,
            f"{res.statistic:g}",
            f"{res.p_value:.3g}",
            res.decision,
            "yes" if res.holds else "no",
        )
    make_console().print(table)
    payload = {
        "task": task,
        "circuit": circuit,
        "edges": [list(e) for e in chosen_edges],
        "n_edges_model": len(edges),
        "results": {
            k: {
                "statistic": v.statistic,
                "p_value": v.p_value,
                "reject": v.reject,
                "holds": v.holds,
                "details": v.details,
            }
            for k, v in results.items()
        },
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=to_jsonable))
    _figure(results, out.with_suffix(".png"), f"{task}: {circuit} circuit")
    make_console().print(f"Wrote {out} and {out.with_suffix('.png')}")


def _figure(results, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(results)
    p = [results[n].p_value for n in names]
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    colours = ["tab:green" if results[n].holds else "tab:red" for n in names]
    ax.barh(names, [-np.log10(max(v, 1e-300)) if np.isfinite(v) else 0 for v in p], color=colours)
    ax.axvline(-np.log10(0.05), color="k", lw=0.8, ls="--")
    ax.set_xlabel("-log10 p-value (green: property holds)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
