"""``isles2018 phantom``: bad input in one line, interrupted runs resumed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import isles2018.phantom.generate as generate_module
from isles2018.cli import main
from isles2018.phantom.generate import read_manifest


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _run(*args: str):
    return CliRunner().invoke(main, ["phantom", *(str(a) for a in args)])


def _one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and text in lines[0], result.output


def _usage_error(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1] == f"Error: {text}", result.output


def test_zero_cases_is_refused(tmp_path: Path) -> None:
    _usage_error(
        _run(tmp_path / "out", "--cases", "0"),
        "Invalid value for '--cases': 0 is not in the range 1<=x<=39999.",
    )
    assert not (tmp_path / "out").exists()


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    _usage_error(
        _run(tmp_path / "out", "--profile", "noisy"),
        "Invalid value for '--profile': 'noisy' is not one of 'isles', 'ci', 'clean'.",
    )


def test_folder_with_another_data_set_or_other_files_is_refused(
    tmp_path: Path, ci_dataset: Path
) -> None:
    result = _run(
        ci_dataset, "--cases", "3", "--test-cases", "2", "--seed", "12", "--profile", "ci"
    )
    _one_line_error(result, "holds a different phantom data set (seed 11 ≠ 12)")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    _one_line_error(_run(other, "--cases", "1"), "is not empty and holds no phantom manifest")


def test_interrupted_run_is_completed_by_a_rerun(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    args = (out, "--cases", "2", "--test-cases", "1", "--seed", "4", "--profile", "clean")
    real = generate_module._generate_one
    calls = []

    def crash_on_second(plan, *rest):
        calls.append(plan.case_id)
        if len(calls) == 2:
            # Leave a half-written case behind, as a killed process would.
            (out / plan.partition / f".{plan.case_id}.partial" / "x").mkdir(parents=True)
            raise KeyboardInterrupt
        return real(plan, *rest)

    monkeypatch.setattr(generate_module, "_generate_one", crash_on_second)
    result = _run(*args)
    assert result.exit_code != 0
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    done = [
        case
        for partition in ("TRAINING", "TESTING")
        if (out / partition).is_dir()
        for case in (out / partition).iterdir()
        if not case.name.startswith(".")
    ]
    assert len(done) == 1
    first_case = next(done[0].rglob("*.nii"))
    stamp = first_case.stat().st_mtime_ns

    monkeypatch.setattr(generate_module, "_generate_one", real)
    result = _run(*args)
    assert result.exit_code == 0, result.output
    assert "2 case(s) generated, 1 already complete" in result.output
    assert first_case.stat().st_mtime_ns == stamp  # the complete case was skipped
    assert not list(out.rglob(".*.partial"))
    manifest = read_manifest(out)
    assert manifest["complete"] is True
    assert len([f for f in manifest["files"] if f.endswith(".nii")]) == 8 + 8 + 6 + 3
    for relative, digest in manifest["files"].items():
        assert _sha256(out / relative) == digest


@pytest.mark.parametrize("flag", ["--help"])
def test_help_lists_the_options(flag: str) -> None:
    result = _run(flag)
    assert result.exit_code == 0
    for option in (
        "--cases",
        "--test-cases",
        "--seed",
        "--profile",
        "--workers",
        "--gzip",
        "--five-d",
        "--report",
    ):
        assert option in result.output


def _after_progress(output: str) -> list[str]:
    """The command's own lines (the progress bar shares the output in the test runner)."""
    lines = output.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if "case(s) generated" in line)
    return lines[start:]


def test_report_prints_the_anchors_and_a_rerun_only_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run(out, "--cases", "2", "--profile", "ci", "--seed", "3", "--report")
    assert first.exit_code == 0, first.output
    lines = _after_progress(first.output)
    assert "2 case(s) generated" in lines[0]
    assert lines[1].startswith("calibration anchors over 2 case(s)")
    labels = ("threshold rule", "DWI ceiling", "CTP ceiling")
    assert [line.split()[0:2] for line in lines[2:]] == [label.split()[:2] for label in labels]
    anchors = read_manifest(out)["anchors"]
    for line, name in zip(lines[2:], ("threshold_dice", "dwi_ceiling", "ctp_ceiling"), strict=True):
        assert f"{anchors[name]:.3f}" in line
        assert ("in band" in line) == anchors["in_band"][name]
    before = _sha256(out / "manifest.json")
    again = _run(out, "--cases", "2", "--profile", "ci", "--seed", "3", "--report")
    assert again.exit_code == 0 and "0 case(s) generated, 2 already complete" in again.output
    assert _after_progress(again.output)[1:] == lines[1:]
    assert _sha256(out / "manifest.json") == before


def test_report_is_refused_for_the_isles24_layout(tmp_path: Path) -> None:
    _one_line_error(
        _run(tmp_path / "out", "--layout", "isles24", "--report"), "isles2018 layout only"
    )
    assert not (tmp_path / "out").exists()
