"""What ``isles-eval`` leaves on disk: permissions, write errors, reruns after a kill, and the
inputs it must refuse or accept (all-failed runs, data-set roots, foreign splits and runs)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys

import pytest
from click.testing import CliRunner

from evaluation import atomic
from evaluation.cli import main

CLEAN_RUN = ["per_case.csv", "report.html", "summary.json", "summary.md"]


@pytest.fixture
def plain(tmp_path, nifti, lesions):
    """Plain-named reference and prediction folders (all four cases predicted)."""
    for case_id, lesion in lesions.items():
        nifti(tmp_path / "reference" / f"{case_id}.nii", lesion)
        nifti(tmp_path / "predictions" / f"{case_id}.nii.gz", lesion)
    return tmp_path


def _score(predictions, reference, out, *extra):
    arguments = ["score", "--prediction", str(predictions), "--reference", str(reference)]
    return CliRunner().invoke(main, [*arguments, "--out", str(out), "--workers", "1", *extra])


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    return last


def test_every_output_file_gets_0666_minus_the_umask(plain):
    previous = os.umask(0o002)
    try:
        scored = _score(plain / "predictions", plain / "reference", plain / "run", "--report")
        compared = CliRunner().invoke(main, ["compare", str(plain / "run"), str(plain / "run")])
    finally:
        os.umask(previous)
    assert scored.exit_code == 0 and compared.exit_code == 0, scored.output + compared.output
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (plain / "run").iterdir()}
    assert modes == dict.fromkeys([*CLEAN_RUN, "compare_dice.json"], 0o664)


def test_a_file_given_as_out_is_one_line_before_scoring(plain):
    blocker = plain / "afile"
    blocker.write_text("keep me")
    line = _one_error_line(_score(plain / "predictions", plain / "reference", blocker))
    assert line == f"Error: {blocker}: is a file, not a folder"
    line = _one_error_line(_score(plain / "predictions", plain / "reference", blocker / "run"))
    assert line == f"Error: {blocker / 'run'}: cannot be created: {blocker} is a file"
    assert blocker.read_text() == "keep me"


def test_an_unwritable_output_folder_is_one_line_naming_the_file(plain, monkeypatch):
    def denied(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(atomic, "_open_exclusive", denied)
    line = _one_error_line(_score(plain / "predictions", plain / "reference", plain / "run"))
    assert line == f"Error: {plain / 'run' / 'per_case.csv'}: cannot write (Permission denied)"
    assert list((plain / "run").iterdir()) == []


def test_a_full_disk_while_writing_the_report_leaves_no_partial_report(plain, monkeypatch):
    assert _score(plain / "predictions", plain / "reference", plain / "run").exit_code == 0

    def disk_full(handle, data):
        os.write(handle, data[: len(data) // 3])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic, "_write_all", disk_full)
    line = _one_error_line(CliRunner().invoke(main, ["report", str(plain / "run")]))
    report = plain / "run" / "report.html"
    assert line == f"Error: {report}: cannot write (No space left on device)"
    assert sorted(p.name for p in (plain / "run").iterdir()) == sorted(
        set(CLEAN_RUN) - {report.name}
    )


def test_compare_out_on_a_folder_is_one_line(plain):
    assert _score(plain / "predictions", plain / "reference", plain / "run").exit_code == 0
    (plain / "folder").mkdir()
    result = CliRunner().invoke(
        main, ["compare", str(plain / "run"), str(plain / "run"), "--out", str(plain / "folder")]
    )
    assert _one_error_line(result) == f"Error: {plain / 'folder'}: cannot write (Is a directory)"


def _dead_pid() -> int:
    code = "import os; print(os.getpid())"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True).stdout)


def test_a_rerun_after_a_kill_leaves_exactly_the_files_of_a_clean_run(plain):
    clean, rerun = plain / "clean", plain / "rerun"
    assert _score(plain / "predictions", plain / "reference", clean, "--report").exit_code == 0
    # What a run killed while writing leaves: its temporaries (new and earlier naming) and
    # a complete file of an older run.
    rerun.mkdir()
    dead = _dead_pid()
    (rerun / f".report.html.{dead}-1f2e3d4c{atomic.SUFFIX}").write_text("<html><body>")
    (rerun / f".per_case.csv.{dead}-00aa11bb{atomic.SUFFIX}").write_text("case_id,pat")
    (rerun / ".summary.json.a1b2c3d4").write_text('{"pre')
    (rerun / "summary.md").write_text("older run")
    assert _score(plain / "predictions", plain / "reference", rerun, "--report").exit_code == 0
    assert sorted(p.name for p in rerun.iterdir()) == sorted(p.name for p in clean.iterdir())
    assert sorted(p.name for p in clean.iterdir()) == CLEAN_RUN
    for name in ("per_case.csv", "summary.json", "summary.md"):
        assert (rerun / name).read_text() == (clean / name).read_text(), name


def test_a_reference_without_ground_truth_fails_every_case_and_scores_zero(
    tmp_path, isles_case, nifti, lesions
):
    for number in (1, 2, 3, 10):
        isles_case(tmp_path / "TESTING", number, None)
        nifti(tmp_path / "predictions" / f"case_{number}.nii", lesions[f"case_{number}"])
    result = _score(tmp_path / "predictions", tmp_path / "TESTING", tmp_path / "run")
    assert result.exit_code == 1
    assert "Error: 4 of 4 cases failed" in result.output
    overall = next(line for line in result.output.splitlines() if line.startswith("| overall"))
    patients = next(line for line in result.output.splitlines() if line.startswith("| patients"))
    assert overall.endswith("| 0.000 (4 not pooled) |"), overall
    assert "| 0.000 ± 0.000 |" in patients and "1.000" not in overall + patients


def test_a_data_set_root_is_accepted_as_reference(tmp_path, training, nifti, lesions):
    root, ids = training
    (tmp_path / "TESTING" / "case_1").mkdir(parents=True)  # no ground truth: not used
    for case_id, lesion in lesions.items():
        nifti(tmp_path / "predictions" / f"SMIR.m.{ids[case_id]}.nii", lesion)
    result = _score(tmp_path / "predictions", tmp_path, tmp_path / "out" / "run")
    assert result.exit_code == 0, result.output
    assert "| overall | 4 | 0 | 1.000 ± 0.000 |" in result.output
    summary = json.loads((tmp_path / "out" / "run" / "summary.json").read_text())
    assert summary["reference_partition"] == str(root.resolve())
    empty = tmp_path / "empty"
    (empty / "TRAINING").mkdir(parents=True)
    line = _one_error_line(_score(tmp_path / "predictions", empty, tmp_path / "never"))
    assert line.startswith(f"Error: {empty}: no case_<n> folders (in it, or in TRAINING/")
    assert not (tmp_path / "never").exists()  # nothing written for refused input


def test_splits_of_another_data_set_are_refused(plain):
    splits = plain / "splits.json"
    folds = [{"fold": 0, "train": [], "val": ["train_1", "train_2"]}]
    splits.write_text(json.dumps({"version": 1, "k": 1, "folds": folds}))
    result = _score(plain / "predictions", plain / "reference", plain / "run", "--splits", splits)
    line = _one_error_line(result)
    assert line.startswith(f"Error: {splits}: 4 of 4 scored case(s) are not in this splits file")
    assert "(case_1, case_2, case_3, case_10)" in line and "train_1, train_2" in line
    assert not (plain / "run").exists()


def test_compare_refuses_runs_of_different_references(plain, nifti, lesions):
    import numpy as np

    assert _score(plain / "predictions", plain / "reference", plain / "a").exit_code == 0
    for case_id, lesion in lesions.items():
        nifti(plain / "other" / f"{case_id}.nii", np.roll(lesion, 2, axis=1))
    assert _score(plain / "predictions", plain / "other", plain / "b").exit_code == 0
    line = _one_error_line(
        CliRunner().invoke(main, ["compare", str(plain / "a"), str(plain / "b")])
    )
    assert "were scored against different references (4 case(s)" in line
    assert not (plain / "b" / "compare_dice.json").exists()


def test_a_failed_write_leaves_the_previous_run_as_it_was(plain, monkeypatch):
    assert _score(plain / "predictions", plain / "reference", plain / "run").exit_code == 0
    before = {p.name: p.read_bytes() for p in (plain / "run").iterdir()}
    (plain / "predictions" / "case_3.nii.gz").unlink()  # the new run would differ
    calls = []

    def full_on_the_second_file(handle, data):
        calls.append(len(data))
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.write(handle, data)

    monkeypatch.setattr(atomic, "_write_all", full_on_the_second_file)
    line = _one_error_line(_score(plain / "predictions", plain / "reference", plain / "run"))
    assert (
        line == f"Error: {plain / 'run' / 'summary.json'}: cannot write (No space left on device)"
    )
    assert {p.name: p.read_bytes() for p in (plain / "run").iterdir()} == before
