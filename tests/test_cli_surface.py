"""The command line as a data scientist's tool (issue 17) and its file messages (issue 16).

Each test names the finding it covers; every one failed on the code before.
Fits are tiny: 2 ensemble members, 2 epochs, 120 units.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.cli import app

runner = CliRunner()
FAST = ["--uncertainty", "ensemble", "--n-members", "2", "--max-epochs", "2", "--seed", "0"]


def _error_line(result) -> str:
    """The one `error:` line of a failed command (exit 1, nothing else on stderr)."""
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    return lines[0]


def _survey(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    region = rng.choice(["north", "south", "east"], n)
    treated = rng.uniform(size=n) < 1 / (1 + np.exp(-(age - 45) / 5))
    cate = 1.0 + 0.1 * (age - 40)
    y = 0.05 * age + treated * cate + rng.normal(0, 0.5, n)
    return pd.DataFrame(
        {
            "pid": [f"id{i:04d}" for i in range(n)],
            "age": age,
            "region": region,
            "treat": np.where(treated, "yes", "no"),
            "y": y,
            "true_cate": cate,
        }
    )


@pytest.fixture(scope="module")
def survey(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("survey") / "survey.csv"
    _survey().to_csv(path, index=False)
    return path


ENCODING = ["--treatment", "treat", "--treated-value", "yes", "--outcome", "y"]
ENCODING += ["--id-column", "pid", "--categorical", "region", "--truth", "true_cate"]


@pytest.fixture(scope="module")
def fitted(survey, tmp_path_factory):
    """One `effects fit --estimand att` run shared by the tests of its outputs."""
    folder = tmp_path_factory.mktemp("fit")
    out, model = folder / "effects.csv", folder / "model"
    args = ["effects", "fit", "--data", str(survey), *ENCODING, "--estimand", "att"]
    result = runner.invoke(app, [*args, *FAST, "--out", str(out), "--save-model", str(model)])
    assert result.exit_code == 0, result.output + result.stderr
    return result, out, model


# ------------------------------------------------------------ 1. estimands
def test_effects_fit_reports_the_att_over_the_treated(fitted, survey):
    result, out, _ = fitted
    table = pd.read_csv(out)
    data = pd.read_csv(survey)
    treated = (data["treat"] == "yes").to_numpy()
    att = table.loc[treated, "effect"].mean()
    from knowable.cli._output import fmt

    assert f"ATT {fmt(att)} over {int(treated.sum())} treated units" in result.stdout
    assert (table["in_estimand"].to_numpy() == treated).all()
    notes = json.loads(out.with_suffix(".json").read_text())
    assert notes["estimand"] == "att" and notes["n_units"] == int(treated.sum())
    assert notes["value"] == pytest.approx(att, rel=1e-6)
    assert notes["true_value"] == pytest.approx(data.loc[treated, "true_cate"].mean())


def test_where_restricts_the_population(survey, tmp_path):
    out = tmp_path / "e.csv"
    args = ["effects", "fit", "--data", str(survey), *ENCODING, "--where", "age > 45"]
    result = runner.invoke(app, [*args, *FAST, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    table, data = pd.read_csv(out), pd.read_csv(survey)
    assert (table["in_estimand"] == (data["age"] > 45)).all()
    bad = runner.invoke(app, [*args[:-1], "agee > 45", *FAST, "--out", str(out)])
    assert "--where" in _error_line(bad)
    none = runner.invoke(app, [*args[:-1], "age > 1000", *FAST, "--out", str(out)])
    assert "no units" in _error_line(none)


def test_bounds_att(survey, tmp_path):
    out = tmp_path / "b.csv"
    args = ["bounds", "--data", str(survey), *ENCODING, "--estimand", "att", "--lam", "1,2"]
    args += ["--max-epochs", "2", "--n-members", "2", "--lam-max", "4", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output + result.stderr
    assert "ATT over" in result.stdout and "robustness (ATT)" in result.stdout
    table = pd.read_csv(out)
    assert table.columns[0] == "pid" and "true_effect" in table.columns
    notes = json.loads(out.with_suffix(".json").read_text())
    assert notes["estimand"] == "att" and notes["lower"][0] == pytest.approx(notes["upper"][0])


def test_bounds_blearner_att_and_where(survey, tmp_path):
    """The B-Learner bounds the ATT (and --where) too; it used to refuse (finding 1)."""
    from knowable.bounds import BLearner
    from knowable.cli._prepare import load_table

    out = tmp_path / "b.csv"
    args = ["bounds", "--data", str(survey), *ENCODING, "--method", "blearner", "--cv", "2"]
    args += ["--lam", "1,2", "--grid", "3", "--lam-max", "4", "--out", str(out), "--seed", "0"]
    notes = {}
    for extra in ([], ["--estimand", "att"], ["--estimand", "att", "--where", "age > 40"]):
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output + result.stderr
        notes[" ".join(extra)] = json.loads(out.with_suffix(".json").read_text())
    att, ate = notes["--estimand att"], notes[""]
    assert att["estimand"] == "att" and "robustness (ATT)" in result.stdout
    assert att["lower"][0] == pytest.approx(att["upper"][0])  # Λ = 1: the DR ATT
    assert att["lower"][1] < att["lower"][0] < att["upper"][1]
    assert att["n_units"] < ate["n_units"]
    # the same numbers as the Python API on the same preprocessed table and seed
    prepared = load_table(
        survey,
        treatment="treat",
        outcome="y",
        covariates=None,
        id_column="pid",
        exclude=None,
        truth="true_cate",
        categorical="region",
        treated_value="yes",
        sep=None,
    )
    est = BLearner(cv=2, random_state=0).fit(prepared.X, prepared.t, prepared.y)
    api = est.ate_bounds([1.0, 2.0], estimand="att")
    np.testing.assert_allclose(att["lower"], api.lower, rtol=1e-9)
    np.testing.assert_allclose(att["upper"], api.upper, rtol=1e-9)
    where = notes["--estimand att --where age > 40"]
    sub = est.ate_bounds([1.0, 2.0], estimand="att", subset=(prepared.frame["age"] > 40).to_numpy())
    np.testing.assert_allclose(where["lower"], sub.lower, rtol=1e-9)
    np.testing.assert_allclose(where["upper"], sub.upper, rtol=1e-9)
    assert where["n_units"] < att["n_units"] and where["where"] == "age > 40"


# ------------------------------------------------------------ 2. columns
def test_id_and_truth_are_never_covariates(fitted):
    result, out, model = fitted
    assert "covariates (4 from 2 column(s)): age, region=east, region=north" in result.stdout
    config = json.loads((model / "config.json").read_text())
    assert "pid" not in json.dumps(config) and "true_cate" not in json.dumps(config)
    prep = json.loads((model / "preprocessing.json").read_text())
    assert prep["covariates"] == ["age", "region"]
    assert prep["categories"] == {"region": ["east", "north", "south"]}
    table = pd.read_csv(out)
    assert list(table["pid"]) == list(pd.read_csv(fitted[1])["pid"])  # carried, in order
    assert table.columns[0] == "pid" and table["pid"].is_unique


def test_exclude_and_duplicate_ids(survey, tmp_path):
    frame = pd.read_csv(survey)
    frame["noise"] = 1.0
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    args = ["effects", "fit", "--data", str(path), *ENCODING, "--exclude", "noise"]
    result = runner.invoke(app, [*args, *FAST, "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 0, result.output
    assert "noise" not in result.stdout.split("covariates")[1].splitlines()[0]
    frame.loc[5, "pid"] = frame.loc[3, "pid"]
    frame.to_csv(path, index=False)
    dup = runner.invoke(app, [*args, *FAST])
    assert "repeats" in _error_line(dup) and "row 5" in _error_line(dup)


# ------------------------------------------------------------ 3. progress
def test_stage_lines_off_a_terminal_and_quiet(fitted, survey, tmp_path):
    result = fitted[0]
    assert "fitting TARNet (ensemble) on 120 units" in result.stdout
    quiet = runner.invoke(
        app,
        [
            "effects",
            "fit",
            "--data",
            str(survey),
            *ENCODING,
            *FAST,
            "-q",
            "--out",
            str(tmp_path / "e.csv"),
        ],
    )
    assert quiet.exit_code == 0 and quiet.stdout.strip() == ""
    both = runner.invoke(app, ["effects", "fit", "--data", str(survey), *ENCODING, "-q", "-v"])
    assert "exclude each other" in _error_line(both)


# ------------------------------------------------------------ 4. interval labels
def test_intervals_say_what_they_cover(fitted):
    result, out, _ = fitted
    assert "epistemic 95% interval" in result.stdout
    assert "not a confidence interval under hidden confounding" in result.stdout
    assert "knowable bounds" in result.stdout
    notes = json.loads(out.with_suffix(".json").read_text())
    assert "epistemic" in notes["columns"]["lower/upper"]


# ------------------------------------------------------------ 5. encoding
def test_string_treatment_needs_treated_value(survey, tmp_path):
    args = ["effects", "fit", "--data", str(survey), "--treatment", "treat", "--outcome", "y"]
    line = _error_line(runner.invoke(app, [*args, "--id-column", "pid", *FAST]))
    assert "--treated-value" in line and "'treat'" in line
    wrong = runner.invoke(app, [*args, "--treated-value", "maybe", *FAST])
    assert "'maybe' does not occur" in _error_line(wrong)
    string_cov = runner.invoke(app, [*args, "--treated-value", "yes", "--id-column", "pid", *FAST])
    line = _error_line(string_cov)
    assert "'region'" in line and "--categorical region" in line and "row 0" in line


def test_categorical_encoding_is_reapplied_by_acquire(fitted, survey, tmp_path):
    _, _, model = fitted
    pool = pd.read_csv(survey).drop(columns=["y", "true_cate"])
    reordered = pool[["region", "treat", "pid", "age"]]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    pool.to_csv(a, index=False)
    reordered.to_csv(b, index=False)
    outs = []
    for path in (a, b):
        out = path.with_name(path.stem + "_batch.csv")
        args = ["acquire", "--causal", "--model", str(model), "--pool", str(path)]
        args += ["--treatment", "treat", "--id-column", "pid", "--batch", "5", "--out", str(out)]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output + result.stderr
        outs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outs[0], outs[1])  # column order does not matter
    assert list(outs[0].columns) == ["rank", "row", "pid", "t", "log_weight"]
    unseen = pool.copy()
    unseen.loc[2, "region"] = "west"
    unseen.to_csv(a, index=False)
    args = ["acquire", "--causal", "--model", str(model), "--pool", str(a), "--treatment", "treat"]
    line = _error_line(runner.invoke(app, [*args, "--out", str(tmp_path / "x.csv")]))
    assert "'west'" in line and "row 2" in line


# ------------------------------------------------------------ 6. file formats
def _fit_args(path: Path, *extra: str) -> list[str]:
    return ["effects", "fit", "--data", str(path), "--treatment", "t", "--outcome", "y", *extra]


@pytest.mark.parametrize(
    ("content", "needles"),
    [
        ("a,t,y\n", ["header", "no data rows"]),
        ("", ["is empty"]),
        ("   \n\n", ["is empty"]),
        ("a,t,y\n1,0,1\n,1,2\n", ["'a'", "missing", "row 1"]),
        ("a,t,y\n1,0,1\n2,1,oops\n", ["'y'", "'oops'", "row 1"]),
        ("a,t,y\n1e300,0,1\n2,1,2\n", ["'a'", "1e+300", "row 0", "rescale"]),
        ("a,t,y\n1,0,1\n2,1e300,2\n", ["treatment", "'t'", "binary"]),
        ("a,t,y\n1,0,1\n2,1,1e300\n", ["'y'", "1e+300", "row 1"]),
        ("a,t,y\n1,0,1\n2,2,1\n", ["binary 0/1", "row 1"]),
        ("This is not a table.\nJust prose, with a comma, and more words.\n", ["not found"]),
    ],
)
def test_bad_files_give_one_line_naming_file_column_and_row(tmp_path, content, needles):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    line = _error_line(runner.invoke(app, _fit_args(path, *FAST)))
    assert "bad.csv" in line
    for needle in needles:
        assert needle in line


def test_binary_and_utf16_files(tmp_path):
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    assert "binary" in _error_line(runner.invoke(app, _fit_args(binary)))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,t,y\ncafé,0,1\n".encode("latin-1") + b"x" * 100)
    assert "not UTF-8" in _error_line(runner.invoke(app, _fit_args(latin)))


def _good_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    return pd.DataFrame({"a": x, "t": np.arange(40) % 2, "y": x + rng.normal(size=40)})


@pytest.mark.parametrize(
    ("name", "writer", "extra"),
    [
        ("semi.csv", lambda f, p: f.to_csv(p, sep=";", index=False), []),
        ("tabbed.tsv", lambda f, p: f.to_csv(p, sep="\t", index=False), []),
        ("pipe.txt", lambda f, p: f.to_csv(p, sep="|", index=False), ["--sep", "pipe"]),
        ("utf16.csv", lambda f, p: f.to_csv(p, index=False, encoding="utf-16"), []),
    ],
)
def test_delimiters_and_encodings_are_read(tmp_path, name, writer, extra):
    path = tmp_path / name
    writer(_good_frame(), path)
    out = tmp_path / "e.csv"
    result = runner.invoke(app, [*_fit_args(path, *FAST, *extra), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output + result.stderr
    assert len(pd.read_csv(out)) == 40


def test_wrong_sep_gives_a_hint(tmp_path):
    path = tmp_path / "semi.csv"
    _good_frame().to_csv(path, sep=";", index=False)
    line = _error_line(runner.invoke(app, _fit_args(path, "--sep", ",")))
    assert "semi.csv" in line and "pass --sep semicolon" in line
    bad_sep = runner.invoke(app, _fit_args(path, "--sep", "ab"))
    assert "--sep" in _error_line(bad_sep)


# ------------------------------------------------------------ 7. acquire model kind
def test_acquire_on_a_cate_model_without_causal(fitted, survey, tmp_path):
    _, _, model = fitted
    args = [
        "acquire",
        "--model",
        str(model),
        "--pool",
        str(survey),
        "--out",
        str(tmp_path / "b.csv"),
    ]
    line = _error_line(runner.invoke(app, args))
    assert "CATE estimator" in line and "--causal --treatment treat" in line
    with_columns = runner.invoke(app, [*args, "--columns", "age"])
    assert "--causal" in _error_line(with_columns)


def test_acquire_names_extra_columns_of_an_unnamed_model(tmp_path):
    from knowable.models import UncertainRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2))
    model = UncertainRegressor("ensemble", n_members=2, max_epochs=2, hidden_size=8)
    model.set_params(random_state=0).fit(x, x.sum(1)).save(tmp_path / "m")
    pool = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "outcome": x.sum(1)})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    args = ["acquire", "--model", str(tmp_path / "m"), "--pool", str(tmp_path / "pool.csv")]
    line = _error_line(runner.invoke(app, [*args, "--out", str(tmp_path / "b.csv")]))
    assert "takes 2" in line and "['outcome']" in line and "--columns" in line


def test_acquire_matches_named_columns_in_any_order(tmp_path):
    """Issue 16, defect 1: a reordered pool gave another batch with exit 0."""
    from knowable.models import UncertainRegressor

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60) * 3})
    model = UncertainRegressor("ensemble", n_members=2, max_epochs=2, hidden_size=8)
    model.set_params(random_state=0).fit(frame, frame["a"] - frame["b"]).save(tmp_path / "m")
    frame.to_csv(tmp_path / "ab.csv", index=False)
    frame[["b", "a"]].to_csv(tmp_path / "ba.csv", index=False)
    batches = []
    for name in ("ab", "ba"):
        out = tmp_path / f"{name}_batch.csv"
        args = ["acquire", "--model", str(tmp_path / "m"), "--pool", str(tmp_path / f"{name}.csv")]
        result = runner.invoke(
            app, [*args, "--batch", "5", "--strategy", "bald", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output + result.stderr
        batches.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(batches[0], batches[1])


# ------------------------------------------------------------ 8. overlap
def test_overlap_diagnostic_printed_once(fitted):
    result = fitted[0]
    lines = [line for line in result.stdout.splitlines() if line.startswith("overlap:")]
    assert len(lines) == 1
    assert "outside [0.05, 0.95]" in lines[0] and "effective sample size (ATT weights)" in lines[0]
    assert "UserWarning" not in result.output


def test_repeated_warnings_are_one_line_each():
    import warnings

    import typer

    from knowable.cli._app import _KnowableGroup

    sub = typer.Typer(cls=_KnowableGroup)

    @sub.command()
    def noisy() -> None:
        for fold in range(5):
            warnings.warn(f"{fold} of 100 units outside", UserWarning, stacklevel=1)
        np.log(np.zeros(1))  # a numpy RuntimeWarning

    @sub.command()
    def fails() -> None:
        np.log(np.zeros(1))
        raise ValueError("bad input")

    result = runner.invoke(sub, ["noisy"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 0
    assert len(lines) == 2 and "(×5)" in lines[0] and "divide by zero" in lines[1]
    assert _error_line(runner.invoke(sub, ["fails"])) == "error: bad input"


# ------------------------------------------------------------ 10. one surface
def test_bad_option_values_fail_fast_with_one_line(survey):
    for args, needle in [
        (["effects", "fit", "--uncertainty", "nope"], "--uncertainty"),
        (["effects", "fit", "--model", "forest"], "--model"),
        (["effects", "fit", "--estimand", "late"], "--estimand"),
        (["bounds", "--method", "quince"], "--method"),
        (["bounds", "--estimand", "all"], "--estimand"),
        (["dose-response", "--uncertainty", "gp"], "--uncertainty"),
    ]:
        argv = [*args[:1], *args[1:2]] if args[0] == "effects" else args[:1]
        rest = args[2:] if args[0] == "effects" else args[1:]
        result = runner.invoke(
            app, [*argv, "--data", "/nonexistent.csv", "--treatment", "t", "--outcome", "y", *rest]
        )
        # the option is checked before the file is read (and before torch is imported)
        line = _error_line(result)
        assert needle in line and "nonexistent" not in line


def test_bounds_out_has_a_default(survey, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["bounds", "--data", str(survey), *ENCODING, "--method", "blearner", "--cv", "2"]
    result = runner.invoke(app, [*args, "--grid", "2", "--lam", "1,2", "--lam-max", "3", "-q"])
    assert result.exit_code == 0, result.output + result.stderr
    assert (tmp_path / "bounds.csv").is_file() and (tmp_path / "bounds.json").is_file()


def test_dose_response_refuses_a_binary_treatment(survey, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["dose-response", "--data", str(survey), "--treatment", "treat", "--outcome", "y"]
    frame = pd.read_csv(survey)
    assert frame["treat"].nunique() == 2
    line = _error_line(runner.invoke(app, [*args, "--id-column", "pid", "--exclude", "region"]))
    assert "'treat'" in line  # a string treatment: not numeric


def test_dose_response_binary_numeric_treatment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the old code wrote curve.csv here
    frame = _good_frame()
    frame.to_csv(tmp_path / "d.csv", index=False)
    args = [
        "dose-response",
        "--data",
        str(tmp_path / "d.csv"),
        "--treatment",
        "t",
        "--outcome",
        "y",
    ]
    line = _error_line(runner.invoke(app, args))
    assert "binary" in line and "knowable effects fit" in line


def test_lam_labels_are_shared_and_never_collide():
    """Issue 16, defect 7: dose-response named columns with :g, so 1.5 and 1.5000001 collided."""
    from knowable.cli import _bounds, _dose_response

    assert _dose_response.lam_label is _bounds.lam_label
    assert _bounds.lam_label(1.5) != _bounds.lam_label(1.5000001)
    assert _bounds.lam_label(2.0) == "2"


def test_number_format():
    from knowable.cli._output import fmt

    assert fmt(-12345.6) == "-12346"
    assert fmt(-693.44) == "-693.4"
    assert fmt(0.30000) == "0.3"
    assert fmt(1.5e9) == "1.500e+09"
    assert fmt(float("inf")) == "inf"


_HEAVY = ("torch", "numpy", "pandas", "scipy", "sklearn", "matplotlib", "sqlalchemy", "gpytorch")
_FIT = ["--data", "d.csv", "--treatment", "t", "--outcome", "y"]


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["--help"], 0, "Usage: knowable"),
        (["effects", "fit", *_FIT, "--uncertainty", "nope"], 1, "--uncertainty must be one of"),
        (["effects", "fit", *_FIT, "--estimand", "late"], 1, "--estimand must be one of"),
        (["bounds", *_FIT, "--lam", "0.5"], 1, "--lam"),
        (["bounds", *_FIT, "--method", "nope"], 1, "--method must be one of"),
        (["dose-response", *_FIT, "--method", "nope"], 1, "--method must be one of"),
        (["effects", "fit", *_FIT, "--seed", "one"], 2, "seed"),
    ],
)
def test_fast_paths_never_import_heavy_modules(argv, code, expected):
    """`--help` and rejected option values are answered before any heavy import (issue 17, 10).

    Run as the console script runs (a fresh interpreter calling ``main``), it checks the
    exit code and message, so a command that failed for another reason cannot pass, and
    that neither a heavy third-party package nor any knowable module outside the CLI
    (knowable.effects, knowable.bounds, ...) was imported. ``d.csv`` does not exist:
    the option is rejected before the file is looked at.
    """
    import subprocess
    import sys

    script = (
        "import sys\nfrom knowable.cli import main\n"
        f"sys.argv = ['knowable', *{argv!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
        "mods = sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{_HEAVY!r} or (m.startswith('knowable.') and not m.startswith(('knowable.cli', "
        "'knowable._version'))))\n"
        "print('RESULT', code, len(mods), mods[:10], file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"RESULT {code} 0 []", proc.stdout + proc.stderr
    assert expected in proc.stdout + proc.stderr


def test_report_writes_json_and_markdown_and_labels_missing_truth(fitted, tmp_path):
    _, out, _ = fitted
    table = pd.read_csv(out).drop(columns=["true_effect"])
    path = tmp_path / "effects.csv"
    table.to_csv(path, index=False)
    figure = tmp_path / "deferral.png"
    result = runner.invoke(app, ["effects", "report", "--effects", str(path), "--out", str(figure)])
    assert result.exit_code == 0, result.output + result.stderr
    assert "model's expected √PEHE" in result.stdout
    doc = json.loads(figure.with_suffix(".json").read_text())
    assert set(doc["policies"]) == {"most uncertain", "sign uncertainty", "low overlap", "random"}
    assert "model's expected" in figure.with_suffix(".md").read_text()


def test_progress_bar_on_a_terminal(survey, monkeypatch):
    """On a TTY the estimator is built with verbose=True (rich bar: members × epochs)."""
    from knowable.cli import _options
    from knowable.effects import TARNet

    seen = {}

    def fake_fit(self, *args, **kwargs):
        seen["verbose"] = self.verbose
        raise ValueError("stopped after construction")

    monkeypatch.setattr(TARNet, "fit", fake_fit)
    args = ["effects", "fit", "--data", str(survey), *ENCODING, *FAST]
    monkeypatch.setattr(_options.Reporter, "tty", property(lambda self: True))
    _error_line(runner.invoke(app, args))
    assert seen["verbose"] is True
    monkeypatch.setattr(_options.Reporter, "tty", property(lambda self: False))
    _error_line(runner.invoke(app, args))
    assert seen["verbose"] is False
    _error_line(runner.invoke(app, [*args, "--verbose"]))
    assert seen["verbose"] is True


def test_fit_prints_the_early_stopping_state_off_a_terminal(fitted):
    """Off a TTY the bar is replaced by lines; one says how early stopping went (finding 3)."""
    result, _, _ = fitted
    line = next(x for x in result.stdout.splitlines() if "early stopping:" in x)
    assert "2 members ran 2, 2 epoch(s) of at most 2 (0 stopped early)" in line
    assert "best loss" in line and "at epoch(s)" in line


def test_bounds_save_model_writes_the_outcome_models(survey, tmp_path):
    folder = tmp_path / "bm"
    args = ["bounds", "--data", str(survey), *ENCODING, "--lam", "1,2", "--max-epochs", "2"]
    args += ["--n-members", "2", "--lam-max", "3", "--out", str(tmp_path / "b.csv")]
    result = runner.invoke(app, [*args, "--save-model", str(folder), "-q"])
    assert result.exit_code == 0, result.output + result.stderr
    from knowable.cli._prepare import Preprocessing
    from knowable.models import UncertainRegressor

    table = pd.read_csv(tmp_path / "b.csv")
    data = pd.read_csv(survey)
    prep = Preprocessing.load(folder / "arm1")
    x = prep.transform(data, survey).to_numpy()
    mu = [UncertainRegressor.load(folder / f"arm{a}").posterior(x).mean()[:, 0] for a in (0, 1)]
    # the saved densities are the ones the bounds used: at Λ = 1 the bound is μ₁ − μ₀
    np.testing.assert_allclose(table["lower_lam1"], mu[1] - mu[0], rtol=1e-5, atol=1e-6)
    blearner = runner.invoke(app, [*args, "--method", "blearner", "--save-model", str(folder)])
    assert "--method sharp or kallus" in _error_line(blearner)


def test_truth_is_never_an_input_of_acquire_and_is_carried(fitted, survey, tmp_path):
    """Finding 2: `--truth` on every command that reads data; acquire copies it per row."""
    _, _, model = fitted
    pool = pd.read_csv(survey).drop(columns=["y"])
    path, out = tmp_path / "pool.csv", tmp_path / "batch.csv"
    pool.to_csv(path, index=False)
    args = ["acquire", "--causal", "--model", str(model), "--pool", str(path), "--batch", "4"]
    args += ["--treatment", "treat", "--id-column", "pid", "--truth", "true_cate"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output + result.stderr
    batch = pd.read_csv(out)
    np.testing.assert_allclose(batch["true_effect"], pool["true_cate"].to_numpy()[batch["row"]])
    missing = runner.invoke(app, [*args[:-1], "nope", "--out", str(out)])
    assert "'nope'" in _error_line(missing)


def test_truth_is_never_a_covariate_of_dose_response(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    n = 80
    x = rng.normal(size=n)
    t = x + rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "t": t, "y": t * x + rng.normal(size=n), "truth": t * x})
    frame.to_csv(tmp_path / "d.csv", index=False)
    args = ["dose-response", "--data", str(tmp_path / "d.csv"), "--treatment", "t"]
    args += ["--outcome", "y", "--truth", "truth", "--n-members", "2", "--max-epochs", "2"]
    args += ["--grid-size", "3", "--lam", "1,2", "--n-samples", "8", "--no-overlap"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "curve.csv")])
    assert result.exit_code == 0, result.output + result.stderr
    covariates = result.stdout.split("covariates")[1].splitlines()[0]
    assert "x" in covariates and "truth" not in covariates


def test_effects_fit_n_members_sets_the_due_mixture(survey, tmp_path):
    """--n-members counts DUE models for --uncertainty due (gp_members), networks otherwise."""
    from knowable.effects import TARNet

    model = tmp_path / "model"
    args = ["effects", "fit", "--data", str(survey), *ENCODING, "--uncertainty", "due"]
    args += ["--n-members", "2", "--max-epochs", "2", "--out", str(tmp_path / "e.csv")]
    result = runner.invoke(app, [*args, "--save-model", str(model), "-q"])
    assert result.exit_code == 0, result.output + result.stderr
    loaded = TARNet.load(model)
    assert loaded.gp_members == 2 and len(loaded.members_) == 2
