"""Pairing predictions with references: challenge (SMIR) and plain naming."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.pairing import (
    SMIR_VOLUME,
    find_backgrounds,
    find_reference_cases,
    pair_cases,
    resolve_reference,
)


def test_isles_layout_cases_in_natural_order_with_ot_and_mtt(training):
    root, ids = training
    cases, layout = find_reference_cases(root)
    assert layout == "isles"
    assert [c.case_id for c in cases] == ["case_1", "case_2", "case_3", "case_10"]
    for case in cases:
        assert case.problem is None
        assert ".OT." in case.reference_path.name
        assert case.smir_id == ids[case.case_id]
        assert case.background_path.name.startswith("SMIR.Brain.XX.O.")
        assert "_MTT." in case.background_path.name
    early = cases[2]
    assert ".MR_MTT." in early.background_path.name
    assert early.reference_path.name.endswith(".nii.gz")


def test_modality_tokens_match_whole_tokens_only():
    assert SMIR_VOLUME.match("SMIR.Brain.XX.O.CT_MTT.345565").groups() == ("CT_MTT", "345565")
    assert SMIR_VOLUME.match("SMIR.Brain.XX.O.CT.345562").group(1) == "CT"
    assert SMIR_VOLUME.match("SMIR.Brain.XX.O.CT_MTT.345565.nii") is None


def test_challenge_predictions_pair_by_the_mtt_smir_id(tmp_path, training, nifti, lesions):
    root, ids = training
    predictions = tmp_path / "predictions"
    for case_id in ("case_1", "case_2", "case_10"):
        nifti(predictions / f"SMIR.my.method.{ids[case_id]}.nii", lesions[case_id])
    nifti(predictions / "SMIR.my.method.999999.nii", lesions["case_1"])  # no such case
    (predictions / "._SMIR.my.method.1.nii").write_bytes(b"junk")  # macOS resource fork
    (predictions / "notes.txt").write_text("ignored")
    pairing = pair_cases(predictions, root)
    by_case = {p.case_id: p for p in pairing.pairs}
    assert by_case["case_1"].prediction_path.name == f"SMIR.my.method.{ids['case_1']}.nii"
    assert by_case["case_3"].prediction_path is None  # missing, still listed
    assert [p.name for p in pairing.unmatched_predictions] == ["SMIR.my.method.999999.nii"]


def test_a_case_with_two_predictions_is_a_problem(tmp_path, training, nifti, lesions):
    root, ids = training
    predictions = tmp_path / "predictions"
    nifti(predictions / f"SMIR.a.{ids['case_1']}.nii", lesions["case_1"])
    nifti(predictions / "case_1.nii.gz", lesions["case_1"])
    case = next(p for p in pair_cases(predictions, root).pairs if p.case_id == "case_1")
    assert case.prediction_path is None
    assert "several predictions" in case.problem


def test_plain_naming_on_both_sides(tmp_path, nifti):
    mask = np.zeros((6, 6, 2), np.uint8)
    for case_id in ("case_2", "case_10", "case_1"):
        nifti(tmp_path / "reference" / f"{case_id}.nii.gz", mask)
    nifti(tmp_path / "predictions" / "case_10.nii", mask)
    nifti(tmp_path / "predictions" / "case_99.nii", mask)
    pairing = pair_cases(tmp_path / "predictions", tmp_path / "reference")
    assert pairing.layout == "plain"
    assert [p.case_id for p in pairing.pairs] == ["case_1", "case_2", "case_10"]
    assert [p.prediction_path is not None for p in pairing.pairs] == [False, False, True]
    assert [p.name for p in pairing.unmatched_predictions] == ["case_99.nii"]


def test_plain_predictions_pair_with_an_isles_reference(tmp_path, training, nifti, lesions):
    root, _ = training
    nifti(tmp_path / "predictions" / "case_2.nii.gz", lesions["case_2"])
    case = next(
        p for p in pair_cases(tmp_path / "predictions", root).pairs if p.case_id == "case_2"
    )
    assert case.prediction_path.name == "case_2.nii.gz"


def test_case_without_ground_truth_is_a_problem(tmp_path, isles_case):
    isles_case(tmp_path / "TESTING", 1, None)
    cases, _ = find_reference_cases(tmp_path / "TESTING")
    assert cases[0].reference_path is None
    assert "no OT ground-truth volume" in cases[0].problem


def test_unusable_reference_folders_are_errors(tmp_path):
    with pytest.raises(EvaluationError, match="reference folder not found"):
        find_reference_cases(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvaluationError, match="no case_<n> folders"):
        find_reference_cases(tmp_path / "empty")
    with pytest.raises(EvaluationError, match="prediction folder not found"):
        pair_cases(tmp_path / "nowhere", tmp_path / "empty")


def test_backgrounds_from_isles_layout_and_plain_files(tmp_path, training, nifti):
    root, _ = training
    found = find_backgrounds(root)
    assert set(found) == {"case_1", "case_2", "case_3", "case_10"}
    assert all("_MTT." in p.name for p in found.values())
    nifti(tmp_path / "dwi" / "case_7.nii.gz", np.zeros((4, 4, 2)))
    assert list(find_backgrounds(tmp_path / "dwi")) == ["case_7"]


def _phantom_root(root, isles_case, lesions):
    """The phantom's layout: TRAINING/ (with OT), TESTING/ (without) and REFERENCE/ (the
    testing cases' OT beside a copy of their MTT, same SMIR id). Returns the MTT ids."""
    training = {n: isles_case(root / "TRAINING", n, lesions[f"case_{n}"]) for n in (1, 2, 3)}
    testing = {n: isles_case(root / "TESTING", n, None) for n in (1, 2)}
    for number, smir_id in testing.items():
        mtt = f"SMIR.Brain.XX.O.CT_MTT.{smir_id}"
        source = root / "TESTING" / f"case_{number}" / mtt
        target = root / "REFERENCE" / f"case_{number}" / mtt
        target.mkdir(parents=True)
        (target / f"{mtt}.nii").write_bytes((source / f"{mtt}.nii").read_bytes())
        ot = f"SMIR.Brain.XX.O.OT.{int(smir_id) + 90}"
        lesion = next((root / "TRAINING" / "case_1").glob("SMIR.Brain.XX.O.OT.*/*.nii"))
        (target.parent / ot).mkdir()
        (target.parent / ot / f"{ot}.nii").write_bytes(lesion.read_bytes())
    return training, testing


def test_a_data_set_root_resolves_to_its_ground_truth_partition(tmp_path, training):
    root, _ = training
    (tmp_path / "runs" / "case_1").mkdir(parents=True)  # not a partition: beside TRAINING/
    assert resolve_reference(tmp_path) == root
    assert resolve_reference(root) == root  # a partition stays itself
    cases, layout = find_reference_cases(tmp_path)
    assert layout == "isles" and [c.case_id for c in cases][:2] == ["case_1", "case_2"]
    zipped = tmp_path / "unzipped" / "ISLES2018_Training"
    shutil.copytree(root, zipped / "TRAINING")
    assert resolve_reference(tmp_path / "unzipped") == zipped / "TRAINING"


def test_a_phantom_root_pairs_with_the_partition_the_predictions_name(
    tmp_path, isles_case, nifti, lesions
):
    root = tmp_path / "phantom"
    training, testing = _phantom_root(root, isles_case, lesions)
    test_predictions = tmp_path / "test-predictions"
    for smir_id in testing.values():
        nifti(test_predictions / f"SMIR.m.{smir_id}.nii", lesions["case_1"])
    pairing = pair_cases(test_predictions, root)
    assert pairing.reference_dir == root / "REFERENCE"
    assert all(".OT." in p.reference_path.name and p.prediction_path for p in pairing.pairs)
    crossval = tmp_path / "crossval"
    for smir_id in training.values():
        nifti(crossval / f"SMIR.m.{smir_id}.nii", lesions["case_1"])
    assert pair_cases(crossval, root).reference_dir == root / "TRAINING"
    plain = tmp_path / "plain"
    nifti(plain / "case_1.nii", lesions["case_1"])  # case_1 is in both: ambiguous
    with pytest.raises(EvaluationError) as raised:
        pair_cases(plain, root)
    assert str(raised.value) == (
        f"{root}: ground truth in several partitions (REFERENCE, TRAINING) and the "
        "predictions do not tell which; pass one of them as --reference"
    )


def test_a_root_without_ground_truth_is_one_clear_line(tmp_path, isles_case):
    isles_case(tmp_path / "data" / "TESTING", 1, None)
    with pytest.raises(EvaluationError) as raised:
        resolve_reference(tmp_path / "data")
    assert str(raised.value) == (
        f"{tmp_path / 'data'}: no OT ground truth in TESTING (testing cases have none; "
        "point --reference at the folder holding their OT volumes)"
    )
    (tmp_path / "nothing" / "TRAINING").mkdir(parents=True)
    with pytest.raises(EvaluationError, match=r"nothing: no case_<n> folders \(in it, or in"):
        find_reference_cases(tmp_path / "nothing")
