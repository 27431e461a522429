"""``knowable segeval``: BraTS-style evaluation and ranking of segmentation folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._output import make_console

__all__ = ["segeval_command"]


def _team_dirs(pred: Path) -> dict[str, Path]:
    """One team per sub-directory of ``pred``, or ``pred`` itself when it holds case files."""
    from knowable.imaging import read_directory

    if not pred.is_dir():
        raise ValueError(f"--pred {pred} is not a directory.")
    subdirs = sorted(p for p in pred.iterdir() if p.is_dir() and read_directory(p))
    if subdirs:
        return {p.name: p for p in subdirs}
    if read_directory(pred):
        return {pred.name: pred}
    raise ValueError(
        f"--pred {pred} holds no .npy / .nii / .nii.gz files (nor sub-folders of them)."
    )


def segeval_command(
    pred: Annotated[
        Path,
        typer.Option(
            "--pred",
            help="Folder of predicted label maps (one team), or of one sub-folder per team.",
        ),
    ],
    truth: Annotated[Path, typer.Option("--truth", help="Folder of ground-truth label maps.")],
    out: Annotated[Path, typer.Option("--out", help="Leaderboard CSV to write.")] = Path(
        "leaderboard.csv"
    ),
    per_case: Annotated[
        Path | None, typer.Option("--per-case", help="Also write the per-case metrics CSV here.")
    ] = None,
    pairwise: Annotated[
        Path | None,
        typer.Option("--pairwise", help="Also write the pairwise permutation tests CSV here."),
    ] = None,
    spacing: Annotated[
        str | None,
        typer.Option(
            "--spacing",
            help="Voxel size in mm, e.g. 1,1,1 (overrides NIfTI headers; .npy default 1).",
        ),
    ] = None,
    definition: Annotated[
        str,
        typer.Option("--hd-definition", help="HD95: max-directed (default) or pooled."),
    ] = "max-directed",
    surface: Annotated[
        str, typer.Option("--surface", help="Surface elements: voxel (default) or surfel.")
    ] = "voxel",
    n_bootstrap: Annotated[int, typer.Option("--n-bootstrap", min=1)] = 1000,
    n_permutations: Annotated[int, typer.Option("--n-permutations", min=1)] = 9999,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
) -> None:
    """Score predicted BraTS label maps against the truth and rank the teams."""
    import numpy as np

    from knowable.imaging import (
        HAUSDORFF_DEFINITIONS,
        SURFACES,
        evaluate_teams,
        leaderboard,
        load_segmentation,
        read_directory,
    )

    if definition not in HAUSDORFF_DEFINITIONS:
        raise ValueError(f"--hd-definition must be one of {list(HAUSDORFF_DEFINITIONS)}.")
    if surface not in SURFACES:
        raise ValueError(f"--surface must be one of {list(SURFACES)}.")
    sp = None
    if spacing is not None:
        try:
            sp = np.array([float(s) for s in spacing.split(",")])
        except ValueError:
            raise ValueError(f"--spacing must be numbers such as 1,1,1; got {spacing!r}.") from None
    truth_files = read_directory(truth)
    if not truth_files:
        raise ValueError(f"--truth {truth} holds no .npy / .nii / .nii.gz files.")
    truths, spacings = {}, {}
    for case, f in truth_files.items():
        truths[case], spacings[case] = load_segmentation(f, sp)
    teams = _team_dirs(pred)
    predictions: dict[str, dict[str, np.ndarray]] = {}
    for team, d in teams.items():
        files = read_directory(d)
        extra = sorted(set(files) - set(truths))
        if extra:
            raise ValueError(f"team {team!r} has cases without ground truth: {extra[:5]}.")
        predictions[team] = {}
        for case, f in files.items():
            arr, _ = load_segmentation(f, sp)
            if arr.shape != truths[case].shape:
                raise ValueError(
                    f"team {team!r} case {case!r}: shape {arr.shape} differs from the truth "
                    f"{truths[case].shape}."
                )
            predictions[team][case] = arr
    table = evaluate_teams(predictions, truths, spacings, definition=definition, surface=surface)
    console = make_console()
    if per_case is not None:
        table.to_csv(per_case, index=False)
    if len(teams) < 2:
        summary = table.groupby("region").mean(numeric_only=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        summary.to_csv(out)
        console.print(f"one team: wrote mean metrics per region to {out}")
        return
    board, pairs = leaderboard(
        table, n_bootstrap=n_bootstrap, n_permutations=n_permutations, random_state=seed
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    board.to_csv(out, index=False)
    if pairwise is not None:
        pairs.to_csv(pairwise, index=False)
    from rich.table import Table

    t = Table(title=f"segeval: {len(teams)} teams, {len(truths)} cases")
    for col in ("place", "team", "ranking_score", "place_lower", "place_upper"):
        t.add_column(col)
    for _, row in board.iterrows():
        t.add_row(
            f"{row['place']:g}",
            str(row["team"]),
            f"{row['ranking_score']:.3f}",
            f"{row['place_lower']:g}",
            f"{row['place_upper']:g}",
        )
    console.print(t)
    console.print(f"wrote {out}")
