"""docs/walkthrough.md, run block by block (issue 17's must-show walkthrough).

Python blocks are executed in one namespace; every ``knowable ...`` command of a bash
block is run through the CLI with ``--max-epochs`` cut to 2 (the page's numbers come from
the epochs it shows). Then the joined results are checked.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.cli import app

PAGE = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.md"


def blocks(text: str) -> list[tuple[str, str]]:
    """The page's (language, code) blocks in order."""
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)


def run_page(folder: Path, max_epochs: int | None = 2) -> list[str]:
    """Run the page's blocks in ``folder``; return the stdout of each CLI command."""
    import contextlib
    import io
    import os

    outputs: list[str] = []
    namespace: dict = {}
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        for lang, code in blocks(PAGE.read_text()):
            if lang == "python":
                buffer = io.StringIO()
                with contextlib.redirect_stdout(buffer):
                    exec(compile(code, str(PAGE), "exec"), namespace)
                outputs.append(buffer.getvalue())
            elif lang == "bash":
                command = code.replace("\\\n", " ")
                for line in command.splitlines():
                    if not line.strip().startswith("knowable "):
                        continue
                    args = shlex.split(line)[1:]
                    if max_epochs is not None and "--max-epochs" in args:
                        args[args.index("--max-epochs") + 1] = str(max_epochs)
                    result = runner.invoke(app, args)
                    assert result.exit_code == 0, (line, result.output, result.stderr)
                    outputs.append(result.stdout)
    finally:
        os.chdir(cwd)
    return outputs


@pytest.fixture(scope="module")
def page_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("walkthrough")
    return folder, run_page(folder)


def test_walkthrough_runs_and_joins_back_by_id(page_run):
    folder, outputs = page_run
    survey = pd.read_csv(folder / "survey.csv")
    effects = pd.read_csv(folder / "att_effects.csv")
    bounds = pd.read_csv(folder / "att_bounds.csv")
    assert len(survey) == 3000 and (survey["program"] == "yes").sum() == 300
    # outputs lead with the identifier, cover every person once, and the truth is not a covariate
    for table in (effects, bounds):
        assert table.columns[0] == "person_id"
        assert set(table["person_id"]) == set(survey["person_id"])
        assert table["person_id"].is_unique
    prep = json.loads((folder / "att_model" / "preprocessing.json").read_text())
    assert prep["covariates"] == ["age", "educ", "earn_before", "married", "region"]
    assert prep["treated_value"] == "yes"
    # the ATT is over the treated, and its notes say what the interval is
    notes = json.loads((folder / "att_effects.json").read_text())
    treated = effects["treatment"] == 1
    assert notes["estimand"] == "att" and notes["n_units"] == 300
    assert notes["value"] == pytest.approx(effects.loc[treated, "effect"].mean(), rel=1e-6)
    assert notes["interval"][0] <= notes["value"] <= notes["interval"][1]
    assert "not a confidence interval" in notes["interval_kind"]
    true_att = survey.loc[survey["program"] == "yes", "true_effect"].mean()
    assert notes["true_value"] == pytest.approx(true_att)
    # ATT bounds: a point at Λ = 1, nested intervals after, a robustness value
    b = json.loads((folder / "att_bounds.json").read_text())
    assert b["estimand"] == "att" and b["lam"] == [1.0, 1.2, 1.5, 2.0]
    assert b["lower"][0] == pytest.approx(b["upper"][0])
    assert np.all(np.diff(b["lower"]) < 0) and np.all(np.diff(b["upper"]) > 0)
    assert b["robustness"] >= 1.0
    assert (folder / "att_bounds.png").stat().st_size > 0
    # the final block printed the joined summary
    assert "robustness of the ATT" in outputs[-1] and "region" in outputs[-1]
    assert "ATT" in outputs[1] and "epistemic 95% interval" in outputs[1]
