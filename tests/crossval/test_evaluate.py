"""``isles2018 crossval``: per-fold predictions with each fold's own checkpoint, scores, Table 1."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result

from isles2018.cli import main
from isles2018.config import load_config
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.data.normalise import compute_stats
from isles2018.data.splits import Splits, split_cases
from isles2018.data.stack import load_case_arrays
from isles2018.errors import CheckpointError
from isles2018.inference.checkpoint import save_checkpoint
from isles2018.inference.ensemble import load_members, predict_arrays
from isles2018.models import build_models

CPU = torch.device("cpu")


def _checkpoint(folder: Path, arrays: list, fold: int, config: str = "ci") -> Path:
    """A random-weight checkpoint (seeded by fold) whose sidecar records a validation Dice."""
    torch.manual_seed(fold)
    cfg = load_config(config)
    stats = compute_stats(arrays, cfg.pipeline.inputs, with_dwi=cfg.pipeline.adversarial)
    scores = {"val_dice": 0.25 + 0.5 * fold}
    save_checkpoint(folder, build_models(cfg), cfg, stats, fold=fold, epoch=1, scores=scores)
    return folder


def _run(folder: Path, training: Path, folds: tuple[int, ...] = (0, 1), config: str = "ci") -> Path:
    """A two-fold run: ``splits.json`` and a checkpoint for each fold in ``folds``."""
    cases = discover_cases(training)
    split_cases(cases, k=2, seed=0).save(folder / "splits.json")
    arrays = [load_case_arrays(c) for c in cases]
    for fold in folds:
        _checkpoint(folder / f"fold_{fold}", arrays, fold, config)
    return folder


def _crossval(run: Path, training: Path, *extra: str) -> Result:
    args = ["crossval", str(run), "--data", str(training), "--device", "cpu", "--workers", "1"]
    return CliRunner().invoke(main, [*args, *extra])


def _per_case(run: Path) -> list[dict[str, str]]:
    with open(run / "crossval" / "eval" / "per_case.csv", newline="") as stream:
        return list(csv.DictReader(stream))


def _mask(run: Path, case) -> np.ndarray:
    path = run / "crossval" / "predictions" / f"SMIR.GANSeg.{case.smir_id(Modality.MTT)}.nii"
    return np.asanyarray(nib.load(path).dataobj)


def test_each_fold_predicted_by_its_own_checkpoint_and_scored(
    tmp_path: Path, isles_training: Path
) -> None:
    run = _run(tmp_path / "run", isles_training)
    result = _crossval(run, isles_training)
    assert result.exit_code == 0, result.output
    assert "| fold 0 |" in result.output and "| fold 1 |" in result.output
    assert "4 case(s) predicted, 0 reused" in result.output
    for name in ("per_case.csv", "summary.json", "summary.md", "report.html"):
        assert (run / "crossval" / "eval" / name).is_file(), name
    splits = Splits.load(run / "splits.json")
    rows = {r["case_id"]: r for r in _per_case(run)}
    assert set(rows) == {"case_1", "case_2", "case_3", "case_10"}
    members = [load_members([run / f"fold_{k}"], CPU)[0] for k in (0, 1)]
    differs = False
    for case in discover_cases(isles_training):
        fold = splits.fold_of(case.case_id)
        row = rows[case.case_id]
        assert (int(row["fold"]), row["status"]) == (fold, "ok")
        assert "CT_MTT" in row["background_path"]  # overlays drawn on the case's CT_MTT
        arrays = load_case_arrays(case, with_label=False)
        own, other = (
            predict_arrays([members[k]], arrays, device=CPU, channels_last=True).mask
            for k in (fold, 1 - fold)
        )
        np.testing.assert_array_equal(_mask(run, case), own)
        differs |= not np.array_equal(own, other)
    assert differs  # the two folds' nets disagree, so the check above can tell them apart
    summary = json.loads((run / "crossval" / "eval" / "summary.json").read_text())
    assert summary["crossval"]["checkpoint_val_dice"] == {"0": 0.25, "1": 0.75}
    assert "<img" in (run / "crossval" / "eval" / "report.html").read_text()

    predictions = sorted((run / "crossval" / "predictions").glob("*.nii"))
    stamps = [p.stat().st_mtime_ns for p in predictions]
    again = _crossval(run, isles_training)
    assert again.exit_code == 0 and "0 case(s) predicted, 4 reused" in again.output
    assert [p.stat().st_mtime_ns for p in predictions] == stamps
    future = predictions[0].stat().st_mtime + 10  # fold 1 retrained after the predictions
    os.utime(run / "fold_1" / "checkpoint.json", (future, future))
    n_fold_1 = len(splits.folds[1].val)
    third = _crossval(run, isles_training)
    assert f"{n_fold_1} case(s) predicted, {4 - n_fold_1} reused" in third.output
    with_tta = _crossval(run, isles_training, "--tta")
    assert "4 case(s) predicted, 0 reused" in with_tta.output  # other settings: predict again


def test_missing_fold_listed_and_not_scored(tmp_path: Path, isles_training: Path) -> None:
    run = _run(tmp_path / "run", isles_training, folds=(0,))
    result = _crossval(run, isles_training)
    assert result.exit_code == 0, result.output
    assert "1 of 2 folds scored" in result.output
    assert "Missing folds (no checkpoint, cases not scored): 1." in result.output
    fold_0 = Splits.load(run / "splits.json").folds[0].val
    assert sorted(r["case_id"] for r in _per_case(run)) == sorted(fold_0)
    summary = json.loads((run / "crossval" / "eval" / "summary.json").read_text())
    assert summary["crossval"]["missing_folds"] == [1]


def test_run_without_checkpoints_is_one_line_error(tmp_path: Path, isles_training: Path) -> None:
    run = _run(tmp_path / "run", isles_training, folds=())
    result = _crossval(run, isles_training)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {run}: no fold_<k>/checkpoint.json for any of the 2 folds"
    ]
    (tmp_path / "empty").mkdir()
    nothing = _crossval(tmp_path / "empty", isles_training)
    assert nothing.exit_code == 1 and "no splits.json" in nothing.output
    assert len(nothing.output.strip().splitlines()) == 1


def test_broken_case_fails_after_the_others_are_scored(
    tmp_path: Path, isles_training: Path
) -> None:
    run = _run(tmp_path / "run", isles_training)
    broken = discover_cases(isles_training)[1]
    broken.path(Modality.CBF).write_bytes(b"not a nifti file")
    result = _crossval(run, isles_training)
    assert result.exit_code == 1
    assert f"1 case(s) failed, counted as Dice 0 ({broken.case_id})" in result.output
    rows = {r["case_id"]: r for r in _per_case(run)}
    assert rows[broken.case_id]["status"] == "error"
    assert "not predicted" in rows[broken.case_id]["error"]
    assert float(rows[broken.case_id]["dice"]) == 0.0
    assert [r["status"] for c, r in rows.items() if c != broken.case_id] == ["ok"] * 3


def test_ablation_folder_gives_table_1(tmp_path: Path, isles_training: Path) -> None:
    ablation = tmp_path / "ablation"
    _run(ablation / "perfusion-unet", isles_training, config="perfusion-unet+ci")
    _run(ablation / "gan-gn-maxout", isles_training, folds=(1,), config="gan-gn-maxout+ci")
    _run(ablation / "dwi-unet", isles_training, folds=(0,), config="dwi-unet+ci")
    result = _crossval(ablation, isles_training)
    assert result.exit_code == 0, result.output
    table = (ablation / "crossval" / "table1.md").read_text()
    assert table in result.output
    rows = {line.split("|")[1].strip(): line.split("|")[2:6] for line in table.splitlines()[2:6]}
    cells = {stage: [c.strip() for c in row] for stage, row in rows.items()}
    assert cells["perfusion-unet"][0] == "2/2" and cells["perfusion-unet"][2:] == [
        "0.5000",
        "0.5463",
    ]
    assert cells["gan-gn-maxout"][0] == "1/2" and cells["gan-gn-maxout"][2:] == ["0.7500", "0.6065"]
    assert cells["dwi-unet"][0] == "1/2" and cells["dwi-unet"][3] == "0.8473"  # reads MR_DWI
    assert cells["gan"] == ["0", "–", "–", "0.5829"]
    for stage in ("perfusion-unet", "gan-gn-maxout", "dwi-unet"):
        summary = json.loads((ablation / stage / "crossval" / "eval" / "summary.json").read_text())
        mean = np.mean([g["metrics"]["dice"]["mean"] for g in summary["folds"].values()])
        assert f"| {stage} |" in table and f"{mean:.4f}" == cells[stage][1]
    assert "- gan-gn-maxout: no checkpoint for fold(s) 0" in table
    assert "- gan: not run" in table
    # per-fold values and paired bootstrap intervals over the cases both stages scored
    fold_rows = [line for line in table.splitlines() if line.startswith("| perfusion-unet | 0.")]
    assert len(fold_rows) == 1 and len(fold_rows[0].split("|")) == 2 + 2 + 2
    shared = len(_per_case(ablation / "gan-gn-maxout"))
    difference = [
        line.split("|") for line in table.splitlines() if "gan-gn-maxout − perfusion-unet" in line
    ]
    assert len(difference) == 1 and int(difference[0][2]) == shared
    low, high = (float(x) for x in difference[0][4].strip(" []").split(","))
    assert low <= float(difference[0][3]) <= high
    assert not any("− gan |" in line for line in table.splitlines())  # gan was not run


def test_predict_arrays_reads_dwi_only_when_allowed(tmp_path: Path, isles_training: Path) -> None:
    case = discover_cases(isles_training)[0]
    arrays = load_case_arrays(case)
    folder = _checkpoint(tmp_path / "dwi", [arrays], 0, "dwi-unet+ci")
    member = load_members([folder], CPU)[0]
    with pytest.raises(CheckpointError, match="reads MR_DWI"):
        predict_arrays([member], arrays, device=CPU)
    prediction = predict_arrays([member], arrays, device=CPU, allow_dwi=True)
    assert prediction.mask.shape == (16, 12, 2)
    without = load_case_arrays(case, with_dwi=False)
    with pytest.raises(ValueError, match="MR_DWI requested but not loaded"):
        predict_arrays([member], without, device=CPU, allow_dwi=True)
