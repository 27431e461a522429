"""``knowable demo``: run the end-to-end demonstration and say where its output went."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ._output import make_console

__all__ = ["demo_command"]


def _load_run_demo() -> Any:
    """Import ``knowable.demo.run_demo`` lazily (it pulls in torch)."""
    try:
        from knowable.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name == "knowable.demo":
            raise RuntimeError("the demo is not available in this version of knowable.") from exc
        raise
    return run_demo


def demo_command(
    out: Annotated[
        Path,
        typer.Option("--out", help="Folder for the report and figure (created if needed)."),
    ] = Path("knowable-demo"),
    quick: Annotated[
        bool,
        typer.Option("--quick", help="A smaller, faster run (for a first look or CI)."),
    ] = False,
) -> None:
    """Run the end-to-end demo on IHDP and write a report and a figure."""
    run_demo = _load_run_demo()
    console = make_console()
    result = run_demo(out_dir=out, quick=quick, console=console)
    written = {key: value for key, value in (result or {}).items() if isinstance(value, Path)}
    for key, path in written.items():
        console.print(f"{key}: {path}", soft_wrap=True, markup=False)
    console.print(f"demo output written to {out.resolve()}", soft_wrap=True, markup=False)
