"""The classical threshold rule (rCBF < 30 % and Tmax > 6 s, or > 3 s) on hand-drawn maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.data.io import read_mask, write_like, write_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import REQUIRED
from isles2018.errors import ConfigError, DataError
from isles2018.inference.commands import THRESHOLD_RULES
from isles2018.inference.predictor import Predictor
from isles2018.inference.threshold import (
    RULES,
    brain_mask_from_maps,
    normal_reference,
    threshold_case,
    threshold_case_files,
    threshold_core,
    threshold_rule,
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


def _write_maps(folder: Path, cbf: np.ndarray, tmax: np.ndarray) -> None:
    """Replace a case's CBF and Tmax maps, on its CT_MTT's grid."""
    mtt = next(folder.rglob("SMIR.Brain.XX.O.CT_MTT.*.nii"))
    for token, array in (("CT_CBF", cbf), ("CT_Tmax", tmax)):
        write_like(next(folder.rglob(f"SMIR.Brain.XX.O.{token}.*.nii")), array, mtt)


def _slow_but_not_late_maps() -> tuple[np.ndarray, np.ndarray]:
    """The maps of :func:`_maps` plus x 25..27, y 10..19: CBF 10 (rCBF 0.2) and Tmax 4 s.

    tmax6 finds the core of :func:`_maps` (4 × 10 × 2 = 80 voxels); delay3 adds the new block
    (3 × 10 × 2 = 60 voxels).
    """
    cbf, tmax = _maps()
    cbf[25:28, 10:20], tmax[25:28, 10:20] = 10.0, 4.0
    return cbf, tmax


@pytest.fixture
def slow_testing(tmp_path: Path, make_case) -> Path:
    """A TESTING folder of three cases whose maps are :func:`_slow_but_not_late_maps`."""
    root = tmp_path / "TESTING"
    for number in (1, 2, 3):
        _write_maps(
            make_case(root, number, shape=SHAPE, modalities=REQUIRED), *_slow_but_not_late_maps()
        )
    return root


def _settings(name: str) -> dict[str, float]:
    rule = threshold_rule(name)
    return {"rcbf_threshold": rule.rcbf_threshold, "tmax_threshold_s": rule.tmax_threshold_s}


def test_the_papers_delay3_rule_takes_tmax_above_3_s() -> None:
    cbf, tmax = _slow_but_not_late_maps()
    tmax6 = threshold_core(cbf, tmax)
    delay3 = threshold_core(cbf, tmax, **_settings("delay3"))
    assert tmax6.sum() == 80 and not tmax6[25:28].any()
    assert delay3.sum() == 140 and delay3[25:28, 10:20].all() and delay3[28:32, 10:20].all()


def test_rules_name_their_thresholds_and_sources() -> None:
    assert tuple(RULES) == THRESHOLD_RULES == ("tmax6", "delay3")  # the CLI offers every rule
    assert (RULES["tmax6"].rcbf_threshold, RULES["tmax6"].tmax_threshold_s) == (0.30, 6.0)
    assert (RULES["delay3"].rcbf_threshold, RULES["delay3"].tmax_threshold_s) == (0.30, 3.0)
    assert "not the paper's" in RULES["tmax6"].source
    assert "the paper, §1" in RULES["delay3"].source and "delay time" in RULES["delay3"].source
    with pytest.raises(ConfigError, match="threshold rule must be one of tmax6, delay3, got 'x'"):
        threshold_rule("x")


def test_case_helpers_apply_the_chosen_rule(slow_testing: Path) -> None:
    case = discover_cases(slow_testing)[0]
    assert threshold_case(case).sum() == 80
    assert threshold_case(case, rule="delay3").sum() == 140
    cbf_path = next(case.folder.rglob("SMIR.Brain.XX.O.CT_CBF.*.nii"))
    tmax_path = next(case.folder.rglob("SMIR.Brain.XX.O.CT_Tmax.*.nii"))
    assert threshold_case_files(cbf_path, tmax_path, rule="delay3").sum() == 140
    with pytest.raises(ConfigError, match="'tmax3'"):
        threshold_case(case, rule="tmax3")


def test_predictor_threshold_rule(slow_testing: Path) -> None:
    case = discover_cases(slow_testing)[0]
    assert Predictor.threshold().predict_case(case).mask.sum() == 80
    assert Predictor.threshold(rule="tmax6").predict_case(case).mask.sum() == 80
    assert Predictor.threshold(rule="delay3").predict_case(case).mask.sum() == 140
    with pytest.raises(ConfigError, match="'tmax3'"):
        Predictor.threshold(rule="tmax3")


@pytest.mark.parametrize(("token", "bad"), [("CT_CBF", np.nan), ("CT_Tmax", np.inf)])
def test_maps_with_nan_or_inf_are_refused_in_one_line_naming_the_file(
    slow_testing: Path, tmp_path: Path, token: str, bad: float
) -> None:
    cbf, tmax = _maps()
    maps = {"CT_CBF": cbf, "CT_Tmax": tmax}
    maps[token][3:5, 3, 0] = bad
    folder = slow_testing / "case_2"
    _write_maps(folder, maps["CT_CBF"], maps["CT_Tmax"])
    name = next(folder.rglob(f"SMIR.Brain.XX.O.{token}.*.nii")).name
    case = discover_cases(slow_testing)[1]
    with pytest.raises(DataError, match=rf"case_2: {name} has 2 NaN/inf value"):
        threshold_case(case)
    report = Predictor.threshold().predict_folder(slow_testing, tmp_path / "out", progress=False)
    assert list(report.written) == ["case_1", "case_3"]
    assert name in report.failed["case_2"] and "\n" not in report.failed["case_2"]


def test_a_map_on_another_grid_than_ct_mtt_is_refused(tmp_path: Path, make_case) -> None:
    folder = make_case(tmp_path / "TRAINING", 1, shape=SHAPE)
    cbf = _maps()[0]
    write_volume(next(folder.rglob("SMIR.Brain.XX.O.CT_CBF.*.nii")), cbf[:, :20], np.eye(4))
    with pytest.raises(
        DataError, match=r"CT_CBF.*has shape \(40, 20, 2\), CT_MTT has \(40, 30, 2\)"
    ):
        threshold_case(discover_cases(tmp_path)[0])


def test_predict_command_rule_option(slow_testing: Path, tmp_path: Path) -> None:
    out = tmp_path / "delay3"
    args = ["predict", str(slow_testing), "--out", str(out), "--method", "threshold"]
    result = CliRunner().invoke(main, [*args, "--rule", "delay3"])
    assert result.exit_code == 0, result.output
    masks = [read_mask(path) for path in sorted(out.glob("SMIR.Threshold.*.nii"))]
    assert len(masks) == 3 and all(mask.sum() == 140 for mask in masks)
    wrong = ["predict", str(slow_testing), "--out", str(out), "--rule", "delay3"]
    result = CliRunner().invoke(main, wrong)
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --rule applies to --method threshold only"
