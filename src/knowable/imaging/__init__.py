"""Medical-imaging evaluation and training aids.

BraTS-style segmentation evaluation (Bakas et al., arXiv 1811.02629): Dice,
robust Hausdorff distance in mm (two definitions, two surface representations),
sensitivity and specificity per region (WT, TC, ET) with explicit empty-mask
conventions; the per-case, per-criterion ranking with tie-averaging, pairwise
permutation tests and bootstrap place intervals; the survival-task metrics; and
``.npy`` / NIfTI readers (NIfTI needs ``knowable[imaging]``).
"""

from ._leaderboard import (
    RANK_CRITERIA,
    case_id,
    evaluate_teams,
    leaderboard,
    load_segmentation,
    read_directory,
)
from ._ranking import (
    SURVIVAL_THRESHOLDS_DAYS,
    RankingResult,
    bootstrap_places,
    case_ranks,
    permutation_test,
    rank_teams,
    survival_class,
    survival_metrics,
)
from ._segmetrics import (
    BRATS_REGIONS,
    HAUSDORFF_DEFINITIONS,
    SURFACES,
    SurfaceDistances,
    brats_regions,
    dice,
    hausdorff,
    image_diagonal,
    segmentation_metrics,
    sensitivity,
    specificity,
    surface_distances,
)

__all__ = [
    "BRATS_REGIONS",
    "HAUSDORFF_DEFINITIONS",
    "RANK_CRITERIA",
    "SURFACES",
    "SURVIVAL_THRESHOLDS_DAYS",
    "RankingResult",
    "SurfaceDistances",
    "bootstrap_places",
    "brats_regions",
    "case_id",
    "case_ranks",
    "dice",
    "evaluate_teams",
    "hausdorff",
    "image_diagonal",
    "leaderboard",
    "load_segmentation",
    "permutation_test",
    "rank_teams",
    "read_directory",
    "segmentation_metrics",
    "sensitivity",
    "specificity",
    "surface_distances",
    "survival_class",
    "survival_metrics",
]
