"""Surface elements ("surfels") on the voxel-corner grid, weighted by their area.

The surface model of DeepMind's surface-distance (Nikolov et al. 2021, the reference for the
normalised surface Dice). Every corner of the voxel grid looks at the 2 × 2 × 2 voxels around it;
a corner whose eight voxels are neither all background nor all lesion is a surfel. Its area is the
area of the marching-cubes surface (vertices at edge midpoints) inside the cube spanned by those
eight voxel centres, in mm² for the given spacing. Distances go from surfel to surfel (corner
points, exact Euclidean, mm) and every statistic weights a distance by its surfel's area.

The marching-cubes surfaces of the 256 corner configurations follow from 13 canonical ones
(:data:`_CANONICAL`) by the 48 symmetries of the cube and by complement (a configuration and its
inverse share one surface). Ambiguous faces (two lesion voxels on a face diagonal) are separated,
and the two non-planar polygons (three lesion voxels in an L on a face; a path of three edges
along the three axes) are fanned from the vertex surface-distance's table uses, so that every
area equals that table's for any spacing.

Outside the volume is background (the crop is zero-padded), so a lesion touching the volume
border has surfels there.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

Corner = tuple[int, int, int]
Vertex = tuple[int, int, int]  # doubled coordinates in {0, 1, 2}: a 1 marks an edge midpoint

_CORNERS: tuple[Corner, ...] = tuple(itertools.product((0, 1), repeat=3))


def _corner_triangle(corner: Corner) -> list[Vertex]:
    """The triangle cutting off one isolated corner: midpoints of its three edges."""
    doubled = [2 * c for c in corner]
    return [tuple(1 if a == k else doubled[a] for a in range(3)) for k in range(3)]


def _edge_quad(first: Corner, second: Corner) -> list[Vertex]:
    """The rectangle around one isolated edge: midpoints of the four edges leaving it."""
    axis = next(a for a in range(3) if first[a] != second[a])
    across = [a for a in range(3) if a != axis]

    def midpoint(corner: Corner, direction: int) -> Vertex:
        return tuple(1 if a == direction else 2 * corner[a] for a in range(3))

    return [
        midpoint(first, across[0]),
        midpoint(second, across[0]),
        midpoint(second, across[1]),
        midpoint(first, across[1]),
    ]


# The L on face z = 0 (elbow (0,0,0), ends (1,0,0) and (0,1,0)): a non-planar pentagon, fanned
# from the midpoint of the z edge at the end (1,0,0).
_L_PENTAGON: list[Vertex] = [(2, 0, 1), (2, 1, 0), (1, 2, 0), (0, 2, 1), (0, 0, 1)]

#: Canonical configurations: (lesion corners, polygons). Each polygon is a loop of edge
#: midpoints (doubled coordinates), triangulated as a fan from its first vertex.
_CANONICAL: tuple[tuple[tuple[Corner, ...], tuple[list[Vertex], ...]], ...] = (
    (((0, 0, 0),), (_corner_triangle((0, 0, 0)),)),
    (((0, 0, 0), (1, 0, 0)), (_edge_quad((0, 0, 0), (1, 0, 0)),)),
    (((0, 0, 0), (1, 1, 0)), (_corner_triangle((0, 0, 0)), _corner_triangle((1, 1, 0)))),
    (((0, 0, 0), (1, 1, 1)), (_corner_triangle((0, 0, 0)), _corner_triangle((1, 1, 1)))),
    (((0, 0, 0), (1, 0, 0), (0, 1, 0)), (_L_PENTAGON,)),
    (
        ((0, 0, 0), (1, 0, 0), (1, 1, 1)),
        (_edge_quad((0, 0, 0), (1, 0, 0)), _corner_triangle((1, 1, 1))),
    ),
    (
        ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
        tuple(_corner_triangle(c) for c in ((1, 0, 0), (0, 1, 0), (0, 0, 1))),
    ),
    (((0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)), ([(0, 0, 1), (2, 0, 1), (2, 2, 1), (0, 2, 1)],)),
    # A corner and its three neighbours: a planar hexagon.
    (
        ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)),
        ([(2, 1, 0), (1, 2, 0), (0, 2, 1), (0, 1, 2), (1, 0, 2), (2, 0, 1)],),
    ),
    # The path (0,1,1)-(1,1,1)-(1,1,0)-(1,0,0) along x, z, y: a non-planar hexagon, fanned from
    # the midpoint of the z edge at the end (0,1,1).
    (
        ((0, 1, 1), (1, 1, 1), (1, 1, 0), (1, 0, 0)),
        ([(0, 2, 1), (1, 2, 0), (1, 0, 0), (2, 0, 1), (2, 1, 2), (0, 1, 2)],),
    ),
    (((0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 1)), (_L_PENTAGON, _corner_triangle((1, 1, 1)))),
    (
        ((0, 0, 0), (0, 0, 1), (1, 1, 0), (1, 1, 1)),
        (_edge_quad((0, 0, 0), (0, 0, 1)), _edge_quad((1, 1, 0), (1, 1, 1))),
    ),
    (
        ((0, 0, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1)),
        tuple(_corner_triangle(c) for c in ((0, 0, 0), (1, 1, 0), (1, 0, 1), (0, 1, 1))),
    ),
)


def corner_bit(corner: Corner) -> int:
    """Bit of the 2 × 2 × 2 neighbourhood code set by voxel ``corner`` = (a, b, c) ∈ {0, 1}³."""
    return 4 * corner[0] + 2 * corner[1] + corner[2]


def _code(corners: set[Corner]) -> int:
    return sum(1 << corner_bit(c) for c in corners)


def _symmetries() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The 48 symmetries of the cube: axis permutation, then reflection of some axes."""
    return [
        (perm, flips)
        for perm in itertools.permutations(range(3))
        for flips in itertools.product((0, 1), repeat=3)
    ]


def _move(
    point: tuple[int, ...], perm: tuple[int, ...], flips: tuple[int, ...], top: int
) -> tuple[int, ...]:
    """Apply one symmetry to a point whose coordinates run from 0 to ``top``."""
    return tuple(top - point[perm[a]] if flips[a] else point[perm[a]] for a in range(3))


@lru_cache(maxsize=1)
def area_vectors() -> tuple[np.ndarray, ...]:
    """Absolute area vectors of every configuration's triangles, in unit-cube coordinates.

    Returns:
        256 arrays, one per neighbourhood code (bit :func:`corner_bit` set when that voxel is
        lesion), each ``(T, 3)`` float64: ``|cross(q - p, r - p)| / 2`` of its T triangles
        (empty for codes 0 and 255).
    """
    table: list[np.ndarray | None] = [None] * 256
    for corners, polygons in _CANONICAL:
        triangles = [
            (polygon[0], polygon[k], polygon[k + 1])
            for polygon in polygons
            for k in range(1, len(polygon) - 1)
        ]
        for perm, flips in _symmetries():
            code = _code({_move(c, perm, flips, 1) for c in corners})
            if table[code] is not None:
                continue
            points = (
                np.array(
                    [[_move(v, perm, flips, 2) for v in triangle] for triangle in triangles], float
                )
                / 2.0
            )
            vectors = np.abs(
                np.cross(points[:, 1] - points[:, 0], points[:, 2] - points[:, 0]) / 2.0
            )
            table[code] = table[255 - code] = vectors
    table[0] = table[255] = np.zeros((0, 3))
    missing = [code for code, vectors in enumerate(table) if vectors is None]
    if missing:  # pragma: no cover - guarded by the canonical list above
        raise AssertionError(f"configurations without a surface: {missing}")
    return tuple(v for v in table if v is not None)


@lru_cache(maxsize=32)
def _area_table(spacing_mm: tuple[float, ...]) -> np.ndarray:
    sx, sy, sz = spacing_mm
    scale = np.array([sy * sz, sx * sz, sx * sy])
    table = np.zeros(256)
    for code, vectors in enumerate(area_vectors()):
        table[code] = float(np.sqrt(((vectors * scale) ** 2).sum(axis=1)).sum())
    table.flags.writeable = False
    return table


def surfel_area_table(spacing_mm: tuple[float, ...]) -> np.ndarray:
    """Surfel area (mm²) of each of the 256 neighbourhood codes for a voxel size.

    A triangle's area vector scales with the cofactors of the voxel size: its x component by
    ``s_y · s_z``, y by ``s_x · s_z``, z by ``s_x · s_y``.

    Args:
        spacing_mm: ``(x, y, z)`` voxel size in mm.

    Returns:
        ``(256,)`` float64, read-only; 0 for codes 0 (no lesion) and 255 (all lesion).
    """
    return _area_table(tuple(float(s) for s in spacing_mm))


def neighbourhood_codes(mask: np.ndarray) -> np.ndarray:
    """The 2 × 2 × 2 neighbourhood code of every voxel corner of a (cropped) mask.

    Args:
        mask: ``(X, Y, Z)`` bool; voxels outside it count as background.

    Returns:
        ``(X + 1, Y + 1, Z + 1)`` uint8: corner ``(i, j, k)`` lies between voxels ``i - 1`` and
        ``i`` (and so on) and has bit :func:`corner_bit` ``(a, b, c)`` set when voxel
        ``(i - 1 + a, j - 1 + b, k - 1 + c)`` is lesion.
    """
    padded = np.pad(mask.astype(np.uint8), 1)
    shape = tuple(n + 1 for n in mask.shape)
    codes = np.zeros(shape, np.uint8)
    for corner in _CORNERS:
        window = tuple(slice(o, o + n) for o, n in zip(corner, shape, strict=True))
        codes |= padded[window] << np.uint8(corner_bit(corner))
    return codes


def surfels(mask: np.ndarray, spacing_mm: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Surfels of a (cropped) mask on its corner grid, with their areas.

    Args:
        mask: ``(X, Y, Z)`` bool, holding every lesion voxel of the case (a crop is fine).
        spacing_mm: ``(x, y, z)`` voxel size in mm.

    Returns:
        ``(is_surfel, areas)``: ``(X + 1, Y + 1, Z + 1)`` bool grid of surfel corners, and
        ``(N,)`` float64 areas in mm² in the order of ``np.argwhere(is_surfel)``.
    """
    codes = neighbourhood_codes(mask)
    is_surfel = (codes != 0) & (codes != 255)
    return is_surfel, surfel_area_table(spacing_mm)[codes[is_surfel]]
