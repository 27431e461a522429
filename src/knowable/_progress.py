"""Rich progress bars for long work, silent unless asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(total: int, description: str, enabled: bool) -> Iterator[Callable[..., None]]:
    """Yield an ``advance(steps=1, status=None)`` callable backed by a rich progress bar.

    Parameters
    ----------
    total : int
        Number of steps the bar spans.
    description : str
        Label shown next to the bar.
    enabled : bool
        When False nothing is drawn and ``advance`` does nothing.

    Notes
    -----
    ``status``, when given, replaces the line drawn under the bar (e.g. the
    early-stopping state of the member being trained); a line of its own keeps
    the bar readable on an 80-column terminal.
    """
    if not enabled:

        def skip(steps: int = 1, status: str | None = None) -> None:
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
    from rich.text import Text

    class _StatusProgress(Progress):
        def get_renderables(self):  # type: ignore[no-untyped-def]
            yield self.make_tasks_table(self.tasks)
            for task in self.tasks:
                if task.fields.get("status"):
                    yield Text(f"  {task.fields['status']}", style="dim", overflow="ellipsis")

    with _StatusProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total, status="")

        def advance(steps: int = 1, status: str | None = None) -> None:
            if status is None:
                bar.advance(task, steps)
            else:
                bar.update(task, advance=steps, status=status)

        yield advance
