from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.data.io import read_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.data.stack import load_case_arrays
from isles2018.errors import CheckpointError
from isles2018.inference.ensemble import find_checkpoints, load_members, predict_arrays


def test_find_checkpoints(run: Path) -> None:
    assert find_checkpoints([run]) == [run / "fold_0", run / "fold_1"]
    assert find_checkpoints([run / "fold_1" / "checkpoint.json"]) == [run / "fold_1"]


def test_ensemble_averages_probabilities(run: Path, testing: Path) -> None:
    members = load_members([run], torch.device("cpu"))
    arrays = load_case_arrays(discover_cases(testing)[0], with_dwi=False, with_label=False)
    both = predict_arrays(members, arrays, device=torch.device("cpu"))
    single = [predict_arrays([m], arrays, device=torch.device("cpu")) for m in members]
    np.testing.assert_allclose(
        both.probability, (single[0].probability + single[1].probability) / 2, atol=1e-6
    )
    assert both.probability.shape == (16, 12, 2)
    np.testing.assert_array_equal(both.mask, (both.probability >= 0.5).astype(np.uint8))
    assert both.dwi is not None and both.dwi.shape == (16, 12, 2)


def test_tta_is_flip_equivariant(run: Path, testing: Path) -> None:
    members = load_members([run / "fold_0"], torch.device("cpu"))
    arrays = load_case_arrays(discover_cases(testing)[0], with_dwi=False, with_label=False)
    mirrored = replace(arrays, inputs=np.ascontiguousarray(arrays.inputs[:, :, ::-1]))
    cpu = torch.device("cpu")
    with_tta = predict_arrays(members, arrays, device=cpu, tta=True).probability
    with_tta_mirrored = predict_arrays(members, mirrored, device=cpu, tta=True).probability
    np.testing.assert_allclose(with_tta_mirrored, with_tta[::-1], atol=1e-5)
    plain = predict_arrays(members, arrays, device=cpu).probability
    plain_mirrored = predict_arrays(members, mirrored, device=cpu).probability
    assert np.abs(plain_mirrored - plain[::-1]).max() > 1e-4  # an untrained net is not symmetric


def test_bf16_close_to_fp32(run: Path, testing: Path) -> None:
    members = load_members([run], torch.device("cpu"))
    arrays = load_case_arrays(discover_cases(testing)[1], with_dwi=False, with_label=False)
    fp32 = predict_arrays(members, arrays, device=torch.device("cpu"))
    bf16 = predict_arrays(members, arrays, device=torch.device("cpu"), amp=torch.bfloat16)
    assert np.abs(fp32.probability - bf16.probability).max() < 0.05


def test_predict_command_writes_challenge_files(run: Path, testing: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred"
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(testing),
            "--weights",
            str(run),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--save-dwi",
            "--save-probabilities",
            "--tta",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ensemble of 2 checkpoint(s)" in result.output
    for case in discover_cases(testing):
        smir_id = case.smir_id(Modality.MTT)
        mask = out / f"SMIR.GANSeg.{smir_id}.nii"
        reference = nib.load(case.path(Modality.MTT))
        written = nib.load(mask)
        np.testing.assert_array_equal(written.affine, reference.affine)
        assert written.get_data_dtype() == np.uint8
        assert (out / f"SMIR.GANSeg.{smir_id}.dwi.nii.gz").is_file()
        probability = read_volume(out / f"SMIR.GANSeg.{smir_id}.probability.nii.gz").array
        np.testing.assert_array_equal(
            np.asanyarray(written.dataobj), (probability >= 0.5).astype(np.uint8)
        )
    valid = CliRunner().invoke(main, ["validate-submission", str(out), "--data", str(testing)])
    assert valid.exit_code == 1  # the extra probability/DWI files are not part of a submission


def test_precision_auto_on_cpu_writes_what_fp32_writes(
    run: Path, testing: Path, tmp_path: Path
) -> None:
    outputs = {}
    for precision in ("fp32", "auto"):
        out = tmp_path / precision
        args = ["predict", str(testing), "--weights", str(run), "--out", str(out)]
        result = CliRunner().invoke(main, [*args, "--device", "cpu", "--precision", precision])
        assert result.exit_code == 0, result.output
        outputs[precision] = {p.name: p.read_bytes() for p in sorted(out.glob("*.nii"))}
    assert outputs["auto"] == outputs["fp32"] and outputs["fp32"]


def test_broken_case_is_skipped_others_written(run: Path, testing: Path, tmp_path: Path) -> None:
    cases = discover_cases(testing)
    tmax = cases[1].path(Modality.TMAX)
    tmax.write_bytes(tmax.read_bytes()[:300])
    out = tmp_path / "pred"
    result = CliRunner().invoke(
        main,
        [
            "predict",
            str(testing),
            "--weights",
            str(run),
            "--out",
            str(out),
            "--method-name",
            "Team1",
            "--device",
            "cpu",
        ],
    )
    assert result.exit_code == 1
    assert "error: " in result.output and "CT_Tmax" in result.output
    assert "1 case(s) failed: case_2" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"SMIR.Team1.{c.smir_id(Modality.MTT)}.nii" for c in (cases[0], cases[2])
    )


def test_threshold_method_needs_no_weights(testing: Path, tmp_path: Path) -> None:
    out = tmp_path / "thr"
    result = CliRunner().invoke(
        main, ["predict", str(testing), "--method", "threshold", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("SMIR.Threshold.*.nii"))) == 3
    valid = CliRunner().invoke(main, ["validate-submission", str(out), "--data", str(testing)])
    assert valid.exit_code == 0, valid.output


def test_gan_without_weights_or_with_bad_weights(testing: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["predict", str(testing), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "--weights is required" in result.output
    result = CliRunner().invoke(
        main, ["predict", str(testing), "--weights", str(tmp_path), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "no checkpoint.json found" in result.output


def test_tampered_checkpoint_is_refused(run: Path, testing: Path, tmp_path: Path) -> None:
    weights = run / "fold_0" / "checkpoint.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    result = CliRunner().invoke(
        main, ["predict", str(testing), "--weights", str(run), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 1 and "sha256 mismatch" in result.output
    assert not (tmp_path / "o").exists()


def test_checkpoint_files_name_their_folder(run: Path, tmp_path: Path) -> None:
    fold = run / "fold_0"
    assert find_checkpoints([fold / "checkpoint.safetensors"]) == [fold]
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(CheckpointError, match=r"notes\.txt: a file, but not checkpoint\.json"):
        find_checkpoints([other])
    with pytest.raises(CheckpointError, match="no such checkpoint file or folder"):
        find_checkpoints([tmp_path / "absent"])


def test_a_run_missing_a_fold_is_refused_not_a_smaller_ensemble(run: Path) -> None:
    from isles2018.data.splits import make_splits

    patients = {f"case_{n}": f"p{n}" for n in range(1, 5)}
    make_splits(patients, dict.fromkeys(patients, 2), k=3).save(run / "splits.json")
    with pytest.raises(CheckpointError, match=r"run: no checkpoint for fold\(s\) 2 of its splits"):
        find_checkpoints([run])
    assert find_checkpoints([run / "fold_0", run / "fold_1"]) == [run / "fold_0", run / "fold_1"]


def test_a_wrong_type_in_a_sidecar_names_the_file(run: Path) -> None:
    sidecar = run / "fold_1" / "checkpoint.json"
    meta = json.loads(sidecar.read_text())
    meta["config"]["optim"]["epochs"] = "many"
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match=r"fold_1/checkpoint\.json: optim\.epochs"):
        load_members([run / "fold_1"], torch.device("cpu"))
