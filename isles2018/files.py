"""File helpers shared by every stage: atomic writes, write errors as one line, digests.

Every file the pipeline writes goes through :func:`atomic_path` (or :func:`append_line` for
logs), which is also the one place where an ``OSError`` of writing (no permission, full disk, a
file where a folder should be, a read-only mount) becomes an :class:`~isles2018.errors.OutputError`
naming the path. A write killed half-way leaves only a hidden temporary file, and the next write
of the same target removes it, so a rerun leaves exactly the files of a clean run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from isles2018.errors import OutputError

_TEMPORARY = re.compile(r"^\.tmp-(?P<pid>\d+)-(?P<name>.+)$")


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (``sha256`` for manifests, ``md5`` for the official zips)."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def write_error(path: Path, error: OSError) -> OutputError:
    """The one-line user error of a failed write of ``path``."""
    reason = error.strerror or str(error) or type(error).__name__
    return OutputError(f"{path}: cannot write ({reason})")


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftover from an earlier write of the same target
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporaries of ``path`` left by writers that no longer run (a kill, a crash)."""
    for entry in path.parent.iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and match["name"] == path.name and not _alive(int(match["pid"])):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


def make_folder(folder: Path) -> Path:
    """Create ``folder`` (and parents) if needed.

    Raises:
        OutputError: it cannot be created (a file in the way, no permission, read-only).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{folder}: cannot create the folder ({error.strerror or error})"
        ) from None
    return folder


def writable_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and prove it writable by writing and removing a probe file.

    Called before long work, so that an output that cannot be written fails at once instead of
    after the first computed case.

    Raises:
        OutputError: the folder cannot be created or written.
    """
    folder = make_folder(folder)
    probe = folder / f".tmp-{os.getpid()}-write-probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise write_error(folder, error) from None
    return folder


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary name, ``.tmp-<pid>-<name>``, keeps the extension (nibabel picks the format from
    it) and starts with a dot so that discovery never mistakes it for data. The result gets the
    usual permissions (``0666 & ~umask``) whatever the writer created.

    Raises:
        OutputError: the folder cannot be created or the file cannot be written or renamed.
    """
    path = Path(path)
    make_folder(path.parent)
    temporary = path.parent / f".tmp-{os.getpid()}-{path.name}"
    try:
        _remove_stale_temporaries(path)
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:
        raise write_error(path, error) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def append_line(path: Path, line: str) -> None:
    """Append one line (a newline is added) to a log file, creating it if needed.

    Raises:
        OutputError: the file cannot be written.
    """
    try:
        with Path(path).open("a") as stream:
            stream.write(line + "\n")
    except OSError as error:
        raise write_error(Path(path), error) from None
