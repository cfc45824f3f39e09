"""Atomic writes, write faults as one line, temporaries cleaned by a rerun, digests."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.errors import OutputError
from isles2018.files import (
    append_line,
    atomic_path,
    file_digest,
    make_folder,
    writable_folder,
)


def _fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    return fail


def test_atomic_write_renames_on_success_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "weights.bin"
    with atomic_path(target) as temporary:
        temporary.write_bytes(b"abc")
        os.chmod(temporary, 0o600)  # as safetensors does
        assert not target.exists()
    assert target.read_bytes() == b"abc"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in target.parent.iterdir()) == ["weights.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed half-way")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_write_faults_become_one_line_naming_the_file(tmp_path: Path, monkeypatch, code) -> None:
    target = tmp_path / "out" / "SMIR.GANSeg.1.nii"
    monkeypatch.setattr(os, "replace", _fail_with(code))
    with pytest.raises(OutputError) as caught, atomic_path(target) as temporary:
        temporary.write_text("x")
    assert str(caught.value) == f"{target}: cannot write ({os.strerror(code)})"
    assert list(target.parent.iterdir()) == []


def test_a_file_where_a_folder_should_be(tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("I am a file")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        make_folder(blocker)
    with pytest.raises(OutputError, match="exists and is not a folder"):
        writable_folder(blocker)
    with pytest.raises(OutputError, match=r"out: exists and is not a folder"):
        with atomic_path(blocker / "x.json") as temporary:
            temporary.write_text("{}")


def test_a_folder_where_a_file_should_be(tmp_path: Path) -> None:
    (tmp_path / "submission.zip").mkdir()
    with pytest.raises(OutputError, match=r"submission\.zip: cannot write"):
        with atomic_path(tmp_path / "submission.zip") as temporary:
            temporary.write_bytes(b"PK")


def test_writable_folder_probes_before_long_work(tmp_path: Path, monkeypatch) -> None:
    assert writable_folder(tmp_path / "new") == tmp_path / "new"
    assert list((tmp_path / "new").iterdir()) == []
    monkeypatch.setattr(Path, "write_bytes", _fail_with(errno.EACCES))
    with pytest.raises(OutputError, match=r"new: cannot write \(Permission denied\)"):
        writable_folder(tmp_path / "new")


def test_a_rerun_removes_temporaries_of_killed_writers(tmp_path: Path) -> None:
    target = tmp_path / "SMIR.GANSeg.345565.nii"
    dead = tmp_path / f".tmp-999999999-{target.name}"  # no such process
    mine = tmp_path / f".tmp-{os.getpid()}-{target.name}"
    other_target = tmp_path / ".tmp-999999999-SMIR.GANSeg.1.nii"
    alive = tmp_path / f".tmp-{os.getppid()}-{target.name}"  # a live writer: left alone
    for path in (dead, mine, other_target, alive):
        path.write_text("partial")
    with atomic_path(target) as temporary:
        temporary.write_text("whole")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([target.name, other_target.name, alive.name])


def test_append_line_and_its_fault(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "metrics.jsonl"
    append_line(log, "{}")
    append_line(log, '{"a": 1}')
    assert log.read_text() == '{}\n{"a": 1}\n'
    monkeypatch.setattr(Path, "open", _fail_with(errno.ENOSPC))
    with pytest.raises(OutputError, match=r"metrics\.jsonl: cannot write \(No space left"):
        append_line(log, "{}")


def test_file_digest_matches_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(os.urandom(100_000))
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_digest(path, "md5") == hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "{data}", "--method", "threshold", "--out", "{blocker}"],
        ["phantom", "{blocker}/set", "--cases", "1", "--profile", "ci"],
        ["split", "{train}", "--folds", "2", "-o", "{blocker}/splits.json"],
        ["package-submission", "{sub}", "--data", "{data}", "-o", "{sub}"],
    ],
)
def test_commands_report_write_faults_in_one_line(
    tmp_path: Path, testing: Path, isles_training: Path, args
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    sub = tmp_path / "sub"
    prepared = CliRunner().invoke(
        main, ["predict", str(testing), "--method", "threshold", "--out", str(sub)]
    )
    assert prepared.exit_code == 0, prepared.output
    args = [a.format(data=testing, train=isles_training, blocker=blocker, sub=sub) for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and ("blocker" in last or "sub" in last), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
