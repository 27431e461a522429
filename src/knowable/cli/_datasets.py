"""``knowable datasets``: list and inspect the shipped datasets and simulators."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._output import make_console, to_jsonable

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["datasets_app"]

_MAX_FRAME_COLUMNS = 10
_MAX_LIST_ITEMS = 6

datasets_app = typer.Typer(
    name="datasets",
    help="List and inspect the shipped datasets and simulators.",
    no_args_is_help=True,
)


def _format_value(value: Any) -> str:
    """Format one summary value for a table cell (short lists, 4 significant digits)."""
    if value is None:
        return "-"
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list | tuple):
        items = [_format_value(v) for v in value]
        if len(items) > _MAX_LIST_ITEMS:
            return ", ".join(items[: _MAX_LIST_ITEMS - 1]) + f", … ({len(items)} in all)"
        return ", ".join(items)
    return str(value)


def _flatten(summary: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested dicts (such as ``meta``) into ``("meta.key", value)`` rows."""
    rows: list[tuple[str, Any]] = []
    for key, value in summary.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, prefix=f"{label}."))
        else:
            rows.append((label, value))
    return rows


@datasets_app.command("list")
def list_command() -> None:
    """List the shipped datasets and simulators."""
    from rich.table import Table

    from knowable.data import list_datasets

    table = Table(title="knowable datasets and simulators")
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("rows", justify="right", no_wrap=True)
    table.add_column("description")
    table.add_column("source")
    for info in list_datasets():
        rows = "varies" if info.n_rows is None else _format_value(info.n_rows)
        table.add_row(info.name, str(info.kind), rows, info.description, str(info.source))
    make_console().print(table)


def _summary_table(name: str, summary: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(title=f"dataset: {name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    for key, value in _flatten(summary):
        table.add_row(key, _format_value(value))
    return table


def _frame_table(frame: Any, n_rows: int) -> Table:
    """First ``n_rows`` rows of a DataFrame; wide frames show their first and last columns."""
    from rich.table import Table

    columns = [str(c) for c in frame.columns]
    head = frame.head(n_rows)
    if len(columns) > _MAX_FRAME_COLUMNS:
        half = _MAX_FRAME_COLUMNS // 2
        keep = list(range(half)) + list(range(len(columns) - half, len(columns)))
        caption = f"{_MAX_FRAME_COLUMNS} of {len(columns)} columns shown (--json or the Python API for all)"
    else:
        keep = list(range(len(columns)))
        caption = None
    table = Table(title=f"first {len(head)} rows", caption=caption)
    for position, index in enumerate(keep):
        if position == _MAX_FRAME_COLUMNS // 2 and len(keep) < len(columns):
            table.add_column("…", no_wrap=True)
        table.add_column(columns[index], justify="right", no_wrap=True)
    for row in head.itertuples(index=False):
        cells = [_format_value(row[i]) for i in keep]
        if len(keep) < len(columns):
            cells.insert(_MAX_FRAME_COLUMNS // 2, "…")
        table.add_row(*cells)
    return table


@datasets_app.command("show")
def show_command(
    name: Annotated[
        str, typer.Argument(help="Dataset or simulator name (see `knowable datasets list`).")
    ],
    realization: Annotated[
        int | None,
        typer.Option(help="IHDP realisation, 1-50 (ihdp only; default 1)."),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            help="ihdp: all, train (672 units) or test (75 units); mnist, cmnist: train or test."
        ),
    ] = None,
    n: Annotated[
        int | None,
        typer.Option(
            "--n", help="Number of units to simulate (simulators only; default: the simulator's)."
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Random seed of the simulator (simulators only)."),
    ] = None,
    head: Annotated[int, typer.Option(min=0, help="Number of rows to show.")] = 5,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the summary as JSON instead of tables."),
    ] = False,
) -> None:
    """Show a dataset's summary and its first rows."""
    from knowable.data import load_dataset

    options: dict[str, Any] = {}
    if realization is not None:
        options["realization"] = realization
    if split is not None:
        options["split"] = split
    if n is not None:
        options["n"] = n
    if seed is not None:
        options["random_state"] = seed

    dataset = load_dataset(name, **options)
    summary = dataset.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=to_jsonable))
        return
    console = make_console()
    console.print(_summary_table(name, summary))
    if head > 0:
        console.print(_frame_table(dataset.to_frame(), head))
