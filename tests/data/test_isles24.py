"""Discovery of ISLES'24 BIDS trees: spellings, the modality mapping and the file choice rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from isles24_tree import ACQUIRED, OBLIQUE, SHAPE

from isles2018.cli import main
from isles2018.data.bids import parse_bids_name
from isles2018.data.case import ISLES24, Case
from isles2018.data.io import write_volume
from isles2018.data.isles24 import is_bids_tree
from isles2018.data.layout import discover_cases, training_cases
from isles2018.data.modalities import Modality
from isles2018.data.splits import split_cases


def _relative(case: Case, root: Path) -> dict[str, str]:
    return {m.token: str(f.path.relative_to(root)) for m, f in case.files.items()}


def test_both_spellings_map_to_the_pipeline_modalities(isles24: Path) -> None:
    first, second = discover_cases(isles24)
    assert [c.case_id for c in (first, second)] == ["sub-strokecase0001", "sub-stroke0002"]
    assert [c.patient_id for c in (first, second)] == ["sub-strokecase0001", "sub-stroke0002"]
    assert [(c.number, c.split, c.layout) for c in (first, second)] == [
        (1, "training", ISLES24),
        (2, "training", ISLES24),
    ]
    assert first.problems == () and second.problems == ()
    assert first.reference is Modality.CT
    raw, derived = "rawdata/sub-strokecase0001/ses-0001", "derivatives/sub-strokecase0001"
    acute = f"{derived}/ses-0001/sub-strokecase0001_ses-0001_space-ncct"
    maps = f"{derived}/ses-0001/perfusion-maps/sub-strokecase0001_ses-0001_space-ncct"
    later = f"{derived}/ses-0002/sub-strokecase0001_ses-0002_space-ncct"
    assert _relative(first, isles24) == {
        "CT": f"{raw}/sub-strokecase0001_ses-0001_ncct.nii.gz",
        "CT_4DPWI": f"{acute}_ctp.nii.gz",
        "CT_CBF": f"{maps}_cbf.nii.gz",
        "CT_CBV": f"{maps}_cbv.nii.gz",
        "CT_MTT": f"{maps}_mtt.nii.gz",
        "CT_Tmax": f"{maps}_tmax.nii.gz",
        "MR_DWI": f"{later}_dwi.nii.gz",
        "OT": f"{later}_lesion-msk.nii.gz",
    }
    files = _relative(second, isles24)
    assert files["OT"] == "derivatives/sub-stroke0002/ses-02/sub-stroke0002_ses-02_lesion-msk.nii"
    assert files["CT"] == "rawdata/sub-stroke0002/ses-01/sub-stroke0002_ses-01_ncct.nii"
    assert first.smir_id(Modality.MTT) == "0001" and second.smir_id(Modality.OT) == "0002"
    assert first.folder == isles24 / derived


@pytest.mark.parametrize(
    "where",
    ["rawdata", "derivatives", "derivatives/sub-stroke0002", "rawdata/sub-stroke0002"],
)
def test_a_part_of_the_tree_is_read_with_the_whole_tree(isles24: Path, where: str) -> None:
    cases = discover_cases(isles24 / where)
    expected = ["sub-stroke0002"] if "sub-" in where else ["sub-strokecase0001", "sub-stroke0002"]
    assert [c.case_id for c in cases] == expected
    assert all(c.has(Modality.CT) and c.has(Modality.MTT) and not c.problems for c in cases)


def test_a_flat_folder_of_subjects_and_a_lone_subject_folder(tmp_path: Path, make_subject) -> None:
    make_subject(tmp_path / "tree", 7)
    flat = tmp_path / "flat"
    (tmp_path / "tree" / "derivatives").rename(flat)
    (case,) = discover_cases(flat)
    assert case.case_id == "sub-stroke0007" and case.has(Modality.MTT)
    assert case.missing == (Modality.CT,)  # the NCCT lives in rawdata/, left behind
    assert "missing CT (expected" in case.problems[0]
    assert "sub-stroke0007_ses-01_ncct.nii.gz" in case.problems[0]
    assert [c.case_id for c in discover_cases(flat / "sub-stroke0007")] == ["sub-stroke0007"]


def test_the_tree_is_recognised_and_isles2018_folders_are_not(isles24: Path, testing) -> None:
    assert is_bids_tree(isles24) and is_bids_tree(isles24 / "derivatives" / "sub-stroke0002")
    assert not is_bids_tree(testing) and not is_bids_tree(testing / "case_1")
    assert [c.layout for c in discover_cases(testing)] == ["isles2018"] * 3


def test_lvo_and_cow_masks_are_never_the_lesion(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    make_subject(root, 3, mask=None)  # only lvo-msk and cow-msk in derivatives
    (case,) = discover_cases(root)
    assert case.split == "testing" and not case.has(Modality.OT)
    assert not case.problems  # a testing case needs no DWI and no mask
    make_subject(root, 4)
    training = {c.case_id: c for c in training_cases(root)}
    assert list(training) == ["sub-stroke0004"]
    assert training["sub-stroke0004"].path(Modality.OT).name.endswith("_lesion-msk.nii.gz")


def _mask(case: Case) -> Path:
    return case.path(Modality.OT)


def test_duplicate_masks_follow_the_documented_rule(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    for number in (1, 2, 3):
        make_subject(root, number, mask_space=number != 3)
    later = [root / "derivatives" / f"sub-stroke000{n}" / "ses-02" for n in (1, 2, 3)]
    lesion = np.zeros(SHAPE, np.uint16)
    # 1: a stray .nii beside the .nii.gz with the same entities: the .nii.gz wins, silently
    write_volume(later[0] / "sub-stroke0001_ses-02_space-ncct_lesion-msk.nii", lesion, OBLIQUE)
    # 2: one without a space entity beside the space-ncct one: space-ncct wins, silently
    write_volume(later[1] / "sub-stroke0002_ses-02_lesion-msk.nii.gz", lesion, OBLIQUE)
    # 3: two equally ranked masks (another folder, same name): ambiguous, reported
    write_volume(later[2] / "anat" / "sub-stroke0003_ses-02_lesion-msk.nii.gz", lesion, OBLIQUE)
    first, second, third = discover_cases(root)
    assert _mask(first).name == "sub-stroke0001_ses-02_space-ncct_lesion-msk.nii.gz"
    assert _mask(second).name == "sub-stroke0002_ses-02_space-ncct_lesion-msk.nii.gz"
    assert first.problems == () and second.problems == ()
    assert third.problems == (
        "2 files for OT: derivatives/sub-stroke0003/ses-02/anat/sub-stroke0003_ses-02_lesion-msk"
        ".nii.gz, derivatives/sub-stroke0003/ses-02/sub-stroke0003_ses-02_lesion-msk.nii.gz",
    )


def test_raw_maps_are_taken_only_without_space_ncct_ones(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    make_subject(root, 5, derived_maps=False)
    (case,) = discover_cases(root)
    assert case.path(Modality.MTT) == (
        root / "rawdata/sub-stroke0005/ses-01/perfusion-maps/sub-stroke0005_ses-01_mtt.nii.gz"
    )
    assert case.path(Modality.PWI).parent == root / "rawdata/sub-stroke0005/ses-01"


def test_a_raw_dwi_is_never_the_generator_target(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    make_subject(root, 6, spelling="strokecase", dwi=False)
    (case,) = discover_cases(root)
    assert case.split == "training" and not case.has(Modality.DWI)
    expected = (
        root / "derivatives/sub-strokecase0006/ses-0002/sub-strokecase0006_ses-0002_space-ncct_dwi"
        ".nii.gz"
    )
    assert case.expected[Modality.DWI] == expected
    assert case.problems == (
        f"no DWI co-registered to the NCCT: {expected} not found "
        "(sub-strokecase0006_ses-0002_dwi.nii.gz is not in NCCT space and is not used); the "
        "stages that need MR_DWI (the GAN stages) cannot train on this case, perfusion-unet can",
    )
    assert case.missing == ()  # the DWI is optional: the case can still be predicted


def test_a_missing_map_names_the_expected_file(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    make_subject(root, 8, raw_maps=False)
    maps = root / "derivatives/sub-stroke0008/ses-01/perfusion-maps"
    (maps / "sub-stroke0008_ses-01_space-ncct_cbv.nii.gz").unlink()
    (case,) = discover_cases(root)
    assert case.missing == (Modality.CBV,)
    assert case.problems == (
        f"missing CT_CBV (expected {maps / 'sub-stroke0008_ses-01_space-ncct_cbv.nii.gz'})",
    )
    with pytest.raises(Exception, match=r"no CT_CBV volume \(.*_space-ncct_cbv\.nii\.gz not found"):
        case.path(Modality.CBV)


def test_a_file_in_another_space_or_of_another_subject_is_not_read(
    tmp_path: Path, make_subject
) -> None:
    root = tmp_path / "isles24"
    make_subject(root, 9, raw_maps=False)
    acute = root / "derivatives/sub-stroke0009/ses-01"
    (acute / "perfusion-maps/sub-stroke0009_ses-01_space-ncct_mtt.nii.gz").unlink()
    write_volume(acute / "sub-stroke0009_ses-01_space-mni_mtt.nii.gz", np.ones(SHAPE), ACQUIRED)
    write_volume(acute / "sub-stroke0010_ses-01_space-ncct_mtt.nii.gz", np.ones(SHAPE), OBLIQUE)
    (case,) = discover_cases(root)
    assert case.missing == (Modality.MTT,)


def test_numbers_and_order_for_both_naming_schemes(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    for number, spelling in ((12, "stroke"), (3, "strokecase"), (100, "stroke")):
        make_subject(root, number, spelling=spelling, gzip=False)
    make_subject(root, 1, mask=None)
    cases = discover_cases(root)
    assert [(c.case_id, c.number) for c in cases] == [
        ("sub-strokecase0003", 3),
        ("sub-stroke0012", 12),
        ("sub-stroke0100", 100),
        ("sub-stroke0001", 1),
    ]
    assert [c.split for c in cases] == ["training"] * 3 + ["testing"]
    legacy = Case("case_12", "case_12", "training", tmp_path, {})
    assert legacy.number == 12 and legacy.reference is Modality.MTT


def test_each_subject_is_its_own_patient_in_the_folds(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    for number in range(1, 5):
        make_subject(root, number)
    splits = split_cases(training_cases(root), k=2, seed=0)
    assert splits.patients == {f"sub-stroke000{n}": f"sub-stroke000{n}" for n in range(1, 5)}
    assert splits.slices == dict.fromkeys(splits.patients, SHAPE[2])
    assert sorted(c for fold in splits.folds for c in fold.val) == sorted(splits.patients)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sub-stroke0014_ses-01_space-ncct_cbf.nii.gz", ("sub-stroke0014", "ncct", "cbf", True)),
        ("sub-stroke0142_ses-02_lesion-msk.nii", ("sub-stroke0142", None, "lesion-msk", False)),
        ("sub-strokecase0001_ses-0001_ncct.nii.gz", ("sub-strokecase0001", None, "ncct", True)),
        ("sub-stroke0014_ses-01_space-NCCT_Tmax.nii", ("sub-stroke0014", "ncct", "tmax", False)),
    ],
)
def test_bids_names(name: str, expected: tuple) -> None:
    parsed = parse_bids_name(name)
    assert (parsed.subject, parsed.space, parsed.suffix, parsed.compressed) == expected


@pytest.mark.parametrize(
    "name", ["sub-stroke0014_ses-01_cbf.json", "stroke0014_cbf.nii", "sub-x_ses_cbf.nii", "x.nii"]
)
def test_not_bids_volume_names(name: str) -> None:
    assert parse_bids_name(name) is None


def test_trees_named_training_and_testing_give_the_split(tmp_path: Path, make_subject) -> None:
    make_subject(tmp_path / "TRAINING", 1)
    make_subject(tmp_path / "TRAINING", 2, mask=None)  # a training subject without its mask
    make_subject(tmp_path / "TESTING", 3, dwi=False)  # a testing subject whose mask is kept
    make_subject(tmp_path / "REFERENCE", 4)  # beside the partitions: not a data set to read
    cases = discover_cases(tmp_path)
    assert [(c.case_id, c.split) for c in cases] == [
        ("sub-stroke0001", "training"),
        ("sub-stroke0002", "training"),
        ("sub-stroke0003", "testing"),
    ]
    assert cases[0].problems == () and cases[2].problems == ()
    expected = tmp_path / "TRAINING/derivatives/sub-stroke0002/ses-02"
    assert cases[1].problems[0] == (
        f"missing OT (expected {expected / 'sub-stroke0002_ses-02_space-ncct_lesion-msk.nii.gz'})"
    )
    only = discover_cases(tmp_path / "TESTING" / "rawdata" / "sub-stroke0003")
    assert [(c.case_id, c.split) for c in only] == [("sub-stroke0003", "testing")]


def test_a_dangling_subject_link_is_reported_not_dropped(isles24: Path) -> None:
    link = isles24 / "derivatives" / "sub-stroke0009"
    link.symlink_to(isles24 / "gone")
    cases = {c.case_id: c for c in discover_cases(isles24)}
    assert sorted(cases) == ["sub-stroke0002", "sub-stroke0009", "sub-strokecase0001"]
    assert cases["sub-stroke0009"].problems == (
        f"{link}: broken symbolic link to {isles24 / 'gone'} (target not found)",
    )
    result = CliRunner().invoke(main, ["inspect", str(isles24)])
    assert result.exit_code == 1
    assert f"problem: sub-stroke0009: {link}: broken symbolic link" in result.output
