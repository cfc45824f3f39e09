"""Surface voxels, the cropped erosion, and percentile Hausdorff distances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from evaluation.conventions import PRESETS, Conventions
from evaluation.errors import EvaluationError
from evaluation.surface import surface_distances, surface_voxels, union_box
from evaluation.surface_stats import hausdorff_percentile_mm, percentile_mm


def _pair(seed=0, shape=(16, 14, 6)):
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), 1.5)
    return field > 0.3 * field.std(), field > 0.1 * field.std()


@pytest.mark.parametrize("conventions", [*PRESETS.values(), Conventions(erosion_connectivity=26)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cropped_surface_equals_full_volume_erosion(conventions, seed):
    mask, other = _pair(seed)
    box = union_box(mask, other)
    structure = ndimage.generate_binary_structure(3, conventions.erosion_rank)
    full = mask & ~ndimage.binary_erosion(
        mask, structure, border_value=int(not conventions.border_is_background)
    )
    assert np.array_equal(surface_voxels(mask, conventions, box), full[box])


def test_face_and_edge_erosion_disagree_on_a_missing_edge_voxel():
    cube = np.zeros((5, 5, 5), bool)
    cube[1:4, 1:4, 1:4] = True
    cube[1, 1, 2] = False  # an edge neighbour of the centre
    face = surface_voxels(cube, Conventions(erosion_connectivity=6))
    edge = surface_voxels(cube, Conventions(erosion_connectivity=18))
    assert not face[2, 2, 2]  # all six faces of the centre are lesion
    assert edge[2, 2, 2]


def test_union_box_is_none_only_when_both_are_empty():
    empty = np.zeros((4, 4, 4), bool)
    assert union_box(empty, empty) is None
    one = empty.copy()
    one[1, 2, 3] = True
    assert union_box(empty, one) == (slice(1, 2), slice(2, 3), slice(3, 4))


def test_surface_distances_need_two_non_empty_masks():
    empty = np.zeros((4, 4, 4), bool)
    one = empty.copy()
    one[1, 1, 1] = True
    with pytest.raises(EvaluationError, match="non-empty"):
        surface_distances(one, empty, (1.0, 1.0, 1.0), PRESETS["default"])


@pytest.mark.parametrize("preset", ["default", "medpy", "isles-itk", "deepmind"])
def test_percentile_bounds(preset):
    conventions = PRESETS[preset]
    reference, prediction = _pair(4)
    distances = surface_distances(reference, prediction, (0.9, 0.8, 5.0), conventions)
    forward, backward = distances.reference_to_prediction, distances.prediction_to_reference
    hd = max(forward.max(), backward.max())
    assert hausdorff_percentile_mm(distances, 100, conventions) == pytest.approx(hd)
    if conventions.hd95_pooling == "pooled":
        minimum = min(forward.min(), backward.min())
    else:
        minimum = max(forward.min(), backward.min())
    assert hausdorff_percentile_mm(distances, 0, conventions) == pytest.approx(minimum)
    for outside in (-0.1, 100.5, float("nan")):
        with pytest.raises(EvaluationError, match=r"within \[0, 100\]"):
            hausdorff_percentile_mm(distances, outside, conventions)


def test_percentile_rules_on_a_known_set():
    values = np.array([0.0, 1.0, 2.0, 10.0])
    assert percentile_mm(values, 50, "linear") == pytest.approx(1.5)
    assert percentile_mm(values, 50, "lower") == 1.0
    assert percentile_mm(values, 95, "linear") == pytest.approx(2.0 + 0.85 * 8.0)
    assert percentile_mm(values, 95, "lower") == 2.0
    with pytest.raises(EvaluationError, match="empty"):
        percentile_mm(np.array([]), 50, "linear")


def test_local_search_is_exact_beyond_its_window():
    """Partners far outside the small search window are found by the KD-tree fallback."""
    reference = np.zeros((60, 8, 3), bool)
    reference[2, 4, 1] = True
    reference[40:, 2:6, :] = True
    prediction = np.zeros_like(reference)
    prediction[30, 4, 1] = True
    distances = surface_distances(reference, prediction, (0.9, 0.8, 5.0), PRESETS["default"])
    assert distances.prediction_to_reference.tolist() == pytest.approx([10 * 0.9])
    assert distances.reference_to_prediction.max() == pytest.approx(
        np.hypot(29 * 0.9, np.hypot(2 * 0.8, 5.0))
    )


def test_inverted_cdf_takes_the_first_value_whose_weight_share_reaches_q():
    values = np.array([3.0, 1.0, 10.0, 2.0])
    assert percentile_mm(values, 50, "inverted-cdf") == 2.0  # shares 0.25, 0.5, 0.75, 1
    assert percentile_mm(values, 51, "inverted-cdf") == 3.0
    assert percentile_mm(values, 0, "inverted-cdf") == 1.0
    assert percentile_mm(values, 100, "inverted-cdf") == 10.0
    # A light far value: 3 of 3.01 units of area lie within 3 mm.
    light = np.array([1.0, 1.0, 0.01, 1.0])
    assert percentile_mm(values, 95, "inverted-cdf", light) == 3.0
    assert percentile_mm(values, 95, "inverted-cdf") == 10.0
    with pytest.raises(EvaluationError, match="does not take weights"):
        percentile_mm(values, 95, "linear", light)


def test_surfel_distances_carry_one_area_per_distance():
    reference, prediction = _pair(5)
    distances = surface_distances(reference, prediction, (0.9, 0.8, 5.0), PRESETS["deepmind"])
    assert distances.reference_areas_mm2.shape == distances.reference_to_prediction.shape
    assert distances.prediction_areas_mm2.shape == distances.prediction_to_reference.shape
    assert (distances.reference_areas_mm2 > 0).all()
    voxels = surface_distances(reference, prediction, (0.9, 0.8, 5.0), PRESETS["default"])
    assert voxels.reference_areas_mm2 is None and voxels.prediction_areas_mm2 is None
