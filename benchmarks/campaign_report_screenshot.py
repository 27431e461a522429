"""A scripted 5-round campaign through the CLI, its HTML report, and a headless-chromium screenshot.

The pool is synthetic (300 candidates, 4 features, y = sin(2 x0) + x1^2 - 0.5 x2 plus
noise), measured by the script; batches of 16 by power-BALD. The screenshot goes to
docs/figures/campaign_report.png (with --out-dir elsewhere for a dry run).

    PYTHONPATH=src python benchmarks/campaign_report_screenshot.py [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from knowable.cli import app

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> None:
    res = CliRunner().invoke(app, list(args))
    if res.exit_code != 0:
        raise RuntimeError(f"{args}: {res.output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller model (same 5 rounds)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "figures")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("needs Debian's chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(300, 4))
        y = np.sin(2 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2] + 0.1 * rng.normal(size=300)
        pool = pd.DataFrame(x, columns=["f0", "f1", "f2", "f3"])
        pool.insert(0, "gene", [f"GENE{i:03d}" for i in range(300)])
        pool.to_csv(tmp / "genes.csv", index=False)
        truth = dict(zip(pool["gene"], y, strict=True))
        db = str(tmp / "campaign.sqlite")
        members = "3" if args.quick else "5"
        run("campaign", "init", "--db", db, "--candidates", str(tmp / "genes.csv"),
            "--id-column", "gene", "--members", members)  # fmt: skip
        for r in range(5):
            run("campaign", "propose", "--db", db, "--batch", "16", "--strategy", "power-bald",
                "--out", str(tmp / "batch.csv"), "--no-progress")  # fmt: skip
            batch = pd.read_csv(tmp / "batch.csv")
            res = pd.DataFrame({"gene": batch["gene"], "y": [truth[g] for g in batch["gene"]]})
            res.to_csv(tmp / f"results{r}.csv", index=False)
            run("campaign", "ingest", str(tmp / f"results{r}.csv"), "--db", db)
        run("campaign", "report", "--db", db, "--out", str(tmp / "report.html"))
        args.out_dir.mkdir(parents=True, exist_ok=True)
        png = args.out_dir / "campaign_report.png"
        cmd = [
            browser, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-extensions", "--disable-sync",
            "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}",
            "--window-size=1200,1500", f"--screenshot={png}", (tmp / "report.html").as_uri(),
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
