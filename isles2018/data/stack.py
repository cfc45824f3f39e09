"""Network inputs of one case: the paper's five channels, and optional DWI and ground truth."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isles2018.data.case import ISLES24, Case
from isles2018.data.geometry import SliceGeometry
from isles2018.data.grid import check_grids
from isles2018.data.io import read_series_max, read_volume
from isles2018.data.modalities import INPUT_CHANNELS, Modality
from isles2018.data.placement import DEFAULT_SPACING_MM, plan_geometry
from isles2018.data.volume import Volume
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
        geometry: None when the slices are the case's own grid (ISLES 2018); else the in-plane
            resampling that put them on the network grid (ISLES'24: ~0.4 mm 512² → 0.9 mm
            256², :mod:`isles2018.data.geometry`), which maps predictions back exactly.
    """

    case_id: str
    inputs: np.ndarray
    dwi: np.ndarray | None
    label: np.ndarray | None
    affine: np.ndarray
    spacing_mm: tuple[float, float, float]
    geometry: SliceGeometry | None = None

    def to_volume(self, slices: np.ndarray) -> np.ndarray:
        """Network-grid slices ``(S, H, W)`` back onto the case's grid, ``(X, Y, Z)`` float32
        (resampled linearly through :attr:`geometry` when there is one)."""
        if self.geometry is None:
            return from_slices(slices)
        return self.geometry.from_network(slices)


def to_slices(volume: np.ndarray) -> np.ndarray:
    """``(X, Y, Z[, ...])`` → ``(Z, X, Y[, ...])``: 2D slices along z."""
    return np.moveaxis(volume, 2, 0)


def from_slices(slices: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_slices`: ``(Z, X, Y)`` → ``(X, Y, Z)``."""
    return np.moveaxis(slices, 0, 2)


def _check_shape(case: Case, path: Path, found: tuple[int, ...], shape: tuple[int, ...]) -> None:
    if found[:3] != shape:
        raise DataError(f"{case.case_id}: {path.name} has shape {found[:3]}, CT_MTT has {shape}")


def _checked(case: Case, volume: Volume, shape: tuple[int, ...]) -> np.ndarray:
    array = volume.array
    _check_shape(case, volume.path, array.shape, shape)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        count = int(np.size(array) - np.isfinite(array).sum())
        raise DataError(f"{case.case_id}: {volume.path.name} has {count} NaN/inf value(s)")
    return array


def pwi_max(case: Case, shape: tuple[int, ...]) -> np.ndarray:
    """``(X, Y, Z)`` maximum over time of the case's CT_4DPWI (paper §2.1), read a few frames
    at a time (:func:`isles2018.data.io.read_series_max`): the 4D series is never in memory.

    Raises:
        DataError: unreadable, not 4D, another ``(X, Y, Z)`` than ``shape``, or NaN/inf values.
    """
    series = read_series_max(case.path(Modality.PWI))
    _check_shape(case, series.path, series.array.shape, shape)
    if series.nonfinite:
        raise DataError(
            f"{case.case_id}: {series.path.name} has {series.nonfinite} NaN/inf value(s)"
        )
    return series.array


def load_case_arrays(
    case: Case,
    *,
    with_dwi: bool = True,
    with_label: bool = True,
    resample_spacing_mm: float = DEFAULT_SPACING_MM,
) -> CaseArrays:
    """Read and stack one case for the networks.

    ISLES 2018 slices keep their grid. ISLES'24 slices (~0.4 mm, 512×512–600) are resampled in
    plane to ``resample_spacing_mm`` and cropped or padded to 256×256 around the brain (where
    CBF > 0); the ground truth with linear interpolation thresholded at 0.5
    (:mod:`isles2018.data.geometry` gives what this loses).

    Args:
        case: a discovered case.
        with_dwi: also read MR_DWI when the case has it.
        with_label: also read OT when the case has it.
        resample_spacing_mm: in-plane spacing of ISLES'24 network slices (``pipeline.
            resample_spacing_mm`` of the config).

    Raises:
        DataError: a missing, unreadable, mis-shaped or non-finite volume, or one off the case's
            reference grid (:func:`isles2018.data.grid.check_grids`); the message names the
            case and file.
    """
    optional = [m for m, wanted in ((Modality.DWI, with_dwi), (Modality.OT, with_label)) if wanted]
    check_grids(case, (*INPUT_CHANNELS, *optional))  # headers only; absent ones are skipped
    mtt = read_volume(case.path(Modality.MTT))
    shape, affine, spacing_mm = mtt.array.shape, mtt.affine, mtt.spacing_mm
    geometry = cbf = None
    if case.layout == ISLES24:  # the brain (CBF > 0) places the network's field of view
        cbf = _checked(case, read_volume(case.path(Modality.CBF)), shape)
        geometry = plan_geometry(shape, affine, cbf > 0, target_spacing_mm=resample_spacing_mm)

    def network(volume: np.ndarray) -> np.ndarray:
        # Each volume goes to the network grid as soon as it is read, so that a whole-brain
        # ISLES'24 case never holds more than one full-resolution map at a time.
        slices = to_slices(volume).astype(np.float32)
        return slices if geometry is None else geometry.slices_to_network(slices)

    channels = []
    for modality in INPUT_CHANNELS:
        if modality is Modality.PWI:
            channels.append(network(pwi_max(case, shape)))
        elif modality is Modality.MTT:
            channels.append(network(_checked(case, mtt, shape)))
            del mtt  # only its grid is kept
        elif modality is Modality.CBF and cbf is not None:
            channels.append(network(cbf))  # read once, for the placement above
            cbf = None
        else:
            channels.append(network(_checked(case, read_volume(case.path(modality)), shape)))
    inputs = np.ascontiguousarray(np.stack(channels, axis=1))
    del channels
    dwi = label = None
    if with_dwi and case.has(Modality.DWI):
        dwi = network(_checked(case, read_volume(case.path(Modality.DWI)), shape))
        dwi = np.ascontiguousarray(dwi, np.float32)
    if with_label and case.has(Modality.OT):
        ot = _checked(case, read_volume(case.path(Modality.OT)), shape)
        values = np.unique(ot)
        if not np.isin(values, (0, 1)).all():
            raise DataError(
                f"{case.case_id}: {case.path(Modality.OT).name} is not binary "
                f"(values {values[:5].tolist()})"
            )
        if geometry is None:
            label = np.ascontiguousarray(to_slices(ot), np.uint8)
        else:
            label = geometry.mask_to_network(ot)
    return CaseArrays(
        case_id=case.case_id,
        inputs=inputs,
        dwi=dwi,
        label=label,
        affine=affine,
        spacing_mm=spacing_mm,
        geometry=geometry,
    )
