"""The classical threshold rule (rCBF < 30 % and Tmax > 6 s) on hand-drawn maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from isles2018.data.io import write_volume
from isles2018.data.layout import discover_cases
from isles2018.errors import DataError
from isles2018.inference.threshold import (
    brain_mask_from_maps,
    normal_reference,
    threshold_case,
    threshold_case_files,
    threshold_core,
)

SHAPE = (40, 30, 2)


def _maps() -> tuple[np.ndarray, np.ndarray]:
    """Brain in x 5..34 (mid-plane x = 19.5); stroke on the high-x side.

    Normal tissue: CBF 50, Tmax 2 s. Penumbra x 25..34: Tmax 8 s, CBF 25 (rCBF 0.5).
    Core x 28..31, y 10..19: CBF 10 (rCBF 0.2), Tmax 12 s.
    """
    cbf = np.zeros(SHAPE)
    tmax = np.zeros(SHAPE)
    cbf[5:35, 5:25] = 50.0
    tmax[5:35, 5:25] = 2.0
    cbf[25:35, 5:25], tmax[25:35, 5:25] = 25.0, 8.0
    cbf[28:32, 10:20], tmax[28:32, 10:20] = 10.0, 12.0
    return cbf, tmax


def test_core_is_low_relative_flow_with_late_tmax() -> None:
    cbf, tmax = _maps()
    core = threshold_core(cbf, tmax)
    expected = np.zeros(SHAPE, dtype=np.uint8)
    expected[28:32, 10:20] = 1
    np.testing.assert_array_equal(core, expected)
    assert core.dtype == np.uint8


def test_reference_is_the_contralateral_normal_tissue() -> None:
    cbf, tmax = _maps()
    cbf[5:20, 5:25] = 40.0  # contralateral half (low x)
    cbf[20:25, 5:25] = 100.0  # ipsilateral normal tissue is never the reference
    reference = normal_reference(cbf, tmax, brain_mask_from_maps(cbf, tmax))
    assert reference.cbf == 40.0 and reference.side == "low-x"
    cbf[28:30, 10:20] = 11.9  # rCBF 0.2975 < 0.30
    cbf[30:32, 10:20] = 12.1  # rCBF 0.3025
    core = threshold_core(cbf, tmax)
    assert core[28:30, 10:20].all() and not core[30:32].any()


def test_stroke_on_the_low_x_side_mirrors_the_reference() -> None:
    cbf, tmax = _maps()
    cbf, tmax = cbf[::-1].copy(), tmax[::-1].copy()
    cbf[20:35, 5:25] = 60.0  # now the contralateral half
    reference = normal_reference(cbf, tmax, brain_mask_from_maps(cbf, tmax))
    assert reference.side == "high-x" and reference.cbf == 60.0


def test_bright_vessels_do_not_move_the_median_reference() -> None:
    cbf, tmax = _maps()
    cbf[6:8, 6:24] = 900.0  # a few vessel voxels
    reference = normal_reference(cbf, tmax, brain_mask_from_maps(cbf, tmax))
    assert reference.cbf == 50.0


def test_tmax_must_exceed_the_threshold_strictly() -> None:
    cbf, tmax = _maps()
    tmax[28:32, 10:20] = 6.0
    assert not threshold_core(cbf, tmax).any()
    assert threshold_core(cbf, tmax, tmax_threshold_s=5.9)[28:32, 10:20].all()


def test_small_contralateral_reference_falls_back_to_all_normal_tissue() -> None:
    cbf, tmax = _maps()
    reference = normal_reference(
        cbf, tmax, brain_mask_from_maps(cbf, tmax), min_reference_voxels=10_000
    )
    assert reference.side == "whole brain"


def test_maps_without_brain_give_an_empty_core_and_mismatched_shapes_fail() -> None:
    assert not threshold_core(np.zeros(SHAPE), np.zeros(SHAPE)).any()
    nan = np.full(SHAPE, np.nan)
    assert not threshold_core(nan, nan).any()
    with pytest.raises(ValueError, match="differ in shape"):
        threshold_core(np.zeros(SHAPE), np.zeros((40, 30, 3)))


def test_case_helpers_read_the_maps_from_files(tmp_path: Path, make_case) -> None:
    cbf, tmax = _maps()
    folder = make_case(tmp_path / "TRAINING", 1, shape=SHAPE)
    for token, array in (("CT_CBF", cbf.astype(np.uint16)), ("CT_Tmax", tmax)):
        path = next(folder.rglob(f"SMIR.Brain.XX.O.{token}.*.nii"))
        write_volume(path, array, np.eye(4))
    case = discover_cases(tmp_path)[0]
    core = threshold_case(case)
    assert core.shape == SHAPE and core[28:32, 10:20].all() and core.sum() == 80
    cbf_path = next(folder.rglob("SMIR.Brain.XX.O.CT_CBF.*.nii"))
    with pytest.raises(DataError):
        threshold_case_files(cbf_path, tmp_path / "missing.nii")
