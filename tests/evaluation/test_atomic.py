"""Atomic writes: whole or nothing, umask permissions, one-line errors, stale temporaries."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation import atomic
from evaluation.atomic import check_output_folder, write_bytes, write_text
from evaluation.errors import EvaluationError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _dead_pid() -> int:
    """The id of a process that has exited (as a killed run's would be)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_files_get_0666_filtered_by_the_umask(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        path = write_text(tmp_path / "run" / "summary.json", "{}\n")
    finally:
        os.umask(previous)
    assert path.read_text() == "{}\n"
    assert _mode(path) == expected


def _disk_full_after_half(handle: int, data: bytes) -> None:
    os.write(handle, data[: len(data) // 2])
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = write_text(tmp_path / "report.html", "old report")
    monkeypatch.setattr(atomic, "_write_all", _disk_full_after_half)
    with pytest.raises(EvaluationError) as raised:
        write_text(path, "new report " * 1000)
    assert str(raised.value) == f"{path}: cannot write (No space left on device)"
    assert path.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_a_failed_first_write_leaves_no_file_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_write_all", _disk_full_after_half)
    with pytest.raises(EvaluationError, match="cannot write"):
        write_bytes(tmp_path / "per_case.csv", b"case_id\n" * 100)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_one_line_naming_the_file(tmp_path, monkeypatch):
    def denied(path: Path) -> int:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(atomic, "_open_exclusive", denied)
    with pytest.raises(EvaluationError) as raised:
        write_text(tmp_path / "per_case.csv", "x")
    assert str(raised.value) == f"{tmp_path / 'per_case.csv'}: cannot write (Permission denied)"
    assert "\n" not in str(raised.value)


def test_a_file_where_a_folder_should_be(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    with pytest.raises(EvaluationError, match=r"afile: is a file, not a folder$"):
        write_text(blocker / "summary.json", "{}")
    with pytest.raises(EvaluationError, match=r"afile: is a file, not a folder$"):
        check_output_folder(blocker)
    with pytest.raises(EvaluationError, match=r"run: cannot be created: .*afile is a file$"):
        check_output_folder(blocker / "run")
    (tmp_path / "folder").mkdir()
    with pytest.raises(EvaluationError, match=r"folder: cannot write \(Is a directory\)$"):
        write_text(tmp_path / "folder", "x")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(atomic.SUFFIX)]
    check_output_folder(tmp_path / "new" / "run")  # creates nothing, raises nothing
    assert not (tmp_path / "new").exists()
    assert blocker.read_text() == "not a folder"


def test_stale_temporaries_of_gone_processes_are_removed_before_writing(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _dead_pid()
        names = {
            "stale": f".report.html.{dead}-0a1b2c3d{atomic.SUFFIX}",
            "legacy": ".report.html.k2j_x9ab",  # the earlier tempfile.mkstemp scheme
            "running": f".report.html.{live.pid}-0a1b2c3d{atomic.SUFFIX}",
            "other file": f".summary.json.{dead}-0a1b2c3d{atomic.SUFFIX}",
        }
        for name in names.values():
            (tmp_path / name).write_text("partial")
        assert set(atomic.stale_temporaries(tmp_path / "report.html")) == {
            tmp_path / names["stale"],
            tmp_path / names["legacy"],
        }
        write_text(tmp_path / "report.html", "complete")
        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted(["report.html", names["running"], names["other file"]])
    finally:
        live.kill()
        live.wait()
