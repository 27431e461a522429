"""BraTS ranking: ties, ranking score, permutation-test calibration, bootstrap, survival, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from knowable.cli import app
from knowable.imaging import (
    bootstrap_places,
    case_ranks,
    evaluate_teams,
    leaderboard,
    permutation_test,
    rank_teams,
    survival_class,
    survival_metrics,
)


def test_case_ranks_average_ties_and_directions():
    # 3 teams, 2 cases, criteria (dice: higher better, hd95: lower better)
    v = np.array(
        [
            [[0.9, 2.0], [0.5, 7.0]],
            [[0.9, 3.0], [0.7, 7.0]],
            [[0.8, 1.0], [np.nan, 7.0]],
        ]
    )
    r = case_ranks(v, [True, False])
    np.testing.assert_array_equal(r[:, 0, 0], [1.5, 1.5, 3])
    np.testing.assert_array_equal(r[:, 0, 1], [2, 3, 1])
    np.testing.assert_array_equal(r[:, 1, 0], [2, 1, 3])  # missing ranks last
    np.testing.assert_array_equal(r[:, 1, 1], [2, 2, 2])
    res = rank_teams(v, [True, False])
    np.testing.assert_allclose(res.score, [7.5 / 4, 7.5 / 4, 9 / 4])
    np.testing.assert_array_equal(res.place, [1.5, 1.5, 3])
    np.testing.assert_allclose(rank_teams(v, [True, False], normalize=True).score, res.score / 3)
    # every case's ranks sum to T(T+1)/2 whatever the ties
    np.testing.assert_allclose(r.sum(axis=0), 6.0)


def test_permutation_test_exact_enumeration():
    # one criterion, 4 cases, team 0 always better: only the two all-same-sign flips
    # reach |mean| = 1, so p = 2 / 16.
    r = np.array([[1, 1, 1, 1], [2, 2, 2, 2]], dtype=float)
    assert permutation_test(r, 0, 1, n_permutations=10_000) == pytest.approx(2 / 16)
    assert permutation_test(r[:, :2] * 0 + 1.5, 0, 1) == 1.0


def test_permutation_test_null_is_calibrated():
    rng = np.random.default_rng(0)
    n_rep, n_cases = 300, 25
    p = np.empty(n_rep)
    for i in range(n_rep):
        values = rng.normal(size=(3, n_cases, 2))  # exchangeable teams
        ranks = rank_teams(values, [True, False]).ranks
        p[i] = permutation_test(ranks, 0, 1, n_permutations=199, random_state=rng)
    # under the null P(p <= a) <= a, and ~= a for a on the permutation grid.
    # binomial s.d. at n_rep = 300 is 0.0126 (a = .05) and 0.023 (a = .2): 3-s.d. bands
    assert 0.012 <= np.mean(p <= 0.05) <= 0.088
    assert 0.13 <= np.mean(p <= 0.2) <= 0.27
    # and it has power against a clear difference
    shifted = rng.normal(size=(2, n_cases, 1))
    shifted[0] += 1.5
    ranks = rank_teams(shifted, True).ranks
    assert permutation_test(ranks, 0, 1, n_permutations=999, random_state=1) < 0.01


def test_bootstrap_places_cover_and_are_reproducible():
    rng = np.random.default_rng(3)
    v = rng.normal(size=(4, 30, 2))
    v[0] += 3.0  # team 0 clearly best on the higher-better criterion...
    v[0, :, 1] -= 6.0  # ...and on the lower-better one
    b1 = bootstrap_places(v, [True, False], n_bootstrap=200, random_state=5)
    b2 = bootstrap_places(v, [True, False], n_bootstrap=200, random_state=5)
    np.testing.assert_array_equal(b1["places"], b2["places"])
    assert b1["lower"][0] == b1["upper"][0] == 1.0
    assert np.all(b1["lower"] <= b1["median"]) and np.all(b1["median"] <= b1["upper"])
    np.testing.assert_allclose(b1["places"].sum(axis=1), 10.0)


def test_survival_metrics_by_hand():
    month = 365.25 / 12
    true = np.array([5, 12, 20, 9]) * month
    pred = np.array([6, 14, 11, 11]) * month
    np.testing.assert_array_equal(survival_class(true), [0, 1, 2, 0])
    m = survival_metrics(pred, true)
    assert m["accuracy"] == pytest.approx(0.5)
    se = (pred - true) ** 2
    assert m["mse"] == pytest.approx(se.mean())
    assert m["median_se"] == pytest.approx(np.median(se))
    assert m["std_se"] == pytest.approx(se.std())
    m2 = survival_metrics(pred, true, resection=["GTR", "gtr", "STR", "NA"])
    assert m2["n"] == 2 and m2["accuracy"] == 1.0
    with pytest.raises(ValueError, match="GTR"):
        survival_metrics(pred, true, resection=["STR"] * 4)


def _synthetic_case(rng, shape=(24, 24, 12)):
    lab = np.zeros(shape, np.int64)
    g = np.indices(shape)
    c = np.array(shape) / 2 + rng.normal(scale=1.5, size=3)
    r = np.sqrt(sum((g[i] - c[i]) ** 2 for i in range(3)))
    lab[r <= 8] = 2
    lab[r <= 5] = 1
    lab[r <= 3] = 4
    return lab


def test_leaderboard_orders_perturbed_teams_and_cli(tmp_path):
    rng = np.random.default_rng(0)
    truths = {f"case{i}": _synthetic_case(rng) for i in range(6)}
    preds = {
        "perfect": {k: v.copy() for k, v in truths.items()},
        "shifted": {k: np.roll(v, 2, axis=0) for k, v in truths.items()},
        "no_et": {k: np.where(v == 4, 1, v) for k, v in truths.items()},
    }
    table = evaluate_teams(preds, truths)
    assert set(table.columns) >= {"team", "case", "region", "dice", "hd95"}
    board, pairs = leaderboard(table, n_bootstrap=50, n_permutations=99, random_state=0)
    assert board["team"].iloc[0] == "perfect"
    assert board["place"].iloc[0] == 1.0
    assert len(pairs) == 3 and pairs["p_value"].between(0, 1).all()

    for team, cases in preds.items():
        (tmp_path / "pred" / team).mkdir(parents=True)
        for k, v in cases.items():
            np.save(tmp_path / "pred" / team / f"{k}.npy", v)
    (tmp_path / "truth").mkdir()
    for k, v in truths.items():
        np.save(tmp_path / "truth" / f"{k}.npy", v)
    out = tmp_path / "board.csv"
    res = CliRunner().invoke(
        app,
        [
            "segeval",
            "--pred", str(tmp_path / "pred"),
            "--truth", str(tmp_path / "truth"),
            "--out", str(out),
            "--n-bootstrap", "50",
            "--n-permutations", "99",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    cli_board = pd.read_csv(out)
    pd.testing.assert_frame_equal(cli_board, board, check_dtype=False, atol=1e-12)

    np.save(tmp_path / "pred" / "shifted" / "extra.npy", truths["case0"])
    res = CliRunner().invoke(
        app, ["segeval", "--pred", str(tmp_path / "pred"), "--truth", str(tmp_path / "truth")]
    )
    assert res.exit_code == 1 and "without ground truth" in res.output


def test_nifti_roundtrip_keeps_spacing(tmp_path):
    nib = pytest.importorskip("nibabel", reason="needs knowable[imaging]")
    from knowable.imaging import load_segmentation

    lab = np.zeros((8, 8, 4), np.int16)
    lab[2:5, 2:5, 1:3] = 4
    img = nib.Nifti1Image(lab, np.diag([0.5, 0.7, 2.0, 1.0]))
    nib.save(img, tmp_path / "c.nii.gz")
    arr, sp = load_segmentation(tmp_path / "c.nii.gz")
    np.testing.assert_array_equal(arr, lab)
    np.testing.assert_allclose(sp, [0.5, 0.7, 2.0])
