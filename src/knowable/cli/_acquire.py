"""``knowable acquire``: pick the next batch of pool rows to label with a fitted model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._output import make_console

__all__ = ["acquire_command"]


def _read_pool(path: Path) -> Any:
    import pandas as pd

    if not path.is_file():
        raise FileNotFoundError(f"pool file {path} does not exist.")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    return pd.read_csv(path)


def acquire_command(
    model: Annotated[
        Path, typer.Option("--model", help="Folder of a fitted model saved by knowable.")
    ],
    pool: Annotated[Path, typer.Option("--pool", help="CSV or Parquet table of pool inputs.")],
    batch: Annotated[int, typer.Option("--batch", help="Number of pool rows to acquire.")] = 32,
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            help="power-bald, softmax-bald, softrank-bald, bald, entropy, margin, variance, "
            "batchbald, random, coreset, kmeans, badge, ...",
        ),
    ] = "power-bald",
    out: Annotated[Path, typer.Option("--out", help="Output CSV of the batch.")] = Path(
        "batch.csv"
    ),
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Comma-separated input columns (default: all columns)."),
    ] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Temperature of stochastic strategies.")
    ] = 1.0,
    n_configurations: Annotated[
        int, typer.Option("--n-configurations", help="BatchBALD's sampled configurations.")
    ] = 10_000,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Pool rows per posterior call.")
    ] = 8192,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Score the pool with a fitted model's Posterior and write the rows to label next."""
    import numpy as np
    import pandas as pd

    import knowable.models  # noqa: F401  (registers the loadable model classes)
    from knowable._persistence import load
    from knowable.acquire import parse_strategy, select
    from knowable.models import Posterior

    kind, _ = parse_strategy(strategy)
    if batch < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}.")
    if chunk_size < 1:
        raise ValueError(f"--chunk-size must be >= 1, got {chunk_size}.")
    fitted = load(model)
    if not hasattr(fitted, "posterior"):
        raise TypeError(f"{model} holds a {type(fitted).__name__}, which has no posterior().")
    frame = _read_pool(pool)
    if columns:
        cols = [c.strip() for c in columns.split(",") if c.strip()]
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(
                f"column(s) {missing} not found in {pool}; available: {list(frame.columns)}."
            )
        frame = frame[cols]
    if len(frame) == 0:
        raise ValueError(f"the pool {pool} has no rows.")
    if batch > len(frame):
        raise ValueError(f"--batch {batch} exceeds the {len(frame)} rows of the pool {pool}.")
    x = frame.to_numpy()
    if x.dtype.kind not in "biuf":
        raise TypeError(f"the pool {pool} has non-numeric columns; pass --columns.")
    shape = tuple(getattr(fitted, "input_shape_", (x.shape[1],)))
    if len(shape) > 1 and x.shape[1] == int(np.prod(shape)):
        x = x.reshape(len(x), *shape)

    def chunks() -> Any:
        for start in range(0, len(x), chunk_size):
            yield fitted.posterior(x[start : start + chunk_size])

    needs_whole = kind in ("batchbald", "coreset", "kmeans", "badge")
    posterior = Posterior.concatenate(list(chunks())) if needs_whole else chunks()
    embeddings = x.reshape(len(x), -1) if kind in ("coreset", "kmeans", "badge") else None
    result = select(
        posterior,
        batch,
        strategy,
        temperature=temperature,
        random_state=seed,
        n_configurations=n_configurations,
        embeddings=embeddings,
    )
    table = pd.DataFrame(
        {
            "rank": np.arange(len(result.indices)),
            "row": result.indices,
            "score": result.scores,
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    console = make_console()
    console.print(
        f"{len(table)} of {len(frame)} pool rows selected with {strategy}; batch: {out}",
        soft_wrap=True,
        markup=False,
    )
