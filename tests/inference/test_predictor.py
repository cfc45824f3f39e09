"""``Predictor``: the one Python home of prediction (ensembles, threshold, folders, failures)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from isles2018.data.io import read_mask, read_volume, write_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.data.stack import load_case_arrays
from isles2018.errors import CheckpointError, ConfigError, DataError, OutputError
from isles2018.inference import FolderReport, Predictor
from isles2018.inference.ensemble import load_members, predict_arrays


def test_import_is_lazy_and_public() -> None:
    code = (
        "import sys\n"
        "import isles2018.inference as inference\n"
        "assert 'torch' not in sys.modules\n"
        "from isles2018.inference import Predictor\n"
        "print(Predictor.__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "isles2018.inference.predictor"


def test_predict_case_equals_the_ensemble_of_its_checkpoints(run: Path, testing: Path) -> None:
    predictor = Predictor.from_checkpoints([run], device="cpu")
    assert len(predictor.members) == 2 and predictor.method_name == "GANSeg"
    case = discover_cases(testing)[0]
    prediction = predictor.predict_case(case)
    members = load_members([run], torch.device("cpu"))
    arrays = load_case_arrays(case, with_dwi=False, with_label=False)
    expected = predict_arrays(members, arrays, device=torch.device("cpu"))
    np.testing.assert_allclose(prediction.probability, expected.probability, atol=1e-6)
    assert prediction.mask.shape == (16, 12, 2) and prediction.dwi is not None


def test_predict_folder_writes_every_case_and_reports(run: Path, testing: Path, tmp_path) -> None:
    out = tmp_path / "out"
    report = Predictor.from_checkpoints([run], device="cpu").predict_folder(
        testing, out, save_probabilities=True, progress=False
    )
    assert isinstance(report, FolderReport) and report.failed == {}
    assert list(report.written) == ["case_1", "case_2", "case_3"]
    for case in discover_cases(testing):
        path = report.written[case.case_id]
        assert path == out / f"SMIR.GANSeg.{case.smir_id(Modality.MTT)}.nii"
        assert set(np.unique(read_mask(path))) <= {0, 1}
    assert len(list(out.glob("*.probability.nii.gz"))) == 3
    assert report.summary(out).startswith(f"wrote 3 prediction(s) to {out} in ")


def test_a_bad_case_is_reported_in_one_line_and_the_others_are_written(
    testing: Path, tmp_path: Path
) -> None:
    cbf = next((testing / "case_2").rglob("*CT_CBF*.nii"))
    shutil.rmtree(cbf.parent)
    report = Predictor.threshold().predict_folder(testing, tmp_path / "o", progress=False)
    assert list(report.written) == ["case_1", "case_3"]
    assert list(report.failed) == ["case_2"]
    reason = report.failed["case_2"]
    assert "missing CT_CBF" in reason and "\n" not in reason
    assert "1 case(s) failed: case_2" in report.summary(tmp_path / "o")
    assert sorted(p.name.split(".")[1] for p in (tmp_path / "o").iterdir()) == ["Threshold"] * 2


def test_an_unexpected_exception_is_a_bug_not_a_failed_case(
    testing: Path, tmp_path: Path, monkeypatch
) -> None:
    def broken(case):  # e.g. a numpy bug deep in the threshold rule
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr("isles2018.inference.threshold.threshold_case", broken)
    with pytest.raises(ValueError, match="broadcast"):
        Predictor.threshold().predict_folder(testing, tmp_path / "o", progress=False)


def test_predict_case_refuses_a_case_missing_a_map(testing: Path) -> None:
    case = discover_cases(testing)[0]
    next((testing / "case_1").rglob("*CT_Tmax*.nii")).unlink()
    with pytest.raises(DataError, match="missing CT_Tmax"):
        Predictor.threshold().predict_case(discover_cases(testing)[0])
    assert case.case_id == "case_1"


@pytest.mark.parametrize("batch_size", [0, -1])
def test_batch_size_below_one_is_refused(run: Path, batch_size: int) -> None:
    with pytest.raises(ConfigError, match="batch size must be at least 1"):
        Predictor.from_checkpoints([run], device="cpu", batch_size=batch_size)


def test_bad_options_are_user_errors(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="precision"):
        Predictor.from_checkpoints([run], device="cpu", precision="fp8")
    with pytest.raises(ConfigError, match="device"):
        Predictor.from_checkpoints([run], device="tpu")
    with pytest.raises(ConfigError, match="no checkpoint given"):
        Predictor.from_checkpoints([], device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match=r"empty: no checkpoint\.json"):
        Predictor.from_checkpoints([tmp_path / "empty"], device="cpu")


def test_method_name_is_checked_before_any_case(run: Path) -> None:
    with pytest.raises(ConfigError, match=r"method name 'bad\.name'"):
        Predictor.threshold(method_name="bad.name")
    with pytest.raises(ConfigError, match="method name 'a b'"):
        Predictor.from_checkpoints([run], device="cpu", method_name="a b")


def test_a_map_off_the_ct_mtt_grid_is_refused_not_predicted(
    run: Path, testing: Path, tmp_path: Path
) -> None:
    cbf = discover_cases(testing)[1].path(Modality.CBF)
    volume = read_volume(cbf)
    shifted = volume.affine.copy()
    shifted[1, 3] += 7.0
    write_volume(cbf, volume.array, shifted)
    for predictor in (Predictor.threshold(), Predictor.from_checkpoints([run], device="cpu")):
        report = predictor.predict_folder(testing, tmp_path / predictor.method_name, progress=False)
        assert list(report.failed) == ["case_2"] and list(report.written) == ["case_1", "case_3"]
        assert "CT_CBF" in report.failed["case_2"]
        assert "origin shifted by 7 mm" in report.failed["case_2"]


def test_an_unwritable_output_fails_before_any_case(testing: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file")
    computed = []
    predictor = Predictor.threshold()
    original = predictor.predict_case
    predictor.predict_case = lambda case: computed.append(case) or original(case)  # type: ignore[method-assign]
    with pytest.raises(OutputError, match="exists and is not a folder"):
        predictor.predict_folder(testing, blocker, progress=False)
    assert computed == []


def test_a_rerun_after_a_kill_leaves_the_files_of_a_clean_run(testing: Path, tmp_path) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    Predictor.threshold().predict_folder(testing, clean, progress=False)
    killed.mkdir()
    first = sorted(p.name for p in clean.iterdir())[0]
    (killed / f".tmp-999999999-{first}").write_bytes(b"half a NIfTI")  # a kill mid-write
    Predictor.threshold().predict_folder(testing, killed, progress=False)
    assert sorted(p.name for p in killed.iterdir()) == sorted(p.name for p in clean.iterdir())


@pytest.mark.parametrize("value", ["0", "-1"])
def test_predict_refuses_a_batch_size_below_one(testing: Path, tmp_path: Path, value) -> None:
    from click.testing import CliRunner

    from isles2018.cli import main

    out = tmp_path / "out"
    args = ["predict", str(testing), "--weights", str(tmp_path), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--batch-size", value])
    assert result.exit_code == 2 and "--batch-size" in result.output
    assert not out.exists()  # never an empty mask written
