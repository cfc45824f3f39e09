"""Patient ids and folds: splits.json, --patients CSV, cases.csv, or one patient per case."""

from __future__ import annotations

import json

import pytest

from evaluation.errors import EvaluationError
from evaluation.groups import check_splits, read_patients_csv, read_splits, resolve_groups

SPLITS = {
    "version": 1,
    "k": 2,
    "seed": 0,
    "folds": [
        {"fold": 0, "train": ["case_3", "case_10"], "val": ["case_1", "case_2"]},
        {"fold": 1, "train": ["case_1", "case_2"], "val": ["case_3", "case_10"]},
    ],
    "patients": {"case_1": "train_01", "case_2": "train_01", "case_3": "train_02"},
}


def test_splits_give_folds_and_patients(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(SPLITS))
    groups = resolve_groups(tmp_path / "TRAINING", path)
    assert groups.folds == {"case_1": 0, "case_2": 0, "case_3": 1, "case_10": 1}
    assert groups.patient_of("case_2") == "train_01"
    assert groups.patient_of("case_10") == "case_10"  # not named: its own patient


def test_a_case_in_two_val_lists_is_an_error(tmp_path):
    bad = {**SPLITS, "folds": [{"fold": 0, "val": ["case_1"]}, {"fold": 1, "val": ["case_1"]}]}
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(EvaluationError, match="case_1 is in the val lists of folds 0 and 1"):
        read_splits(path)
    path.write_text("{not json")
    with pytest.raises(EvaluationError, match=r"splits\.json: not readable JSON"):
        read_splits(path)
    path.write_text(json.dumps({"folds": [{"fold": 0}]}))
    with pytest.raises(EvaluationError, match=r"folds\[0\] has no 'val' list"):
        read_splits(path)


def test_patients_csv_when_splits_have_no_patient_map(tmp_path):
    splits = tmp_path / "splits.json"
    splits.write_text(json.dumps({key: v for key, v in SPLITS.items() if key != "patients"}))
    table = tmp_path / "patients.csv"
    table.write_text("case,patient\ncase_1,p1\ncase_3,p1\n")
    groups = resolve_groups(tmp_path / "TRAINING", splits, table)
    assert groups.folds["case_3"] == 1
    assert groups.patient_of("case_3") == "p1"
    assert "patients CSV" in groups.patient_source


def test_cases_csv_in_the_parent_selects_the_partition_by_folder_name(tmp_path):
    (tmp_path / "TRAINING").mkdir()
    (tmp_path / "cases.csv").write_text(
        "partition,case,patient,slices\n"
        "TRAINING,case_1,train_01,8\nTRAINING,case_2,train_01,8\n"
        "TESTING,case_1,test_01,4\n"
    )
    groups = resolve_groups(tmp_path / "TRAINING")
    assert groups.patients == {"case_1": "train_01", "case_2": "train_01"}
    testing = resolve_groups(tmp_path / "TESTING")
    assert testing.patients == {"case_1": "test_01"}


def test_ambiguous_table_without_a_matching_partition_is_an_error(tmp_path):
    table = tmp_path / "cases.csv"
    table.write_text("partition,case,patient\nTRAINING,case_1,a\nTESTING,case_1,b\n")
    with pytest.raises(EvaluationError, match="case_1 maps to patients a and b"):
        read_patients_csv(table, partition="refs")
    table.write_text("case,subject\ncase_1,a\n")
    with pytest.raises(EvaluationError, match="needs 'case' and 'patient' columns"):
        read_patients_csv(table)


def test_no_source_makes_each_case_its_own_patient(tmp_path):
    groups = resolve_groups(tmp_path / "refs")
    assert groups.patients == {} and groups.folds == {}
    assert groups.patient_of("case_4") == "case_4"


def test_splits_must_name_every_scored_case_and_may_name_more(tmp_path):
    path = tmp_path / "splits.json"
    path.write_text(json.dumps(SPLITS))
    scored = ["case_1", "case_2", "case_3"]
    groups = resolve_groups(tmp_path / "TRAINING", path, cases=scored)
    assert groups.splits_not_scored == ("case_10",)  # a superset: part of the data set
    with pytest.raises(EvaluationError) as raised:
        resolve_groups(tmp_path / "TRAINING", path, cases=[*scored, "case_11", "case_12"])
    assert str(raised.value) == (
        f"{path}: 2 of 5 scored case(s) are not in this splits file (case_11, case_12); "
        "it lists case_10 instead: is it the splits file of this reference?"
    )
    many = [f"x_{i}" for i in range(8)]
    with pytest.raises(EvaluationError, match=r"\(x_0, x_1, x_2, x_3, x_4, … \(3 more\)\)"):
        check_splits(path, set(), many)
    assert resolve_groups(tmp_path / "TRAINING", path).splits_not_scored == ()  # not checked
