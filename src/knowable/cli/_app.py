"""Root ``knowable`` app: global options and the single place errors are handled.

Error handling
--------------
:class:`_KnowableGroup` wraps the invocation of every command. An exception
raised by a command (``ValueError``, ``KeyError``, ``RuntimeError``...) becomes
one red ``error: <message>`` line on stderr and exit code 1, unless the global
``--debug`` flag was given, in which case it is re-raised with its traceback.
Click/typer's own exceptions (usage errors: exit code 2, ``Exit``, ``Abort``)
pass through untouched, so usage errors keep click's normal message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from ._acquire import acquire_command
from ._bounds import bounds_command
from ._circuits import circuits_app
from ._datasets import datasets_app
from ._demo import demo_command
from ._dose_response import dose_response_command
from ._effects import effects_app
from ._output import print_error
from ._rl import rl_app
from ._sensitivity import sensitivity_command

__all__ = ["app", "main"]


@dataclass(frozen=True)
class CliSettings:
    """Settings given by the root options, kept on the click context's ``obj``.

    Parameters
    ----------
    debug : bool
        Show tracebacks instead of one-line error messages.
    """

    debug: bool = False


class _KnowableGroup(TyperGroup):
    """Root group that maps command exceptions to a one-line error and exit 1."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            # Exit/Abort are control flow; TyperException covers click's
            # ClickException/UsageError, which click reports itself (exit 2).
            raise
        except Exception as exc:
            settings = ctx.obj if isinstance(ctx.obj, CliSettings) else CliSettings()
            if settings.debug:
                raise
            print_error(exc)
            raise typer.Exit(code=1) from None


app = typer.Typer(
    name="knowable",
    cls=_KnowableGroup,
    help="Decisions under uncertainty: effects, bounds under hidden confounding, acquisition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(datasets_app, name="datasets")
app.add_typer(effects_app, name="effects")
app.command("demo")(demo_command)
app.command("acquire")(acquire_command)
app.command("bounds")(bounds_command)
app.command("dose-response")(dose_response_command)
app.add_typer(rl_app, name="rl")
app.add_typer(circuits_app, name="circuits")
app.command("sensitivity")(sensitivity_command)


def _version_callback(value: bool) -> None:
    if value:
        from knowable import __version__

        typer.echo(f"knowable {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", help="Show full tracebacks instead of one-line errors."),
    ] = False,
) -> None:
    """Decisions under uncertainty from data."""
    ctx.obj = CliSettings(debug=debug)


def main() -> None:
    """Run the ``knowable`` command line (the console-script entry point)."""
    app(prog_name="knowable")
