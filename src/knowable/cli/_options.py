"""Options shared by the commands that read data, and the one place output verbosity lives.

Every data command declares these with the same name, help text and default,
so that the surface stays consistent. Nothing here imports NumPy, pandas or
torch: option values are checked (:func:`check_choice`) before any heavy import.
"""

from __future__ import annotations

import pkgutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from ._output import make_console

__all__ = [
    "Categorical",
    "Data",
    "Estimand",
    "Exclude",
    "IdColumn",
    "Quiet",
    "Reporter",
    "Sep",
    "TreatedValue",
    "Truth",
    "Verbose",
    "Where",
    "check_choice",
    "uncertainty_names",
]

Data = Annotated[Path, typer.Option("--data", help="CSV, TSV or Parquet table, one row per unit.")]
Sep = Annotated[
    str | None,
    typer.Option(
        "--sep",
        help="Delimiter of a text file (one character, or tab/comma/semicolon/pipe/space); "
        "default: tab for .tsv, else detected.",
    ),
]
IdColumn = Annotated[
    str | None,
    typer.Option(
        "--id-column",
        help="Column of unit identifiers: never a covariate, copied into every output row "
        "(default: the row number, as 'row').",
    ),
]
Exclude = Annotated[
    str | None,
    typer.Option("--exclude", help="Comma-separated columns that are not covariates."),
]
Truth = Annotated[
    str | None,
    typer.Option(
        "--truth",
        help="Column with the true effect (simulations): never a covariate, copied to the "
        "output as 'true_effect'.",
    ),
]
Categorical = Annotated[
    str | None,
    typer.Option(
        "--categorical",
        help="Comma-separated string/categorical covariates to one-hot encode (saved with "
        "the model as preprocessing.json and applied identically at prediction).",
    ),
]
TreatedValue = Annotated[
    str | None,
    typer.Option(
        "--treated-value",
        help="The treatment column's value meaning treated (e.g. yes); the other value is "
        "control. Default: the column must be 0/1.",
    ),
]
Estimand = Annotated[
    str,
    typer.Option(
        "--estimand",
        help="Population the average effect is over: ate (all units), att (the treated), "
        "atc (the controls); combined with --where.",
    ),
]
Where = Annotated[
    str | None,
    typer.Option(
        "--where",
        help='pandas query selecting the units to average over, e.g. "age >= 30" '
        "(the model is still fitted on every row).",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors and warnings.")]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="More detail: every covariate, a progress bar always."),
]


def uncertainty_names() -> tuple[str, ...]:
    """The ``--uncertainty`` choices: the method files of ``knowable/models/uncertainty``.

    Read from the file names (each method's module is named after it), so that
    listing them imports no torch.

    Returns
    -------
    tuple of str
    """
    folder = Path(__file__).resolve().parent.parent / "models" / "uncertainty"
    return tuple(
        sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_"))
    )


def check_choice(value: str, option: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a one-line ValueError naming the option.

    Parameters
    ----------
    value : str
        The value given.
    option : str
        The option's name (``--uncertainty``).
    choices : sequence of str
        Allowed values.

    Returns
    -------
    str
    """
    if value not in choices:
        raise ValueError(f"{option} must be one of {', '.join(choices)}; got {value!r}.")
    return value


@dataclass
class Reporter:
    """Status output of a command: plain lines on stdout, a progress bar on a terminal.

    Parameters
    ----------
    quiet : bool
        Print nothing on stdout (warnings and errors still go to stderr).
    verbose : bool
        Print every covariate, and show the fit progress bar even off a terminal.
    """

    quiet: bool = False
    verbose: bool = False
    _start: float = field(default_factory=time.perf_counter)

    def __post_init__(self) -> None:
        if self.quiet and self.verbose:
            raise ValueError("--quiet and --verbose exclude each other.")

    @property
    def tty(self) -> bool:
        """Whether stdout is a terminal."""
        return bool(getattr(sys.stdout, "isatty", lambda: False)())

    @property
    def progress_bar(self) -> bool:
        """Whether fits should draw a rich progress bar (members × epochs)."""
        return not self.quiet and (self.tty or self.verbose)

    def info(self, message: str) -> None:
        """Print one line unless quiet.

        Parameters
        ----------
        message : str
            The line.
        """
        if not self.quiet:
            make_console().print(message, soft_wrap=True, markup=False, highlight=False)

    def stage(self, message: str) -> None:
        """Print one line per stage, with the time since the command started.

        Parameters
        ----------
        message : str
            What starts now.
        """
        self.info(f"[{time.perf_counter() - self._start:6.1f} s] {message}")

    def early_stopping(self, model: object, label: str = "") -> None:
        """One line per fit: epochs each member ran and where its best validation loss was.

        The progress bar shows this state live on a terminal; this line is what a log
        (no terminal) keeps. Models without a training history print nothing.

        Parameters
        ----------
        model : object
            A fitted network model with ``history_`` (one ``TrainingHistory`` per
            member) and ``max_epochs``.
        label : str
            Which model, for commands that fit several (e.g. ``"control arm: "``).
        """
        histories = getattr(model, "history_", None)
        if not histories:
            return
        cap = getattr(model, "max_epochs", None)
        ran = [len(h.train_loss) for h in histories]
        best = [h.best_epoch + 1 for h in histories]
        losses = [min(h.valid_loss) if h.valid_loss else float("nan") for h in histories]
        stopped = sum(1 for n in ran if cap is not None and n < cap)
        who = f"{len(histories)} members" if len(histories) > 1 else "1 network"
        self.stage(
            f"{label}early stopping: {who} ran {', '.join(map(str, ran))} epoch(s)"
            + (f" of at most {cap} ({stopped} stopped early)" if cap is not None else "")
            + f"; best loss {', '.join(f'{v:.4g}' for v in losses)} at epoch(s) "
            + ", ".join(map(str, best))
        )

    def covariates(self, names: list[str], raw: list[str]) -> None:
        """Say which covariates the model is fitted on (count and first names).

        Parameters
        ----------
        names : list of str
            Encoded feature names.
        raw : list of str
            The raw columns they come from.
        """
        shown = names if self.verbose else names[:8]
        more = "" if len(shown) == len(names) else f", … (+{len(names) - len(shown)} more)"
        extra = f" from {len(raw)} column(s)" if len(raw) != len(names) else ""
        self.info(f"covariates ({len(names)}{extra}): {', '.join(shown)}{more}")
