"""Network inputs of one case: the paper's five channels, and optional DWI and ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isles2018.data.io import Volume, read_volume
from isles2018.data.layout import Case
from isles2018.data.modalities import INPUT_CHANNELS, Modality
from isles2018.errors import DataError


@dataclass(frozen=True)
class CaseArrays:
    """A case cut into 2D slices along z.

    Attributes:
        case_id: ``case_<n>``.
        inputs: ``(S, 5, H, W)`` float32, channels MTT, Tmax, CBV, CBF, PWI_max (paper §2.1);
            slice ``k`` is ``volume[:, :, k]``, so ``H`` is x and ``W`` is y.
        dwi: ``(S, H, W)`` float32 MR_DWI, or None.
        label: ``(S, H, W)`` uint8 {0, 1} ground truth (OT), or None.
        affine: ``(4, 4)`` voxel → world matrix of the case's CT_MTT.
        spacing_mm: ``(x, y, z)`` voxel size of the CT_MTT in mm.
    """

    case_id: str
    inputs: np.ndarray
    dwi: np.ndarray | None
    label: np.ndarray | None
    affine: np.ndarray
    spacing_mm: tuple[float, float, float]


def to_slices(volume: np.ndarray) -> np.ndarray:
    """``(X, Y, Z[, ...])`` → ``(Z, X, Y[, ...])``: 2D slices along z."""
    return np.moveaxis(volume, 2, 0)


def from_slices(slices: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_slices`: ``(Z, X, Y)`` → ``(X, Y, Z)``."""
    return np.moveaxis(slices, 0, 2)


def _checked(case: Case, volume: Volume, shape: tuple[int, ...]) -> np.ndarray:
    array = volume.array
    if array.shape[:3] != shape:
        raise DataError(
            f"{case.case_id}: {volume.path.name} has shape {array.shape[:3]}, CT_MTT has {shape}"
        )
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        count = int(np.size(array) - np.isfinite(array).sum())
        raise DataError(f"{case.case_id}: {volume.path.name} has {count} NaN/inf value(s)")
    return array


def pwi_max(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """``(X, Y, Z)`` maximum over time of the case's CT_4DPWI (paper §2.1)."""
    volume = read_volume(case.path(Modality.PWI), ndim=4)
    return _checked(case, volume, shape).max(axis=3)


def load_case_arrays(case: Case, *, with_dwi: bool = True, with_label: bool = True) -> CaseArrays:
    """Read and stack one case for the networks.

    Args:
        case: a discovered case.
        with_dwi: also read MR_DWI when the case has it.
        with_label: also read OT when the case has it.

    Raises:
        DataError: a missing, unreadable, mis-shaped or non-finite volume (the message names the
            case and file).
    """
    mtt = read_volume(case.path(Modality.MTT))
    shape = mtt.array.shape
    channels = []
    for modality in INPUT_CHANNELS:
        if modality is Modality.PWI:
            array = pwi_max(case, shape)
        elif modality is Modality.MTT:
            array = _checked(case, mtt, shape)
        else:
            array = _checked(case, read_volume(case.path(modality)), shape)
        channels.append(to_slices(array).astype(np.float32))
    inputs = np.ascontiguousarray(np.stack(channels, axis=1))
    dwi = label = None
    if with_dwi and case.has(Modality.DWI):
        dwi_volume = read_volume(case.path(Modality.DWI))
        dwi = np.ascontiguousarray(to_slices(_checked(case, dwi_volume, shape)), np.float32)
    if with_label and case.has(Modality.OT):
        ot = _checked(case, read_volume(case.path(Modality.OT)), shape)
        values = np.unique(ot)
        if not np.isin(values, (0, 1)).all():
            raise DataError(
                f"{case.case_id}: {case.path(Modality.OT).name} is not binary "
                f"(values {values[:5].tolist()})"
            )
        label = np.ascontiguousarray(to_slices(ot), np.uint8)
    return CaseArrays(
        case_id=case.case_id,
        inputs=inputs,
        dwi=dwi,
        label=label,
        affine=mtt.affine,
        spacing_mm=mtt.spacing_mm,
    )
