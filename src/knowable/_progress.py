"""Rich progress bars for long work, silent unless asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(total: int, description: str, enabled: bool) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(steps=1)`` callable backed by a rich progress bar.

    Parameters
    ----------
    total : int
        Number of steps the bar spans.
    description : str
        Label shown next to the bar.
    enabled : bool
        When False nothing is drawn and ``advance`` does nothing.
    """
    if not enabled:

        def skip(steps: int = 1) -> None:
            return None

        yield skip
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)

        def advance(steps: int = 1) -> None:
            bar.advance(task, steps)

        yield advance
