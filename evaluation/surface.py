"""Surfaces and exact surface distances: the one surface pass behind every distance metric.

Two surface models (:class:`~evaluation.conventions.Conventions` ``surface_model``):

- ``"voxels"``: a voxel is on the surface of a mask when it is in the mask and not in its erosion
  (``surface = mask & ~erode(mask)``), with the erosion neighbourhood and the treatment of the
  volume border taken from the conventions; every distance weighs 1.
- ``"surfels"``: surface elements on the voxel-corner grid, each weighted by its area in mm²
  (DeepMind surface-distance; see :mod:`evaluation.surfels`).

Distances are exact Euclidean distances in mm between surface points (voxel centres or voxel
corners: index × spacing, float64), found by a window look-up and a KD-tree over the surface
coordinates of the other mask.

Both masks are cropped to their union bounding box first. The crop is padded by one voxel whose
value is what the erosion would see there in the full volume: background where the pad lies inside
the volume (outside the union box both masks are empty), the border value where it lies outside
the volume. The erosion of the crop is therefore identical to the erosion of the whole volume.
The statistics over the distances live in :mod:`evaluation.surface_stats`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from evaluation.conventions import Conventions
from evaluation.errors import EvaluationError
from evaluation.surfels import surfels


@dataclass(frozen=True)
class SurfaceDistances:
    """Directed surface distances of one case, with the weight of each distance.

    Attributes:
        reference_to_prediction: ``(N_ref,)`` float64 mm: for each reference surface point, the
            distance to the nearest prediction surface point.
        prediction_to_reference: ``(N_pred,)`` float64 mm, the other direction.
        reference_areas_mm2: ``(N_ref,)`` float64 surfel areas (mm²), or None when every
            distance weighs 1 (surface voxels).
        prediction_areas_mm2: ``(N_pred,)`` float64 or None, the other direction.
    """

    reference_to_prediction: np.ndarray
    prediction_to_reference: np.ndarray
    reference_areas_mm2: np.ndarray | None = None
    prediction_areas_mm2: np.ndarray | None = None


def union_box(reference: np.ndarray, prediction: np.ndarray) -> tuple[slice, ...] | None:
    """Bounding box of ``reference | prediction`` as slices, or None when both are empty."""
    union = reference | prediction
    box = []
    for axis in range(union.ndim):
        other = tuple(a for a in range(union.ndim) if a != axis)
        hits = np.flatnonzero(union.any(axis=other))
        if hits.size == 0:
            return None
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def _pad_for_erosion(
    mask: np.ndarray, box: tuple[slice, ...], full_shape: tuple[int, ...], border_value: bool
) -> np.ndarray:
    """Crop ``mask`` to ``box`` and pad by one voxel with what lies there in the full volume."""
    cropped = mask[box]
    padded = np.zeros(tuple(n + 2 for n in cropped.shape), dtype=bool)
    padded[tuple(slice(1, -1) for _ in box)] = cropped
    if border_value:
        for axis, (sl, size) in enumerate(zip(box, full_shape, strict=True)):
            index: list[slice | int] = [slice(None)] * len(box)
            if sl.start == 0:
                index[axis] = 0
                padded[tuple(index)] = True
            if sl.stop == size:
                index[axis] = -1
                padded[tuple(index)] = True
    return padded


def surface_voxels(
    mask: np.ndarray,
    conventions: Conventions,
    box: tuple[slice, ...] | None = None,
) -> np.ndarray:
    """Surface voxels of a mask, inside ``box``.

    A non-empty mask whose surface is empty (the whole volume, when the border is not
    background) has every voxel as surface, so that its distances stay defined.

    Args:
        mask: ``(X, Y, Z)`` bool.
        conventions: erosion connectivity and border treatment.
        box: crop (slices over ``mask``) holding every foreground voxel; whole volume if None.

    Returns:
        bool array of the shape of ``mask[box]``.
    """
    if box is None:
        box = tuple(slice(0, n) for n in mask.shape)
    padded = _pad_for_erosion(mask, box, mask.shape, not conventions.border_is_background)
    structure = ndimage.generate_binary_structure(mask.ndim, conventions.erosion_rank)
    inner = tuple(slice(1, -1) for _ in box)
    # Erosion by shifted ANDs over the structure's offsets: same result as
    # ndimage.binary_erosion on the padded crop, a few times faster.
    eroded = padded[inner].copy()
    for offset in np.argwhere(structure) - 1:
        if offset.any():
            shifted = zip(offset, padded.shape, strict=True)
            eroded &= padded[tuple(slice(1 + o, n - 1 + o) for o, n in shifted)]
    cropped = padded[inner]
    surface = cropped & ~eroded
    if not surface.any():
        return cropped.copy()
    return surface


def _local_offsets(spacing: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Voxel offsets of a small window, sorted by length, and the window's exactness bound.

    The window reaches ``r_a = ceil(3·min(spacing) / s_a) - 1`` voxels along axis ``a``. A voxel
    outside it differs by at least ``r_a + 1`` along some axis, so it lies at least
    ``bound = min_a (r_a + 1)·s_a`` mm away: a hit within ``bound`` found in the window is the
    exact nearest neighbour.

    Returns:
        ``(offsets (K, 3) int, lengths (K,) mm, radius (3,) int, bound mm)``, offsets with
        ``length <= bound`` only, the zero offset first.
    """
    radius = np.maximum(np.ceil(3.0 * spacing.min() / spacing).astype(int) - 1, 0)
    bound = float(((radius + 1) * spacing).min())
    axes = [np.arange(-r, r + 1) for r in radius]
    offsets = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(radius))
    lengths = np.sqrt(((offsets * spacing) ** 2).sum(axis=1))
    keep = lengths <= bound
    order = np.argsort(lengths[keep], kind="stable")
    return offsets[keep][order], lengths[keep][order], radius, bound


def _directed(
    source: np.ndarray,
    target_grid: np.ndarray,
    target: np.ndarray,
    shape: tuple[int, ...],
    spacing: np.ndarray,
) -> np.ndarray:
    """Exact distance (mm) from each ``source`` surface point to the nearest ``target`` one.

    Most surface points have a partner within a few voxels: those are resolved by looking up a
    window of offsets in increasing length (exact, see :func:`_local_offsets`); only the rest go
    through a KD-tree over the target surface coordinates.

    Args:
        source: ``(N,)`` flat indices of the source points in the padded grid.
        target_grid: flat bool view of the padded target surface.
        target: ``(M,)`` flat indices of the target points, M ≥ 1.
        shape: the padded grid's shape (padded by ``radius`` of :func:`_local_offsets`).
        spacing: ``(3,)`` mm.

    Returns:
        ``(N,)`` float64, in the order of ``source``.
    """
    offsets, lengths, radius, _ = _local_offsets(spacing)
    strides = np.array([int(np.prod(shape[a + 1 :])) for a in range(len(shape))])
    distances = np.full(len(source), np.inf)
    todo = np.arange(len(source))
    for offset, length in zip(offsets @ strides, lengths, strict=True):
        hit = target_grid[source[todo] + offset]
        distances[todo[hit]] = length
        todo = todo[~hit]
        if todo.size == 0:
            return distances
    target_points = np.stack(np.unravel_index(target, shape), axis=1) - radius
    tree = cKDTree(target_points * spacing, balanced_tree=False, compact_nodes=False)
    points = np.stack(np.unravel_index(source[todo], shape), axis=1) - radius
    distances[todo] = tree.query(points * spacing, k=1)[0]
    return distances


def _both_directions(
    first: np.ndarray, second: np.ndarray, spacing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distances from ``first``'s surface points to ``second``'s and back (argwhere order).

    Args:
        first: bool surface grid (a crop), not empty.
        second: bool surface grid of the same shape, not empty.
        spacing: ``(3,)`` mm.
    """
    radius = _local_offsets(spacing)[2]
    margin = [(r, r) for r in radius]
    grids = [np.pad(surface, margin) for surface in (first, second)]
    # Flat indices into the padded grids, in np.argwhere order; each serves both directions.
    flats = [np.flatnonzero(grid) for grid in grids]
    shape = grids[0].shape
    return (
        _directed(flats[0], grids[1].ravel(), flats[1], shape, spacing),
        _directed(flats[1], grids[0].ravel(), flats[0], shape, spacing),
    )


def surface_distances(
    reference: np.ndarray,
    prediction: np.ndarray,
    spacing_mm: tuple[float, ...],
    conventions: Conventions,
    box: tuple[slice, ...] | None = None,
) -> SurfaceDistances:
    """Exact directed surface distances between two non-empty masks.

    Args:
        reference: ``(X, Y, Z)`` bool, not empty.
        prediction: ``(X, Y, Z)`` bool, same shape, not empty.
        spacing_mm: ``(x, y, z)`` voxel size in mm (validated by the caller).
        conventions: surface model and definition.
        box: union bounding box (computed when None).

    Returns:
        Distances in mm; with ``surface_model="surfels"`` also the surfel areas in mm².

    Raises:
        EvaluationError: when either mask is empty (the distances are undefined).
    """
    if box is None:
        box = union_box(reference, prediction)
    if box is None or not reference.any() or not prediction.any():
        raise EvaluationError("surface distances need two non-empty masks")
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    if conventions.surface_model == "surfels":
        spacing_tuple = tuple(float(s) for s in spacing)
        reference_surface, reference_areas = surfels(reference[box], spacing_tuple)
        prediction_surface, prediction_areas = surfels(prediction[box], spacing_tuple)
        forward, backward = _both_directions(reference_surface, prediction_surface, spacing)
        return SurfaceDistances(forward, backward, reference_areas, prediction_areas)
    reference_surface = surface_voxels(reference, conventions, box)
    prediction_surface = surface_voxels(prediction, conventions, box)
    forward, backward = _both_directions(reference_surface, prediction_surface, spacing)
    return SurfaceDistances(reference_to_prediction=forward, prediction_to_reference=backward)
