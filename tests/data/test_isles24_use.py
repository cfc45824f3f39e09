"""ISLES'24 cases in use: ``inspect``, grids against the NCCT, stacking, and the DWI preflight."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from isles24_tree import OBLIQUE, SHAPE

from isles2018.cli import main
from isles2018.config import load_config, with_overrides
from isles2018.data.grid import check_grids
from isles2018.data.io import read_volume, write_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import INPUT_CHANNELS, Modality
from isles2018.data.stack import load_case_arrays, pwi_max, to_slices
from isles2018.errors import DataError, TrainingError
from isles2018.training.run import train_run


def _inspect(root: Path):
    return CliRunner().invoke(main, ["inspect", str(root)], catch_exceptions=False)


def test_inspect_a_clean_tree(isles24: Path) -> None:
    result = _inspect(isles24)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "case", "split", "patient", "slices", "frames", "spacing_mm", "modalities"
    ]  # fmt: skip
    tokens = "CT,CT_4DPWI,CT_CBF,CT_CBV,CT_MTT,CT_Tmax,MR_DWI,OT"
    for line, subject in zip(lines[1:3], ("sub-strokecase0001", "sub-stroke0002"), strict=True):
        assert line.split() == [subject, "training", subject, "4", "6", "0.4x0.4x2", tokens]
    assert lines[-1] == "2 case(s), 2 patient(s), 8 slice(s); 0 case(s) with problems"


def test_inspect_reports_isles24_problems_one_line_each(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    make_subject(root, 1)  # clean
    make_subject(root, 2, spelling="strokecase", dwi=False)  # GAN stages cannot train on it
    make_subject(root, 3, derived_maps=False)  # raw maps and raw CTP only
    make_subject(root, 4, mask="float64", gzip=False)
    make_subject(root, 5, mask=None, dwi=False)  # a testing case needs no DWI
    raw = root / "rawdata/sub-stroke0003/ses-01"
    cbv = raw / "perfusion-maps/sub-stroke0003_ses-01_cbv.nii.gz"
    shifted = OBLIQUE.copy()
    shifted[:3, 3] += (0.0, 3.0, 4.0)
    write_volume(cbv, read_volume(cbv).array, shifted)  # same shape, 5 mm away
    mask = (
        root / "derivatives/sub-stroke0004/ses-02/sub-stroke0004_ses-02_space-ncct_lesion-msk.nii"
    )
    values = read_volume(mask).array.copy()
    values[0, 0, 0] = 0.5
    write_volume(mask, values, OBLIQUE)
    result = _inspect(root)
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    dwi = (
        root / "derivatives/sub-strokecase0002/ses-0002/sub-strokecase0002_ses-0002_space-ncct_dwi"
    )
    assert problems == [
        f"problem: sub-strokecase0002: no DWI co-registered to the NCCT: {dwi}.nii.gz not found "
        "(sub-strokecase0002_ses-0002_dwi.nii.gz is not in NCCT space and is not used); the "
        "stages that need MR_DWI (the GAN stages) cannot train on this case, perfusion-unet can",
        f"problem: sub-stroke0003: {raw / 'sub-stroke0003_ses-01_ctp.nii.gz'}: not on the grid "
        "of sub-stroke0003_ses-01_ncct.nii.gz: spacing (1.8, 1.8, 5.0) mm != (0.4, 0.4, 2.0) mm; "
        "origin shifted by 194 mm",
        f"problem: sub-stroke0003: {cbv}: not on the grid of sub-stroke0003_ses-01_ncct.nii.gz: "
        "origin shifted by 5 mm",
        f"problem: sub-stroke0004: {mask}: ground truth is not binary {{0, 1}}",
    ]
    assert result.stdout.splitlines()[-1] == (
        "5 case(s), 5 patient(s), 20 slice(s); 3 case(s) with problems"
    )
    assert "Traceback" not in result.output


def test_grids_are_checked_against_the_ncct_by_affine(isles24: Path) -> None:
    case = discover_cases(isles24)[0]
    check_grids(case, Modality)  # every volume on the oblique NCCT grid
    mtt = case.path(Modality.MTT)
    turned = OBLIQUE.copy()
    turned[:3, :3] = OBLIQUE[:3, :3] @ np.diag([1.0, -1.0, 1.0])  # same spacing, y flipped
    turned[:3, 3] = OBLIQUE[:3, 3]
    write_volume(mtt, read_volume(mtt).array, turned)
    ncct = case.path(Modality.CT).name
    with pytest.raises(DataError, match=rf"_mtt\.nii\.gz: not on the grid of {ncct}: axis direct"):
        check_grids(case, (Modality.MTT,))
    with pytest.raises(DataError, match=r"_mtt\.nii\.gz: not on the grid of .*_ncct"):
        load_case_arrays(case)  # stacking refuses it too: same shape is not the same grid


def test_stacking_an_isles24_case_resamples_it_to_the_network_grid(isles24: Path) -> None:
    for case in discover_cases(isles24):  # uint16 mask / float64 mask; 4D / 5D CTP
        arrays = load_case_arrays(case, resample_spacing_mm=1.5)
        geometry = arrays.geometry
        assert geometry is not None and geometry.source_shape == SHAPE
        assert arrays.inputs.shape == (SHAPE[2], len(INPUT_CHANNELS), 256, 256)
        expected_pwi = read_volume(case.path(Modality.PWI), ndim=4).array.max(axis=3)
        np.testing.assert_array_equal(pwi_max(case, SHAPE), expected_pwi)
        pwi = geometry.slices_to_network(to_slices(expected_pwi).astype(np.float32))
        np.testing.assert_array_equal(arrays.inputs[:, 4], pwi)
        lesion = read_volume(case.path(Modality.OT)).array
        assert arrays.label.dtype == np.uint8
        np.testing.assert_array_equal(arrays.label, geometry.mask_to_network(lesion))
        dwi = to_slices(read_volume(case.path(Modality.DWI)).array).astype(np.float32)
        np.testing.assert_array_equal(arrays.dwi, geometry.slices_to_network(dwi))
        back = arrays.to_volume(arrays.label.astype(np.float32)) >= 0.5  # onto the NCCT grid
        assert back.shape == SHAPE and back.sum() > 0
        np.testing.assert_allclose(arrays.affine, OBLIQUE, atol=1e-6)  # sform is float32


def test_pwi_max_is_unchanged_on_isles2018_cases(tmp_path: Path, make_case) -> None:
    folders = [make_case(tmp_path / "TRAINING", 1), make_case(tmp_path / "TRAINING", 2)]
    make_case(tmp_path / "other", 3, gzip=True, five_d=True).rename(tmp_path / "TRAINING/case_3")
    cases = discover_cases(tmp_path / "TRAINING")
    assert [c.folder for c in cases[:2]] == folders
    for case in cases:
        before = read_volume(case.path(Modality.PWI), ndim=4).array.max(axis=3)  # the old way
        after = pwi_max(case, before.shape)
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after, before)


def test_a_gan_stage_is_refused_on_a_dwi_less_isles24_case(tmp_path: Path, make_subject) -> None:
    root = tmp_path / "isles24"
    for number in (1, 2, 3):
        make_subject(root, number, dwi=number != 2)
    expected = (
        root / "derivatives/sub-stroke0002/ses-02/sub-stroke0002_ses-02_space-ncct_dwi.nii.gz"
    )
    config = with_overrides(load_config("gan"), runtime={"folds": 2, "device": "cpu"})
    with pytest.raises(TrainingError) as refused:
        train_run(root, tmp_path / "run", config, device=torch.device("cpu"))
    message = str(refused.value)
    assert message == (
        "config 'gan' needs MR_DWI, but 1 of 3 training cases have none (sub-stroke0002 has no "
        f"follow-up DWI co-registered to the NCCT: {expected} not found); stages that train "
        "without it: perfusion-unet"
    )
    assert not (tmp_path / "run").exists()
