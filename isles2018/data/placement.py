"""Where a case's network field of view goes: pixel sizes, brain box and :func:`plan_geometry`.

The adapter itself, the correspondence it uses both ways and what it loses are described in
:mod:`isles2018.data.geometry`.

Default spacing: docs/ISLES2018.md gives the in-plane size (256 × 256) but not the pixel size;
ISLES 2018 CT perfusion pixels are 0.8–1.0 mm (the range the phantom draws from,
docs/PHANTOM.md), so the default is the midpoint, 0.9 mm, configurable. ISLES 2018 data
themselves should be planned with ``target_spacing_mm=None`` (keep the case's own spacing): they
then pass through untouched, as in the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from isles2018.data.geometry import EDGE_TOLERANCE_PX, Box, SliceGeometry

#: Network pixel size (mm): the middle of ISLES 2018's 0.8–1.0 mm (see the module docstring).
DEFAULT_SPACING_MM = 0.9
#: Network slice size ``(H, W)`` in pixels (paper §2.1: 256 × 256 inputs).
NETWORK_SIZE = (256, 256)

#: Spacing ratios this close to 1 are taken as equal (NIfTI stores pixdim in float32).
_SAME_SPACING = 1e-6


def spacing_from_affine(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size ``(x, y, z)`` in mm: the norms of the affine's columns (oblique or not).

    Args:
        affine: ``(4, 4)`` voxel → world (mm) matrix.

    Raises:
        ValueError: not a ``(4, 4)`` matrix, or a zero or non-finite column.
    """
    matrix = np.asarray(affine, dtype=np.float64)
    if matrix.shape != (4, 4):
        raise ValueError(f"affine must be (4, 4), got {matrix.shape}")
    spacing = np.linalg.norm(matrix[:3, :3], axis=0)
    if not (np.isfinite(spacing).all() and (spacing > 0).all()):
        raise ValueError(f"affine has an invalid voxel size {spacing.tolist()}")
    return (float(spacing[0]), float(spacing[1]), float(spacing[2]))


def brain_box(mask: np.ndarray) -> Box | None:
    """Bounding box in plane of a brain mask, over all slices; None when it is empty.

    Args:
        mask: ``(X, Y, Z)`` or ``(X, Y)``, true (non-zero) inside the brain.

    Returns:
        ``((x0, x1), (y0, y1))``, inclusive voxel indices.
    """
    mask = np.asarray(mask)
    if mask.ndim not in (2, 3):
        raise ValueError(f"brain mask must be (X, Y) or (X, Y, Z), got {mask.shape}")
    plane = mask.any(axis=2) if mask.ndim == 3 else mask.astype(bool)
    xs, ys = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
    if xs.size == 0:
        return None
    return (int(xs[0]), int(xs[-1])), (int(ys[0]), int(ys[-1]))


def plan_geometry(
    shape: Sequence[int],
    affine: np.ndarray,
    brain: np.ndarray | Box | None = None,
    *,
    target_spacing_mm: float | None = DEFAULT_SPACING_MM,
    size: tuple[int, int] = NETWORK_SIZE,
) -> SliceGeometry:
    """Choose the network grid of one case.

    Args:
        shape: ``(X, Y, Z[, ...])`` of the source grid; only the first three are used.
        affine: ``(4, 4)`` voxel → world (mm) matrix; its column norms give the pixel size.
        brain: ``(X, Y, Z)`` or ``(X, Y)`` brain mask, or a box ``((x0, x1), (y0, y1))``
            (inclusive), or None (centre the whole grid). An empty mask counts as None.
        target_spacing_mm: network pixel size in mm (both axes), or None to keep the source's
            (a pure crop/pad: ISLES 2018 data).
        size: ``(H, W)`` network slice size.

    Raises:
        ValueError: a bad shape, spacing, size or box.
    """
    shape3 = tuple(int(n) for n in tuple(shape)[:3])
    if len(shape3) != 3 or min(shape3) < 1:
        raise ValueError(f"shape must be (X, Y, Z) with positive sizes, got {tuple(shape)}")
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"size must be two positive pixel counts, got {size}")
    source = spacing_from_affine(affine)[:2]
    if target_spacing_mm is None:
        target = source
    elif not (math.isfinite(target_spacing_mm) and target_spacing_mm > 0):
        raise ValueError(f"target_spacing_mm must be positive, got {target_spacing_mm}")
    else:
        # Equal within float32 header rounding: keep the source's, so the grid maps exactly.
        target = tuple(
            s if abs(target_spacing_mm / s - 1.0) <= _SAME_SPACING else float(target_spacing_mm)
            for s in source
        )
    box = _box(brain, shape3)
    origin, cropped = [], []
    for axis in (0, 1):
        scale = target[axis] / source[axis]
        first, last = box[axis]
        start = _place(shape3[axis], scale, size[axis], (first + last) / 2)
        # Brain and field of view as edges in source voxel index units.
        low, high = start - scale / 2, start + scale * (size[axis] - 0.5)
        outside = max(0.0, low - (first - 0.5)) + max(0.0, (last + 0.5) - high)
        origin.append(start)
        cropped.append(outside * source[axis] if outside > EDGE_TOLERANCE_PX else 0.0)
    return SliceGeometry(
        source_shape=shape3,  # type: ignore[arg-type]
        source_spacing_mm=source,
        target_spacing_mm=target,  # type: ignore[arg-type]
        size=(int(size[0]), int(size[1])),
        origin=(origin[0], origin[1]),
        brain_box=box,
        brain_cropped_mm=(cropped[0], cropped[1]),
    )


def _box(brain: np.ndarray | Box | None, shape: tuple[int, int, int]) -> Box:
    whole = ((0, shape[0] - 1), (0, shape[1] - 1))
    if brain is None:
        return whole
    if isinstance(brain, np.ndarray):
        if brain.ndim not in (2, 3) or brain.shape != shape[: brain.ndim]:
            raise ValueError(f"brain mask must be (X, Y[, Z]) = {shape}, got {brain.shape}")
        return brain_box(brain) or whole
    (x0, x1), (y0, y1) = ((int(a), int(b)) for a, b in brain)
    if not (0 <= x0 <= x1 < shape[0] and 0 <= y0 <= y1 < shape[1]):
        raise ValueError(f"brain box {brain} is not inside the grid {shape[:2]}")
    return (x0, x1), (y0, y1)


def _place(n_source: int, scale: float, n_network: int, centre: float) -> float:
    """Source index of network pixel 0 along one axis: ``centre`` in the middle of the field of
    view, clamped between the two placements that align a grid edge with the other's, so that
    a source that fits keeps every voxel and a larger one fills the field of view."""
    start = centre - scale * (n_network - 1) / 2
    first = -0.5 + scale / 2  # field of view's low edge on the source's low edge
    last = n_source - 0.5 - scale * (n_network - 0.5)  # high edge on high edge
    start = min(max(start, min(first, last)), max(first, last))
    if scale == 1.0:  # whole-pixel shifts copy values instead of interpolating them
        start = float(math.floor(start + 0.5))
    return start + 0.0  # no -0.0
