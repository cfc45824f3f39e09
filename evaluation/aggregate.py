"""Statistics over cases: per fold, per patient and overall, with an explicit policy for inf.

Infinite distances (exactly one mask empty, or a failed case) are handled by ``inf_policy``:

* ``report`` (default): statistics of the finite values; ``n_inf`` says how many were left out.
* ``penalty``: an infinite distance becomes that case's image diagonal ``‖shape · spacing‖`` mm.
* ``exclude``: a case with any infinite metric is left out of every statistic of its group
  (Dice included); ``n_excluded`` says how many.

Every statistic carries ``n_inf`` and ``n_both_empty`` beside its mean. Micro Dice pools
TP/FP/FN volumes (ml) over the group; patient-level values pool the slabs of one patient.

A failed case (status other than ``ok``) counts as Dice 0 everywhere, never as a perfect score:

* per-case statistics: Dice, precision, recall and lesion F1 0, distances infinite;
* pooled statistics (micro Dice, patients): its prediction counts as empty, so its reference
  volume and lesions are missed (FN) and it adds no TP. The both-empty value 1 of a pool with no
  volume at all is given only when every pooled case was scored; with a failed case it is 0;
* a failed case whose reference could not be read (no OT, unreadable file) has no volume to
  pool: it is left out of micro Dice and counted in ``n_unpooled``, and its patient's pooled
  values are 0 (like the case) with volumes unknown (None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from evaluation.conventions import INF_POLICIES
from evaluation.errors import EvaluationError
from evaluation.metrics import DISTANCE_COLUMNS

#: Per-case metrics summarised per fold and overall.
SUMMARY_METRICS: tuple[str, ...] = (
    "dice",
    "precision",
    "recall",
    "hd_mm",
    "hd95_mm",
    "assd_mm",
    "masd_mm",
    "surface_dice",
    "avd_ml",
    "volume_difference_ml",
    "lesion_f1",
    "lesion_count_difference",
)

#: Patient-level metrics (pooled over the patient's slabs).
PATIENT_METRICS: tuple[str, ...] = (
    "dice",
    "precision",
    "recall",
    "avd_ml",
    "volume_difference_ml",
    "lesion_f1",
)

Row = dict[str, Any]


def describe(values: Iterable[float]) -> dict[str, float | int | None]:
    """Mean, SD (ddof=1), median, quartiles (linear), IQR, min, max and n of finite values.

    Statistics of an empty set are None (never NaN); SD needs two values.
    """
    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if data.size == 0:
        return dict.fromkeys(("mean", "sd", "median", "q1", "q3", "iqr", "min", "max"), None) | {
            "n": 0
        }
    q1, median, q3 = (float(q) for q in np.percentile(data, [25, 50, 75]))
    return {
        "mean": float(data.mean()),
        "sd": float(data.std(ddof=1)) if data.size > 1 else None,
        "median": median,
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "min": float(data.min()),
        "max": float(data.max()),
        "n": int(data.size),
    }


def _is_inf(value: Any) -> bool:
    return isinstance(value, float) and math.isinf(value)


def _both_empty(row: Row) -> bool:
    return bool(row.get("reference_empty")) and bool(row.get("prediction_empty"))


def _failed(row: Row) -> bool:
    return row.get("status", "ok") != "ok"


def _unpooled(row: Row) -> bool:
    """A failed row without a measured reference (no voxel volume): nothing to pool."""
    return _failed(row) and row.get("voxel_volume_ml") is None


def _ratio(numerator: float, denominator: float, empty: float, failed: bool) -> float:
    """``numerator / denominator``; ``empty`` for 0 / 0 unless a pooled case failed (then 0)."""
    if denominator:
        return numerator / denominator
    return 0.0 if failed else empty


def _pooled_ratios(tp: float, fp: float, fn: float, failed: bool = False) -> dict[str, float]:
    """Dice, precision, recall from pooled TP/FP/FN, with the empty-mask rules.

    ``failed``: a failed case is in the pool, so an empty pool is not a perfect score.
    """
    return {
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, 1.0, failed),
        "precision": _ratio(tp, tp + fp, float(tp + fn == 0), failed),
        "recall": _ratio(tp, tp + fn, float(tp + fp == 0), failed),
    }


def _volumes_ml(row: Row) -> tuple[float, float, float]:
    """(TP, FP, FN) volumes in ml of a row; a failed row contributes its reference as FN."""
    voxel = row.get("voxel_volume_ml") or 0.0
    return tuple((row.get(k) or 0) * voxel for k in ("tp_voxels", "fp_voxels", "fn_voxels"))


def _pool(rows: Sequence[Row]) -> tuple[float, float, float]:
    volumes = [_volumes_ml(r) for r in rows]
    return tuple(sum(v[i] for v in volumes) for i in range(3))


def micro_dice(rows: Sequence[Row]) -> float | None:
    """Dice of the TP/FP/FN volumes pooled over rows (None for no rows).

    Failed rows count as missed references; rows without a measured reference are left out;
    a pool with no volume is 1 only when no row failed.
    """
    if not rows:
        return None
    tp, fp, fn = _pool([r for r in rows if not _unpooled(r)])
    return _pooled_ratios(tp, fp, fn, any(_failed(r) for r in rows))["dice"]


def summarise(rows: Sequence[Row], inf_policy: str = "report") -> dict[str, Any]:
    """Statistics of one group of per-case rows.

    Args:
        rows: per-case dicts with the metric columns, ``status``, the empty flags and
            ``diagonal_mm``.
        inf_policy: ``report``, ``penalty`` or ``exclude`` (see the module docstring).

    Returns:
        ``{"n_cases", "n_failed", "n_excluded", "n_both_empty", "micro_dice", "n_unpooled",
        "metrics": {metric: describe(...) | {"n_inf", "n_both_empty"}}}``; ``n_unpooled``
        counts the failed cases without a measured reference, left out of ``micro_dice``.
    """
    if inf_policy not in INF_POLICIES:
        raise EvaluationError(f"inf policy must be one of {INF_POLICIES}, got {inf_policy!r}")
    used = list(rows)
    if inf_policy == "exclude":
        used = [r for r in rows if not any(_is_inf(r.get(m)) for m in SUMMARY_METRICS)]
    n_both_empty = sum(_both_empty(r) for r in used)
    metrics = {}
    for metric in SUMMARY_METRICS:
        values = [r.get(metric) for r in used]
        if inf_policy == "penalty" and metric in DISTANCE_COLUMNS:
            values = [
                (r.get("diagonal_mm") or v) if _is_inf(v) else v
                for r, v in zip(used, values, strict=True)
            ]
        stats = describe(values)
        stats["n_inf"] = sum(_is_inf(r.get(metric)) for r in rows)
        stats["n_both_empty"] = n_both_empty
        metrics[metric] = stats
    return {
        "n_cases": len(rows),
        "n_failed": sum(map(_failed, rows)),
        "n_excluded": len(rows) - len(used),
        "n_both_empty": n_both_empty,
        "micro_dice": micro_dice(used),
        "n_unpooled": sum(_unpooled(r) for r in used),
        "metrics": metrics,
    }


def patient_rows(rows: Sequence[Row]) -> list[Row]:
    """One row per patient, pooling its slabs.

    Dice, precision and recall come from the pooled TP/FP/FN volumes; volumes are summed (AVD
    and the signed difference from the sums); lesion F1 from the summed lesion counts. Failed
    slabs follow the module's rule: never a perfect score; a slab without a measured reference
    makes the patient's ratios 0 and its volumes None.
    """
    by_patient: dict[str, list[Row]] = {}
    for row in rows:
        by_patient.setdefault(str(row["patient_id"]), []).append(row)
    result = []
    for patient_id, slabs in by_patient.items():
        failed, unmeasured = any(map(_failed, slabs)), any(map(_unpooled, slabs))
        tp, fp, fn = _pool(slabs)
        reference = sum(r.get("volume_reference_ml") or 0.0 for r in slabs)
        prediction = sum(r.get("volume_prediction_ml") or 0.0 for r in slabs)
        lesion_tp, lesion_fp, lesion_fn = (
            sum(r.get(k) or 0 for r in slabs) for k in ("lesion_tp", "lesion_fp", "lesion_fn")
        )
        ratios = _pooled_ratios(tp, fp, fn, failed)
        lesion_f1 = _ratio(2 * lesion_tp, 2 * lesion_tp + lesion_fp + lesion_fn, 1.0, failed)
        volumes = {
            "volume_reference_ml": reference,
            "volume_prediction_ml": prediction,
            "avd_ml": abs(prediction - reference),
            "volume_difference_ml": prediction - reference,
        }
        if unmeasured:  # a slab's reference is unknown: like a failed case, 0 and no volumes
            ratios, lesion_f1 = dict.fromkeys(ratios, 0.0), 0.0
            volumes = dict.fromkeys(volumes)
        result.append(
            {
                "patient_id": patient_id,
                "cases": [r["case_id"] for r in slabs],
                "folds": sorted({r["fold"] for r in slabs if r.get("fold") is not None}),
                "n_cases": len(slabs),
                "n_failed": sum(map(_failed, slabs)),
                **ratios,
                **volumes,
                "lesion_f1": lesion_f1,
            }
        )
    return result


def aggregate(rows: Sequence[Row], inf_policy: str = "report") -> dict[str, Any]:
    """Overall, per-fold and per-patient statistics of per-case rows.

    Returns:
        ``{"inf_policy", "overall", "folds": {fold: summary}, "patients": {"n", "rows",
        "metrics": {metric: describe(...)}}}``; folds only for rows with a ``fold``.
    """
    folds: dict[int, list[Row]] = {}
    for row in rows:
        if row.get("fold") is not None:
            folds.setdefault(int(row["fold"]), []).append(row)
    patients = patient_rows(rows)
    return {
        "inf_policy": inf_policy,
        "overall": summarise(rows, inf_policy),
        "folds": {str(f): summarise(folds[f], inf_policy) for f in sorted(folds)},
        "patients": {
            "n": len(patients),
            "rows": patients,
            "metrics": {m: describe(p[m] for p in patients) for m in PATIENT_METRICS},
        },
    }
