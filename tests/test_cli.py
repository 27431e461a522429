"""Tests of the ``knowable`` command line (typer + rich)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knowable
import knowable.data
from knowable.cli import app

runner = CliRunner()


def test_datasets_api_exists():
    """The datasets commands stand on this function: its absence is a failure, not a skip."""
    assert callable(knowable.data.load_dataset)


def _console_script() -> list[str]:
    """The installed ``knowable`` script next to this interpreter, else ``python -m``."""
    script = shutil.which("knowable", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "knowable.cli"]


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _assert_one_line_error(result, needle: str | None = None) -> None:
    assert result.exit_code == 1, result.output
    lines = _error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    if needle is not None:
        assert needle in lines[0]


# ----------------------------------------------------------------- root app
def test_version_flag():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"knowable {knowable.__version__}"


def test_version_console_script():
    proc = subprocess.run(
        [*_console_script(), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"knowable {knowable.__version__}"


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "datasets" in result.stdout
    assert "demo" in result.stdout


def test_bad_option_is_a_usage_error():
    result = runner.invoke(app, ["--no-such-option"])
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert "Traceback" not in result.output


def test_bad_option_value_is_a_usage_error():
    result = runner.invoke(app, ["datasets", "show", "ihdp", "--realization", "one"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_unknown_command_is_a_usage_error():
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2


# ------------------------------------------------------- error handling (one place)
@pytest.mark.parametrize(
    "exc",
    [
        ValueError("realization must lie in 1..50, got [0]"),
        TypeError("bad type"),
        FileNotFoundError("no such file: x.csv"),
        KeyError("missing-key"),
        RuntimeError("went wrong\nover two lines"),
        NotImplementedError(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_command_exception_becomes_one_error_line(monkeypatch, exc):
    def boom(name, **options):
        raise exc

    monkeypatch.setattr(knowable.data, "load_dataset", boom, raising=False)
    result = runner.invoke(app, ["datasets", "show", "ihdp"])
    _assert_one_line_error(result)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if isinstance(exc, KeyError):
        assert result.stderr.strip() == "error: missing-key"
    if isinstance(exc, NotImplementedError):
        assert result.stderr.strip() == "error: NotImplementedError"
    if isinstance(exc, ValueError):
        # rich markup must not eat the brackets
        assert "[0]" in result.stderr


def test_long_error_message_is_not_wrapped(monkeypatch):
    message = "x" * 300

    def boom(name, **options):
        raise ValueError(message)

    monkeypatch.setattr(knowable.data, "load_dataset", boom, raising=False)
    result = runner.invoke(app, ["datasets", "show", "ihdp"])
    _assert_one_line_error(result, message)


def test_debug_reraises(monkeypatch):
    def boom(name, **options):
        raise ValueError("exploded")

    monkeypatch.setattr(knowable.data, "load_dataset", boom, raising=False)
    result = runner.invoke(app, ["--debug", "datasets", "show", "ihdp"])
    assert result.exit_code == 1
    assert isinstance(result.exception, ValueError)
    assert "error:" not in result.output


def test_debug_shows_traceback_in_console_script():
    proc = subprocess.run(
        [*_console_script(), "--debug", "datasets", "show", "no-such-dataset"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr


def test_no_traceback_without_debug_in_console_script():
    proc = subprocess.run(
        [*_console_script(), "datasets", "show", "no-such-dataset"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = _error_lines(proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr


# ----------------------------------------------------------------- datasets
def test_datasets_list_contains_ihdp():
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    assert "ihdp" in result.stdout
    for info in knowable.data.list_datasets():
        assert info.name in result.stdout


def test_datasets_show_ihdp():
    result = runner.invoke(app, ["datasets", "show", "ihdp", "--realization", "1"])
    assert result.exit_code == 0, result.output
    assert "747" in result.stdout
    assert "first 5 rows" in result.stdout


@pytest.mark.parametrize(("split", "rows"), [("train", 672), ("test", 75)])
def test_datasets_show_ihdp_split(split, rows):
    result = runner.invoke(
        app, ["datasets", "show", "ihdp", "--realization", "2", "--split", split, "--head", "0"]
    )
    assert result.exit_code == 0, result.output
    assert str(rows) in result.stdout
    assert "first" not in result.stdout


def test_datasets_show_json():
    result = runner.invoke(app, ["datasets", "show", "ihdp", "--realization", "1", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n"] == 747


@pytest.mark.parametrize("realization", ["0", "51"])
def test_datasets_show_bad_realization(realization):
    result = runner.invoke(app, ["datasets", "show", "ihdp", "--realization", realization])
    _assert_one_line_error(result)


def test_datasets_show_unknown_name():
    result = runner.invoke(app, ["datasets", "show", "no-such-dataset"])
    _assert_one_line_error(result, "no-such-dataset")


def test_datasets_show_every_listed_dataset_as_json():
    for info in knowable.data.list_datasets():
        options = ["--n", "50", "--seed", "0"] if info.kind == "simulator" else []
        result = runner.invoke(app, ["datasets", "show", info.name, *options, "--json"])
        assert result.exit_code == 0, (info.name, result.output)
        assert isinstance(json.loads(result.stdout), dict)


# --------------------------------------------------------------------- demo
def test_demo_missing_module_is_one_line_error(monkeypatch):
    import knowable.cli._demo as demo_module

    def missing():
        raise RuntimeError("the demo is not available in this version of knowable.")

    monkeypatch.setattr(demo_module, "_load_run_demo", missing)
    result = runner.invoke(app, ["demo"])
    _assert_one_line_error(result, "demo is not available")


def test_demo_command_passes_options_and_lists_outputs(tmp_path, monkeypatch):
    """CLI wiring only; the real quick demo runs once, in tests/test_demo.py."""
    import knowable.cli._demo as demo_module

    calls = {}

    def fake_run_demo(out_dir, quick, console):
        calls.update(out_dir=out_dir, quick=quick)
        out_dir.mkdir(parents=True, exist_ok=True)
        return {"figure": out_dir / "demo.png", "metrics": {"pehe": 0.1}}

    monkeypatch.setattr(demo_module, "_load_run_demo", lambda: fake_run_demo)
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert calls == {"out_dir": out, "quick": True}
    assert "figure:" in result.stdout and "metrics" not in result.stdout
    assert "demo output written to" in result.stdout
