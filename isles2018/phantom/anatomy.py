"""Head anatomy of a phantom slab, resampled from the MNI ICBM152 2009 templates nilearn ships.

The templates (197×233×189, 1 mm, RAS) are read once per process: GM and WM probabilities, a
brain mask (filled ``T1 > 0.15``; CSF = brain − GM − WM) and, on a 2 mm grid, the distance from
the brain, which places a CSF gap, the skull and the scalp around it. A slab is a stack of
5 mm slices on a 256×256 grid; each slice averages 5 sub-slices 1 mm apart (partial volume).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import ndimage

from isles2018.data.io import read_volume

TEMPLATE_NAME = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
MNI_NOTICE = (
    "The anatomy of these images is derived from the MNI ICBM152 2009 nonlinear symmetric "
    "template (Fonov et al., NeuroImage 2011; 54(1):313-327). Copyright (C) 1993-2009 Louis "
    "Collins, McConnell Brain Imaging Centre, Montreal Neurological Institute, McGill University. "
    "Permission to use, copy, modify, and distribute this software and its documentation for any "
    "purpose and without fee is hereby granted, provided that the above copyright notice appear "
    "in all copies. The authors and McGill University make no representations about the "
    'suitability of this software for any purpose. It is provided "as is" without express or '
    "implied warranty. The authors are not responsible for any data loss, equipment damage, "
    "property loss, or injury to subjects or patients resulting from the use or misuse of this "
    "software package."
)
SLICE_MM = 5.0
SUB_SLICES = 5
GRID = 256
_FAR_MM = 100.0
#: Tissue classes of :class:`Anatomy` fractions, in this order.
CLASSES = ("gm", "wm", "csf", "skull", "scalp", "air")


@dataclass(frozen=True)
class Templates:
    """MNI-space arrays (1 mm unless stated).

    Attributes:
        gm, wm: ``(197, 233, 189)`` uint8 probabilities × 255.
        brain: same grid, uint8 {0, 255} filled brain mask.
        distance_mm: ``(99, 117, 95)`` float32 distance outside the brain on a 2 mm grid.
        mni_from_voxel: ``(4, 4)`` template voxel → MNI mm.
    """

    gm: np.ndarray
    wm: np.ndarray
    brain: np.ndarray
    distance_mm: np.ndarray
    mni_from_voxel: np.ndarray


def template_path(kind: str) -> Path:
    """Path of a template file inside the installed nilearn package (``t1``, ``gm`` or ``wm``)."""
    return Path(str(resources.files("nilearn") / "datasets" / "data" / TEMPLATE_NAME.format(kind)))


@cache
def load_templates() -> Templates:
    """Read and prepare the templates (cached per process; ~2 s)."""
    volumes = {kind: read_volume(template_path(kind)) for kind in ("t1", "gm", "wm")}
    t1 = volumes["t1"].array
    mask = ndimage.binary_fill_holes(t1 > 0.15 * 255)
    # Distance outside the brain on a 2 mm grid (block "any" of 2×2×2 voxels).
    shape2 = tuple(n // 2 for n in mask.shape)
    blocks = mask[: shape2[0] * 2, : shape2[1] * 2, : shape2[2] * 2]
    coarse = blocks.reshape(shape2[0], 2, shape2[1], 2, shape2[2], 2).any(axis=(1, 3, 5))
    distance = ndimage.distance_transform_edt(~coarse, sampling=2.0).astype(np.float32)
    return Templates(
        gm=volumes["gm"].array,
        wm=volumes["wm"].array,
        brain=(mask * 255).astype(np.uint8),
        distance_mm=distance,
        mni_from_voxel=volumes["t1"].affine,
    )


@dataclass(frozen=True)
class SlabGeometry:
    """Where a slab lies: its voxel grid, scanner affine and the patient's pose in MNI space.

    Attributes:
        shape: ``(256, 256, Z)``.
        affine: ``(4, 4)`` voxel → scanner mm, written to every NIfTI of the case.
        mni_from_world: ``(4, 4)`` scanner mm → MNI mm (the patient's pose and size).
    """

    shape: tuple[int, int, int]
    affine: np.ndarray
    mni_from_world: np.ndarray

    @property
    def mni_from_voxel(self) -> np.ndarray:
        """``(4, 4)`` voxel → MNI mm."""
        return self.mni_from_world @ self.affine

    @property
    def voxel_ml(self) -> float:
        """Voxel volume in mL."""
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    def mni_points(self, stride: int = 1, z_offset_vox: float = 0.0) -> np.ndarray:
        """MNI coordinates of voxel centres, ``(3, X', Y', Z)`` for an in-plane ``stride``."""
        return transform_grid(self.mni_from_voxel, self.shape, stride, z_offset_vox)


def transform_grid(
    matrix: np.ndarray, shape: tuple[int, int, int], stride: int = 1, z_offset_vox: float = 0.0
) -> np.ndarray:
    """``matrix`` (4×4) applied to the voxel centres of ``shape``: ``(3, X', Y', Z)`` float64."""
    i = np.arange(0, shape[0], stride, dtype=np.float64)[:, None, None]
    j = np.arange(0, shape[1], stride, dtype=np.float64)[None, :, None]
    k = np.arange(shape[2], dtype=np.float64)[None, None, :] + z_offset_vox
    out = np.empty((3, i.shape[0], j.shape[1], k.shape[2]))
    for r in range(3):
        out[r] = matrix[r, 0] * i + matrix[r, 1] * j + (matrix[r, 2] * k + matrix[r, 3])
    return out


def rotation_matrix(angles_deg: tuple[float, float, float]) -> np.ndarray:
    """``(3, 3)`` rotation about x, then y, then z (degrees)."""
    ax, ay, az = np.deg2rad(angles_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


def slab_geometry(
    n_slices: int,
    pixel_mm: float,
    z_centre_mm: float,
    pivot_z_mm: float,
    rotation_deg: tuple[float, float, float],
    scale: float,
    shift_mm: tuple[float, float],
) -> SlabGeometry:
    """Geometry of one slab of a patient.

    The scanner frame is MNI space scaled by ``scale``, rotated about ``(0, 0, pivot_z_mm)`` and
    shifted in-plane; the slab is centred at scanner ``(0, 0, z_centre_mm)``. Two slabs of one
    patient share every argument except ``z_centre_mm``.
    """
    affine = np.diag([pixel_mm, pixel_mm, SLICE_MM, 1.0])
    affine[:3, 3] = -np.array([pixel_mm, pixel_mm, SLICE_MM]) * (
        np.array([GRID, GRID, n_slices]) - 1
    ) / 2.0 + np.array([0.0, 0.0, z_centre_mm])
    pivot = np.array([0.0, 0.0, pivot_z_mm])
    world_from_mni = np.eye(4)
    world_from_mni[:3, :3] = scale * rotation_matrix(rotation_deg)
    world_from_mni[:3, 3] = (
        pivot + np.array([shift_mm[0], shift_mm[1], 0.0]) - (world_from_mni[:3, :3] @ pivot)
    )
    return SlabGeometry(
        shape=(GRID, GRID, n_slices),
        affine=affine,
        mni_from_world=np.linalg.inv(world_from_mni),
    )


@dataclass(frozen=True)
class Anatomy:
    """Partial-volume tissue fractions of a slab, each ``(X, Y, Z)`` float32 summing to 1.

    Attributes:
        fractions: class name (see :data:`CLASSES`) → fraction; ``csf`` includes the thin gap
            between brain and skull.
        brain: ``(X, Y, Z)`` fraction inside the template's brain mask.
    """

    fractions: dict[str, np.ndarray]
    brain: np.ndarray

    @property
    def tissue(self) -> np.ndarray:
        """GM + WM fraction (the parenchyma that can infarct)."""
        return self.fractions["gm"] + self.fractions["wm"]


def sample_anatomy(
    geometry: SlabGeometry, skull_thickness_mm: float, *, stride: int = 1, sub_slices: int = 0
) -> Anatomy:
    """Resample the templates onto a slab.

    Args:
        geometry: the slab.
        skull_thickness_mm: bone thickness; a 1 mm CSF gap lies inside it, 5 mm of scalp outside.
        stride: in-plane subsampling (2 for a cheap preview, 1 for the real grid).
        sub_slices: sub-slices averaged per slice (0: :data:`SUB_SLICES`).
    """
    t = load_templates()
    n_sub = sub_slices or SUB_SLICES
    voxel_from_mni = np.linalg.inv(t.mni_from_voxel)
    sums = {name: 0.0 for name in (*CLASSES, "brain")}
    template_from_voxel = voxel_from_mni @ geometry.mni_from_voxel
    for offset in (np.arange(n_sub) - (n_sub - 1) / 2) / n_sub:
        grid = transform_grid(template_from_voxel, geometry.shape, stride, offset)
        shape = grid.shape[1:]
        coords = grid.reshape(3, -1)
        distance = ndimage.map_coordinates(
            t.distance_mm, (coords - 0.5) / 2.0, order=1, output=np.float32, cval=_FAR_MM
        )
        near = np.flatnonzero(distance < 4.0)  # only there can the 1 mm brain mask be non-zero
        sample = {}
        for name in ("gm", "wm", "brain"):
            values = np.zeros(distance.shape, dtype=np.float32)
            values[near] = ndimage.map_coordinates(
                getattr(t, name), coords[:, near], order=1, output=np.float32, prefilter=False
            )
            sample[name] = values / np.float32(255.0)
        brain = sample["brain"]
        gm, wm = sample["gm"], sample["wm"]
        excess = np.maximum(gm + wm - brain, 0.0)
        total = np.maximum(gm + wm, 1e-6)
        gm, wm = gm - excess * gm / total, wm - excess * wm / total
        outside = 1.0 - brain
        gap, skull_end = 1.0, 1.0 + skull_thickness_mm
        parts = {
            "gm": gm,
            "wm": wm,
            "csf": brain - gm - wm + outside * (distance <= gap),
            "skull": outside * ((distance > gap) & (distance <= skull_end)),
            "scalp": outside * ((distance > skull_end) & (distance <= skull_end + 5.0)),
            "air": outside * (distance > skull_end + 5.0),
        }
        parts["brain"] = brain
        for name, part in parts.items():
            sums[name] = sums[name] + part.reshape(shape)
    mean = {name: (total / n_sub).astype(np.float32) for name, total in sums.items()}
    brain_fraction = mean.pop("brain")
    return Anatomy(fractions=mean, brain=brain_fraction)
