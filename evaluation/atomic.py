"""Every file the evaluation writes goes through here: whole or not at all, normal permissions.

A file is written to a temporary file in its own folder, flushed to disk, then renamed onto its
final name, so a reader (or a crash, a full disk, a kill) never sees a truncated file under that
name. The temporary file is created with mode ``0o666`` so the process umask applies: results get
the same permissions as any other file the user writes (``0o644`` with umask 022).

Temporary names are ``.<name>.<pid>-<random>.isles-eval-tmp``: hidden (pairing and discovery skip
dot files) and owned by a process id. Before writing ``<name>``, the temporary files of that name
that a killed run left behind (their process is gone) are deleted, as are those of the earlier
``tempfile.mkstemp`` scheme (``.<name>.<8 characters>``), so a rerun after a kill leaves exactly
the files of a clean run, and the files of a run still writing are left alone.

This is also the one place that turns an ``OSError`` of a write (folder not writable, disk full,
a file where a folder should be) into an :class:`~evaluation.errors.EvaluationError` naming the
path. Self-contained on purpose: ``evaluation`` never imports ``isles2018``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from evaluation.errors import EvaluationError

SUFFIX = ".isles-eval-tmp"


def write_error(path: str | Path, error: OSError) -> EvaluationError:
    """The one-line error for a failed write: ``<path>: cannot write (<reason>)``."""
    reason = error.strerror or type(error).__name__
    return EvaluationError(f"{path}: cannot write ({reason})")


def ensure_folder(folder: str | Path) -> Path:
    """Create ``folder`` (and its parents) if needed.

    Raises:
        EvaluationError: it is a file, lies under a file, or cannot be created.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise EvaluationError(f"{folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_error(folder, error) from None
    return folder


def check_output_folder(folder: str | Path) -> None:
    """Fail early, creating nothing, when ``folder`` can clearly not hold the outputs.

    Raises:
        EvaluationError: ``folder`` or one of its existing parents is a file.
    """
    folder = Path(folder)
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            if candidate.is_dir():
                return
            if candidate == folder:
                raise EvaluationError(f"{folder}: is a file, not a folder")
            raise EvaluationError(f"{folder}: cannot be created: {candidate} is a file")


def _open_exclusive(path: Path) -> int:
    """Create ``path`` new (``O_EXCL``), mode ``0o666`` filtered by the umask."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def _fsync(handle: int) -> None:
    try:
        os.fsync(handle)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP):  # a file system without fsync
            raise


def _temporary(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary file beside ``path``; returns it (removed on error)."""
    temporary = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
    handle = _open_exclusive(temporary)
    try:
        try:
            _write_all(handle, data)
            _fsync(handle)
        finally:
            os.close(handle)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def write_files(files: Mapping[Path, bytes]) -> list[Path]:
    """Write several files atomically, all temporary files first, then every rename.

    A failure while writing (full disk, no permission) renames nothing, so the set is written
    whole or left as it was; only a failing rename, after all data is on disk, can leave part of
    the set renamed. Temporary files of these paths left by a killed run are removed first.

    Raises:
        EvaluationError: a write failed (one line naming the file); no temporary file is left
            and existing files are unchanged.
    """
    paths = [Path(p) for p in files]
    written: dict[Path, Path] = {}
    current = paths[0] if paths else Path()
    try:
        for current in paths:
            ensure_folder(current.parent)
            _remove_stale(current)
            written[current] = _temporary(current, files[current])
        for current, temporary in written.items():
            os.replace(temporary, current)
    except OSError as error:
        raise write_error(current, error) from None
    finally:
        for temporary in written.values():
            with contextlib.suppress(OSError):
                temporary.unlink()
    return paths


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`write_files` of one file)."""
    return write_files({Path(path): data})[0]


def write_text(path: str | Path, text: str) -> Path:
    """:func:`write_bytes` of UTF-8 text (newlines as given)."""
    return write_bytes(path, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes one file at a time: such a file is a leftover
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def stale_temporaries(path: str | Path) -> list[Path]:
    """Temporary files of ``path`` left by processes that are gone (killed, crashed)."""
    path = Path(path)
    ours = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)-[0-9a-f]+{re.escape(SUFFIX)}$")
    legacy = re.compile(rf"^\.{re.escape(path.name)}\.[a-z0-9_]{{8}}$")
    try:
        names = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
    except OSError as error:
        raise write_error(path.parent, error) from None
    return [
        path.parent / name
        for name in names
        if legacy.match(name) or ((m := ours.match(name)) and not _alive(int(m.group(1))))
    ]


def _remove_stale(path: Path) -> None:
    for stale in stale_temporaries(path):
        try:
            stale.unlink()
        except FileNotFoundError:
            continue
        except OSError as error:
            raise write_error(stale, error) from None
