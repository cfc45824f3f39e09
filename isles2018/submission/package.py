"""Packaging of a validated submission folder into the zip the challenge takes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from isles2018.files import atomic_path, file_digest
from isles2018.submission.checks import PREDICTION


def package_submission(folder: Path, archive: Path) -> Path:
    """Zip a validated submission folder with a ``MANIFEST.json`` of names and SHA-256.

    The zip holds the prediction files at its top level (as the challenge expects) and the
    manifest; it is written atomically.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if PREDICTION.match(p.name))
    manifest = {"files": [{"name": p.name, "sha256": file_digest(p)} for p in files]}
    with atomic_path(Path(archive)) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for path in files:
                bundle.write(path, path.name)
            bundle.writestr("MANIFEST.json", json.dumps(manifest, indent=2) + "\n")
    return Path(archive)
