"""Crash safety of the campaign store, measured: kill -9 ingest/propose at random instants.

Each trial starts one CLI command in a fresh process (``knowable campaign ingest``
of the latest batch's results, or ``knowable campaign propose --round N``), kills
it with SIGKILL at a random instant drawn uniformly from [0, 1.1 T] (T: that
command's median duration; the child is forked from the harness, which has imported
everything, so the instants fall in the command's work, not in Python's start-up), then:

1. opens the database and runs :meth:`Campaign.check_consistency` (readable and
   consistent: SQLite integrity check, contiguous rounds with complete batches,
   one current value per measured candidate, ingest counts matching their rows,
   model checksums matching their snapshots);
2. checks atomicity: the command's effect is either wholly absent or wholly
   present (no partial batch or partial ingest);
3. re-runs the same command to completion and checks that its effect happened
   exactly once (one ingest row for the file's hash and exactly its rows in the
   measurement table; exactly one new round, whose batch the output CSV matches).

    PYTHONPATH=src python benchmarks/campaign_crash.py [--quick] [--trials 50] [--db URL]

Writes benchmarks/results/campaign_crash[_quick].json and .md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
import torch

from knowable.campaign import Campaign
from knowable.campaign import _schema as S
from knowable.campaign._store import known_revisions, make_engine
from knowable.cli import app

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BATCH = 8
FAST = {"n_members": 3, "hidden_size": 32, "depth": 2, "max_epochs": 40, "patience": 10}


# Each command runs in a child forked from this already-imported process (so that
# the kill instants land in the command's work, not in Python's start-up); the
# child runs the CLI exactly as `knowable campaign ...` does and is killed with
# SIGKILL, which no handler can intercept.


def cli(*args: str) -> list[str]:
    return ["campaign", *args]


def _fork(args: list[str]) -> int:
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            app(args, prog_name="knowable")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    return pid


def counts(db: str) -> dict[str, int]:
    engine = make_engine(db)
    with engine.connect() as conn:
        out = {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar())
            for t in (S.rounds, S.proposals, S.ingests, S.measurements, S.model_snapshots)
        }
    engine.dispose()
    return out


def ingests_with_hash(db: str, digest: str) -> int:
    engine = make_engine(db)
    with engine.connect() as conn:
        n = conn.execute(
            sa.select(sa.func.count()).where(S.ingests.c.content_hash == digest)
        ).scalar()
    engine.dispose()
    return int(n)


def run_to_end(cmd: list[str]) -> float:
    """Run to completion in a forked child; return the seconds it took."""
    t0 = time.perf_counter()
    pid = _fork(cmd)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd} failed with status {status}")
    return time.perf_counter() - t0


def run_and_kill(cmd: list[str], delay: float) -> str:
    pid = _fork(cmd)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < delay:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return "finished before the kill"
        time.sleep(0.001)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return "killed"


def results_file(db: str, truth: dict[str, float], path: Path) -> tuple[Path, int]:
    """Results of the earliest round that still awaits measurements."""
    camp = Campaign(db)
    exp = camp.export()
    camp.close()
    pending = exp[exp["round"].notna() & exp["y"].isna()]
    r = int(pending["round"].min())
    ids = pending.loc[pending["round"] == r, "gene"]
    pd.DataFrame({"gene": ids, "y": [truth[g] for g in ids]}).to_csv(path, index=False)
    return path, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 trials instead of 50")
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a SQLite file)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    trials = args.trials or (10 if args.quick else 50)
    known_revisions()  # import Alembic's machinery before forking
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="campaign-crash-"))
    db = args.db or str(tmp / "crash.sqlite")
    n_pool = 40 + BATCH * (trials + 10)
    x = rng.normal(size=(n_pool, 4))
    pool = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    pool.insert(0, "gene", [f"G{i:05d}" for i in range(n_pool)])
    truth = dict(zip(pool["gene"], np.sin(2 * x[:, 0]) + x[:, 1] ** 2, strict=True))
    Campaign.create(db, pool, id_column="gene", model_params=FAST, seed=args.seed).close()

    # two measured rounds so that propose fits a model; then time each command
    durations: dict[str, list[float]] = {"ingest": [], "propose": []}
    for r in range(3):
        out = tmp / f"batch{r}.csv"
        durations["propose"].append(
            run_to_end(
                cli(
                    "propose",
                    "--db",
                    db,
                    "--batch",
                    str(BATCH),
                    "--round",
                    str(r),
                    "--out",
                    str(out),
                    "--no-progress",
                )
            )
        )
        if r < 2:
            path, _ = results_file(db, truth, tmp / f"res{r}.csv")
            durations["ingest"].append(run_to_end(cli("ingest", str(path), "--db", db)))
    typical = {k: float(np.median(v)) for k, v in durations.items()}
    print("typical durations (s):", typical, flush=True)

    records = []
    for trial in range(trials):
        op = str(rng.choice(["ingest", "propose"]))
        before = counts(db)
        if op == "ingest":
            if before["proposals"] == before["measurements"]:  # nothing pending: propose first
                run_to_end(cli("propose", "--db", db, "--batch", str(BATCH), "--no-progress",
                               "--out", str(tmp / "setup.csv")))  # fmt: skip
                before = counts(db)
            path, n_rows = results_file(db, truth, tmp / f"t{trial}.csv")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            cmd = cli("ingest", str(path), "--db", db)
        else:
            r_next = before["rounds"]
            out = tmp / f"t{trial}.csv"
            cmd = cli("propose", "--db", db, "--batch", str(BATCH), "--round", str(r_next),
                      "--out", str(out), "--no-progress")  # fmt: skip
        delay = float(rng.uniform(0, 1.1 * typical[op]))
        outcome = run_and_kill(cmd, delay)
        # 1. readable and consistent
        camp = Campaign(db)
        problems = camp.check_consistency()
        camp.close()
        mid = counts(db)
        # 2. all or nothing
        if op == "ingest":
            committed = ingests_with_hash(db, digest) == 1
            delta = mid["measurements"] - before["measurements"]
            atomic = delta == (n_rows if committed else 0)
        else:
            committed = mid["rounds"] == before["rounds"] + 1
            atomic = mid["proposals"] - before["proposals"] == (BATCH if committed else 0)
        # 3. re-run completes exactly once
        run_to_end(cmd)
        after = counts(db)
        if op == "ingest":
            once = (
                ingests_with_hash(db, digest) == 1
                and after["measurements"] - before["measurements"] == n_rows
            )
        else:
            camp = Campaign(db)
            exp = camp.export()
            camp.close()
            in_db = exp[exp["round"] == r_next].sort_values("rank")["gene"].tolist()
            written = pd.read_csv(out)["gene"].tolist()
            once = after["rounds"] == before["rounds"] + 1 and in_db == written
        camp = Campaign(db)
        problems_after = camp.check_consistency()
        camp.close()
        rec = {
            "trial": trial,
            "op": op,
            "delay_s": round(delay, 3),
            "outcome": outcome,
            "committed_before_kill": bool(committed),
            "consistent": not problems,
            "atomic": bool(atomic),
            "rerun_exactly_once": bool(once),
            "consistent_after_rerun": not problems_after,
            "problems": problems + problems_after,
        }
        records.append(rec)
        print(json.dumps(rec), flush=True)

    frame = pd.DataFrame(records)
    summary = {
        "trials": trials,
        "database": "sqlite" if args.db is None else sa.make_url(db).get_backend_name(),
        "typical_duration_s": typical,
        "killed_mid_run": int((frame["outcome"] == "killed").sum()),
        "killed_after_commit": int(
            ((frame["outcome"] == "killed") & frame["committed_before_kill"]).sum()
        ),
        "finished_before_kill": int((frame["outcome"] != "killed").sum()),
        "consistent": int(frame["consistent"].sum()),
        "atomic": int(frame["atomic"].sum()),
        "rerun_exactly_once": int(frame["rerun_exactly_once"].sum()),
        "by_op": {
            op: {
                "trials": len(g),
                "killed_mid_run": int((g["outcome"] == "killed").sum()),
                "killed_after_commit": int(
                    ((g["outcome"] == "killed") & g["committed_before_kill"]).sum()
                ),
                "consistent": int(g["consistent"].sum()),
                "rerun_exactly_once": int(g["rerun_exactly_once"].sum()),
            }
            for op, g in frame.groupby("op")
        },
        "command": "PYTHONPATH=src python benchmarks/campaign_crash.py"
        + (" --quick" if args.quick else "")
        + (f" --trials {args.trials}" if args.trials else "")
        + (" --db <url>" if args.db else ""),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = (
        "campaign_crash"
        + ("_quick" if args.quick else "")
        + ("_" + summary["database"] if args.db else "")
    )
    (RESULTS / f"{stem}.json").write_text(
        json.dumps({"summary": summary, "trials": records}, indent=2)
    )
    lines = [
        f"# Campaign crash harness ({summary['database']}, {trials} trials)",
        "",
        f"Command: `{summary['command']}`",
        "",
        "| op | trials | killed mid-run | of which after commit | consistent after kill | re-run exactly once |",
        "|---|---|---|---|---|---|",
    ]
    for op, s in summary["by_op"].items():
        lines.append(
            f"| {op} | {s['trials']} | {s['killed_mid_run']} | {s['killed_after_commit']} | "
            f"{s['consistent']}/{s['trials']} | {s['rerun_exactly_once']}/{s['trials']} |"
        )
    lines += [
        f"| all | {trials} | {summary['killed_mid_run']} | {summary['killed_after_commit']} | "
        f"{summary['consistent']}/{trials} | {summary['rerun_exactly_once']}/{trials} |",
        "",
        f"All-or-nothing after the kill: {summary['atomic']}/{trials}. "
        f"Kill instants uniform in [0, 1.1 T], T = median duration "
        f"(ingest {typical['ingest']:.2f} s, propose {typical['propose']:.2f} s, "
        "children forked from the already-imported harness); "
        f"{summary['finished_before_kill']} commands finished before their kill instant.",
    ]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
