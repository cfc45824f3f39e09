"""The isles-eval click group: score, report, compare; exit codes and one-line errors."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from evaluation.cli import main
from evaluation.cli import main as eval_group


@pytest.fixture
def plain(tmp_path, nifti, lesions):
    """Plain-named reference and prediction folders (all four cases predicted)."""
    for case_id, lesion in lesions.items():
        nifti(tmp_path / "reference" / f"{case_id}.nii", lesion)
        nifti(tmp_path / "predictions" / f"{case_id}.nii.gz", lesion)
    return tmp_path


def _score(folder, *extra):
    return CliRunner().invoke(
        main,
        [
            "score",
            "--prediction",
            str(folder / "predictions"),
            "--reference",
            str(folder / "reference"),
            "--out",
            str(folder / "run"),
            "--workers",
            "1",
            *extra,
        ],
    )


def test_score_writes_the_run_and_prints_markdown(plain):
    result = _score(plain, "--preset", "medpy", "--inf-policy", "penalty")
    assert result.exit_code == 0, result.output
    assert "| overall | 4 | 0 | 1.000 ± 0.000 |" in result.stdout
    header = (plain / "run" / "per_case.csv").read_text().splitlines()[0].split(",")
    for column in (
        "case_id",
        "patient_id",
        "fold",
        "dice",
        "hd95_mm",
        "masd_mm",
        "avd_ml",
        "volume_difference_ml",
        "lesion_f1",
        "lesion_count_difference",
        "reference_empty",
        "prediction_empty",
        "status",
        "error",
    ):
        assert column in header
    summary = json.loads((plain / "run" / "summary.json").read_text())
    assert summary["preset"]["name"] == "medpy" and summary["inf_policy"] == "penalty"


def test_missing_prediction_exits_1_after_scoring_the_others(plain):
    (plain / "predictions" / "case_3.nii.gz").unlink()
    result = _score(plain)
    assert result.exit_code == 1
    assert "Error: 1 of 4 cases failed (case_3)" in result.output
    assert "Traceback" not in result.output
    rows = (plain / "run" / "per_case.csv").read_text().splitlines()[1:]
    assert len(rows) == 4
    assert sum(",ok," in r for r in rows) == 3


def test_bad_input_is_one_line_and_exit_1(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "score",
            "--prediction",
            str(tmp_path),
            "--reference",
            str(tmp_path / "no"),
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: ")
    assert "reference folder not found" in result.output
    assert "Traceback" not in result.output


def test_score_with_report_and_the_report_command(plain):
    result = _score(plain, "--report")
    assert result.exit_code == 0, result.output
    assert (plain / "run" / "report.html").is_file()
    (plain / "run" / "report.html").unlink()
    again = CliRunner().invoke(main, ["report", str(plain / "run")])
    assert again.exit_code == 0, again.output
    assert (plain / "run" / "report.html").is_file()
    missing = CliRunner().invoke(main, ["report", str(plain / "nowhere")])
    assert missing.exit_code == 1 and "per-case table not found" in missing.output


def test_compare_command_prints_markdown_and_writes_json(plain):
    assert _score(plain).exit_code == 0
    result = CliRunner().invoke(main, ["compare", str(plain / "run"), str(plain / "run")])
    assert result.exit_code == 0, result.output
    assert "| mean A | mean B |" in result.output
    written = json.loads((plain / "run" / "compare_dice.json").read_text())
    assert written["n_pairs"] == 4 and written["p_value"] == 1.0
    bad = CliRunner().invoke(
        main, ["compare", str(plain / "run"), str(plain / "run"), "--metric", "nope"]
    )
    assert bad.exit_code == 1 and "no column 'nope'" in bad.output


def test_the_group_can_be_attached_to_another_cli():
    parent = click.Group(name="isles2018")
    parent.add_command(eval_group)
    result = CliRunner().invoke(parent, ["eval", "score", "--help"])
    assert result.exit_code == 0
    assert "--inf-policy" in result.output and "--background" in result.output


@pytest.mark.parametrize("args", [["-h"], ["score", "-h"], ["compare", "-h"], ["--help"]])
def test_dash_h_is_help(args):
    result = CliRunner().invoke(main, args, prog_name="isles-eval")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: isles-eval")


def test_version_comes_from_the_installed_distribution(monkeypatch):
    import importlib.metadata

    result = CliRunner().invoke(main, ["--version"], prog_name="isles-eval")
    assert result.exit_code == 0, result.output
    assert result.output == f"isles-eval, version {importlib.metadata.version('isles2018')}\n"

    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", absent)
    result = CliRunner().invoke(main, ["--version"], prog_name="isles-eval")
    assert result.exit_code == 0, result.output
    assert result.output == "isles-eval, version unknown (not installed)\n"
