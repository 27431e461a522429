"""Campaign store on SQLite and on a real PostgreSQL: transactions, idempotence, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from campaign_backends import db_url, dump  # noqa: F401  (fixture)
from knowable.campaign import Campaign
from knowable.campaign import _schema as S
from knowable.campaign._store import make_engine

FAST = {"n_members": 3, "hidden_size": 16, "depth": 1, "max_epochs": 15, "patience": 5}


def _pool(n: int = 60, d: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(n, d)), columns=[f"f{j}" for j in range(d)])
    frame.insert(0, "gene", [f"g{i:03d}" for i in range(n)])
    return frame


def _truth(names: pd.Series) -> pd.DataFrame:
    vals = [np.sin(int(g[1:])) * 3 for g in names]
    return pd.DataFrame({"gene": list(names), "y": vals})


@pytest.fixture
def camp(db_url: str) -> Campaign:  # noqa: F811
    c = Campaign.create(db_url, _pool(), id_column="gene", model_params=FAST, seed=3)
    yield c
    c.close()


def test_candidates_round_trip_exactly(db_url: str) -> None:  # noqa: F811
    pool = _pool()
    c = Campaign.create(db_url, pool, id_column="gene")
    back = Campaign(db_url).candidates()
    pd.testing.assert_frame_equal(back, pool)
    assert c.status()["n_candidates"] == 60
    assert c.check_consistency() == []


def test_schema_from_migrations_matches_the_tables(camp: Campaign) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with make_engine(camp.url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), S.metadata)
    assert diff == []


def test_rounds_are_disjoint_and_the_model_snapshot_reproduces_its_scores(camp: Campaign) -> None:
    p0 = camp.propose(6, "topk-bald")
    assert p0.round_index == 0 and p0.strategy == "random"
    assert p0.table["pred_mean"].isna().all()
    camp.ingest(_truth(p0.table["gene"]))
    p1 = camp.propose(6, "topk-bald")
    assert p1.round_index == 1 and p1.strategy == "topk-bald"
    assert set(p0.table["gene"]).isdisjoint(p1.table["gene"])
    # the stored snapshot is the model that scored the batch: same means (float32 model)
    model = camp.model(1)
    pool = camp.candidates().set_index("gene")
    mean = model.posterior(pool.loc[p1.table["gene"]].to_numpy()).mean()[:, 0]
    np.testing.assert_allclose(mean, p1.table["pred_mean"].to_numpy(), rtol=1e-6, atol=1e-9)
    # top-k BALD: the batch holds the highest scores of the pool, best first
    assert np.all(np.diff(p1.table["score"].to_numpy()) <= 0)
    rounds = camp.rounds()
    assert rounds["model_checksum"].isna().tolist() == [True, False]
    assert rounds["n_measured"].tolist() == [6, 0]
    assert camp.check_consistency() == []


def test_same_seed_same_proposals(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    tables = []
    for url in (db_url, str(tmp_path / "other.sqlite")):
        c = Campaign.create(url, _pool(), id_column="gene", model_params=FAST, seed=3)
        c.ingest(_truth(c.propose(6).table["gene"]))
        tables.append(c.propose(6, "power-bald").table)
        c.close()
    pd.testing.assert_frame_equal(tables[0], tables[1])


def test_reingesting_the_same_file_is_a_noop(camp: Campaign, tmp_path: Path) -> None:
    p = camp.propose(5)
    path = tmp_path / "results.csv"
    _truth(p.table["gene"]).to_csv(path, index=False)
    first = camp.ingest(path)
    assert (first.n_new, first.already_ingested) == (5, False)
    before = dump(camp.url)
    again = camp.ingest(path)
    assert again.already_ingested and again.n_new == 0
    assert dump(camp.url) == before


def test_conflicting_remeasurement_refused_unless_replace_and_history_kept(
    camp: Campaign,
) -> None:
    p = camp.propose(4)
    res = _truth(p.table["gene"])
    camp.ingest(res)
    changed = res.copy()
    changed.loc[0, "y"] += 1.0
    before = dump(camp.url)
    with pytest.raises(ValueError, match="different values"):
        camp.ingest(changed)
    assert dump(camp.url) == before
    out = camp.ingest(changed, replace=True)
    assert (out.n_new, out.n_replaced, out.n_unchanged) == (0, 1, 3)
    hist = camp.history()
    g = res.loc[0, "gene"]
    rows = hist[hist["gene"] == g]
    assert rows["y"].tolist() == [res.loc[0, "y"], res.loc[0, "y"] + 1.0]
    assert rows["is_current"].tolist() == [False, True]
    assert camp.export().set_index("gene").loc[g, "y"] == res.loc[0, "y"] + 1.0
    assert camp.check_consistency() == []


def _refusal_cases(p: pd.DataFrame) -> list[tuple[pd.DataFrame, str]]:
    ok = _truth(p["gene"])
    nonnum = ok.astype({"y": object})
    nonnum.loc[1, "y"] = "high"
    missing = ok.copy()
    missing.loc[2, "y"] = np.nan
    return [
        (pd.concat([ok, pd.DataFrame({"gene": ["nope"], "y": [1.0]})]), "not candidates"),
        (pd.DataFrame({"gene": ["g059"], "y": [1.0]}), "never proposed"),
        (ok.rename(columns={"y": "value"}), "lacks column 'y'"),
        (ok.rename(columns={"gene": "id"}), "lacks column 'gene'"),
        (nonnum, "non-numeric"),
        (missing, "non-numeric or missing"),
        (pd.concat([ok, ok.iloc[:1]]), "more than once"),
    ]


def test_bad_results_are_refused_and_the_database_is_unchanged(camp: Campaign) -> None:
    p = camp.propose(5, "random")
    camp.ingest(_truth(p.table["gene"]).iloc[:1])
    before = dump(camp.url)
    for frame, message in _refusal_cases(p.table):
        with pytest.raises(ValueError, match=message):
            camp.ingest(frame)
        assert dump(camp.url) == before, message


def test_batch_larger_than_the_remaining_pool_is_refused(camp: Campaign) -> None:
    camp.propose(50, "random")
    before = dump(camp.url)
    with pytest.raises(ValueError, match="larger than the 10 candidates never proposed"):
        camp.propose(11, "random")
    with pytest.raises(ValueError, match="unknown strategy"):
        camp.propose(2, "best-guess")
    assert dump(camp.url) == before


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda f: f.assign(f1=f["f1"].where(f.index != 4)),
            "NaN or infinite values for ids 'g004'",
        ),
        (lambda f: f.assign(f2="x"), "not numeric"),
        (lambda f: pd.concat([f, f.iloc[:1]]), "not unique"),
        (lambda f: f.drop(columns="gene"), "id column 'gene' not found"),
    ],
)
def test_bad_candidates_are_refused_before_anything_is_written(
    db_url: str,  # noqa: F811
    edit,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        Campaign.create(db_url, edit(_pool()), id_column="gene")
    assert dump(db_url) == {}
    with pytest.raises(ValueError, match="holds no knowable campaign"):
        Campaign(db_url)


def test_init_refuses_an_existing_campaign(camp: Campaign) -> None:
    before = dump(camp.url)
    with pytest.raises(ValueError, match="already holds a knowable campaign"):
        Campaign.create(camp.url, _pool(), id_column="gene")
    assert dump(camp.url) == before


def test_database_from_a_newer_schema_is_refused(camp: Campaign) -> None:
    engine = make_engine(camp.url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    before = dump(camp.url)
    with pytest.raises(ValueError, match="newer knowable"):
        Campaign(camp.url)
    assert dump(camp.url) == before


def test_round_index_makes_a_rerun_return_the_same_round(camp: Campaign) -> None:
    a = camp.propose(5, "random", round_index=0)
    b = camp.propose(5, "random", round_index=0)
    assert not a.reused and b.reused
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(ValueError, match="already proposed with batch 5"):
        camp.propose(6, "random", round_index=0)
    with pytest.raises(ValueError, match="the next round is 1, not 3"):
        camp.propose(5, "random", round_index=3)
    assert camp.status()["n_rounds"] == 1


_PROPOSER = textwrap.dedent(
    """
    import sys, time, json
    from pathlib import Path
    import torch; torch.set_num_threads(1)
    from knowable.campaign import Campaign
    url, go = sys.argv[1], Path(sys.argv[2])
    camp = Campaign(url)
    while not go.exists():
        time.sleep(0.005)
    p = camp.propose(7, "power-bald")
    print(json.dumps({"round": p.round_index, "ids": p.table["gene"].tolist()}))
    """
)


@pytest.mark.slow
def test_two_processes_proposing_at_once_get_different_rounds(
    camp: Campaign, tmp_path: Path
) -> None:
    camp.ingest(_truth(camp.propose(8, "random").table["gene"]))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROPOSER, camp.url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    go.touch()
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
    got = [json.loads(out) for out, _ in outs]
    assert sorted(g["round"] for g in got) == [1, 2]
    assert set(got[0]["ids"]).isdisjoint(got[1]["ids"])
    assert camp.check_consistency() == []
    assert camp.status()["n_proposed"] == 8 + 14


def test_a_failure_in_the_middle_of_a_write_rolls_all_of_it_back(
    camp: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    import knowable.campaign._campaign as C

    camp.ingest(_truth(camp.propose(6, "random").table["gene"]))
    camp.propose(5, "topk-bald")  # pending round 1
    real_now, calls = C._now, []

    def failing_now():
        calls.append(1)
        if len(calls) == 2:  # after the first row of the write is in
            raise RuntimeError("power cut")
        return real_now()

    before = dump(camp.url)
    pending = camp.export().query("round == 1")["gene"]
    monkeypatch.setattr(C, "_now", failing_now)
    with pytest.raises(RuntimeError, match="power cut"):
        camp.ingest(_truth(pending))  # ingest row written, measurements not yet
    assert dump(camp.url) == before
    calls.clear()
    with pytest.raises(RuntimeError, match="power cut"):
        camp.propose(5, "topk-bald")  # model snapshot written, round not yet
    assert dump(camp.url) == before
    monkeypatch.setattr(C, "_now", real_now)
    assert camp.ingest(_truth(pending)).n_new == 5
    assert camp.check_consistency() == []
