"""Aggregation: inf policies, both-empty counts, micro Dice, folds and patient pooling."""

from __future__ import annotations

import math

import pytest

from evaluation.aggregate import aggregate, describe, micro_dice, patient_rows, summarise
from evaluation.errors import EvaluationError

INF = math.inf


def row(
    case_id,
    dice,
    hd95,
    *,
    patient=None,
    fold=None,
    tp=0,
    fp=0,
    fn=0,
    empty=(False, False),
    status="ok",
    diagonal=100.0,
    volume_ml=0.001,
):
    return {
        "case_id": case_id,
        "patient_id": patient or case_id,
        "fold": fold,
        "status": status,
        "dice": dice,
        "hd_mm": hd95,
        "hd95_mm": hd95,
        "avd_ml": 0.0,
        "tp_voxels": tp,
        "fp_voxels": fp,
        "fn_voxels": fn,
        "voxel_volume_ml": volume_ml,
        "diagonal_mm": diagonal,
        "reference_empty": empty[0],
        "prediction_empty": empty[1],
        "volume_reference_ml": (tp + fn) * volume_ml,
        "volume_prediction_ml": (tp + fp) * volume_ml,
    }


ROWS = [
    row("case_1", 0.8, 2.0, tp=8, fp=2, fn=2, fold=0),
    row("case_2", 0.6, 4.0, tp=6, fp=4, fn=4, fold=0),
    row("case_3", 0.0, INF, fn=10, empty=(False, True), diagonal=50.0, fold=1),
    row("case_4", 1.0, 0.0, empty=(True, True), fold=1),
]


def test_report_policy_uses_finite_values_and_counts_inf():
    stats = summarise(ROWS, "report")
    hd95 = stats["metrics"]["hd95_mm"]
    assert hd95["mean"] == pytest.approx(2.0)  # (2 + 4 + 0) / 3
    assert (hd95["n"], hd95["n_inf"], hd95["n_both_empty"]) == (3, 1, 1)
    assert stats["metrics"]["dice"]["mean"] == pytest.approx(0.6)  # the miss counts as 0
    assert stats["metrics"]["dice"]["n"] == 4
    assert stats["n_excluded"] == 0


def test_penalty_policy_replaces_inf_by_the_case_diagonal():
    hd95 = summarise(ROWS, "penalty")["metrics"]["hd95_mm"]
    assert hd95["mean"] == pytest.approx((2.0 + 4.0 + 50.0 + 0.0) / 4)
    assert (hd95["n"], hd95["n_inf"]) == (4, 1)
    assert hd95["max"] == 50.0


def test_exclude_policy_drops_the_whole_case_from_every_statistic():
    stats = summarise(ROWS, "exclude")
    assert stats["n_excluded"] == 1
    assert stats["metrics"]["dice"]["mean"] == pytest.approx((0.8 + 0.6 + 1.0) / 3)
    assert stats["metrics"]["hd95_mm"]["n"] == 3


def test_unknown_policy_is_an_error():
    with pytest.raises(EvaluationError, match="inf policy"):
        summarise(ROWS, "ignore")


def test_statistics_are_none_never_nan_for_empty_sets():
    stats = describe([INF, None])
    assert stats["n"] == 0 and stats["mean"] is None and stats["sd"] is None
    one = describe([3.0])
    assert one["mean"] == 3.0 and one["sd"] is None and one["iqr"] == 0.0
    many = describe([1.0, 2.0, 3.0, 4.0])
    assert many["median"] == 2.5 and many["iqr"] == pytest.approx(1.5)
    assert many["sd"] == pytest.approx(1.2909944487358056)


def test_micro_dice_pools_volumes():
    # TP 14, FP 6, FN 16 (the miss adds its 10 voxels as FN).
    assert micro_dice(ROWS) == pytest.approx(2 * 14 / (2 * 14 + 6 + 16))
    assert micro_dice([ROWS[3]]) == 1.0
    assert micro_dice([]) is None


def test_folds_and_patients():
    rows = [dict(r) for r in ROWS]
    rows[0]["patient_id"] = rows[1]["patient_id"] = "train_01"
    result = aggregate(rows, "report")
    assert list(result["folds"]) == ["0", "1"]
    assert result["folds"]["0"]["metrics"]["dice"]["mean"] == pytest.approx(0.7)
    assert result["folds"]["1"]["n_both_empty"] == 1
    patients = {p["patient_id"]: p for p in result["patients"]["rows"]}
    assert result["patients"]["n"] == 3
    pooled = patients["train_01"]
    assert pooled["cases"] == ["case_1", "case_2"]
    assert pooled["dice"] == pytest.approx(2 * 14 / (2 * 14 + 6 + 6))
    assert pooled["volume_reference_ml"] == pytest.approx(0.020)
    assert pooled["avd_ml"] == pytest.approx(0.0)


def test_patient_slabs_with_different_voxel_sizes_pool_in_ml():
    slabs = [
        row("case_1", 1.0, 0.0, patient="p", tp=10, volume_ml=0.004),
        row("case_2", 0.0, INF, patient="p", fn=10, volume_ml=0.001),
    ]
    (patient,) = patient_rows(slabs)
    assert patient["dice"] == pytest.approx(2 * 0.04 / (2 * 0.04 + 0.01))
    assert patient["recall"] == pytest.approx(0.04 / 0.05)
    assert patient["volume_difference_ml"] == pytest.approx(-0.01)


def _failed_without_reference(case_id, patient=None):
    """A failed case whose reference could not be read (no OT): no volumes at all."""
    return {
        "case_id": case_id,
        "patient_id": patient or case_id,
        "fold": 0,
        "status": "error",
        "dice": 0.0,
        "precision": 0.0,
        "recall": 0.0,
        "lesion_f1": 0.0,
        "hd95_mm": INF,
    }


def test_a_run_where_every_case_failed_never_scores_perfect():
    rows = [_failed_without_reference(f"case_{i}") for i in range(1, 5)]
    result = aggregate(rows, "report")
    for group in (result["overall"], result["folds"]["0"]):
        assert group["n_failed"] == 4 and group["n_unpooled"] == 4
        assert group["metrics"]["dice"]["mean"] == 0.0
        assert group["micro_dice"] == 0.0
    patients = result["patients"]
    assert [p["dice"] for p in patients["rows"]] == [0.0] * 4
    assert patients["metrics"]["dice"]["mean"] == 0.0
    assert patients["metrics"]["lesion_f1"]["mean"] == 0.0
    assert patients["metrics"]["avd_ml"]["n"] == 0  # volumes unknown, not 0


def test_a_failed_case_with_an_empty_reference_is_not_a_perfect_pool():
    # Readable, empty reference; the prediction is missing: no volume either way.
    missing = row("case_1", 0.0, INF, status="missing", empty=(True, False))
    assert micro_dice([missing]) == 0.0
    (patient,) = patient_rows([missing])
    assert (patient["dice"], patient["precision"], patient["recall"]) == (0.0, 0.0, 0.0)
    assert patient["lesion_f1"] == 0.0
    both_empty = row("case_2", 1.0, 0.0, empty=(True, True))
    assert micro_dice([both_empty]) == 1.0  # scored and empty: still 1


def test_patient_and_case_means_agree_when_each_case_is_its_own_patient():
    rows = [*ROWS, _failed_without_reference("case_5")]
    result = aggregate(rows, "report")
    case_mean = result["overall"]["metrics"]["dice"]["mean"]
    assert case_mean == pytest.approx((0.8 + 0.6 + 0.0 + 1.0 + 0.0) / 5)
    # Pooled over one slab, each patient's Dice is its case's Dice, failures included.
    assert result["patients"]["metrics"]["dice"]["mean"] == pytest.approx(
        (16 / 20 + 12 / 20 + 0.0 + 1.0 + 0.0) / 5
    )
    # Micro Dice pools what was measured and says what it left out.
    assert result["overall"]["micro_dice"] == pytest.approx(2 * 14 / (2 * 14 + 6 + 16))
    assert result["overall"]["n_unpooled"] == 1


def test_a_patient_with_an_unmeasured_failed_slab_scores_zero():
    good = row("case_1", 1.0, 0.0, patient="p", tp=10)
    (patient,) = patient_rows([good, _failed_without_reference("case_2", patient="p")])
    assert patient["dice"] == 0.0 and patient["lesion_f1"] == 0.0
    assert patient["volume_reference_ml"] is None and patient["avd_ml"] is None
    assert patient["n_failed"] == 1
