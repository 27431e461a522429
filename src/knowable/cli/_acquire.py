"""``knowable acquire``: pick the next batch of pool rows to label with a fitted model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from ._output import make_console
from ._tables import covariate_columns, read_table, require_columns

__all__ = ["AcquireCommand", "acquire_command", "strategy_help"]


def strategy_help() -> str:
    """The ``--strategy`` help, written from the acquisition registry."""
    from knowable.acquire import STOCHASTIC_MODES, available_strategies

    rules = "/".join(("topk", *STOCHASTIC_MODES))
    return (
        f"A batch strategy ({', '.join(available_strategies('batch'))}) or a score "
        f"({', '.join(s for s in _selectable_scores())}), optionally prefixed "
        f"{rules}- (default power-bald); with --causal: "
        f"{', '.join(available_strategies('causal'))} (default mu-rho-bald)."
    )


def _selectable_scores() -> list[str]:
    from knowable.acquire import registered_strategies

    return [s.name for s in registered_strategies("score") if s.selectable]


class AcquireCommand(TyperCommand):
    """``knowable acquire``: the ``--strategy`` help is read from the registry when shown.

    Importing the registry loads torch, so it happens only when the help is printed.
    """

    def format_help(self, ctx: Any, formatter: Any) -> None:
        for param in self.params:
            if param.name == "strategy":
                param.help = strategy_help()  # type: ignore[attr-defined]
        super().format_help(ctx, formatter)


def acquire_command(
    model: Annotated[
        Path, typer.Option("--model", help="Folder of a fitted model saved by knowable.")
    ],
    pool: Annotated[Path, typer.Option("--pool", help="CSV or Parquet table of pool inputs.")],
    batch: Annotated[int, typer.Option("--batch", help="Number of pool rows to acquire.")] = 32,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            help="A strategy of the acquisition registry (the list is shown by --help).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output CSV of the batch.")] = Path(
        "batch.csv"
    ),
    columns: Annotated[
        str | None,
        typer.Option("--columns", help="Comma-separated input columns (default: all columns)."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            "--temperature",
            help="Temperature of stochastic strategies (default 1.0; 0.25 with --causal).",
        ),
    ] = None,
    causal: Annotated[
        bool,
        typer.Option(
            "--causal",
            help="Causal-BALD: the model is a fitted CATE estimator (knowable effects fit) and "
            "acquiring a row reveals its factual outcome; needs --treatment.",
        ),
    ] = False,
    treatment: Annotated[
        str | None,
        typer.Option("--treatment", help="With --causal: the pool's treatment column (0/1)."),
    ] = None,
    propensity: Annotated[
        str | None,
        typer.Option(
            "--propensity",
            help="With --causal: a column of P(T=1|x) for the strategies that need one "
            "(default: the model's own propensity estimate).",
        ),
    ] = None,
    n_configurations: Annotated[
        int, typer.Option("--n-configurations", help="BatchBALD's sampled configurations.")
    ] = 10_000,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Pool rows per posterior call.")
    ] = 8192,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Score the pool with a fitted model's Posterior and write the rows to label next.

    With ``--causal`` the model is a CATE estimator and the strategies are the
    Causal-BALD family: the pool holds covariates and the treatment each unit
    received, and the batch lists whose factual outcomes to measure next.
    """
    import numpy as np
    import pandas as pd

    import knowable.effects  # registers the loadable CATE estimators
    import knowable.models  # noqa: F401  (registers the loadable model classes)
    from knowable._persistence import load
    from knowable.acquire import select, strategy_spec
    from knowable.models import Posterior

    if batch < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}.")
    if chunk_size < 1:
        raise ValueError(f"--chunk-size must be >= 1, got {chunk_size}.")
    if causal:
        _acquire_causal(
            model,
            pool,
            batch,
            strategy or "mu-rho-bald",
            out,
            columns,
            0.25 if temperature is None else temperature,
            treatment,
            propensity,
            chunk_size,
            seed,
        )
        return
    if treatment is not None or propensity is not None:
        raise ValueError("--treatment and --propensity need --causal.")
    strategy = strategy or "power-bald"
    temperature = 1.0 if temperature is None else temperature
    spec = strategy_spec(strategy)
    fitted = load(model)
    if not hasattr(fitted, "posterior"):
        raise TypeError(f"{model} holds a {type(fitted).__name__}, which has no posterior().")
    frame = read_table(pool, "pool")
    if columns:
        frame = frame[covariate_columns(frame, columns, [], pool, "--columns")]
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

    if not spec.needs_posterior:  # random and diversity strategies read no draws
        pool_arg: Any = len(x)
    elif spec.needs_whole_pool:
        pool_arg = Posterior.concatenate(list(chunks()))
    else:
        pool_arg = chunks()
    embeddings = x.reshape(len(x), -1) if spec.needs_embeddings else None
    result = select(
        pool_arg,
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


def _acquire_causal(
    model: Path,
    pool: Path,
    batch: int,
    strategy: str,
    out: Path,
    columns: str | None,
    temperature: float,
    treatment: str | None,
    propensity: str | None,
    chunk_size: int,
    seed: int,
) -> None:
    import numpy as np
    import pandas as pd

    from knowable._persistence import load
    from knowable.acquire import CAUSAL_STRATEGIES, get_strategy, select_causal
    from knowable.models import Posterior

    if strategy not in CAUSAL_STRATEGIES:
        raise ValueError(
            f"--strategy {strategy!r} is not a causal strategy; choose from {list(CAUSAL_STRATEGIES)}."
        )
    if treatment is None:
        raise ValueError("--causal needs --treatment, the pool's 0/1 treatment column.")
    fitted = load(model)
    if not hasattr(fitted, "predict_outcomes"):
        raise TypeError(
            f"{model} holds a {type(fitted).__name__}, not a CATE estimator; fit one with "
            "`knowable effects fit`."
        )
    frame = read_table(pool, "pool")
    if len(frame) == 0:
        raise ValueError(f"the pool {pool} has no rows.")
    special = [c for c in (treatment, propensity) if c is not None]
    require_columns(frame, special, pool)
    cols = covariate_columns(frame, columns, special, pool, "--columns")
    if batch > len(frame):
        raise ValueError(f"--batch {batch} exceeds the {len(frame)} rows of the pool {pool}.")
    x = frame[cols].to_numpy()
    if x.dtype.kind not in "biuf":
        raise TypeError(f"the pool {pool} has non-numeric covariates; pass --columns.")
    t = frame[treatment].to_numpy()
    parts = [fitted.predict_outcomes(x[i : i + chunk_size]) for i in range(0, len(x), chunk_size)]
    posterior = Posterior.concatenate(parts)
    pi = None
    if get_strategy(strategy, "causal").needs_propensity:
        pi = frame[propensity].to_numpy() if propensity else fitted.propensity(x)
    noise = float(getattr(fitted, "y_scale_", 1.0))  # Sundin: the training outcomes' sd
    result = select_causal(
        posterior,
        t,
        batch,
        strategy,
        propensity=pi,
        temperature=temperature,
        noise_scale=noise,
        random_state=seed,
    )
    table = pd.DataFrame(
        {
            "rank": np.arange(len(result.indices)),
            "row": result.indices,
            "t": t[result.indices],
            "log_weight": result.scores,
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    make_console().print(
        f"{len(table)} of {len(frame)} units selected with {strategy} (causal); measure their "
        f"outcomes next: {out}",
        soft_wrap=True,
        markup=False,
    )
