"""NIfTI reading for the evaluation toolkit: the only evaluation module that touches nibabel.

Conventions, decided here once: arrays are in the file's stored voxel order, called
``(x, y, z)`` (nibabel's order, no reorientation); spacing is the header's zooms in that same
order, in mm; the affine is nibabel's best affine (sform, else qform).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

from evaluation.errors import EvaluationError
from evaluation.masks import validate_spacing


@dataclass(frozen=True)
class Image:
    """One 3D image read from disk.

    Attributes:
        array: ``(X, Y, Z)`` in the stored dtype (scaling applied).
        spacing_mm: voxel size ``(x, y, z)`` in mm.
        affine: ``(4, 4)`` voxel → world (mm).
        path: the file it came from.
    """

    array: np.ndarray
    spacing_mm: tuple[float, float, float]
    affine: np.ndarray
    path: Path

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape ``(X, Y, Z)``."""
        return tuple(self.array.shape)


@dataclass(frozen=True)
class Header:
    """Geometry of an image, read without its voxel data."""

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    affine: np.ndarray
    path: Path


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _load(path: Path) -> nib.Nifti1Image:
    if not path.is_file():
        raise EvaluationError(f"{path}: file not found")
    try:
        return nib.load(str(path))
    except Exception as error:  # nibabel raises many types for a damaged header
        raise EvaluationError(f"{path}: not a readable NIfTI file ({_first_line(error)})") from None


def _geometry(image: nib.Nifti1Image, path: Path) -> Header:
    shape = tuple(int(n) for n in image.shape)
    # Trailing singleton axes (x, y, z, 1) are tolerated; anything else is not a 3D mask.
    if len(shape) < 3 or any(n != 1 for n in shape[3:]):
        raise EvaluationError(f"{path}: expected a 3D volume, got shape {shape}")
    spacing = validate_spacing(image.header.get_zooms()[:3], 3, name=str(path))
    affine = np.asarray(image.affine, dtype=np.float64)
    if not np.isfinite(affine).all():
        raise EvaluationError(f"{path}: affine has non-finite values")
    return Header(shape=shape[:3], spacing_mm=spacing, affine=affine, path=path)


def read_header(path: str | Path) -> Header:
    """Read an image's shape, spacing and affine without its voxel data.

    Raises:
        EvaluationError: missing or unreadable file, not 3D, or bad spacing.
    """
    path = Path(path)
    return _geometry(_load(path), path)


def read_image(path: str | Path) -> Image:
    """Read a 3D NIfTI image (``.nii`` or ``.nii.gz``).

    Raises:
        EvaluationError: missing or unreadable file, truncated data, not 3D, or bad spacing.
    """
    path = Path(path)
    image = _load(path)
    header = _geometry(image, path)
    try:
        array = np.asanyarray(image.dataobj)
    except Exception as error:  # truncated data: EOFError, ValueError, OSError, zlib errors
        raise EvaluationError(
            f"{path}: image data unreadable or truncated ({_first_line(error)})"
        ) from None
    return Image(
        array=np.asarray(array).reshape(header.shape),
        spacing_mm=header.spacing_mm,
        affine=header.affine,
        path=path,
    )


def same_grid(reference: Header | Image, prediction: Header | Image) -> str | None:
    """Why two images are not on one grid (shape, then affine), or None when they are.

    Affines are compared with ``np.allclose(atol=1e-4 mm, rtol=1e-5)``: tolerant to the float32
    storage of NIfTI headers, strict enough to catch a one-voxel or flipped offset.
    """
    if reference.shape != prediction.shape:
        return f"shape {prediction.shape} differs from the reference's {reference.shape}"
    if not np.allclose(reference.affine, prediction.affine, rtol=1e-5, atol=1e-4):
        return (
            "affine differs from the reference's "
            f"(max abs difference {np.abs(reference.affine - prediction.affine).max():.4g})"
        )
    return None
