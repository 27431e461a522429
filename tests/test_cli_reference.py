"""docs/cli.md is generated from the typer app and must not be stale."""

from __future__ import annotations

from pathlib import Path

from knowable.cli._reference import render

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_cli_reference_page_is_current():
    expected = render()
    assert PAGE.read_text() == expected, (
        "docs/cli.md is stale; regenerate it with "
        "`python -m knowable.cli._reference --write docs/cli.md`."
    )


def test_every_command_and_option_is_documented():
    import typer

    from knowable.cli import app

    text = render()
    root = typer.main.get_command(app)
    for group_name, command in root.commands.items():
        subcommands = getattr(command, "commands", {group_name: command})
        for name, sub in subcommands.items():
            path = group_name if sub is command else f"{group_name} {name}"
            assert f"## `knowable {path}`" in text
            for param in sub.params:
                for opt in getattr(param, "opts", []):
                    if opt.startswith("--") and opt != "--help":
                        assert f"`{opt}`" in text, (path, opt)
