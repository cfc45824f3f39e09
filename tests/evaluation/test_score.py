"""Scoring folders: both naming schemes, failures, folds and patients, workers."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.io import read_image
from evaluation.metrics import compute_metrics
from evaluation.run_files import read_per_case
from evaluation.score import score_directory, write_run
from evaluation.tables import summary_markdown


def _shifted(mask, dx):
    return np.roll(mask, dx, axis=0)


@pytest.fixture
def challenge(tmp_path, training, nifti, lesions):
    """Predictions for cases 1, 2, 10 (case 3 missing) in challenge naming, plus a stray file."""
    root, ids = training
    predictions = tmp_path / "predictions"
    for case_id, dx in (("case_1", 1), ("case_2", 0), ("case_10", 2)):
        nifti(predictions / f"SMIR.test-method.{ids[case_id]}.nii", _shifted(lesions[case_id], dx))
    nifti(predictions / "SMIR.test-method.123.nii", lesions["case_1"])
    return root, predictions


def test_challenge_scoring_matches_compute_metrics_on_the_files(challenge, lesions):
    root, predictions = challenge
    run = score_directory(predictions, root, workers=1, progress=False)
    rows = {r["case_id"]: r for r in run.rows}
    assert list(rows) == ["case_1", "case_2", "case_3", "case_10"]
    spacing = read_image(rows["case_1"]["reference_path"]).spacing_mm
    assert spacing == pytest.approx((0.9, 0.8, 5.0))
    expected = compute_metrics(lesions["case_1"], _shifted(lesions["case_1"], 1), spacing)
    for name, value in expected.items():
        assert rows["case_1"][name] == pytest.approx(value), name
    assert rows["case_1"]["hd_mm"] == pytest.approx(0.9, rel=1e-6)  # one step along x
    assert rows["case_2"]["dice"] == 1.0
    assert rows["case_10"]["status"] == "ok"
    assert run.summary["unmatched_predictions"][0].endswith("SMIR.test-method.123.nii")


def test_missing_prediction_counts_as_dice_zero_and_is_listed(challenge, lesions):
    root, predictions = challenge
    run = score_directory(predictions, root, workers=1, progress=False)
    missing = next(r for r in run.rows if r["case_id"] == "case_3")
    assert missing["status"] == "missing"
    assert "SMIR.<method>." in missing["error"]
    assert missing["dice"] == 0.0 and math.isinf(missing["hd95_mm"])
    assert missing["fn_voxels"] == int(lesions["case_3"].sum())
    assert missing["avd_ml"] == pytest.approx(missing["volume_reference_ml"])
    assert [f["case_id"] for f in run.summary["failed"]] == ["case_3"]
    assert run.summary["overall"]["metrics"]["dice"]["n"] == 4  # not silently dropped
    assert run.summary["overall"]["metrics"]["hd95_mm"]["n_inf"] == 1
    assert [r["case_id"] for r in run.failed] == ["case_3"]


def test_affine_and_shape_mismatch_are_per_case_errors(tmp_path, training, nifti, lesions, affine):
    root, ids = training
    predictions = tmp_path / "predictions"
    moved = affine
    moved[0, 3] += 0.9
    nifti(predictions / f"SMIR.m.{ids['case_1']}.nii", lesions["case_1"], moved)
    nifti(predictions / f"SMIR.m.{ids['case_2']}.nii", lesions["case_2"][:, :, :3])
    nifti(predictions / f"SMIR.m.{ids['case_10']}.nii", lesions["case_10"])
    rows = {r["case_id"]: r for r in score_directory(predictions, root, progress=False).rows}
    assert rows["case_1"]["status"] == "error"
    assert f"SMIR.m.{ids['case_1']}.nii: affine differs" in rows["case_1"]["error"]
    assert "shape (20, 16, 3) differs from the reference's (20, 16, 4)" in rows["case_2"]["error"]
    assert rows["case_2"]["dice"] == 0.0
    assert rows["case_10"]["status"] == "ok" and rows["case_10"]["dice"] == 1.0


def test_non_binary_prediction_is_an_error_unless_binarised(tmp_path, training, nifti, lesions):
    root, ids = training
    predictions = tmp_path / "predictions"
    nifti(
        predictions / f"SMIR.m.{ids['case_1']}.nii", lesions["case_1"] * 2 + (lesions["case_1"] > 0)
    )
    strict = score_directory(predictions, root, progress=False).rows[0]
    assert "non-binary labels {0, 3}" in strict["error"]
    assert strict["error"].startswith(str(predictions))
    lenient = score_directory(predictions, root, binarise=True, progress=False).rows[0]
    assert lenient["status"] == "ok" and lenient["dice"] == 1.0


def test_plain_naming_scheme(tmp_path, nifti, lesions):
    for case_id, lesion in lesions.items():
        nifti(tmp_path / "reference" / f"{case_id}.nii.gz", lesion)
        nifti(tmp_path / "predictions" / f"{case_id}.nii.gz", lesion)
    run = score_directory(tmp_path / "predictions", tmp_path / "reference", progress=False)
    assert run.summary["layout"] == "plain"
    assert [r["dice"] for r in run.rows] == [1.0] * 4
    assert run.summary["overall"]["micro_dice"] == 1.0


def test_splits_give_folds_and_patient_pooling(tmp_path, challenge, lesions):
    root, predictions = challenge
    splits = tmp_path / "splits.json"
    splits.write_text(
        json.dumps(
            {
                "version": 1,
                "k": 2,
                "seed": 0,
                "folds": [
                    {"fold": 0, "train": [], "val": ["case_1", "case_2"]},
                    {"fold": 1, "train": [], "val": ["case_3", "case_10"]},
                ],
                "patients": {"case_1": "p1", "case_2": "p1", "case_3": "p2", "case_10": "p2"},
            }
        )
    )
    run = score_directory(predictions, root, splits=splits, progress=False)
    assert {r["case_id"]: r["fold"] for r in run.rows} == {
        "case_1": 0,
        "case_2": 0,
        "case_3": 1,
        "case_10": 1,
    }
    assert run.summary["folds"]["0"]["n_cases"] == 2
    patients = {p["patient_id"]: p for p in run.summary["patients"]["rows"]}
    rows = {r["case_id"]: r for r in run.rows}
    tp = rows["case_1"]["tp_voxels"] + rows["case_2"]["tp_voxels"]
    fp = rows["case_1"]["fp_voxels"] + rows["case_2"]["fp_voxels"]
    fn = rows["case_1"]["fn_voxels"] + rows["case_2"]["fn_voxels"]
    assert patients["p1"]["dice"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    assert patients["p1"]["volume_reference_ml"] == pytest.approx(
        rows["case_1"]["volume_reference_ml"] + rows["case_2"]["volume_reference_ml"]
    )
    # p2 = a missed slab (case 3) + a shifted one: pooled, the miss weighs by its volume.
    assert 0 < patients["p2"]["dice"] < rows["case_10"]["dice"]


def test_two_workers_give_the_same_rows_as_one(challenge):
    root, predictions = challenge
    one = score_directory(predictions, root, workers=1, progress=False)
    two = score_directory(predictions, root, workers=2, progress=False)
    assert one.rows == two.rows


def test_run_files_round_trip_with_inf(tmp_path, challenge):
    root, predictions = challenge
    run = score_directory(predictions, root, progress=False)
    write_run(run, tmp_path / "run")
    text = (tmp_path / "run" / "per_case.csv").read_text()
    assert ",inf," in text and "nan" not in text.lower()
    back = read_per_case(tmp_path / "run" / "per_case.csv")
    assert [r["case_id"] for r in back] == [r["case_id"] for r in run.rows]
    assert back[0]["dice"] == pytest.approx(run.rows[0]["dice"])
    assert math.isinf(back[2]["hd95_mm"]) and back[2]["status"] == "missing"
    assert back[0]["reference_empty"] is False
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["preset"]["name"] == "default"
    markdown = summary_markdown(run.summary)
    assert "| overall | 4 |" in markdown and "case_3 (missing)" in markdown


def test_bad_arguments_raise_one_line_errors(tmp_path, challenge):
    root, predictions = challenge
    with pytest.raises(EvaluationError, match="inf policy"):
        score_directory(predictions, root, inf_policy="drop", progress=False)
    with pytest.raises(EvaluationError, match="workers must be at least 1"):
        score_directory(predictions, root, workers=0, progress=False)
    with pytest.raises(EvaluationError, match="unknown preset"):
        score_directory(predictions, root, preset="nope", progress=False)


def test_backgrounds_default_to_the_mtt_and_can_be_replaced(tmp_path, challenge, nifti, lesions):
    root, predictions = challenge
    rows = score_directory(predictions, root, progress=False).rows
    assert all(
        ".CT_MTT." in r["background_path"].name or ".MR_MTT." in r["background_path"].name
        for r in rows
    )
    nifti(tmp_path / "dwi" / "case_2.nii.gz", lesions["case_2"].astype(np.float32))
    rows = score_directory(predictions, root, background_dir=tmp_path / "dwi", progress=False).rows
    by_case = {r["case_id"]: r["background_path"] for r in rows}
    assert by_case["case_2"] == tmp_path / "dwi" / "case_2.nii.gz"
    assert ".CT_MTT." in by_case["case_1"].name  # no replacement given: still the MTT


def _perfect_predictions(folder, ids, lesions, nifti):
    for case_id, lesion in lesions.items():
        nifti(folder / f"SMIR.m.{ids[case_id]}.nii", lesion)
    return folder


def test_a_deleted_ground_truth_counts_as_dice_zero_in_every_mean(
    tmp_path, training, nifti, lesions
):
    root, ids = training
    predictions = _perfect_predictions(tmp_path / "predictions", ids, lesions, nifti)
    shutil.rmtree(next((root / "case_2").glob("SMIR.Brain.XX.O.OT.*")))
    run = score_directory(predictions, root, workers=1, progress=False)
    assert [f["case_id"] for f in run.summary["failed"]] == ["case_2"]
    overall, patients = run.summary["overall"], run.summary["patients"]
    assert overall["metrics"]["dice"]["mean"] == pytest.approx(0.75)
    assert patients["metrics"]["dice"]["mean"] == pytest.approx(0.75)  # was 1.0
    assert overall["micro_dice"] == 1.0 and overall["n_unpooled"] == 1
    assert "| 1.000 (1 not pooled) |" in summary_markdown(run.summary)


def test_a_reference_without_any_ground_truth_is_never_a_perfect_score(tmp_path, isles_case):
    root = tmp_path / "TESTING"
    for number in (1, 2, 3, 4):
        isles_case(root, number, None)
    (tmp_path / "predictions").mkdir()
    run = score_directory(tmp_path / "predictions", root, workers=1, progress=False)
    assert len(run.failed) == 4
    assert run.summary["overall"]["micro_dice"] == 0.0  # was 1.0
    assert run.summary["patients"]["metrics"]["dice"]["mean"] == 0.0  # was 1.0


def test_a_data_set_root_is_scored_through_its_ground_truth_partition(
    tmp_path, training, nifti, lesions
):
    root, ids = training
    predictions = _perfect_predictions(tmp_path / "predictions", ids, lesions, nifti)
    (tmp_path / "cases.csv").write_text(
        "partition,case,patient\nTRAINING,case_1,p1\nTRAINING,case_2,p1\n"
        "TRAINING,case_3,p2\nTRAINING,case_10,p3\nTESTING,case_1,t1\n"
    )
    run = score_directory(predictions, tmp_path, workers=1, progress=False)
    assert [r["dice"] for r in run.rows] == [1.0] * 4
    assert run.summary["reference_partition"] == str(root.resolve())
    assert run.summary["reference_dir"] == str(tmp_path)
    assert {r["case_id"]: r["patient_id"] for r in run.rows}["case_2"] == "p1"


def _splits(path, val_lists, patients=None):
    folds = [{"fold": i, "train": [], "val": val} for i, val in enumerate(val_lists)]
    data = {"version": 1, "k": len(folds), "seed": 0, "folds": folds}
    if patients is not None:
        data["patients"] = patients
    path.write_text(json.dumps(data))
    return path


def test_a_splits_file_of_another_data_set_is_refused(tmp_path, challenge):
    root, predictions = challenge
    other = _splits(tmp_path / "other.json", [["train_01", "train_02"], ["train_03", "case_1"]])
    with pytest.raises(EvaluationError) as raised:
        score_directory(predictions, root, splits=other, workers=1, progress=False)
    message = str(raised.value)
    assert message.startswith(f"{other}: 3 of 4 scored case(s) are not in this splits file")
    assert "(case_2, case_3, case_10)" in message and "train_01, train_02, train_03" in message
    assert "\n" not in message


def test_a_splits_file_naming_more_cases_than_scored_is_accepted(tmp_path, challenge):
    root, predictions = challenge
    splits = _splits(
        tmp_path / "splits.json", [["case_1", "case_2", "case_4"], ["case_3", "case_10"]]
    )
    run = score_directory(predictions, root, splits=splits, workers=1, progress=False)
    assert {r["case_id"]: r["fold"] for r in run.rows}["case_10"] == 1
    assert run.summary["splits_not_scored"] == ["case_4"]
    # A case named only in a train list (a holdout split) is still known to the file.
    holdout = _splits(tmp_path / "holdout.json", [["case_1"]])
    data = json.loads(holdout.read_text())
    data["folds"][0]["train"] = ["case_2", "case_3", "case_10"]
    holdout.write_text(json.dumps(data))
    rows = score_directory(predictions, root, splits=holdout, workers=1, progress=False).rows
    assert [r["fold"] for r in rows] == [0, None, None, None]


def test_rows_record_a_digest_of_their_reference_mask(challenge):
    root, predictions = challenge
    rows = {r["case_id"]: r for r in score_directory(predictions, root, progress=False).rows}
    assert len({r["reference_sha256"] for r in rows.values()}) == 4
    assert all(len(r["reference_sha256"]) == 64 for r in rows.values())


def test_numpy_scalars_are_written_as_plain_numbers(tmp_path):
    from evaluation.run_files import read_json, write_json, write_per_case

    row = {"case_id": "case_1", "status": "ok", "dice": np.float64(0.5), "lesion_tp": np.int64(2)}
    row |= {"hd95_mm": np.float32(np.inf), "reference_empty": np.bool_(True)}
    write_per_case([row], tmp_path / "per_case.csv")
    (back,) = read_per_case(tmp_path / "per_case.csv")
    assert (back["dice"], back["lesion_tp"], back["reference_empty"]) == (0.5, 2, True)
    assert math.isinf(back["hd95_mm"])
    write_json({"n": np.int64(3), "mean": np.float64(0.25)}, tmp_path / "summary.json")
    assert read_json(tmp_path / "summary.json") == {"n": 3, "mean": 0.25}


def test_surface_dice_tolerance_reaches_every_case_and_failed_cases_score_zero(challenge, lesions):
    root, predictions = challenge
    tight = score_directory(predictions, root, workers=1, progress=False)
    loose = score_directory(
        predictions, root, workers=2, progress=False, surface_dice_tolerance_mm=2.5
    )
    assert tight.summary["surface_dice_tolerance_mm"] == 2.0
    assert loose.summary["surface_dice_tolerance_mm"] == 2.5
    rows = {r["case_id"]: (r, s) for r, s in zip(tight.rows, loose.rows, strict=True)}
    spacing = read_image(rows["case_10"][0]["reference_path"]).spacing_mm
    shifted = _shifted(lesions["case_10"], 2)  # two voxels of 0.9 mm along x: 1.8 mm
    for tolerance, row in ((2.0, rows["case_10"][0]), (2.5, rows["case_10"][1])):
        expected = compute_metrics(
            lesions["case_10"], shifted, spacing, surface_dice_tolerance_mm=tolerance
        )["surface_dice"]
        assert row["surface_dice"] == pytest.approx(expected)
    assert rows["case_3"][0]["status"] == "missing" and rows["case_3"][0]["surface_dice"] == 0.0
    nsd = tight.summary["overall"]["metrics"]["surface_dice"]
    assert nsd["n"] == 4 and nsd["mean"] < 1.0
    with pytest.raises(EvaluationError, match="tolerance"):
        score_directory(predictions, root, progress=False, surface_dice_tolerance_mm=-1)
