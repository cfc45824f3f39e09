"""One grid per case: the checks that every volume of a case lies on its reference grid.

The reference is the CT_MTT in ISLES 2018 and the NCCT in ISLES'24 (:attr:`Case.reference`).
Grids are compared through the affines (spacing, origin, axis directions, oblique ones
included) and the shapes. A volume on another grid would be stacked voxel by voxel with the
others and predicted on the wrong anatomy, silently; :func:`check_grids` refuses such a case
before anything is computed and ``inspect`` reports it (:func:`grid_differences`). Submissions
must copy the CT_MTT header exactly (:func:`geometry_differences`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from isles2018.data.case import Case
from isles2018.data.io import read_header
from isles2018.data.modalities import Modality
from isles2018.errors import DataError

#: Largest origin or axis difference (mm) still taken as the same grid (rounding in headers).
TOLERANCE_MM = 1e-3


def _grid(path: Path) -> tuple[tuple[int, ...], np.ndarray]:
    header = read_header(path)
    return tuple(int(n) for n in header.get_data_shape()[:3]), header.get_best_affine()


def grid_differences(path: Path, reference_path: Path) -> list[str]:
    """How the grid of ``path`` differs from ``reference_path``'s: shape ``(x, y, z)``, voxel
    spacing (mm), origin (mm) and axis directions; empty when they agree within
    :data:`TOLERANCE_MM`.

    Raises:
        DataError: either header cannot be read.
    """
    (shape, affine), (reference_shape, reference) = _grid(path), _grid(reference_path)
    differences = []
    if shape != reference_shape:
        differences.append(f"shape {shape} != {reference_shape}")
    spacing, reference_spacing = (np.linalg.norm(a[:3, :3], axis=0) for a in (affine, reference))
    if not np.allclose(spacing, reference_spacing, rtol=0, atol=TOLERANCE_MM):
        differences.append(
            f"spacing {tuple(np.round(spacing, 4).tolist())} mm != "
            f"{tuple(np.round(reference_spacing, 4).tolist())} mm"
        )
    elif not np.allclose(affine[:3, :3], reference[:3, :3], rtol=0, atol=TOLERANCE_MM):
        differences.append("axis directions differ (another orientation)")
    shift = float(np.linalg.norm(affine[:3, 3] - reference[:3, 3]))
    if shift > TOLERANCE_MM:
        differences.append(f"origin shifted by {shift:.3g} mm")
    return differences


def check_grids(case: Case, modalities: Iterable[Modality]) -> None:
    """Refuse a case whose ``modalities`` do not all lie on its reference grid (the CT_MTT's in
    ISLES 2018, the NCCT's in ISLES'24; headers only). Modalities the case lacks are skipped.

    Raises:
        DataError: no reference volume, or naming the first file off the grid and how it differs.
    """
    reference = case.path(case.reference)
    for modality in modalities:
        if modality is case.reference or not case.has(modality):
            continue
        differences = grid_differences(case.path(modality), reference)
        if differences:
            path = case.path(modality)
            raise DataError(
                f"{path}: not on the grid of {reference.name}: {'; '.join(differences)}"
            )


#: Header fields that define a grid: shape, spacing, origin, direction and how they are coded.
GEOMETRY_FIELDS: tuple[str, ...] = (
    "dim",
    "pixdim",
    "xyzt_units",
    "qform_code",
    "sform_code",
    "quatern_b",
    "quatern_c",
    "quatern_d",
    "qoffset_x",
    "qoffset_y",
    "qoffset_z",
    "srow_x",
    "srow_y",
    "srow_z",
)


def geometry_differences(path: Path, reference_path: Path) -> list[str]:
    """Header fields of ``path`` whose values differ from ``reference_path``'s.

    Compares the grid: shape, spacing, units, q/s-form codes and matrices (the fields an ISLES
    evaluator checks). ``pixdim[0]`` (qfac) is compared too; data type and scaling are not.

    Returns:
        One ``"field: value != reference"`` line per differing field; empty when identical.

    Raises:
        DataError: either file cannot be read.
    """
    header = read_header(path)
    reference = read_header(reference_path)
    if not isinstance(header, type(reference)) and not isinstance(reference, type(header)):
        return [f"format: {type(header).__name__} != {type(reference).__name__}"]
    differences = []
    for name in GEOMETRY_FIELDS:
        value, expected = np.asarray(header[name]), np.asarray(reference[name])
        if name in ("dim", "pixdim"):
            count = int(reference["dim"][0]) + 1
            value, expected = value[:count], expected[:count]
        if value.shape != expected.shape or not np.array_equal(value, expected):
            differences.append(f"{name}: {value.tolist()} != {expected.tolist()}")
    return differences
