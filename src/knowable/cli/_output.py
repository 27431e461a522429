"""Consoles and the one-line error message shared by all commands.

Consoles are created per call (never stored globally) so that they always
write to the current ``sys.stdout`` / ``sys.stderr``, which is what test
runners capture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["error_message", "fmt", "make_console", "print_error", "print_warnings", "to_jsonable"]


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


def fmt(value: float) -> str:
    """One number format for every command: 4 significant digits, plain notation when readable.

    Parameters
    ----------
    value : float
        The number.

    Returns
    -------
    str
        ``-12345``, ``-693.4``, ``0.01235``, ``0.3`` (no trailing zeros); scientific (``1.235e+09``) only
        below 1e-3 or from 1e7 in magnitude; ``inf``/``nan`` as such.
    """
    import math

    x = float(value)
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    mag = abs(x)
    if 1e-3 <= mag < 1e7:
        decimals = max(0, 3 - math.floor(math.log10(mag)))
        text = f"{x:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{x:.3e}"


def print_warnings(caught: list[Any]) -> None:
    """Print each distinct user or runtime warning once, as one ``warning:`` line on stderr.

    Warnings whose text differs only in numbers (one per cross-fitting fold,
    say) count as one; deprecation and future warnings of dependencies are dropped.

    Parameters
    ----------
    caught : list of warnings.WarningMessage
        As recorded by ``warnings.catch_warnings(record=True)``.
    """
    import re

    from rich.text import Text

    seen: dict[str, tuple[str, int]] = {}
    for item in caught:
        if not issubclass(item.category, UserWarning | RuntimeWarning):
            continue
        text = " ".join(str(item.message).split())
        key = re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", text)
        first, count = seen.get(key, (text, 0))
        seen[key] = (first, count + 1)
    if not seen:
        return
    console = make_console(stderr=True)
    for text, count in seen.values():
        times = f" (×{count})" if count > 1 else ""
        console.print(Text(f"warning: {text}{times}", style="yellow"), soft_wrap=True)
