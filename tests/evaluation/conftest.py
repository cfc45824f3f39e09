"""Fixtures of the evaluation tests: NIfTI writers and tiny ISLES-layout reference folders."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

#: Anisotropic spacing (0.9, 0.8, 5 mm) with a rotation about z and an offset: not identity.
AFFINE = np.array(
    [
        [0.0, -0.8, 0.0, 100.0],
        [-0.9, 0.0, 0.0, 120.0],
        [0.0, 0.0, 5.0, -30.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)
SHAPE = (20, 16, 4)
_ids = itertools.count(345_560, 10)


def write_nifti(path: Path, array: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    """Write ``array`` (x, y, z) as NIfTI with ``affine``; folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array), affine), str(path))
    return path


def block(shape: tuple[int, ...], *ranges: tuple[int, int], dtype=np.uint8) -> np.ndarray:
    """A mask with one box of ones, ``ranges`` = ((x0, x1), (y0, y1), (z0, z1))."""
    mask = np.zeros(shape, dtype)
    mask[tuple(slice(a, b) for a, b in ranges)] = 1
    return mask


def write_isles_case(
    root: Path,
    number: int,
    lesion: np.ndarray | None,
    *,
    affine: np.ndarray = AFFINE,
    prefix: str = "CT",
    gzip: bool = False,
) -> str:
    """Write ``root/case_<number>`` with OT (if given), MTT and decoy CT/Tmax/CBF volumes.

    Returns:
        The SMIR id of the case's MTT volume (the id a submission names).
    """
    shape = lesion.shape if lesion is not None else SHAPE
    rng = np.random.default_rng(number)
    extension = ".nii.gz" if gzip else ".nii"
    base = next(_ids)
    volumes = {
        "CT": (base + 0, rng.integers(0, 80, shape).astype(np.int32)),
        f"{prefix}_CBF": (base + 1, rng.integers(0, 600, shape).astype(np.uint16)),
        f"{prefix}_MTT": (base + 2, rng.uniform(0, 20, shape)),
        f"{prefix}_Tmax": (base + 3, rng.uniform(0, 20, shape)),
    }
    if lesion is not None:
        volumes["OT"] = (base + 4, lesion.astype(np.uint8))
    for token, (smir_id, array) in volumes.items():
        stem = f"SMIR.Brain.XX.O.{token}.{smir_id}"
        write_nifti(root / f"case_{number}" / stem / f"{stem}{extension}", array, affine)
    return str(base + 2)


@pytest.fixture
def nifti() -> Callable[..., Path]:
    """``nifti(path, array, affine=AFFINE)`` writes a NIfTI file and returns its path."""
    return write_nifti


@pytest.fixture
def isles_case() -> Callable[..., str]:
    """``isles_case(root, number, lesion, ...)`` writes an ISLES case; returns its MTT id."""
    return write_isles_case


@pytest.fixture
def lesions() -> dict[str, np.ndarray]:
    """Reference lesions of four cases on the (20, 16, 4) grid, one with two components."""
    two = block(SHAPE, (2, 6), (2, 6), (1, 3))
    two[12:16, 9:13, 1:4] = 1
    return {
        "case_1": block(SHAPE, (4, 10), (3, 9), (1, 3)),
        "case_2": two,
        "case_3": block(SHAPE, (8, 14), (5, 12), (0, 2)),
        "case_10": block(SHAPE, (5, 9), (5, 9), (2, 4)),
    }


@pytest.fixture
def training(tmp_path: Path, lesions: dict[str, np.ndarray]) -> tuple[Path, dict[str, str]]:
    """A TRAINING folder (cases 1, 2, 3, 10; case 3 in the early MR_ naming, gzipped), with
    macOS junk beside it. Returns the folder and the MTT SMIR id of each case."""
    root = tmp_path / "TRAINING"
    ids = {}
    for case_id, lesion in lesions.items():
        number = int(case_id.split("_")[1])
        early = case_id == "case_3"
        ids[case_id] = write_isles_case(
            root, number, lesion, prefix="MR" if early else "CT", gzip=early
        )
    (root / "__MACOSX" / "case_1").mkdir(parents=True)
    (root / "__MACOSX" / "case_1" / "._SMIR.Brain.XX.O.OT.1.nii").write_bytes(b"\0\1junk")
    (root / "._case_1").write_bytes(b"\0\1junk")
    return root, ids


@pytest.fixture
def affine() -> np.ndarray:
    """The fixtures' reference affine (rotated, anisotropic 0.9 × 0.8 × 5 mm, offset)."""
    return AFFINE.copy()
