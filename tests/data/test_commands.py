from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.data.io import read_volume, write_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality


def _md5(path: Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_inspect_clean_folder(isles_training: Path) -> None:
    result = _invoke("inspect", str(isles_training))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1].split()[:5] == ["case_1", "training", "case_1", "2", "8"]
    assert "0.9x0.8x5" in lines[1]
    assert lines[-1] == "4 case(s), 4 patient(s), 8 slice(s); 0 case(s) with problems"


def test_inspect_lists_every_problem(tmp_path: Path, make_case) -> None:
    root = tmp_path / "TRAINING"
    make_case(root, 1, modalities=tuple(m for m in Modality if m is not Modality.CBV))
    for number in range(2, 10):
        make_case(root, number)
    cases = {c.case_id: c for c in discover_cases(root)}
    # two files for one modality
    extra = make_case(tmp_path / "spare", 2)
    mtt = next(extra.glob("SMIR.Brain.XX.O.CT_MTT.*"))
    mtt.rename(cases["case_2"].folder / mtt.name)
    # shape differing between modalities
    cbf = cases["case_3"].path(Modality.CBF)
    write_volume(cbf, np.zeros((16, 12, 3), np.uint16), read_volume(cbf).affine)
    # truncated file
    tmax = cases["case_4"].path(Modality.TMAX)
    tmax.write_bytes(tmax.read_bytes()[:400])
    # NaN in a map
    mtt5 = cases["case_5"].path(Modality.MTT)
    values = read_volume(mtt5).array.copy()
    values[1, 1, 1] = np.inf
    write_volume(mtt5, values, read_volume(mtt5).affine)
    # 3D file where 4D is expected
    pwi = cases["case_6"].path(Modality.PWI)
    write_volume(pwi, np.zeros((16, 12, 2), np.int16), read_volume(pwi, ndim=4).affine)
    # same shape, but the origin shifted 7 mm / the spacing 1 % off
    cbv8, cbv9 = cases["case_8"].path(Modality.CBV), cases["case_9"].path(Modality.CBV)
    shifted, stretched = read_volume(cbv8).affine.copy(), read_volume(cbv9).affine.copy()
    shifted[0, 3] += 7.0
    stretched[:3, 2] *= 1.01
    write_volume(cbv8, read_volume(cbv8).array, shifted)
    write_volume(cbv9, read_volume(cbv9).array, stretched)
    result = _invoke("inspect", str(root))
    assert result.exit_code == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("problem:")]
    text = "\n".join(problems)
    assert "case_1: missing CT_CBV" in text
    assert "case_2: 2 files for CT_MTT" in text
    assert "case_3/" in text and "shape (16, 12, 3) != (16, 12, 2)" in text
    assert "case_8/" in text and "CT_CBV" in text and "origin shifted by 7 mm" in text
    assert "case_9/" in text and "spacing (0.9, 0.8, 5.05) mm != (0.9, 0.8, 5.0) mm" in text
    assert "case_4:" in text and "truncated" in text and "CT_Tmax" in text
    assert "case_5:" in text and "1 NaN/inf" in text
    assert "case_6:" in text and "expected a 4D series" in text
    assert "case_7" not in text
    assert "Traceback" not in result.output
    assert result.stdout.splitlines()[-1].endswith("8 case(s) with problems")


def test_no_cases_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert result.exit_code == 1
    assert (
        result.output.strip() == f"Error: {tmp_path}: no case_<n> folders found "
        "(expected the ISLES 2018 layout, or an ISLES'24 tree with sub-* folders in rawdata/ "
        "or derivatives/)"
    )


def test_split_command(isles_training: Path, tmp_path: Path) -> None:
    out = tmp_path / "splits.json"
    result = _invoke("split", str(isles_training), "--folds", "2", "--seed", "1", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [len(f["val"]) for f in data["folds"]] == [2, 2]
    assert "fold 0: 2 case(s), 2 patient(s), 4 slice(s) held out" in result.output
    bad = CliRunner().invoke(main, ["split", str(isles_training), "--folds", "5", "-o", str(out)])
    assert bad.exit_code == 1 and "4 patient(s) cannot fill 5 folds" in bad.output


def _zip_of(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder.parent)
                bundle.write(path, str(name))
                bundle.writestr(f"__MACOSX/{name.parent}/._{path.name}", b"\0fork")
    return archive


def test_unpack_verifies_and_inspects(isles_training: Path, tmp_path: Path) -> None:
    archive = _zip_of(isles_training, tmp_path / "ISLES2018_Training.zip")
    dest = tmp_path / "dest"
    wrong = CliRunner().invoke(main, ["unpack", str(archive), str(dest)])
    assert wrong.exit_code == 1 and "does not match the expected b6d16c45" in wrong.output
    assert not dest.exists() or not any(dest.iterdir())
    result = _invoke("unpack", str(archive), str(dest), "--md5", _md5(archive))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in dest.iterdir()) == ["TRAINING"]
    assert not list(dest.rglob("._*")) and not (dest / "__MACOSX").exists()
    assert "0 case(s) with problems" in result.output


def test_unpack_truncated_zip_leaves_nothing(isles_training: Path, tmp_path: Path) -> None:
    archive = _zip_of(isles_training, tmp_path / "full.zip")
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    dest = tmp_path / "dest"
    result = CliRunner().invoke(
        main, ["unpack", str(truncated), str(dest), "--md5", _md5(truncated)]
    )
    assert result.exit_code == 1 and "corrupt or truncated zip" in result.output
    assert list(dest.iterdir()) == []


def test_inspect_flags_an_unfinished_phantom_run(tmp_path: Path, make_case) -> None:
    root = tmp_path / "phantom"
    for number in (1, 2):
        make_case(root / "TRAINING", number)
    manifest = {"generator": "isles2018.phantom", "complete": False, "parameters": {}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    for target in (root, root / "TRAINING"):
        result = _invoke("inspect", str(target))
        assert result.exit_code == 1, result.output
        assert "has not finished (complete: false)" in result.output
        assert result.stdout.splitlines()[-1].endswith("and an unfinished data set")
    (root / "manifest.json").write_text(json.dumps(manifest | {"complete": True}))
    assert _invoke("inspect", str(root)).exit_code == 0
