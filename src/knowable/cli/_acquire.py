"""``knowable acquire``: pick the next batch of pool rows to label with a fitted model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from ._options import IdColumn, Quiet, Reporter, Sep, Truth, Verbose
from ._prepare import Preprocessing
from ._tables import numeric_column, read_table, require_columns, split_names

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["AcquireCommand", "acquire_command", "pool_inputs", "strategy_help"]


def pool_inputs(
    frame: pd.DataFrame,
    fitted: Any,
    prep: Preprocessing | None,
    columns: str | None,
    special: list[str],
    pool: Path,
    model: Path,
) -> tuple[Any, list[str]]:
    """The model's inputs from a pool table, matched by column name, and the ignored columns.

    Order of precedence: the saved ``preprocessing.json`` (raw columns by name,
    categoricals encoded as at fit); else the model's ``feature_names_in_``
    (columns by name, any order); else (a model fitted on a bare array) the
    ``--columns``, or every column not special, in file order, which must then
    be exactly as many as the model takes.

    Parameters
    ----------
    frame : pandas.DataFrame
        Pool table.
    fitted : estimator
        Loaded model.
    prep : Preprocessing or None
        Saved preprocessing.
    columns : str or None
        ``--columns``.
    special : list of str
        Treatment, propensity, id and truth columns (never inputs).
    pool, model : pathlib.Path
        Files, for messages.

    Returns
    -------
    inputs : numpy.ndarray of shape (n, d)
    ignored : list of str
        Pool columns the model does not use.
    """
    import numpy as np

    chosen = split_names(columns)
    if chosen:
        require_columns(frame, chosen, pool)
        clash = [c for c in chosen if c in special]
        if clash:
            raise ValueError(
                f"--columns names {clash}, which the command uses as the treatment, propensity, "
                "identifier or truth, not as an input (special column)."
            )
    names = None
    if prep is not None:
        names = prep.covariates
    elif getattr(fitted, "feature_names_in_", None) is not None:
        names = [str(c) for c in fitted.feature_names_in_]
    if names is not None:
        if chosen and set(chosen) != set(names):
            raise ValueError(
                f"--columns {chosen} differ from the columns {names} the model in {model} was "
                "fitted on; omit --columns to match them by name."
            )
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the pool {pool} lacks the column(s) {missing} that the model in {model} was "
                f"fitted on (it has {[str(c) for c in frame.columns][:20]})."
            )
        ignored = [str(c) for c in frame.columns if c not in names and c not in special]
        x = prep.transform(frame, pool) if prep is not None else frame[names]
        inputs = np.column_stack(
            [numeric_column(x, c, pool, hint="the model needs numbers here") for c in x.columns]
        )
        return inputs, ignored
    cols = chosen or [c for c in frame.columns if c not in special]
    if not cols:
        raise ValueError(f"no input columns left in the pool {pool}; pass --columns.")
    width = int(np.prod(getattr(fitted, "input_shape_", (len(cols),))))
    if len(cols) != width:
        hint = "pass --columns with exactly those" if not chosen else "fix --columns"
        extra = ""
        if len(cols) > width:
            extra = (
                f"; the extra ones may be an outcome or identifier left in the pool, e.g. "
                f"{cols[width:][:5]}"
            )
        raise ValueError(
            f"the pool {pool} gives {len(cols)} input column(s) {cols[:10]} but the model in "
            f"{model} takes {width} (it was fitted without column names, so they are taken in "
            f"file order){extra}; {hint}."
        )
    inputs = np.column_stack([numeric_column(frame, c, pool, hint="pass --columns") for c in cols])
    return inputs, []


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
    id_column: IdColumn = None,
    truth: Truth = None,
    sep: Sep = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Score the pool with a fitted model's Posterior and write the rows to label next.

    With ``--causal`` the model is a CATE estimator and the strategies are the
    Causal-BALD family: the pool holds covariates and the treatment each unit
    received, and the batch lists whose factual outcomes to measure next.

    Pool columns are matched to the model's inputs by name (a model fitted on
    a table, or saved with preprocessing.json by `knowable effects fit`), so
    their order in the pool does not matter.
    """
    if batch < 1:
        raise ValueError(f"--batch must be >= 1, got {batch}.")
    if chunk_size < 1:
        raise ValueError(f"--chunk-size must be >= 1, got {chunk_size}.")
    if not causal and (treatment is not None or propensity is not None):
        raise ValueError("--treatment and --propensity need --causal.")
    report = Reporter(quiet, verbose)
    import numpy as np

    import knowable.effects  # registers the loadable CATE estimators
    import knowable.models  # noqa: F401  (registers the loadable model classes)
    from knowable._persistence import load
    from knowable.acquire import select, strategy_spec
    from knowable.models import Posterior

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
            id_column,
            truth,
            sep,
            report,
        )
        return
    strategy = strategy or "power-bald"
    temperature = 1.0 if temperature is None else temperature
    spec = strategy_spec(strategy)
    fitted = load(model)
    if hasattr(fitted, "predict_outcomes"):
        prep = Preprocessing.load(model)
        t_col = (prep.treatment if prep else None) or "<treatment column>"
        raise ValueError(
            f"{model} holds a {type(fitted).__name__}, a CATE estimator: plain BALD on it would "
            f"score the wrong quantity; pass --causal --treatment {t_col} for Causal-BALD."
        )
    if not hasattr(fitted, "posterior"):
        raise TypeError(f"{model} holds a {type(fitted).__name__}, which has no posterior().")
    prep = Preprocessing.load(model)
    frame = read_table(pool, "pool", sep)
    special = [c for c in (id_column, truth) if c is not None]
    require_columns(frame, special, pool)
    if batch > len(frame):
        raise ValueError(f"--batch {batch} exceeds the {len(frame)} rows of the pool {pool}.")
    x, ignored = pool_inputs(frame, fitted, prep, columns, special, pool, model)
    if ignored:
        report.info(f"pool columns not used by the model (ignored): {', '.join(ignored[:10])}")
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
    table = _write_batch(out, frame, result.indices, {"score": result.scores}, id_column, truth)
    report.info(f"{len(table)} of {len(frame)} pool rows selected with {strategy}; batch: {out}")


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
    id_column: str | None,
    truth: str | None,
    sep: str | None,
    report: Reporter,
) -> None:
    import numpy as np

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
            "`knowable effects fit`, or drop --causal."
        )
    prep = Preprocessing.load(model)
    frame = read_table(pool, "pool", sep)
    special = [c for c in (treatment, propensity, id_column, truth) if c is not None]
    require_columns(frame, special, pool)
    if batch > len(frame):
        raise ValueError(f"--batch {batch} exceeds the {len(frame)} rows of the pool {pool}.")
    x, ignored = pool_inputs(frame, fitted, prep, columns, special, pool, model)
    if ignored:
        report.info(f"pool columns not used by the model (ignored): {', '.join(ignored[:10])}")
    treated_value = prep.treated_value if prep is not None else None
    if treated_value is not None:
        t = (frame[treatment].astype(str).str.strip() == treated_value).to_numpy(dtype=float)
    else:
        t = numeric_column(frame, treatment, pool)
        bad = ~np.isin(t, (0.0, 1.0))
        if bad.any():
            row = int(bad.argmax())
            raise ValueError(
                f"the treatment column {treatment!r} of {pool} must be binary 0/1; row {row} "
                f"holds {frame[treatment].iloc[row]!r}."
            )
    parts = [fitted.predict_outcomes(x[i : i + chunk_size]) for i in range(0, len(x), chunk_size)]
    posterior = Posterior.concatenate(parts)
    pi = None
    if get_strategy(strategy, "causal").needs_propensity:
        pi = numeric_column(frame, propensity, pool) if propensity else fitted.propensity(x)
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
    chosen = {"t": t[result.indices].astype(int), "log_weight": result.scores}
    table = _write_batch(out, frame, result.indices, chosen, id_column, truth)
    report.info(
        f"{len(table)} of {len(frame)} units selected with {strategy} (causal); measure their "
        f"outcomes next: {out}"
    )


def _write_batch(
    out: Path,
    frame: pd.DataFrame,
    indices: np.ndarray,
    columns: dict[str, Any],
    id_column: str | None,
    truth: str | None,
) -> pd.DataFrame:
    """Write the selected rows as CSV: ``rank``, ``row``, the id, ``columns``, the true effect."""
    import numpy as np
    import pandas as pd

    table = pd.DataFrame({"rank": np.arange(len(indices)), "row": indices, **columns})
    if id_column:
        table.insert(2, id_column, frame[id_column].to_numpy()[indices])
    if truth:
        table["true_effect"] = frame[truth].to_numpy()[indices]
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    return table
