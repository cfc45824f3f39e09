"""The classical threshold rule for the ischaemic core: rCBF < 30 % and Tmax > 6 s.

The paper's "traditional method" baseline (Liu, BrainLes 2018, §1; the ISLES 2018 threshold
baseline scored Dice 0.30) and the calibration check of the phantom. It works on the perfusion
maps of any case, real or synthetic; no torch.

Reference for rCBF: the **median CBF of normally perfused brain on the side opposite the
hypoperfusion**. The brain mask is where both maps are finite and CBF > 0 (clinical software
writes 0 outside the brain, in CSF and in bone). The mid-plane is the median x of the brain
voxels (axial slabs are stored with x left–right). The hypoperfused side is the half holding
more voxels with Tmax above the threshold; its mirror half, restricted to Tmax below the
threshold, is the normal tissue. A median is robust to the bright large vessels and to the
CBF spread of grey and white matter. With fewer than ``min_reference_voxels`` such voxels the
whole brain with Tmax below the threshold is used, then the whole brain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from isles2018.data.io import read_volume
from isles2018.data.modalities import Modality

if TYPE_CHECKING:
    from isles2018.data.layout import Case

RCBF_THRESHOLD = 0.30
TMAX_THRESHOLD_S = 6.0
MIN_REFERENCE_VOXELS = 100


def brain_mask_from_maps(cbf: np.ndarray, tmax: np.ndarray) -> np.ndarray:
    """Voxels where the maps were computed: both finite and CBF > 0, ``(X, Y, Z)`` bool."""
    cbf = np.asarray(cbf, dtype=np.float64)
    tmax = np.asarray(tmax, dtype=np.float64)
    return np.isfinite(cbf) & np.isfinite(tmax) & (cbf > 0)


@dataclass(frozen=True)
class Reference:
    """The normal-tissue reference of one case.

    Attributes:
        cbf: median CBF of the reference voxels (map units).
        voxels: how many voxels it was taken over.
        side: ``"low-x"``, ``"high-x"`` (the half used) or ``"whole brain"``.
    """

    cbf: float
    voxels: int
    side: str


def normal_reference(
    cbf: np.ndarray,
    tmax: np.ndarray,
    mask: np.ndarray,
    *,
    tmax_threshold_s: float = TMAX_THRESHOLD_S,
    min_reference_voxels: int = MIN_REFERENCE_VOXELS,
) -> Reference:
    """Median CBF of normally perfused tissue contralateral to the hypoperfusion (see module).

    Args:
        cbf, tmax: ``(X, Y, Z)`` maps.
        mask: ``(X, Y, Z)`` brain mask.
        tmax_threshold_s: voxels with Tmax at or above it are never reference tissue.
        min_reference_voxels: fewest voxels a reference may rest on before falling back.

    Raises:
        ValueError: the mask is empty.
    """
    if not mask.any():
        raise ValueError("empty brain mask: no voxel with finite maps and CBF > 0")
    x = np.nonzero(mask)[0]
    mid = float(np.median(x))
    xs = np.arange(mask.shape[0])[:, None, None]
    low, high = mask & (xs < mid), mask & (xs > mid)
    late = tmax >= tmax_threshold_s
    normal = mask & ~late
    side_low = np.count_nonzero(late & high) >= np.count_nonzero(late & low)
    half, name = (low, "low-x") if side_low else (high, "high-x")
    for candidate, label in ((half & normal, name), (normal, "whole brain")):
        count = int(np.count_nonzero(candidate))
        if count >= min_reference_voxels:
            return Reference(float(np.median(cbf[candidate])), count, label)
    return Reference(float(np.median(cbf[mask])), int(np.count_nonzero(mask)), "whole brain")


def threshold_core(
    cbf: np.ndarray,
    tmax: np.ndarray,
    *,
    rcbf_threshold: float = RCBF_THRESHOLD,
    tmax_threshold_s: float = TMAX_THRESHOLD_S,
    mask: np.ndarray | None = None,
    min_reference_voxels: int = MIN_REFERENCE_VOXELS,
) -> np.ndarray:
    """Core by the threshold rule: ``CBF / reference < rcbf_threshold`` and ``Tmax > tmax``.

    Args:
        cbf: ``(X, Y, Z)`` CBF map, any units (the rule is relative).
        tmax: ``(X, Y, Z)`` Tmax map in seconds.
        rcbf_threshold: relative CBF below which tissue is core (0.30 = 30 %).
        tmax_threshold_s: Tmax above which tissue is hypoperfused (s).
        mask: brain mask; by default :func:`brain_mask_from_maps`.
        min_reference_voxels: see :func:`normal_reference`.

    Returns:
        ``(X, Y, Z)`` uint8 mask {0, 1}. All zero when the brain mask is empty.
    """
    cbf = np.asarray(cbf, dtype=np.float64)
    tmax = np.asarray(tmax, dtype=np.float64)
    if cbf.shape != tmax.shape:
        raise ValueError(f"CBF {cbf.shape} and Tmax {tmax.shape} maps differ in shape")
    brain = brain_mask_from_maps(cbf, tmax) if mask is None else np.asarray(mask, dtype=bool)
    if not brain.any():
        return np.zeros(cbf.shape, dtype=np.uint8)
    reference = normal_reference(
        cbf,
        tmax,
        brain,
        tmax_threshold_s=tmax_threshold_s,
        min_reference_voxels=min_reference_voxels,
    )
    core = brain & (cbf < rcbf_threshold * reference.cbf) & (tmax > tmax_threshold_s)
    return core.astype(np.uint8)


def threshold_case_files(cbf_path: Path, tmax_path: Path, **options: float) -> np.ndarray:
    """Run :func:`threshold_core` on a case's CT_CBF and CT_Tmax files.

    Args:
        cbf_path: the case's CBF volume.
        tmax_path: the case's Tmax volume (seconds).
        **options: keyword arguments of :func:`threshold_core`.

    Returns:
        ``(X, Y, Z)`` uint8 core mask on the case's grid (write it with
        :func:`isles2018.data.io.write_prediction`).

    Raises:
        DataError: a file is missing or unreadable.
        ValueError: the two grids differ.
    """
    cbf = read_volume(Path(cbf_path)).array
    tmax = read_volume(Path(tmax_path)).array
    return threshold_core(cbf, tmax, **options)


def threshold_case(case: Case, **options: float) -> np.ndarray:
    """:func:`threshold_case_files` on a discovered case (its CT_CBF and CT_Tmax volumes)."""
    return threshold_case_files(case.path(Modality.CBF), case.path(Modality.TMAX), **options)
