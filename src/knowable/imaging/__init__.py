"""Medical-imaging evaluation and training aids.

BraTS-style segmentation evaluation (Bakas et al., arXiv 1811.02629): Dice,
robust Hausdorff distance in mm (two definitions, two surface representations),
sensitivity and specificity per region (WT, TC, ET) with explicit empty-mask
conventions; the per-case, per-criterion ranking with tie-averaging, pairwise
permutation tests and bootstrap place intervals; the survival-task metrics; and
``.npy`` / NIfTI readers (NIfTI needs ``knowable[imaging]``).

CASED (Jesson et al., MICCAI 2017): :class:`CASEDSampler`, a curriculum
minibatch sampler for extreme class imbalance usable with any torch loop; a
small 2-D/3-D :class:`UNet`; synthetic CT-like scans with rare nodules and hard
negatives; patch pools; detection by connected components and FROC / CPM.
"""

from ._cased import SAMPLING_STRATEGIES, CASEDSampler, curriculum_probability, hardest
from ._froc import CPM_FP_RATES, Detection, FROCResult, cpm, detect, froc
from ._leaderboard import (
    RANK_CRITERIA,
    case_id,
    evaluate_teams,
    leaderboard,
    load_segmentation,
    read_directory,
)
from ._patches import PatchPool, crop_patches, make_patch_pool
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
from ._synthetic import SyntheticScans, make_nodule_scans, sphere_masks
from ._unet import UNet

__all__ = [
    "BRATS_REGIONS",
    "CPM_FP_RATES",
    "HAUSDORFF_DEFINITIONS",
    "RANK_CRITERIA",
    "SAMPLING_STRATEGIES",
    "SURFACES",
    "SURVIVAL_THRESHOLDS_DAYS",
    "CASEDSampler",
    "Detection",
    "FROCResult",
    "PatchPool",
    "RankingResult",
    "SurfaceDistances",
    "SyntheticScans",
    "UNet",
    "bootstrap_places",
    "brats_regions",
    "case_id",
    "case_ranks",
    "cpm",
    "crop_patches",
    "curriculum_probability",
    "detect",
    "dice",
    "evaluate_teams",
    "froc",
    "hardest",
    "hausdorff",
    "image_diagonal",
    "leaderboard",
    "load_segmentation",
    "make_nodule_scans",
    "make_patch_pool",
    "permutation_test",
    "rank_teams",
    "read_directory",
    "segmentation_metrics",
    "sensitivity",
    "specificity",
    "sphere_masks",
    "surface_distances",
    "survival_class",
    "survival_metrics",
]
