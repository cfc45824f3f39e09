"""A written data set: ISLES layout and names, dtypes, reference tree, sidecars, manifest."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from isles2018.data.checks import check_case
from isles2018.data.io import header_shape, read_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality, parse_smir_name
from isles2018.phantom.generate import Request, generate_dataset, read_manifest
from isles2018.phantom.writer import DTYPES

TRAINING_TOKENS = {"CT", "CT_4DPWI", "CT_CBF", "CT_CBV", "CT_MTT", "CT_Tmax", "MR_DWI", "OT"}
TESTING_TOKENS = TRAINING_TOKENS - {"MR_DWI", "OT"}


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _volumes(folder: Path) -> dict[Modality, tuple[str, Path]]:
    found = {}
    for path in sorted(folder.rglob("*.nii*")):
        modality, smir_id = parse_smir_name(path.name)
        assert path.parent.name + ".nii" == path.name  # folder name == file stem
        found[modality] = (smir_id, path)
    return found


def test_every_case_passes_check_case_with_patients_from_cases_csv(ci_dataset: Path) -> None:
    cases = discover_cases(ci_dataset)
    assert [(c.split, c.case_id) for c in cases] == [
        ("training", "case_1"),
        ("training", "case_2"),
        ("training", "case_3"),
        ("testing", "case_1"),
        ("testing", "case_2"),
    ]
    for case in cases:
        assert check_case(case) == []
    patients = [c.patient_id for c in cases]
    assert patients[0] == patients[1] == "phantom_001"  # a patient with two slabs
    assert patients[2] == "phantom_002" and patients[3].startswith("phantom_test_")


def test_layout_names_ids_dtypes_and_grids(ci_dataset: Path) -> None:
    all_ids = []
    for partition, tokens in (("TRAINING", TRAINING_TOKENS), ("TESTING", TESTING_TOKENS)):
        for folder in sorted((ci_dataset / partition).iterdir()):
            volumes = _volumes(folder)
            assert {m.token for m in volumes} == tokens
            affines = []
            for modality, (smir_id, path) in volumes.items():
                all_ids.append(smir_id)
                volume = read_volume(path, ndim=4 if modality is Modality.PWI else 3)
                assert volume.array.dtype == np.dtype(DTYPES[modality])
                assert volume.array.shape[:2] == (256, 256)
                assert volume.array.shape[2] in (2, 4)
                affines.append(volume.affine)
                if modality is Modality.PWI:
                    assert volume.time_step_s == 1.0 and 43 <= volume.array.shape[3] <= 53
                if modality is Modality.OT:
                    assert set(np.unique(volume.array)) <= {0, 1}
            for affine in affines:
                np.testing.assert_array_equal(affine, affines[0])
            assert 0.8 <= abs(affines[0][0, 0]) <= 1.0 and affines[0][2, 2] == 5.0
    assert len(all_ids) == len(set(all_ids)) and all(len(i) == 6 for i in all_ids)


def test_reference_tree_holds_testing_truth_and_an_identical_ct_mtt(ci_dataset: Path) -> None:
    for number in (1, 2):
        testing = _volumes(ci_dataset / "TESTING" / f"case_{number}")
        reference = _volumes(ci_dataset / "REFERENCE" / f"case_{number}")
        assert set(reference) == {Modality.MTT, Modality.OT, Modality.DWI}
        assert reference[Modality.MTT][0] == testing[Modality.MTT][0]
        assert _sha256(reference[Modality.MTT][1]) == _sha256(testing[Modality.MTT][1])
        ot = read_volume(reference[Modality.OT][1]).array
        truth = np.load(ci_dataset / "_truth" / "TESTING" / f"case_{number}.npz")
        np.testing.assert_array_equal(ot, truth["lesion"])


def test_cases_csv_manifest_and_sidecars(ci_dataset: Path) -> None:
    with open(ci_dataset / "cases.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["partition", "case", "patient", "slices", "ctp_timepoints"]
    keys = [(r["partition"], r["case"]) for r in rows]
    assert ("TESTING", "case_2") in keys
    # the reference tree's rows repeat the testing rows under its own folder name
    testing = [{**r, "partition": "REFERENCE"} for r in rows if r["partition"] == "TESTING"]
    assert [r for r in rows if r["partition"] == "REFERENCE"] == testing
    rows = [r for r in rows if r["partition"] != "REFERENCE"]
    manifest = read_manifest(ci_dataset)
    assert manifest["complete"] is True
    assert manifest["parameters"]["seed"] == 11 and manifest["parameters"]["profile"] == "ci"
    assert "McConnell Brain Imaging Centre" in manifest["mni_notice"]
    files = [p for p in ci_dataset.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert sorted(manifest["files"]) == sorted(p.relative_to(ci_dataset).as_posix() for p in files)
    for relative, digest in manifest["files"].items():
        assert _sha256(ci_dataset / relative) == digest
    for row in rows:
        sidecar = ci_dataset / "_truth" / row["partition"] / f"{row['case']}.json"
        info = json.loads(sidecar.read_text())
        assert info["patient"] == row["patient"] and info["case"] == row["case"]
        truth = np.load(sidecar.with_suffix(".npz"))
        assert truth["cbf"].shape == (256, 256, int(row["slices"]))
        assert truth["aif_hu"].shape == (int(row["ctp_timepoints"]),)


@pytest.mark.parametrize("five_d", [False, True])
def test_gzip_and_five_d_options(tmp_path: Path, five_d: bool) -> None:
    out = tmp_path / "set"
    generate_dataset(
        Request(out=out, cases=1, seed=3, profile="clean", gzip=True, five_d=five_d),
        progress=False,
    )
    paths = sorted((out / "TRAINING" / "case_1").rglob("*"))
    files = [p for p in paths if p.is_file()]
    assert len(files) == 8 and all(p.name.endswith(".nii.gz") for p in files)
    series = next(p for p in files if ".CT_4DPWI." in p.name)
    shape = header_shape(series)
    assert len(shape) == (5 if five_d else 4) and (shape[3] == 1) == five_d
    assert read_volume(series, ndim=4).array.ndim == 4
