from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.data.io import write_like, write_prediction, write_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality, prediction_name
from isles2018.submission.checks import validate_submission


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _predict_all(testing: Path, out: Path, method: str = "GANSeg") -> list:
    cases = discover_cases(testing)
    for case in cases:
        mask = np.zeros((16, 12, 2), np.uint8)
        mask[3:6, 2:5, case.number % 2] = 1
        target = out / prediction_name(method, case.smir_id(Modality.MTT))
        write_prediction(mask, case.path(Modality.MTT), target)
    return cases


def test_valid_submission(testing: Path, tmp_path: Path) -> None:
    cases = _predict_all(testing, tmp_path / "sub")
    report = validate_submission(tmp_path / "sub", cases)
    assert report.ok and report.checked == 3 and report.method_names == ("GANSeg",)


def test_every_problem_is_reported(testing: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    cases = _predict_all(testing, sub)
    first, second, third = cases
    mtt_id = first.smir_id(Modality.MTT)
    # wrong values in case 1
    write_like(
        sub / f"SMIR.GANSeg.{mtt_id}.nii",
        np.full((16, 12, 2), 2, np.uint8),
        first.path(Modality.MTT),
    )
    # a header that differs (shifted origin) in case 2
    second_path = sub / f"SMIR.GANSeg.{second.smir_id(Modality.MTT)}.nii"
    write_volume(second_path, np.zeros((16, 12, 2), np.uint8), np.diag([0.9, 0.8, 5.0, 1.0]))
    # case 3 missing, a stray file and an id that is not a CT_MTT id
    (sub / f"SMIR.GANSeg.{third.smir_id(Modality.MTT)}.nii").unlink()
    (sub / "notes.txt").write_text("x")
    write_like(
        sub / f"SMIR.GANSeg.{third.smir_id(Modality.CBF)}.nii",
        np.zeros((16, 12, 2), np.uint8),
        third.path(Modality.MTT),
    )
    problems = "\n".join(validate_submission(sub, cases).problems)
    assert "case_1:" in problems and "not in {0, 1}" in problems
    assert "case_2:" in problems and "header differs" in problems and "srow_x" in problems
    assert f"case_3: no prediction SMIR.<method>.{third.smir_id(Modality.MTT)}.nii" in problems
    assert "notes.txt: unexpected entry" in problems
    assert "is not the CT_MTT id of any case" in problems


def test_float_and_gz_rejected(testing: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    cases = _predict_all(testing, sub)
    case = cases[0]
    path = sub / f"SMIR.GANSeg.{case.smir_id(Modality.MTT)}.nii"
    write_like(path, np.zeros((16, 12, 2), np.float32), case.path(Modality.MTT))
    (sub / "SMIR.GANSeg.1.nii.gz").write_bytes(b"")
    problems = "\n".join(validate_submission(sub, cases).problems)
    assert "stored as float32" in problems
    assert "SMIR.GANSeg.1.nii.gz: unexpected entry" in problems


def test_cli_validate_and_package(testing: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    _predict_all(testing, sub)
    runner = CliRunner()
    ok = runner.invoke(main, ["validate-submission", str(sub), "--data", str(testing)])
    assert ok.exit_code == 0 and "3 prediction(s) checked; submission valid" in ok.output
    wrong = runner.invoke(
        main, ["validate-submission", str(sub), "--data", str(testing), "--method-name", "Other"]
    )
    assert wrong.exit_code == 1 and "differs from --method-name Other" in wrong.output
    archive = tmp_path / "submission.zip"
    packed = runner.invoke(
        main, ["package-submission", str(sub), "--data", str(testing), "-o", str(archive)]
    )
    assert packed.exit_code == 0, packed.output
    with zipfile.ZipFile(archive) as bundle:
        names = sorted(bundle.namelist())
        manifest = json.loads(bundle.read("MANIFEST.json"))
    assert len(names) == 4 and "MANIFEST.json" in names
    for entry in manifest["files"]:
        assert entry["sha256"] == _sha256(sub / entry["name"])
    before = sorted(p.name for p in tmp_path.iterdir())
    (tmp_path / ".tmp-999999999-submission.zip").write_bytes(b"PK half")  # a kill mid-write
    again = runner.invoke(
        main, ["package-submission", str(sub), "--data", str(testing), "-o", str(archive)]
    )
    assert again.exit_code == 0 and sorted(p.name for p in tmp_path.iterdir()) == before
    (sub / "extra.nii").write_bytes(b"")
    refused = runner.invoke(
        main,
        ["package-submission", str(sub), "--data", str(testing), "-o", str(tmp_path / "b.zip")],
    )
    assert refused.exit_code == 1 and not (tmp_path / "b.zip").exists()
