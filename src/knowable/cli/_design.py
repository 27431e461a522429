"""``knowable design``: which variables to intervene on, and at what values.

Fits a posterior over SCMs to observational data, then runs rounds of
intervention design against a simulated world and writes the designs, the
per-round metrics and a figure of the metric curves. The world is the SCM
fitted on ``--truth`` (an adjacency CSV) when given, otherwise the posterior's
highest-weight SCM fitted on the data (a plug-in world: its metrics then say how
fast the design recovers that graph, not the unknown true one). With
``--rounds 0`` only the first batch is proposed, for a real experiment.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._output import make_console, to_jsonable
from ._tables import covariate_columns, read_table

__all__ = ["design_command"]


def _parse_bounds(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--bounds must be 'low,high' (e.g. -10,10), got {text!r}.") from None
    if not lo < hi:
        raise ValueError(f"--bounds must have low < high, got {text!r}.")
    return lo, hi


def design_command(
    data: Annotated[
        Path, typer.Option("--data", help="CSV or Parquet of observational samples (numeric).")
    ],
    graph_prior: Annotated[
        str, typer.Option("--graph-prior", help="Prior over graphs: er or uniform.")
    ] = "er",
    batch: Annotated[int, typer.Option("--batch", help="Interventions per round.")] = 10,
    rounds: Annotated[
        int, typer.Option("--rounds", help="Design rounds (0: propose one batch only).")
    ] = 10,
    out: Annotated[Path, typer.Option("--out", help="Output JSON.")] = Path("design.json"),
    strategy: Annotated[
        str, typer.Option("--strategy", help="random, greedy, soft or differentiable.")
    ] = "greedy",
    posterior: Annotated[
        str,
        typer.Option(
            "--posterior",
            help="auto (exact for <= 4 nodes, else bootstrap), exact, or bootstrap "
            "(PC bootstrap; needs the optional 'design' extra).",
        ),
    ] = "auto",
    basis: Annotated[
        str, typer.Option("--basis", help="Mechanisms: linear or additive (tanh basis).")
    ] = "linear",
    truth: Annotated[
        Path | None,
        typer.Option(
            "--truth", help="CSV adjacency (header = node names) of the world to simulate."
        ),
    ] = None,
    bounds: Annotated[
        str, typer.Option("--bounds", help="Allowed intervention values 'low,high'.")
    ] = "-10,10",
    columns: Annotated[
        str | None, typer.Option("--columns", help="Comma-separated node columns (default all).")
    ] = None,
    n_bootstrap: Annotated[int, typer.Option("--n-bootstrap", help="PC bootstraps.")] = 10,
    figure: Annotated[
        Path | None, typer.Option("--figure", help="Metric-curve PNG (default: next to --out).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
) -> None:
    """Design interventions for causal discovery and write their metric curves."""
    import numpy as np

    from knowable._progress import progress_bar
    from knowable.design import (
        BootstrapPosterior,
        ExactPosterior,
        InterventionalData,
        check_dag,
        design_batch,
        fit_particles,
        plot_design_curves,
        run_design,
    )

    if batch < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}.")
    if rounds < 0:
        raise ValueError(f"--rounds must be >= 0, got {rounds}.")
    if posterior not in ("auto", "exact", "bootstrap"):
        raise ValueError(f"--posterior must be auto, exact or bootstrap, got {posterior!r}.")
    lo, hi = _parse_bounds(bounds)
    frame = read_table(data, "data")
    if columns:
        frame = frame[covariate_columns(frame, columns, [], data, "--columns")]
    obs = InterventionalData.observational(frame)
    d = obs.n_nodes
    kind = posterior if posterior != "auto" else ("exact" if d <= 4 else "bootstrap")
    est: ExactPosterior | BootstrapPosterior
    if kind == "exact":
        est = ExactPosterior(basis=basis, graph_prior=graph_prior)
    else:
        est = BootstrapPosterior(
            n_bootstrap=n_bootstrap, basis=basis, graph_prior=graph_prior, random_state=seed
        )
    est.fit(obs)
    if truth is not None:
        adj_frame = read_table(truth, "truth")
        if list(map(str, adj_frame.columns)) != obs.names:
            raise ValueError(
                f"--truth columns {list(adj_frame.columns)} must equal the data columns {obs.names}."
            )
        adj = check_dag(adj_frame.to_numpy(), "truth", names=obs.names)
        world_post = fit_particles(obs, adj[None], basis, graph_prior)
        world_source = "truth"
    else:
        world_post = est.posterior_
        world_source = "map"
    world = world_post.to_scm(None, (lo, hi))
    result: dict[str, object] = {
        "data": str(data),
        "nodes": obs.names,
        "posterior": kind,
        "basis": basis,
        "graph_prior": graph_prior,
        "strategy": strategy,
        "batch": batch,
        "rounds": rounds,
        "bounds": [lo, hi],
        "seed": seed,
        "world": {"source": world_source, "adjacency": world.adjacency.tolist()},
    }
    if rounds == 0:
        b = design_batch(est.posterior_, strategy, batch, (lo, hi), random_state=seed)
        result["proposal"] = [
            {"targets": [obs.names[j] for j in t], "values": b.values[i, t].tolist()}
            for i, t in enumerate(b.targets())
        ]
    else:
        with progress_bar(rounds, f"design ({strategy})", progress) as advance:
            hist = run_design(
                world,
                est,
                strategy,
                batch_size=batch,
                n_rounds=rounds,
                mmd_samples=50,
                initial_data=obs,
                random_state=seed,
                progress=advance,
            )
        result["metrics"] = hist.metrics
        result["designs"] = [
            {"targets": [[obs.names[j] for j in t] for t in r["targets"]], "values": r["values"]}
            for r in hist.designs
        ]
        fig_path = figure or out.with_suffix(".png")
        plot_design_curves({strategy: hist.metrics}).savefig(fig_path, dpi=110)
        result["figure"] = str(fig_path)
        result["edge_marginals"] = np.round(est.posterior_.edge_marginals(), 6).tolist()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=to_jsonable))
    console = make_console()
    if rounds:
        first, last = hist.metrics[0], hist.metrics[-1]
        console.print(
            f"{strategy}: expected SHD {first['expected_shd']:.2f} -> {last['expected_shd']:.2f} "
            f"(world: {world_source}); wrote {out} and {result['figure']}"
        )
    else:
        console.print(f"proposed {batch} interventions; wrote {out}")
