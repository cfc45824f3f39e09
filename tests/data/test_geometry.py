from __future__ import annotations

import numpy as np
import pytest

from isles2018.data.geometry import SliceGeometry
from isles2018.data.placement import (
    DEFAULT_SPACING_MM,
    NETWORK_SIZE,
    brain_box,
    plan_geometry,
    spacing_from_affine,
)


def _affine(spacing: tuple[float, float, float], *, oblique: bool = False) -> np.ndarray:
    """Voxel → world matrix with the given column norms; oblique: tilted about x and z."""
    rotation = np.eye(3)
    if oblique:  # like sub-stroke0014: off-diagonal terms in y/z, and a turn in plane
        a, b = np.deg2rad(17.0), np.deg2rad(-8.0)
        tilt = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
        turn = np.array([[np.cos(b), -np.sin(b), 0], [np.sin(b), np.cos(b), 0], [0, 0, 1]])
        rotation = tilt @ turn
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag(spacing)
    affine[:3, 3] = (-98.0, 121.5, -40.25)
    return affine


def _ellipsoids(
    shape: tuple[int, int, int], spacing: tuple[float, float, float], seed: int, count: int = 10
) -> np.ndarray:
    """Union of ``count`` random ellipsoids with diameters 5–30 mm inside the middle of the grid."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, dtype=bool)
    extent = np.array(shape) * np.array(spacing)
    for _ in range(count):
        radius = rng.uniform(2.5, 15.0, 3)
        centre = rng.uniform(0.25, 0.75, 3) * extent
        lo = np.maximum(((centre - radius) / spacing).astype(int) - 1, 0)
        hi = np.minimum(((centre + radius) / spacing).astype(int) + 2, shape)
        axes = [(np.arange(lo[a], hi[a]) * spacing[a] - centre[a]) / radius[a] for a in range(3)]
        inside = axes[0][:, None, None] ** 2 + axes[1][None, :, None] ** 2
        inside = inside + axes[2][None, None, :] ** 2 <= 1.0
        mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= inside
    return mask


def _dice(reference: np.ndarray, prediction: np.ndarray) -> float:
    return 2.0 * np.sum(reference & prediction) / (reference.sum() + prediction.sum())


def _network_index(geometry: SliceGeometry, source_index: float, axis: int) -> float:
    return (source_index - geometry.origin[axis]) / geometry.scale[axis]


def test_spacing_from_oblique_affine_is_the_column_norms() -> None:
    spacing = (0.383, 0.421, 2.0)
    assert spacing_from_affine(_affine(spacing, oblique=True)) == pytest.approx(spacing)
    with pytest.raises(ValueError, match="invalid voxel size"):
        spacing_from_affine(np.diag([0.4, 0.0, 2.0, 1.0]))


@pytest.mark.parametrize(
    ("spacing", "target", "oblique"),
    [
        ((0.9, 0.9, 5.0), DEFAULT_SPACING_MM, False),
        ((0.9, 0.9, 5.0), DEFAULT_SPACING_MM, True),
        ((float(np.float32(0.9)), float(np.float32(0.9)), 5.0), DEFAULT_SPACING_MM, False),
        ((0.8, 0.85, 5.0), None, False),  # ISLES 2018 data keep their own spacing
    ],
)
def test_isles2018_grid_passes_through_bit_for_bit(
    spacing: tuple[float, float, float], target: float | None, oblique: bool
) -> None:
    rng = np.random.default_rng(3)
    volume = rng.normal(40.0, 300.0, (256, 256, 4)) * np.pi  # float64, no float32-exact values
    brain = np.zeros(volume.shape, bool)
    brain[10:90, 150:250] = True  # off-centre: centring it would shift the slices
    geometry = plan_geometry(
        volume.shape, _affine(spacing, oblique=oblique), brain, target_spacing_mm=target
    )
    assert geometry.is_identity and "identity" in geometry.describe()
    expected = np.moveaxis(volume, 2, 0).astype(np.float32)
    network = geometry.to_network(volume)
    assert network.dtype == np.float32
    assert network.tobytes() == expected.tobytes()
    integers = rng.integers(-1024, 3000, volume.shape, dtype=np.int32)
    assert np.array_equal(geometry.to_network(integers, order=3), np.moveaxis(integers, 2, 0))
    probabilities = rng.random((4, 256, 256), dtype=np.float32)
    assert geometry.from_network(probabilities).tobytes() == (
        np.moveaxis(probabilities, 0, 2).tobytes()
    )
    label = rng.random(volume.shape) < 0.3
    for method in ("linear", "nearest"):
        network_label = geometry.mask_to_network(label, method=method)
        assert network_label.dtype == np.uint8
        assert np.array_equal(network_label, np.moveaxis(label, 2, 0))


@pytest.mark.parametrize("shape", [(201, 179, 2), (300, 263, 3), (255, 257, 1)])
def test_same_spacing_only_crops_and_pads_whole_pixels(shape: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(9)
    volume = rng.normal(0.0, 100.0, shape).astype(np.float32)
    geometry = plan_geometry(shape, _affine((0.8, 0.9, 5.0)), target_spacing_mm=None)
    assert geometry.scale == (1.0, 1.0) and not geometry.is_identity
    assert all(float(o).is_integer() for o in geometry.origin)
    network = geometry.to_network(volume, fill=np.nan)
    rows, cols = (np.flatnonzero(c) for c in geometry.covered())
    assert rows.size == min(shape[0], 256) and cols.size == min(shape[1], 256)
    x0, y0 = (int(geometry.origin[a]) + (rows[0], cols[0])[a] for a in (0, 1))
    block = volume[x0 : x0 + rows.size, y0 : y0 + cols.size]
    seen = network[:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    assert seen.tobytes() == np.moveaxis(block, 2, 0).tobytes()  # copied, not interpolated
    assert np.isnan(network).sum() == shape[2] * (256 * 256 - rows.size * cols.size)
    back = geometry.from_network(np.nan_to_num(network, nan=0.0))
    assert np.array_equal(back[x0 : x0 + rows.size, y0 : y0 + cols.size], block)
    assert np.count_nonzero(back) == np.count_nonzero(block)


def test_isles24_grid_gives_network_shapes() -> None:
    shape = (512, 586, 74)
    geometry = plan_geometry(shape, _affine((0.383, 0.383, 2.0), oblique=True))
    assert geometry.scale == pytest.approx((0.9 / 0.383, 0.9 / 0.383))
    assert not geometry.is_identity and not geometry.brain_cropped  # 224 mm fit in 230.4 mm
    network = geometry.to_network(np.ones(shape, np.float32))
    assert network.shape == (74, *NETWORK_SIZE) and network.dtype == np.float32
    back = geometry.from_network(network)
    assert back.shape == shape and back.dtype == np.float32
    assert np.all(back == 1.0)  # a source that fits keeps every voxel, up to its edges
    channels = np.ones((*shape[:2], 3, 2), np.float32)
    small = plan_geometry((*shape[:2], 3), _affine((0.383, 0.383, 2.0)))
    assert small.to_network(channels).shape == (3, 2, *NETWORK_SIZE)
    assert small.from_network(np.ones((3, 2, *NETWORK_SIZE), np.float32)).shape == channels.shape
    stacked = np.ones((3, 5, *shape[:2]), np.float32)  # CaseArrays.inputs layout (S, C, X, Y)
    assert small.slices_to_network(stacked).shape == (3, 5, *NETWORK_SIZE)


@pytest.mark.parametrize(
    "spacing", [(0.383, 0.383, 2.0), (0.4, 0.4, 2.0), (0.441, 0.441, 2.0), (0.4, 0.5, 2.0)]
)
def test_round_trip_of_a_lesion_mask_keeps_dice(spacing: tuple[float, float, float]) -> None:
    shape = (512, 512, 16)
    lesion = _ellipsoids(shape, spacing, seed=7)
    geometry = plan_geometry(shape, _affine(spacing, oblique=True))
    soft = geometry.to_network(lesion)  # covered fractions, as a calibrated network would give
    back = geometry.from_network(soft) >= 0.5
    assert _dice(lesion, back) >= 0.99
    assert back.sum() == pytest.approx(lesion.sum(), rel=0.01)
    label = geometry.mask_to_network(lesion)  # a hard label on the 0.9 mm grid loses more
    hard = geometry.from_network(label.astype(np.float32)) >= 0.5
    assert 0.96 <= _dice(lesion, hard) < _dice(lesion, back)


@pytest.mark.parametrize("seed", range(6))
def test_placement_centres_the_brain(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(620, 800)), int(rng.integers(620, 800)), 2)  # > 230 mm at 0.4
    size = (int(rng.integers(60, 257)), int(rng.integers(60, 257)))
    geometry = plan_geometry(shape, _affine((0.4, 0.4, 2.0)), size=size)  # FOV ≤ 230 mm
    field_voxels = [geometry.scale[a] * size[a] for a in (0, 1)]
    box = []
    for axis in (0, 1):  # a brain that fits and whose centring keeps the field inside the grid
        width = int(rng.integers(10, int(field_voxels[axis]) - 2))
        margin = field_voxels[axis] / 2
        centre = rng.uniform(margin, shape[axis] - margin)
        box.append((int(centre - width / 2), int(centre - width / 2) + width))
    geometry = plan_geometry(shape, _affine((0.4, 0.4, 2.0)), tuple(box), size=size)
    for axis in (0, 1):
        brain_centre = _network_index(geometry, sum(box[axis]) / 2, axis)
        assert brain_centre == pytest.approx((size[axis] - 1) / 2, abs=1e-9)
    assert geometry.brain_cropped_mm == (0.0, 0.0)


def test_placement_keeps_a_grid_that_fits_whole() -> None:
    shape = (500, 200, 2)  # 200 × 80 mm in a 230.4 mm field of view
    brain = np.zeros(shape, bool)
    brain[5:60, 150:190] = True  # 2–24 mm from the low-x edge: centring it would crop the grid
    geometry = plan_geometry(shape, _affine((0.4, 0.4, 2.0)), brain)
    assert geometry.brain_box == ((5, 59), (150, 189))
    first = [_network_index(geometry, -0.5, a) for a in (0, 1)]
    last = [_network_index(geometry, shape[a] - 0.5, a) for a in (0, 1)]
    assert min(first) >= -0.5 - 1e-9 and max(last) <= 255.5 + 1e-9  # every voxel is seen
    assert last[0] == pytest.approx(255.5)  # moved towards the centre as far as it can go
    centre = [_network_index(geometry, sum(geometry.brain_box[a]) / 2, a) for a in (0, 1)]
    assert centre[0] < 127.5 and centre[1] == pytest.approx(127.5)  # y had room: centred
    assert geometry.brain_cropped_mm == (0.0, 0.0)
    assert np.all(geometry.from_network(geometry.to_network(np.ones(shape))) == 1.0)


def test_empty_or_missing_brain_centres_the_grid() -> None:
    shape = (180, 120, 2)
    affine = _affine((0.5, 0.5, 2.0))
    empty = plan_geometry(shape, affine, np.zeros(shape, bool))
    assert empty == plan_geometry(shape, affine)
    assert empty.brain_box == ((0, 179), (0, 119))
    centre = [_network_index(empty, (shape[a] - 1) / 2, a) for a in (0, 1)]
    assert centre == pytest.approx([127.5, 127.5])
    assert brain_box(np.zeros((4, 4), bool)) is None


def test_brain_wider_than_the_field_of_view_is_cropped_symmetrically_and_reported() -> None:
    shape = (700, 700, 3)  # 280 mm at 0.4 mm
    brain = ((50, 649), (100, 399))  # 240 mm along x (> 230.4 mm), 120 mm along y
    geometry = plan_geometry(shape, _affine((0.4, 0.4, 2.0), oblique=True), brain)
    assert geometry.brain_cropped
    assert geometry.brain_cropped_mm == pytest.approx((240.0 - 256 * 0.9, 0.0))
    assert "cropped" in geometry.describe()
    low, high = _network_index(geometry, 49.5, 0), _network_index(geometry, 649.5, 0)
    assert -0.5 - low == pytest.approx(high - 255.5)  # the same width lost on both sides
    ramp = np.broadcast_to(np.arange(700.0)[:, None, None], shape)
    network = geometry.to_network(ramp, anti_alias=False)  # pixel u samples source x index
    expected = geometry.origin[0] + geometry.scale[0] * np.arange(256)
    np.testing.assert_allclose(network[1, :, 100], expected, atol=1e-3)
    lesion = _ellipsoids(shape, (0.4, 0.4, 2.0), seed=11, count=6)
    lesion[40:80, 250:300, :] = True  # straddles the field of view's low-x edge
    back = geometry.from_network(geometry.to_network(lesion))
    outside = np.ones(shape[:2], bool)
    inside_x = np.abs(_network_index(geometry, np.arange(700.0), 0) - 127.5) <= 128
    outside[inside_x, :] = False
    assert np.all(back[outside] == 0.0)  # nothing is predicted where the network never looked
    within = lesion & ~outside[:, :, None]
    assert within.sum() < lesion.sum()
    assert _dice(within, back >= 0.5) >= 0.99


@pytest.mark.parametrize(
    ("shape", "spacing", "size", "oblique"),
    [
        ((301, 257, 3), (0.4, 0.5, 2.0), (63, 65), True),  # odd sizes, anisotropic, cropped
        ((121, 91, 2), (0.7, 1.1, 5.0), (255, 129), False),  # coarser than the target: padded
        ((512, 586, 2), (0.383, 0.383, 2.0), (256, 256), True),
    ],
)
def test_network_pixels_sample_their_own_world_position(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    size: tuple[int, int],
    oblique: bool,
) -> None:
    affine = _affine(spacing, oblique=oblique)
    geometry = plan_geometry(shape, affine, size=size)
    weights = np.array([0.31, -0.17, 0.05])  # a linear field of world position (mm)

    def field(matrix: np.ndarray, grid: tuple[int, int, int]) -> np.ndarray:
        index = np.stack(np.meshgrid(*map(np.arange, grid), indexing="ij"), axis=-1)
        return (index @ matrix[:3, :3].T + matrix[:3, 3]) @ weights

    network = geometry.to_network(field(affine, shape))  # (Z, H, W)
    expected = np.moveaxis(field(geometry.network_affine(affine), (*size, shape[2])), 2, 0)
    margin = [2 + 2 * max(0.0, geometry.scale[a] - 1) for a in (0, 1)]  # prefilter reach
    rows, cols = (
        np.abs(geometry.origin[a] + geometry.scale[a] * np.arange(size[a]) - (shape[a] - 1) / 2)
        <= (shape[a] - 1) / 2 - margin[a]
        for a in (0, 1)
    )
    assert rows.sum() > 10 and cols.sum() > 10
    np.testing.assert_allclose(
        network[:, rows][:, :, cols], expected[:, rows][:, :, cols], atol=2e-3
    )
    back = geometry.from_network(expected.astype(np.float32))
    network_index = [_network_index(geometry, np.arange(shape[a]), a) for a in (0, 1)]
    covered = [np.flatnonzero(c) for c in geometry.covered()]
    rows, cols = (  # source voxels between the centres of network pixels that saw the grid
        (network_index[a] >= covered[a][0]) & (network_index[a] <= covered[a][-1]) for a in (0, 1)
    )
    source = field(affine, shape)
    np.testing.assert_allclose(back[rows][:, cols], source[rows][:, cols], atol=2e-3)
    rows, cols = (np.abs(network_index[a] - (size[a] - 1) / 2) <= size[a] / 2 for a in (0, 1))
    assert np.all(back[~rows] == 0.0) and np.all(back[:, ~cols] == 0.0)  # outside the field
    assert np.all(back[rows][:, cols] != 0.0)


def test_padding_takes_the_fill_value() -> None:
    shape = (100, 80, 2)  # 70 × 88 mm at 0.7 × 1.1 mm inside 230 mm: mostly padding
    geometry = plan_geometry(shape, _affine((0.7, 1.1, 2.0)))
    network = geometry.to_network(np.full(shape, 5.0), fill=-1.0)
    assert set(np.unique(network).tolist()) == {-1.0, 5.0}
    rows, cols = (np.flatnonzero((network[0] == 5.0).any(axis=a)) for a in (1, 0))
    assert np.all(network[:, rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] == 5.0)  # a box
    # Every pixel that covers part of the grid, and no other: the source's width plus < 2 px.
    assert 70 / 0.9 <= rows.size < 70 / 0.9 + 2 and 88 / 0.9 <= cols.size < 88 / 0.9 + 2


@pytest.mark.parametrize("order", [0, 1])
def test_probabilities_stay_in_the_unit_interval(order: int) -> None:
    rng = np.random.default_rng(5)
    geometry = plan_geometry((333, 401, 3), _affine((0.44, 0.38, 2.0), oblique=True))
    probabilities = rng.random((3, *NETWORK_SIZE), dtype=np.float32)
    probabilities[:, 100:140, 60:90] = 1.0
    probabilities[:, 120:130, 100:200] = 0.0
    back = geometry.from_network(probabilities, order=order)
    assert back.min() >= 0.0 and back.max() <= 1.0
    assert back.max() == 1.0 and back.min() == 0.0


def test_bad_inputs_are_refused_with_the_shape() -> None:
    geometry = plan_geometry((40, 30, 2), _affine((0.4, 0.4, 2.0)))
    with pytest.raises(ValueError, match=r"\(40, 30, 2\).*\(30, 40, 2\)"):
        geometry.to_network(np.zeros((30, 40, 2)))
    with pytest.raises(ValueError, match=r"\(2, 256, 256\).*\(2, 128, 128\)"):
        geometry.from_network(np.zeros((2, 128, 128)))
    with pytest.raises(ValueError, match="order must be 0 or 1"):
        geometry.from_network(np.zeros((2, 256, 256)), order=3)
    with pytest.raises(ValueError, match="method"):
        geometry.mask_to_network(np.zeros((40, 30, 2)), method="cubic")
    with pytest.raises(ValueError, match="not inside the grid"):
        plan_geometry((40, 30, 2), _affine((0.4, 0.4, 2.0)), ((0, 40), (0, 10)))
    with pytest.raises(ValueError, match="target_spacing_mm"):
        plan_geometry((40, 30, 2), _affine((0.4, 0.4, 2.0)), target_spacing_mm=0.0)
