"""Shipped weights: a folder of fold checkpoints with a ``manifest.json`` that pins every file.

The manifest records the SHA-256 of each file, the training config, the phantom data set the
weights were trained on, training time and hardware, cross-validation scores and the regression
reference (mean Dice on a fixed phantom test set). It is written by ``scripts/make_weights.py``
from measured values only. Loading a folder that has a manifest verifies every listed file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isles2018.errors import CheckpointError
from isles2018.files import atomic_path, file_digest

MANIFEST = "manifest.json"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a weights folder, or None when it has none.

    Raises:
        CheckpointError: the manifest exists but cannot be read.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: unreadable weights manifest ({error})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise CheckpointError(f"{path}: not a weights manifest (no 'files' table)")
    return manifest


def verify_weights(folder: Path) -> dict[str, Any] | None:
    """Check every file listed in ``folder/manifest.json`` against its SHA-256.

    Returns:
        The manifest, or None when the folder has none (nothing to verify).

    Raises:
        CheckpointError: a listed file is missing or differs from its recorded SHA-256.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        return None
    for name, digest in sorted(manifest["files"].items()):
        path = folder / name
        if not path.is_file():
            raise CheckpointError(f"{path}: listed in {MANIFEST} but missing")
        if file_digest(path) != digest:
            raise CheckpointError(f"{path}: SHA-256 differs from {MANIFEST} (changed or damaged)")
    return manifest


def write_manifest(folder: Path, record: dict[str, Any]) -> Path:
    """Write ``folder/manifest.json``: ``record`` plus the SHA-256 of every checkpoint file."""
    folder = Path(folder)
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".safetensors", ".json") and p.name != MANIFEST
    )
    manifest = {**record, "files": {str(p.relative_to(folder)): file_digest(p) for p in files}}
    path = folder / MANIFEST
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
