"""Consoles and the one-line error message shared by all commands.

Consoles are created per call (never stored globally) so that they always
write to the current ``sys.stdout`` / ``sys.stderr``, which is what test
runners capture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["error_message", "make_console", "print_error", "to_jsonable"]


def make_console(*, stderr: bool = False) -> Console:
    """Return a rich console writing to the current stdout (or stderr).

    Parameters
    ----------
    stderr : bool
        Write to standard error instead of standard output.

    Returns
    -------
    rich.console.Console
    """
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def error_message(exc: BaseException) -> str:
    """Turn an exception into a single line of text.

    Parameters
    ----------
    exc : BaseException
        The exception raised by a command.

    Returns
    -------
    str
        The exception's message with line breaks collapsed; the exception's
        type name when it has no message. A ``KeyError``'s key is shown
        without the quotes ``str(KeyError)`` adds.
    """
    keyed = isinstance(exc, KeyError) and len(exc.args) == 1
    text = str(exc.args[0]) if keyed else str(exc)
    text = " ".join(text.split())
    return text or type(exc).__name__


def print_error(exc: BaseException) -> None:
    """Print ``error: <message>`` in red on stderr, on exactly one line.

    Parameters
    ----------
    exc : BaseException
        The exception to report.
    """
    from rich.text import Text

    line = Text(f"error: {error_message(exc)}", style="bold red")
    # soft_wrap: never break the message over several lines, whatever the width.
    make_console(stderr=True).print(line, soft_wrap=True)


def to_jsonable(value: Any) -> Any:
    """``json.dumps`` fallback for NumPy scalars/arrays, paths and the like.

    Parameters
    ----------
    value : Any
        An object the standard JSON encoder does not know.

    Returns
    -------
    Any
        A JSON-serialisable equivalent (``item()``/``tolist()`` when the object
        has them, its string form otherwise).
    """
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
