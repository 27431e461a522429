"""An end-to-end campaign through the CLI on SQLite and PostgreSQL, and its report in a browser."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from campaign_backends import db_url, dump  # noqa: F401  (fixture)
from knowable.campaign import Campaign, round_metrics
from knowable.cli import app

N, D = 120, 4


def _truth(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2]


def _write_pool(path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(N, D))
    frame = pd.DataFrame(x, columns=[f"f{j}" for j in range(D)])
    frame.insert(0, "gene", [f"G{i:03d}" for i in range(N)])
    frame["y_true"] = _truth(x)
    frame.to_csv(path, index=False)
    return frame


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)
    return " ".join(result.output.split())  # rich wraps long lines


def _fail(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1, (args, result.output)
    text = " ".join(result.output.split())
    assert text.startswith("error: ") and text.count("error:") == 1, result.output
    return text


def _campaign(tmp_path: Path, db: str) -> tuple[pd.DataFrame, Path]:
    pool = _write_pool(tmp_path / "genes.csv")
    feats = ",".join(f"f{j}" for j in range(D))
    out = _run(
        "campaign", "init", "--db", db, "--candidates", str(tmp_path / "genes.csv"),
        "--id-column", "gene", "--features", feats, "--members", "3", "--max-epochs", "30",
    )  # fmt: skip
    assert f"{N} candidates, {D} features" in out
    truth = pool.set_index("gene")["y_true"]
    strategies = ["power-bald", "topk-bald", "discobax", "coreset", "random"]
    for r, strategy in enumerate(strategies):
        batch = tmp_path / f"batch{r}.csv"
        _run("campaign", "propose", "--db", db, "--batch", "8", "--strategy", strategy,
             "--out", str(batch), "--no-progress")  # fmt: skip
        proposed = pd.read_csv(batch)
        assert len(proposed) == 8
        results = tmp_path / f"results{r}.csv"
        pd.DataFrame({"gene": proposed["gene"], "y": truth[proposed["gene"]].to_numpy()}).to_csv(
            results, index=False
        )
        assert "8 new" in _run("campaign", "ingest", str(results), "--db", db)
    return pool, tmp_path


def test_end_to_end_campaign_through_the_cli(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    pool, _ = _campaign(tmp_path, db_url)
    # re-ingesting a file changes nothing; a bad file is refused with one error line
    before = dump(db_url)
    assert "already ingested" in _run("campaign", "ingest", str(tmp_path / "results0.csv"),
                                      "--db", db_url)  # fmt: skip
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"gene": ["G000", "nope"], "y": [1.0, 2.0]}).to_csv(bad, index=False)
    assert "not candidates" in _fail("campaign", "ingest", str(bad), "--db", db_url)
    assert "larger than the 80 candidates" in _fail(
        "campaign", "propose", "--db", db_url, "--batch", "81", "--out", str(tmp_path / "x.csv")
    )
    assert dump(db_url) == before

    status = _run("campaign", "status", "--db", db_url)
    assert "n_rounds: 5 n_measured: 40" in status
    _run("campaign", "export", "--db", db_url, "--out", str(tmp_path / "all.csv"))
    exported = pd.read_csv(tmp_path / "all.csv", float_precision="round_trip")
    measured = exported.dropna(subset=["y"])
    assert len(measured) == 40
    truth = pool.set_index("gene")["y_true"]
    np.testing.assert_array_equal(measured["y"].to_numpy(), truth[measured["gene"]].to_numpy())

    camp = Campaign(db_url)
    assert camp.check_consistency() == []
    metrics = round_metrics(camp)
    # hand count of the hit ratio from the exported values
    thr = np.quantile(np.abs(measured["y"]), 0.95)
    hits = measured.groupby("round")["y"].apply(lambda v: int((np.abs(v) >= thr).sum()))
    assert metrics["hits"].tolist() == hits.reindex(range(5), fill_value=0).tolist()
    assert metrics["hit_ratio"].iloc[-1] == 1.0
    best = [measured[measured["round"] <= r]["y"].max() for r in range(5)]
    np.testing.assert_allclose(metrics["best_so_far"], best)

    report = tmp_path / "report.html"
    _run("campaign", "report", "--db", db_url, "--out", str(report))
    page = report.read_text()
    assert "Chosen candidates and why" in page
    assert not re.search(r"""(src|href)=["']https?:""", page)  # self-contained
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path, tmp: Path, width: int = 1200, height: int = 1800) -> None:
    """Open ``html`` in headless chromium and save a screenshot (no network, fresh profile)."""
    browser = _chromium()
    assert browser is not None
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-extensions", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={tmp / 'chromium-profile'}", f"--window-size={width},{height}",
        f"--screenshot={png}", html.resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def test_report_renders_in_a_headless_browser(tmp_path: Path) -> None:
    if _chromium() is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    db = str(tmp_path / "c.sqlite")
    _campaign(tmp_path, db)
    report = tmp_path / "report.html"
    _run("campaign", "report", "--db", db, "--out", str(report))
    png = tmp_path / "shot.png"
    screenshot(report, png, tmp_path)
    from matplotlib.image import imread

    img = imread(png)
    assert img.shape[:2] == (1800, 1200)
    # the page drew something: not one flat colour, and the figures' ink is there
    assert img[..., :3].std() > 0.05
    assert (img[..., :3].mean(-1) < 0.5).mean() > 0.002


def test_propose_refits_the_members_in_parallel_with_the_same_batch(tmp_path: Path) -> None:
    """--workers 2 trains the ensemble members as two processes: the proposal is the same."""
    _write_pool(tmp_path / "genes.csv")
    feats = ",".join(f"f{j}" for j in range(D))
    batches = []
    for name, extra in (("serial", []), ("parallel", ["--workers", "2"])):
        db = f"sqlite:///{tmp_path / name}.sqlite"
        _run("campaign", "init", "--db", db, "--candidates", str(tmp_path / "genes.csv"),
             "--id-column", "gene", "--features", feats, "--members", "3",
             "--max-epochs", "10", "--seed", "3")  # fmt: skip
        measured = pd.read_csv(tmp_path / "genes.csv").iloc[:20]
        measured[["gene", "y_true"]].rename(columns={"y_true": "y"}).to_csv(
            tmp_path / f"{name}.csv", index=False
        )
        first = tmp_path / f"{name}_r0.csv"
        _run("campaign", "propose", "--db", db, "--batch", "20", "--strategy", "random",
             "--out", str(first), "--no-progress")  # fmt: skip
        taken = pd.read_csv(first)["gene"]
        pool = pd.read_csv(tmp_path / "genes.csv").set_index("gene")
        pd.DataFrame({"gene": taken, "y": pool.loc[taken, "y_true"].to_numpy()}).to_csv(
            tmp_path / f"{name}_m0.csv", index=False
        )
        _run("campaign", "ingest", str(tmp_path / f"{name}_m0.csv"), "--db", db)
        out = tmp_path / f"{name}_r1.csv"
        _run("campaign", "propose", "--db", db, "--batch", "8", "--strategy", "power-bald",
             "--out", str(out), "--no-progress", *extra)  # fmt: skip
        batches.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(batches[0], batches[1])
    assert "--backend must be one of" in _fail(
        "campaign", "propose", "--db", f"sqlite:///{tmp_path / 'serial'}.sqlite",
        "--backend", "spark",
    )  # fmt: skip
