"""Verify and extract a downloaded ISLES 2018 zip without ``__MACOSX`` debris."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from isles2018.errors import DataError
from isles2018.files import file_digest

#: MD5 of the official zips (ISLES 2018 data page).
KNOWN_MD5: dict[str, str] = {
    "ISLES2018_Training.zip": "b6d16c456e173743e30a3fbdb3bd29a5",
    "ISLES2018_Testing.zip": "932a493c105024942700fe589cd441a9",
}


def _wanted(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return not any(p == "__MACOSX" or p.startswith("._") or p == ".DS_Store" for p in parts)


def unpack_zip(archive: Path, destination: Path, expected_md5: str | None = None) -> list[Path]:
    """Check an ISLES zip's MD5 and extract it into ``destination``.

    Extraction goes to a temporary folder beside ``destination``; its top-level entries are
    moved in only when every member was read and CRC-checked, so a truncated or corrupt zip
    leaves nothing behind.

    Args:
        archive: the downloaded zip.
        destination: folder to extract into (created if missing).
        expected_md5: checksum to require; by default the official one for the zip's file name.

    Returns:
        The top-level paths created in ``destination``.

    Raises:
        DataError: unknown name without ``expected_md5``, checksum mismatch, corrupt zip, or a
            top-level entry that already exists in ``destination``.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise DataError(f"{archive}: file not found")
    expected = expected_md5 or KNOWN_MD5.get(archive.name)
    if expected is None:
        known = ", ".join(KNOWN_MD5)
        raise DataError(
            f"{archive}: not an official ISLES 2018 zip name ({known}); pass --md5 to check it"
        )
    actual = file_digest(archive, "md5")
    if actual.lower() != expected.lower():
        raise DataError(
            f"{archive}: MD5 {actual} does not match the expected {expected} "
            "(incomplete or damaged download)"
        )
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=destination))
    try:
        try:
            with zipfile.ZipFile(archive) as bundle:
                for member in bundle.infolist():
                    if not _wanted(member.filename):
                        continue
                    target = staging / member.filename
                    if not target.resolve().is_relative_to(staging.resolve()):
                        raise DataError(f"{archive}: unsafe path {member.filename!r} in the zip")
                    bundle.extract(member, staging)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as error:
            raise DataError(f"{archive}: corrupt or truncated zip ({error})") from None
        entries = sorted(staging.iterdir())
        clashes = [e.name for e in entries if (destination / e.name).exists()]
        if clashes:
            raise DataError(f"{destination}: already holds {', '.join(clashes)}")
        created = []
        for entry in entries:
            os.replace(entry, destination / entry.name)
            created.append(destination / entry.name)
        return created
    finally:
        shutil.rmtree(staging, ignore_errors=True)
