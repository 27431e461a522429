"""The benchmark runner: keyed, resumable jobs with one JSON per job, budget, CPU seconds, hash."""

from __future__ import annotations

import json

import numpy as np
import pytest

from knowable.parallel import imap_jobs, map_jobs, parse_range, run_jobs, source_hash


def _draw(job):
    seed, n = job
    return {"seed": seed, "values": np.random.default_rng(seed).normal(size=n)}


def _square(x):
    return x * x


JOBS = {f"seed={s}": (s, 3) for s in range(4)}


def test_run_jobs_writes_one_json_per_job_and_resumes(tmp_path):
    first = run_jobs(_draw, JOBS, tmp_path, log=None, library="abc")
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [f"{k}.json" for k in JOBS]
    payload = json.loads((tmp_path / "seed=2.json").read_text())
    assert payload["library"] == "abc" and payload["cpu_seconds"] >= 0
    assert payload["result"]["values"] == np.random.default_rng(2).normal(size=3).tolist()
    assert not any(r.resumed for r in first.records.values())
    calls = []
    again = run_jobs(
        lambda job: calls.append(job) or _draw(job), JOBS, tmp_path, log=None, library="abc"
    )
    assert calls == [] and all(r.resumed for r in again.records.values())
    assert [r["values"] for r in again.results] == [
        np.asarray(r["values"]).tolist() for r in first.results
    ]


def test_other_library_runs_again_unless_mixed(tmp_path):
    run_jobs(_draw, JOBS, tmp_path, log=None, library="old")
    lines = []
    report = run_jobs(_draw, JOBS, tmp_path, log=lines.append, library="new")
    assert not any(r.resumed for r in report.records.values())
    assert report.library_hashes() == {"new": 4}
    assert any("other library code" in line for line in lines)
    run_jobs(_draw, {"seed=9": (9, 1)}, tmp_path, log=None, library="old")
    mixed = run_jobs(
        _draw, {**JOBS, "seed=9": (9, 1)}, tmp_path, log=None, library="new", mix_library=True
    )
    assert mixed.library_hashes() == {"new": 4, "old": 1}


def test_fresh_and_partial_store(tmp_path):
    run_jobs(_draw, JOBS, tmp_path, log=None, library="x")
    (tmp_path / "seed=1.json").write_text("{not json")  # a damaged record runs again
    calls = []

    def fn(job):
        calls.append(job[0])
        return _draw(job)

    run_jobs(fn, JOBS, tmp_path, log=None, library="x")
    assert calls == [1]
    run_jobs(fn, JOBS, tmp_path, log=None, library="x", fresh=True)
    assert calls == [1, 0, 1, 2, 3]


def test_time_budget_stops_starting_jobs(tmp_path):
    report = run_jobs(_draw, JOBS, tmp_path, log=None, time_budget_s=-1.0)
    assert report.records == {} and report.not_run == list(JOBS)


def test_process_workers_give_the_same_results(tmp_path):
    one = run_jobs(_draw, JOBS, None, log=None)
    two = run_jobs(_draw, JOBS, None, log=None, workers=2)
    assert list(two.records) == list(JOBS)
    for a, b in zip(one.results, two.results, strict=True):
        np.testing.assert_array_equal(a["values"], b["values"])
    assert sorted(i for i, _ in imap_jobs(_square, range(5), workers=2)) == list(range(5))
    assert map_jobs(_square, [3, 1, 2], workers=2) == [9, 1, 4]


def test_bad_keys_and_workers():
    with pytest.raises(ValueError, match="file name"):
        run_jobs(_draw, {"a/b": (0, 1)}, None, log=None)
    with pytest.raises(ValueError, match="workers"):
        map_jobs(_square, [1], workers=0)


def test_parse_range():
    assert parse_range("1-3,7, 10-11") == [1, 2, 3, 7, 10, 11]
    assert parse_range("5") == [5]
    with pytest.raises(ValueError, match="1-10,12"):
        parse_range("3-1")
    with pytest.raises(ValueError, match="cannot read"):
        parse_range("a")


def test_source_hash_follows_the_sources(tmp_path):
    (tmp_path / "m.py").write_text("x = 1\n")
    h1 = source_hash(tmp_path)
    assert h1 == source_hash(tmp_path) and len(h1) == 12
    (tmp_path / "m.py").write_text("x = 2\n")
    assert source_hash(tmp_path) != h1
    assert len(source_hash()) == 12
