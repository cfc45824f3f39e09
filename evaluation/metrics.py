"""Per-case metrics: exact, float64, spacing-aware, with a fixed rule for empty masks.

Entry point: :func:`compute_metrics`. One surface pass (see :mod:`evaluation.surface`) feeds
every distance metric and the surface Dice; counts and volumes come from the full masks.

Empty masks (never NaN):

=====================  ==========  =================  ==================
metric                 both empty  reference empty    prediction empty
=====================  ==========  =================  ==================
Dice/precision/recall  1.0         0.0                0.0
surface Dice           1.0         0.0                0.0
HD, HD95, ASSD, MASD   0.0         inf                inf
AVD (ml)               0           V_pred             V_ref
lesion F1              1.0         0.0                0.0
=====================  ==========  =================  ==================
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from evaluation.conventions import Conventions, resolve_preset
from evaluation.instances import match_lesions
from evaluation.lesions import LesionCounts, count_lesions
from evaluation.masks import binarise_mask, check_same_shape, validate_spacing
from evaluation.surface import surface_distances, union_box
from evaluation.surface_stats import SURFACE_DICE_TOLERANCE_MM, check_tolerance, distance_metrics

#: Distance metrics (mm); +inf when exactly one mask is empty.
DISTANCE_COLUMNS: tuple[str, ...] = (
    "hd_mm",
    "hd95_mm",
    "assd_mm",
    "masd_mm",
    "asd_reference_to_prediction_mm",
    "asd_prediction_to_reference_mm",
)

#: Keys of :func:`compute_metrics`' result, in CSV column order.
METRIC_COLUMNS: tuple[str, ...] = (
    "dice",
    "precision",
    "recall",
    *DISTANCE_COLUMNS,
    "surface_dice",
    "volume_reference_ml",
    "volume_prediction_ml",
    "avd_ml",
    "volume_difference_ml",
    "lesion_tp",
    "lesion_fp",
    "lesion_fn",
    "lesion_f1",
    "lesion_count_reference",
    "lesion_count_prediction",
    "lesion_count_difference",
    "reference_empty",
    "prediction_empty",
    "tp_voxels",
    "fp_voxels",
    "fn_voxels",
    "voxel_volume_ml",
    "diagonal_mm",
)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, with 0/0 = 1.0 (both masks empty agree perfectly)."""
    return 1.0 if denominator == 0 else numerator / denominator


def _lesions(
    reference: np.ndarray, prediction: np.ndarray, conventions: Conventions
) -> LesionCounts:
    """Lesion-wise counts by the conventions' matching rule (masks may be cropped)."""
    if conventions.lesion_matching == "iou":
        return match_lesions(
            reference,
            prediction,
            conventions.lesion_connectivity,
            conventions.lesion_iou_threshold,
        )
    return count_lesions(reference, prediction, conventions.lesion_connectivity)


def compute_metrics(
    reference: np.ndarray,
    prediction: np.ndarray,
    spacing_mm: Sequence[float],
    preset: str | Conventions = "default",
    *,
    binarise: bool = False,
    surface_dice_tolerance_mm: float = SURFACE_DICE_TOLERANCE_MM,
) -> dict[str, float | int | bool]:
    """Every metric of one case.

    Args:
        reference: ``(X, Y, Z)`` ground-truth mask: bool, {0,1} or {0,255} (see
            :func:`evaluation.masks.binarise_mask`).
        prediction: ``(X, Y, Z)`` predicted mask, same shape and rule.
        spacing_mm: voxel size ``(x, y, z)`` in mm, in the arrays' axis order.
        preset: ``"default"``, ``"medpy"``, ``"isles-itk"``, ``"isles22"``, ``"isles24"``,
            ``"deepmind"`` or a :class:`~evaluation.conventions.Conventions`.
        binarise: accept any finite labels and binarise as ``!= 0``.
        surface_dice_tolerance_mm: tolerance (mm, ≥ 0) of ``surface_dice``.

    Returns:
        A dict keyed by :data:`METRIC_COLUMNS`: overlap ratios (Dice = 2TP/(2TP+FP+FN),
        precision, recall), distances in mm, the normalised surface Dice at the tolerance,
        volumes in ml (``n · ∏spacing / 1000``; ``avd_ml`` absolute, ``volume_difference_ml`` =
        prediction − reference), lesion-wise counts, F1 and count difference (signed prediction
        − reference, or absolute when the conventions say so), the empty flags, voxel counts,
        the voxel volume (ml) and the image diagonal ``‖shape · spacing‖`` (mm).

    Raises:
        EvaluationError: bad masks, shape mismatch, bad spacing, a bad tolerance or an unknown
            preset.
    """
    conventions = resolve_preset(preset)
    tolerance_mm = check_tolerance(surface_dice_tolerance_mm)
    reference = binarise_mask(reference, binarise=binarise, name="reference")
    prediction = binarise_mask(prediction, binarise=binarise, name="prediction")
    check_same_shape(reference, prediction)
    spacing = validate_spacing(spacing_mm, reference.ndim)
    voxel_ml = math.prod(spacing) / 1000.0

    n_reference = int(np.count_nonzero(reference))
    n_prediction = int(np.count_nonzero(prediction))
    tp = int(np.count_nonzero(reference & prediction))
    fp, fn = n_prediction - tp, n_reference - tp
    reference_empty, prediction_empty = n_reference == 0, n_prediction == 0

    result: dict[str, float | int | bool] = {
        "dice": _ratio(2.0 * tp, 2.0 * tp + fp + fn),
        # With nothing predicted (or nothing to find) the ratio is 1 only if both are empty.
        "precision": tp / n_prediction if n_prediction else float(reference_empty),
        "recall": tp / n_reference if n_reference else float(prediction_empty),
    }

    box = union_box(reference, prediction)
    if reference_empty and prediction_empty:
        result.update(dict.fromkeys(DISTANCE_COLUMNS, 0.0), surface_dice=1.0)
    elif reference_empty or prediction_empty:
        result.update(dict.fromkeys(DISTANCE_COLUMNS, math.inf), surface_dice=0.0)
    else:
        distances = surface_distances(reference, prediction, spacing, conventions, box)
        result.update(distance_metrics(distances, conventions, tolerance_mm))

    volume_reference = n_reference * voxel_ml
    volume_prediction = n_prediction * voxel_ml
    if box is None:
        lesions = LesionCounts(n_reference=0, n_prediction=0, tp=0, fp=0, fn=0)
    else:
        lesions = _lesions(reference[box], prediction[box], conventions)
    count_difference = lesions.n_prediction - lesions.n_reference
    if conventions.lesion_count_absolute:
        count_difference = abs(count_difference)
    result.update(
        {
            "volume_reference_ml": volume_reference,
            "volume_prediction_ml": volume_prediction,
            "avd_ml": abs(volume_prediction - volume_reference),
            "volume_difference_ml": volume_prediction - volume_reference,
            "lesion_tp": lesions.tp,
            "lesion_fp": lesions.fp,
            "lesion_fn": lesions.fn,
            "lesion_f1": lesions.f1,
            "lesion_count_reference": lesions.n_reference,
            "lesion_count_prediction": lesions.n_prediction,
            "lesion_count_difference": count_difference,
            "reference_empty": reference_empty,
            "prediction_empty": prediction_empty,
            "tp_voxels": tp,
            "fp_voxels": fp,
            "fn_voxels": fn,
            "voxel_volume_ml": voxel_ml,
            "diagonal_mm": float(np.linalg.norm(np.asarray(reference.shape) * spacing)),
        }
    )
    return {key: result[key] for key in METRIC_COLUMNS}
