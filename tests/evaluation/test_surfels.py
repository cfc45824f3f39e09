"""Corner-grid surfels: neighbourhood codes, areas (vs surface-distance's table) and crops."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from surface_distance import lookup_tables

from evaluation.surfels import corner_bit, neighbourhood_codes, surfel_area_table, surfels

SPACINGS = [(1.0, 1.0, 1.0), (0.9, 0.8, 5.0), (0.3, 2.7, 1.1), (3.0, 0.5, 0.7)]
CORNERS = list(itertools.product((0, 1), repeat=3))


def _deepmind_code(code: int) -> int:
    """The same 2×2×2 configuration in surface-distance's bit order (bit 7 - (4a + 2b + c))."""
    lesion = [c for c in CORNERS if code >> corner_bit(c) & 1]
    return sum(1 << (7 - (4 * a + 2 * b + c)) for a, b, c in lesion)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_every_configuration_has_surface_distance_area(spacing):
    ours = surfel_area_table(spacing)
    theirs = lookup_tables.create_table_neighbour_code_to_surface_area(spacing)
    expected = np.array([theirs[_deepmind_code(code)] for code in range(256)])
    np.testing.assert_allclose(ours, expected, rtol=1e-14, atol=0)
    assert ours[0] == ours[255] == 0.0
    assert (ours[1:255] > 0).all()


@pytest.mark.parametrize("spacing", SPACINGS)
def test_a_configuration_and_its_inverse_share_one_area(spacing):
    table = surfel_area_table(spacing)
    np.testing.assert_array_equal(table, table[::-1])  # code ^ 255 == 255 - code


@pytest.mark.parametrize("spacing", SPACINGS)
def test_a_single_voxel_has_eight_corner_surfels_of_one_area(spacing):
    mask = np.zeros((3, 3, 3), bool)
    mask[1, 1, 1] = True
    is_surfel, areas = surfels(mask, spacing)
    assert is_surfel.shape == (4, 4, 4)
    assert sorted(map(tuple, np.argwhere(is_surfel))) == [
        (1 + a, 1 + b, 1 + c) for a, b, c in CORNERS
    ]
    # Each corner cuts off a marching-cubes triangle with vertices at three edge midpoints.
    sx, sy, sz = spacing
    corner_area = math.sqrt((sy * sz) ** 2 + (sx * sz) ** 2 + (sx * sy) ** 2) / 8
    np.testing.assert_allclose(areas, corner_area, rtol=1e-14)


def test_neighbourhood_code_bits_name_the_voxels_around_a_corner():
    mask = np.zeros((2, 2, 2), bool)
    mask[1, 0, 1] = True
    codes = neighbourhood_codes(mask)
    assert codes.shape == (3, 3, 3)
    # Corner (1, 1, 1) sits between voxels 0 and 1 on every axis: the lesion voxel is its
    # neighbour (a, b, c) = (1, 0, 1).
    assert codes[1, 1, 1] == 1 << corner_bit((1, 0, 1))
    # Corner (2, 1, 2) has that voxel at (0, 0, 0) of its neighbourhood; beyond the crop is
    # background.
    assert codes[2, 1, 2] == 1 << corner_bit((0, 0, 0))
    assert np.count_nonzero(codes) == 8


@pytest.mark.parametrize("spacing", SPACINGS)
def test_a_flat_face_has_the_area_of_a_voxel_face(spacing):
    mask = np.zeros((6, 6, 4), bool)
    mask[:, :, :2] = True  # a slab filling x and y, two slices thick
    codes = neighbourhood_codes(mask)
    # Inside the top face (corner plane z = 2), each corner sees four lesion voxels below.
    face_code = int(codes[3, 3, 2])
    assert face_code == sum(1 << corner_bit((a, b, 0)) for a in (0, 1) for b in (0, 1))
    assert surfel_area_table(spacing)[face_code] == pytest.approx(spacing[0] * spacing[1])
    assert codes[3, 3, 1] == 255  # inside the slab: not a surfel


def test_surfels_of_a_crop_are_those_of_the_volume():
    rng = np.random.default_rng(0)
    mask = np.zeros((12, 11, 9), bool)
    mask[3:9, 2:8, 2:6] = rng.random((6, 6, 4)) < 0.6
    full_grid, full_areas = surfels(mask, (0.9, 0.8, 5.0))
    crop_grid, crop_areas = surfels(mask[3:9, 2:8, 2:6], (0.9, 0.8, 5.0))
    assert np.array_equal(full_grid[3:10, 2:9, 2:7], crop_grid)
    assert full_grid.sum() == crop_grid.sum()
    np.testing.assert_array_equal(full_areas, crop_areas)


def test_the_area_table_is_cached_and_read_only():
    table = surfel_area_table((0.9, 0.8, 5.0))
    assert surfel_area_table([0.9, 0.8, 5.0]) is table
    with pytest.raises(ValueError, match="read-only"):
        table[3] = 1.0
