from __future__ import annotations

import csv
from pathlib import Path

from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.data.patients import published_table


def test_published_table_matches_the_data_set() -> None:
    table = published_table()
    training = {case: row for (part, case), row in table.items() if part == "TRAINING"}
    testing = {case: row for (part, case), row in table.items() if part == "TESTING"}
    assert len(training) == 94 and len(testing) == 62
    assert len({r["patient"] for r in training.values()}) == 63
    assert len({r["patient"] for r in testing.values()}) == 40
    # The organisers' example: Train_40_A = case 64, Train_40_B = case 65.
    assert training["case_64"]["patient"] == training["case_65"]["patient"]


def test_real_download_recognised_by_slices_and_frames(tmp_path: Path, make_case) -> None:
    rows = published_table()
    root = tmp_path / "TRAINING"
    for number in (1, 2, 18, 19):
        row = rows[("TRAINING", f"case_{number}")]
        make_case(root, number, shape=(8, 8, int(row["slices"])), frames=int(row["ctp_timepoints"]))
    patients = {c.case_id: c.patient_id for c in discover_cases(root)}
    assert patients == {
        "case_1": "train_01",
        "case_2": "train_01",
        "case_18": "train_14",
        "case_19": "train_14",
    }


def test_lookalike_is_not_the_real_data(tmp_path: Path, make_case) -> None:
    root = tmp_path / "TRAINING"
    make_case(root, 1, shape=(8, 8, 8), frames=49)  # matches the table
    make_case(root, 2, shape=(8, 8, 2), frames=10)  # does not
    assert {c.patient_id for c in discover_cases(root)} == {"case_1", "case_2"}


def test_sidecar_wins(tmp_path: Path, make_case) -> None:
    root = tmp_path / "set" / "TRAINING"
    for number in (1, 2, 3):
        make_case(root, number)
    with (tmp_path / "set" / "cases.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["partition", "case", "patient", "slices", "ctp_timepoints"])
        writer.writerow(["TRAINING", "case_1", "phantom_001", 2, 8])
        writer.writerow(["TRAINING", "case_2", "phantom_001", 2, 8])
        writer.writerow(["TRAINING", "case_3", "phantom_002", 2, 8])
    patients = [c.patient_id for c in discover_cases(root)]
    assert patients == ["phantom_001", "phantom_001", "phantom_002"]


def test_sidecar_rows_of_the_folder_own_name_win(tmp_path: Path, make_case) -> None:
    root = tmp_path / "set"
    make_case(root / "REFERENCE", 1, modalities=(Modality.MTT, Modality.OT))
    (root / "cases.csv").write_text(
        "partition,case,patient\nTRAINING,case_1,train_a\nREFERENCE,case_1,test_a\n"
    )
    assert [c.patient_id for c in discover_cases(root / "REFERENCE")] == ["test_a"]
