"""Segmentation files in, BraTS-style leaderboard out.

Files: ``.npy`` label maps (spacing 1 mm unless given) or NIfTI ``.nii`` /
``.nii.gz`` (spacing from the header zooms; needs the ``nibabel`` package,
``pip install knowable[imaging]``). A case is identified by its file name
without the extension; a prediction directory either holds case files (one
team) or one sub-directory of case files per team.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._random import check_random_state
from ._ranking import bootstrap_places, permutation_test, rank_teams
from ._segmetrics import BRATS_REGIONS, segmentation_metrics

__all__ = [
    "RANK_CRITERIA",
    "case_id",
    "evaluate_teams",
    "leaderboard",
    "load_segmentation",
    "read_directory",
]

#: (metric, higher is better) pairs ranked per region, BraTS 2017-2018 style.
RANK_CRITERIA: tuple[tuple[str, bool], ...] = (("dice", True), ("hd95", False))
_SUFFIXES = (".nii.gz", ".nii", ".npy")


def case_id(path: str | Path) -> str | None:
    """Case name of a segmentation file (its name without extension), or None if not one.

    Parameters
    ----------
    path : str or pathlib.Path
        File path.

    Returns
    -------
    str or None
    """
    name = Path(path).name
    for suf in _SUFFIXES:
        if name.endswith(suf):
            return name[: -len(suf)]
    return None


def load_segmentation(path: str | Path, spacing: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Read one label map and its voxel spacing.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.npy`` or NIfTI (``.nii``, ``.nii.gz``) file.
    spacing : array-like of float, optional
        Overrides the spacing (for ``.npy`` the default is 1 mm).

    Returns
    -------
    labels : numpy.ndarray of int, shape (X, Y[, Z])
    spacing : numpy.ndarray of float, shape (ndim,)
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p} is not a file.")
    name = p.name
    if name.endswith(".npy"):
        arr = np.load(p, allow_pickle=False)
        sp = np.ones(arr.ndim)
    elif name.endswith((".nii", ".nii.gz")):
        try:
            import nibabel
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "reading NIfTI files needs nibabel: pip install 'knowable[imaging]'."
            ) from exc
        img = nibabel.load(str(p))
        arr = np.asarray(img.dataobj)
        sp = np.asarray(img.header.get_zooms()[: arr.ndim], dtype=float)
    else:
        raise ValueError(f"{p} is neither .npy nor NIfTI (.nii, .nii.gz).")
    if arr.dtype.kind == "f" and (not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr))):
        raise ValueError(f"{p} holds non-integer labels; segmentations must be integer label maps.")
    arr = arr.astype(np.int64)
    if spacing is not None:
        sp = np.broadcast_to(np.asarray(spacing, dtype=float), (arr.ndim,)).copy()
    return arr, sp


def read_directory(directory: str | Path) -> dict[str, Path]:
    """Map case name to file for every segmentation file directly in ``directory``.

    Parameters
    ----------
    directory : str or pathlib.Path
        Folder to list (not recursive).

    Returns
    -------
    dict of str to pathlib.Path
    """
    d = Path(directory)
    if not d.is_dir():
        raise ValueError(f"{d} is not a directory.")
    out: dict[str, Path] = {}
    for f in sorted(d.iterdir()):
        cid = case_id(f) if f.is_file() else None
        if cid is not None:
            if cid in out:
                raise ValueError(f"case {cid!r} appears twice in {d} ({out[cid].name}, {f.name}).")
            out[cid] = f
    return out


def evaluate_teams(
    predictions: dict[str, dict[str, np.ndarray]],
    truths: dict[str, np.ndarray],
    spacings: dict[str, Any] | None = None,
    *,
    regions: dict[str, tuple[int, ...]] | None = None,
    definition: str = "max-directed",
    surface: str = "voxel",
) -> pd.DataFrame:
    """Per-case, per-region metrics of every team.

    Parameters
    ----------
    predictions : dict of str to dict of str to numpy.ndarray
        ``{team: {case: label map}}``; a case a team did not submit is scored
        as an empty prediction (Dice 0, HD95 = the penalty where the truth is
        non-empty).
    truths : dict of str to numpy.ndarray
        ``{case: label map}``.
    spacings : dict of str to array-like, optional
        ``{case: voxel size in mm}`` (default 1 mm).
    regions, definition, surface
        Passed to :func:`~knowable.imaging.segmentation_metrics`.

    Returns
    -------
    pandas.DataFrame
        Long table with columns ``team, case, region, dice, hd95, sensitivity,
        specificity``.
    """
    if not predictions:
        raise ValueError("predictions is empty; pass at least one team.")
    if not truths:
        raise ValueError("truths is empty; pass at least one case.")
    rows = []
    for team, cases in predictions.items():
        for case, truth in truths.items():
            pred = cases.get(case)
            if pred is None:
                pred = np.zeros_like(truth)
            sp = None if spacings is None else spacings.get(case)
            m = segmentation_metrics(
                pred, truth, sp, regions=regions, definition=definition, surface=surface
            )
            for region, vals in m.items():
                rows.append({"team": team, "case": case, "region": region, **vals})
    return pd.DataFrame(rows)


def leaderboard(
    per_case: pd.DataFrame,
    *,
    n_bootstrap: int = 1000,
    n_permutations: int = 9999,
    alpha: float = 0.05,
    random_state: Any = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank teams from a per-case table (output of :func:`evaluate_teams`).

    Parameters
    ----------
    per_case : pandas.DataFrame
        Columns ``team, case, region, dice, hd95`` (others ignored).
    n_bootstrap : int
        Case resamples for the place intervals.
    n_permutations : int
        Sign flips per pairwise permutation test.
    alpha : float
        Place intervals at level ``1 - alpha``.
    random_state : None, int or numpy.random.Generator
        Seed for the bootstrap and permutation tests.

    Returns
    -------
    board : pandas.DataFrame
        One row per team ordered by place: ``place, team, ranking_score,
        place_lower, place_upper``, mean of every metric per region.
    pairwise : pandas.DataFrame
        ``team_a, team_b, mean_rank_difference, p_value`` for every pair
        (two-sided, not corrected for multiplicity).
    """
    need = {"team", "case", "region", *(m for m, _ in RANK_CRITERIA)}
    missing = need - set(per_case.columns)
    if missing:
        raise ValueError(f"per_case lacks column(s) {sorted(missing)}.")
    teams = list(dict.fromkeys(per_case["team"]))
    if len(teams) < 2:
        raise ValueError("ranking needs at least two teams.")
    cases = sorted(set(per_case["case"]))
    regions = [r for r in BRATS_REGIONS if r in set(per_case["region"])] or sorted(
        set(per_case["region"])
    )
    rng = check_random_state(random_state)
    crit = [(r, m, hib) for r in regions for m, hib in RANK_CRITERIA]
    wide = per_case.set_index(["team", "case", "region"])
    values = np.full((len(teams), len(cases), len(crit)), np.nan)
    for k, (r, m, _) in enumerate(crit):
        table = wide[m].xs(r, level="region").unstack("case").reindex(index=teams, columns=cases)
        values[:, :, k] = table.to_numpy(dtype=float)
    hib = np.array([h for _, _, h in crit])
    res = rank_teams(values, hib)
    boot = bootstrap_places(values, hib, n_bootstrap=n_bootstrap, alpha=alpha, random_state=rng)
    means = per_case.groupby(["team", "region"]).mean(numeric_only=True).unstack("region")
    means.columns = [f"{m}_{r}" for m, r in means.columns]
    board = pd.DataFrame(
        {
            "team": teams,
            "ranking_score": res.score,
            "place": res.place,
            "place_lower": boot["lower"],
            "place_upper": boot["upper"],
        }
    ).join(means, on="team")
    board = board.sort_values(["place", "team"]).reset_index(drop=True)
    board = board[["place", *[c for c in board.columns if c != "place"]]]
    pairs = []
    for i in range(len(teams)):
        for j in range(i + 1, len(teams)):
            d = float((res.ranks[i] - res.ranks[j]).mean())
            p = permutation_test(res.ranks, i, j, n_permutations=n_permutations, random_state=rng)
            pairs.append(
                {"team_a": teams[i], "team_b": teams[j], "mean_rank_difference": d, "p_value": p}
            )
    return board, pd.DataFrame(pairs)
