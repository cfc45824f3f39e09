"""compute_metrics on hand-drawn geometry: analytic values, empty masks, units, conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.conventions import PRESETS, Conventions
from evaluation.errors import EvaluationError
from evaluation.metrics import DISTANCE_COLUMNS, METRIC_COLUMNS, compute_metrics
from evaluation.surface import surface_distances

SPACING = (0.9, 0.8, 5.0)
ALL_PRESETS = sorted(PRESETS)
VOXEL_PRESETS = sorted(name for name, p in PRESETS.items() if p.surface_model == "voxels")


def voxel(shape, *points):
    mask = np.zeros(shape, bool)
    for point in points:
        mask[point] = True
    return mask


def box(shape, *ranges):
    mask = np.zeros(shape, bool)
    mask[tuple(slice(a, b) for a, b in ranges)] = True
    return mask


# 1. Analytic single voxels -------------------------------------------------------------------


@pytest.mark.parametrize("preset", VOXEL_PRESETS)
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("steps", [1, 3])
def test_single_voxel_shift_along_an_axis_is_that_many_spacings(preset, axis, steps):
    shape = (9, 9, 9)
    target = [4, 4, 4]
    target[axis] += steps
    metrics = compute_metrics(voxel(shape, (4, 4, 4)), voxel(shape, tuple(target)), SPACING, preset)
    expected = steps * SPACING[axis]
    for name in DISTANCE_COLUMNS:
        assert metrics[name] == pytest.approx(expected, rel=1e-12), name
    assert metrics["dice"] == 0.0
    assert metrics["lesion_fp"] == 1 and metrics["lesion_fn"] == 1


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("steps", [1, 3])
def test_single_voxel_shift_with_surfels_measures_corner_to_corner(axis, steps):
    """A voxel's 8 corners are its surfels, all of one area; after a shift by ``steps`` voxels
    half of them lie ``steps - 1`` spacings from the other voxel's corners, half ``steps``."""
    shape = (9, 9, 9)
    target = [4, 4, 4]
    target[axis] += steps
    step = SPACING[axis]
    metrics = compute_metrics(
        voxel(shape, (4, 4, 4)), voxel(shape, tuple(target)), SPACING, "deepmind"
    )
    assert metrics["hd_mm"] == pytest.approx(steps * step, rel=1e-12)
    assert metrics["hd95_mm"] == pytest.approx(steps * step, rel=1e-12)
    for name in ("assd_mm", "masd_mm", "asd_prediction_to_reference_mm"):
        assert metrics[name] == pytest.approx((steps - 0.5) * step, rel=1e-12), name
    within = [(steps - 1) * step <= 2.0, steps * step <= 2.0]
    assert metrics["surface_dice"] == sum(within) / 2


@pytest.mark.parametrize("tolerance", [0.0, 0.8, 1.0, 5.0])
def test_surface_dice_counts_surface_voxels_within_the_tolerance(tolerance):
    reference = box((12, 10, 4), (2, 8), (2, 8), (1, 3))
    prediction = box((12, 10, 4), (3, 9), (2, 8), (1, 3))  # shifted one voxel (0.9 mm) along x
    distances = surface_distances(reference, prediction, SPACING, PRESETS["default"])
    forward, backward = distances.reference_to_prediction, distances.prediction_to_reference
    expected = (np.sum(forward <= tolerance) + np.sum(backward <= tolerance)) / (
        forward.size + backward.size
    )
    metrics = compute_metrics(reference, prediction, SPACING, surface_dice_tolerance_mm=tolerance)
    assert metrics["surface_dice"] == pytest.approx(expected, rel=1e-12)
    assert (metrics["surface_dice"] == 1.0) == (tolerance >= max(forward.max(), backward.max()))
    assert compute_metrics(reference, reference, SPACING)["surface_dice"] == 1.0


@pytest.mark.parametrize("tolerance", [-0.1, math.nan, math.inf, "wide"])
def test_bad_surface_dice_tolerance_is_an_error(tolerance):
    with pytest.raises(EvaluationError, match="surface Dice tolerance"):
        compute_metrics(LESION, LESION, SPACING, surface_dice_tolerance_mm=tolerance)


def test_surface_dice_default_tolerance_is_2_mm():
    reference = box((12, 10, 4), (2, 8), (2, 8), (1, 3))
    prediction = box((12, 10, 4), (4, 10), (2, 8), (1, 3))  # 1.8 mm shift: all within 2 mm
    assert compute_metrics(reference, prediction, SPACING)["surface_dice"] == 1.0
    narrow = compute_metrics(reference, prediction, SPACING, surface_dice_tolerance_mm=1.7)
    assert narrow["surface_dice"] < 1.0


@pytest.mark.parametrize(
    "offset", [(1, 1, 0), (1, 0, 1), (0, 1, 1), (1, 1, 1), (2, -1, 1), (-3, 2, 0)]
)
def test_single_voxel_diagonal_shift_is_the_euclidean_length(offset):
    shape = (9, 9, 9)
    target = tuple(4 + o for o in offset)
    metrics = compute_metrics(voxel(shape, (4, 4, 4)), voxel(shape, target), SPACING)
    expected = math.sqrt(sum((o * s) ** 2 for o, s in zip(offset, SPACING, strict=True)))
    assert metrics["hd_mm"] == pytest.approx(expected, rel=1e-12)
    assert metrics["hd95_mm"] == pytest.approx(expected, rel=1e-12)
    assert metrics["assd_mm"] == pytest.approx(expected, rel=1e-12)


def test_identical_masks_score_perfectly():
    mask = box((12, 12, 6), (2, 9), (3, 8), (1, 5))
    metrics = compute_metrics(mask, mask, SPACING)
    assert metrics["dice"] == metrics["precision"] == metrics["recall"] == 1.0
    assert all(metrics[name] == 0.0 for name in DISTANCE_COLUMNS)
    assert metrics["avd_ml"] == 0.0 and metrics["lesion_f1"] == 1.0


def test_result_has_every_column_as_python_scalars():
    metrics = compute_metrics(box((6, 6, 3), (1, 3), (1, 3), (0, 2)), np.zeros((6, 6, 3)), SPACING)
    assert tuple(metrics) == METRIC_COLUMNS
    assert all(isinstance(v, bool | int | float) for v in metrics.values())


def test_overlap_ratios_count_voxels():
    reference = box((10, 10, 3), (0, 4), (0, 5), (0, 1))  # 20 voxels
    prediction = box((10, 10, 3), (2, 6), (0, 5), (0, 1))  # 20 voxels, 10 shared
    metrics = compute_metrics(reference, prediction, SPACING)
    assert metrics["dice"] == pytest.approx(0.5)
    assert metrics["precision"] == pytest.approx(0.5)
    assert metrics["recall"] == pytest.approx(0.5)
    assert (metrics["tp_voxels"], metrics["fp_voxels"], metrics["fn_voxels"]) == (10, 10, 10)


# 4. Symmetry and dtypes ----------------------------------------------------------------------


def _random_pair(seed, shape=(14, 12, 5)):
    rng = np.random.default_rng(seed)
    reference = rng.random(shape) < 0.3
    prediction = rng.random(shape) < 0.25
    return reference, prediction


@pytest.mark.parametrize("preset", ALL_PRESETS)
@pytest.mark.parametrize("seed", [0, 1])
def test_swapping_reference_and_prediction(preset, seed):
    reference, prediction = _random_pair(seed)
    forward = compute_metrics(reference, prediction, SPACING, preset)
    backward = compute_metrics(prediction, reference, SPACING, preset)
    # Lesion F1 is not symmetric: a merge one way is a split the other way.
    for name in ("dice", "hd_mm", "hd95_mm", "assd_mm", "masd_mm", "avd_ml", "surface_dice"):
        assert forward[name] == pytest.approx(backward[name], rel=1e-12), name
    assert forward["precision"] == pytest.approx(backward["recall"])
    assert forward["recall"] == pytest.approx(backward["precision"])
    assert forward["asd_reference_to_prediction_mm"] == pytest.approx(
        backward["asd_prediction_to_reference_mm"]
    )
    assert forward["volume_difference_ml"] == pytest.approx(-backward["volume_difference_ml"])


def test_bool_uint8_255_float_and_int16_masks_agree():
    reference, prediction = _random_pair(3)
    expected = compute_metrics(reference, prediction, SPACING)
    for convert in (
        lambda m: m.astype(np.uint8),
        lambda m: m.astype(np.uint8) * 255,
        lambda m: m.astype(np.float32),
        lambda m: m.astype(np.int16),
    ):
        assert compute_metrics(convert(reference), convert(prediction), SPACING) == expected


# 5. Convention discriminators ----------------------------------------------------------------


def _block_with_far_cluster():
    """Reference block; prediction = the block plus a far cluster (~6 % of its surface)."""
    reference = box((40, 40, 12), (2, 22), (2, 22), (2, 8))
    prediction = reference.copy()
    prediction[32:36, 32:36, 3:8] = True
    return reference, prediction


def test_false_positive_cluster_separates_max_directed_from_pooled_hd95():
    reference, prediction = _block_with_far_cluster()
    spacing = (1.0, 1.0, 1.0)
    distances = surface_distances(reference, prediction, spacing, PRESETS["default"])
    far = np.count_nonzero(distances.prediction_to_reference > 0)
    share = far / distances.prediction_to_reference.size
    assert 0.05 < share < 0.07  # the cluster is ~6 % of the predicted surface
    default = compute_metrics(reference, prediction, spacing, "default")
    medpy = compute_metrics(reference, prediction, spacing, "medpy")
    assert default["hd95_mm"] >= 15.0  # the cluster lies >= 11·√2 mm from the block
    assert medpy["hd95_mm"] == 0.0  # pooled: the cluster is ~3 % of all surface voxels
    # Farthest cluster voxel (35, 35, z) to the block's corner edge (21, 21, z).
    assert default["hd_mm"] == medpy["hd_mm"] == pytest.approx(math.sqrt(14**2 + 14**2))


def test_pooled_assd_and_mean_of_means_differ_as_defined():
    # A large reference and a small prediction in its corner: many reference surface voxels
    # far away, few prediction surface voxels close by.
    reference = box((30, 30, 10), (2, 26), (2, 26), (2, 8))
    prediction = box((30, 30, 10), (2, 6), (2, 6), (2, 6))
    spacing = (1.0, 1.0, 2.0)
    distances = surface_distances(reference, prediction, spacing, PRESETS["default"])
    forward, backward = distances.reference_to_prediction, distances.prediction_to_reference
    pooled = (forward.sum() + backward.sum()) / (forward.size + backward.size)
    mean_of_means = (forward.mean() + backward.mean()) / 2
    default = compute_metrics(reference, prediction, spacing, "default")
    masd = compute_metrics(
        reference, prediction, spacing, Conventions(assd_pooling="mean-of-means")
    )
    assert default["assd_mm"] == pytest.approx(pooled, rel=1e-12)
    assert masd["assd_mm"] == pytest.approx(mean_of_means, rel=1e-12)
    assert default["masd_mm"] == pytest.approx(mean_of_means, rel=1e-12)
    # Pooling weights the (larger, farther) reference surface; the mean of means does not.
    assert pooled > 1.5 * mean_of_means


def test_lower_percentile_rule_picks_an_observed_distance():
    reference, prediction = _block_with_far_cluster()
    lower = compute_metrics(
        reference, prediction, (1, 1, 1), Conventions(percentile_method="lower")
    )
    distances = surface_distances(reference, prediction, (1, 1, 1), PRESETS["default"])
    observed = np.concatenate(
        [distances.reference_to_prediction, distances.prediction_to_reference]
    )
    assert np.isclose(observed, lower["hd95_mm"]).any()


# 7. Empty masks ------------------------------------------------------------------------------

EMPTY = np.zeros((8, 8, 3), bool)
LESION = box((8, 8, 3), (2, 5), (2, 4), (0, 2))  # 12 voxels
VOXEL_ML = 0.9 * 0.8 * 5.0 / 1000


@pytest.mark.parametrize("preset", ALL_PRESETS)
@pytest.mark.parametrize(
    ("reference", "prediction", "ratio", "distance", "avd_voxels", "flags"),
    [
        (EMPTY, EMPTY, 1.0, 0.0, 0, (True, True)),
        (EMPTY, LESION, 0.0, math.inf, 12, (True, False)),
        (LESION, EMPTY, 0.0, math.inf, 12, (False, True)),
    ],
    ids=["both-empty", "reference-empty", "prediction-empty"],
)
def test_empty_mask_table(preset, reference, prediction, ratio, distance, avd_voxels, flags):
    metrics = compute_metrics(reference, prediction, SPACING, preset)
    for name in ("dice", "precision", "recall", "lesion_f1", "surface_dice"):
        assert metrics[name] == ratio, name
    for name in DISTANCE_COLUMNS:
        assert metrics[name] == distance, name
        assert not math.isnan(metrics[name])
    assert metrics["avd_ml"] == pytest.approx(avd_voxels * VOXEL_ML)
    assert (metrics["reference_empty"], metrics["prediction_empty"]) == flags


# 9. Volume border ----------------------------------------------------------------------------


def test_lesion_on_the_first_slices_has_surface_there_by_default():
    spacing = (1.0, 1.0, 5.0)
    reference = box((9, 9, 4), (2, 7), (2, 7), (0, 2))  # slices 0 and 1
    prediction = box((9, 9, 4), (2, 7), (2, 7), (0, 1))  # slice 0
    metrics = compute_metrics(reference, prediction, spacing, "default")
    # Border = background: every voxel of both masks is surface. Slice 1 is 5 mm from slice 0.
    assert metrics["hd_mm"] == 5.0
    assert metrics["hd95_mm"] == 5.0
    assert metrics["assd_mm"] == pytest.approx(25 * 5.0 / (50 + 25))


def test_lesion_on_the_first_slices_with_border_not_background():
    spacing = (1.0, 1.0, 5.0)
    reference = box((9, 9, 4), (2, 7), (2, 7), (0, 2))
    prediction = box((9, 9, 4), (2, 7), (2, 7), (0, 1))
    metrics = compute_metrics(reference, prediction, spacing, "isles-itk")
    # Reference surface: slice 1 (25 voxels, 5 mm from the prediction) + the slice-0 ring (16,
    # at 0). Prediction surface: all of slice 0; its 3x3 interior is 1 mm (8) or 2 mm (1) from
    # the reference's slice-0 ring.
    forward_mean = 25 * 5.0 / 41
    backward_mean = (8 * 1.0 + 2.0) / 25
    assert metrics["asd_reference_to_prediction_mm"] == pytest.approx(forward_mean)
    assert metrics["asd_prediction_to_reference_mm"] == pytest.approx(backward_mean)
    assert metrics["assd_mm"] == pytest.approx((forward_mean + backward_mean) / 2)
    assert metrics["hd_mm"] == 5.0


def test_lesion_on_the_last_slice_mirrors_the_first():
    spacing = (1.0, 1.0, 5.0)
    reference = box((9, 9, 4), (2, 7), (2, 7), (2, 4))
    prediction = box((9, 9, 4), (2, 7), (2, 7), (3, 4))
    first = compute_metrics(
        box((9, 9, 4), (2, 7), (2, 7), (0, 2)), box((9, 9, 4), (2, 7), (2, 7), (0, 1)), spacing
    )
    assert compute_metrics(reference, prediction, spacing) == first


@pytest.mark.parametrize("preset", ALL_PRESETS)
@pytest.mark.parametrize("slices", [1, 2])
def test_mask_filling_the_whole_volume(preset, slices):
    full = np.ones((6, 5, slices), bool)
    metrics = compute_metrics(full, full, SPACING, preset)
    assert metrics["dice"] == 1.0
    assert all(metrics[name] == 0.0 for name in DISTANCE_COLUMNS)
    assert metrics["volume_reference_ml"] == pytest.approx(30 * slices * VOXEL_ML)
    assert metrics["lesion_count_reference"] == 1


@pytest.mark.parametrize("slices", [1, 2])
def test_full_volume_minus_one_voxel_thin_slab(slices):
    full = np.ones((6, 5, slices), bool)
    holed = full.copy()
    holed[3, 2, :] = False
    metrics = compute_metrics(full, holed, SPACING, "default")
    # With at most 2 slices every voxel touches the z border: all voxels are surface; the
    # removed column is one in-plane step (0.8 mm along y) from its neighbours.
    assert metrics["hd_mm"] == pytest.approx(0.8)
    assert metrics["asd_prediction_to_reference_mm"] == 0.0


def test_two_slice_slab_depends_on_the_border_convention():
    spacing = (1.0, 1.0, 5.0)
    reference = box((12, 12, 2), (2, 9), (2, 9), (0, 2))
    prediction = box((12, 12, 2), (3, 9), (2, 9), (0, 2))
    default = compute_metrics(reference, prediction, spacing, "default")
    itk = compute_metrics(reference, prediction, spacing, Conventions(border_is_background=False))
    assert default["assd_mm"] != pytest.approx(itk["assd_mm"])
    assert default["hd_mm"] == itk["hd_mm"] == 1.0


# 10. Topology --------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ALL_PRESETS)
def test_reference_with_a_cavity(preset):
    spacing = (1.5, 1.5, 1.5)
    prediction = box((11, 11, 11), (1, 10), (1, 10), (1, 10))  # 9^3 cube
    reference = prediction.copy()
    reference[4:7, 4:7, 4:7] = False  # 3^3 cavity in the middle
    metrics = compute_metrics(reference, prediction, spacing, preset)
    # The cavity's wall is 2 voxels from the outer surface that the prediction has; surfels
    # sit on voxel corners, half a voxel further out on both sides: 3 steps.
    surfels = PRESETS[preset].surface_model == "surfels"
    assert metrics["hd_mm"] == pytest.approx(4.5 if surfels else 3.0)
    assert metrics["asd_prediction_to_reference_mm"] == 0.0
    assert metrics["lesion_count_reference"] == 1
    assert metrics["volume_reference_ml"] == pytest.approx((729 - 27) * 1.5**3 / 1000)


def test_one_voxel_sheets_are_all_surface():
    spacing = (0.9, 0.8, 5.0)
    reference = box((10, 8, 4), (3, 4), (0, 8), (0, 4))
    prediction = box((10, 8, 4), (5, 6), (0, 8), (0, 4))
    for preset in VOXEL_PRESETS:
        metrics = compute_metrics(reference, prediction, spacing, preset)
        for name in ("hd_mm", "hd95_mm", "assd_mm", "masd_mm"):
            assert metrics[name] == pytest.approx(1.8), (preset, name)
    # Surfels: each sheet has corner planes at x and x + 1; the facing planes are 0.9 mm
    # apart, the outer ones 1.8 mm.
    deepmind = compute_metrics(reference, prediction, spacing, "deepmind")
    assert deepmind["hd_mm"] == pytest.approx(1.8)
    assert 0.9 < deepmind["assd_mm"] < 1.8


def test_diagonal_only_contact_is_one_lesion_at_26_and_two_at_6():
    mask = voxel((6, 6, 6), (2, 2, 2), (3, 3, 3))
    for connectivity, count in ((26, 1), (18, 2), (6, 2)):
        conventions = Conventions(lesion_connectivity=connectivity)
        assert compute_metrics(mask, mask, SPACING, conventions)["lesion_count_reference"] == count
    edge = voxel((6, 6, 6), (2, 2, 2), (3, 3, 2))
    for connectivity, count in ((26, 1), (18, 1), (6, 2)):
        conventions = Conventions(lesion_connectivity=connectivity)
        assert compute_metrics(edge, edge, SPACING, conventions)["lesion_count_reference"] == count


# 11. Lesion-wise -----------------------------------------------------------------------------

SHAPE = (20, 20, 6)


def test_merge_two_reference_lesions_into_one_prediction():
    reference = box(SHAPE, (2, 6), (2, 6), (1, 4)) | box(SHAPE, (8, 12), (2, 6), (1, 4))
    prediction = box(SHAPE, (3, 11), (3, 5), (2, 3))
    metrics = compute_metrics(reference, prediction, SPACING)
    assert (metrics["lesion_tp"], metrics["lesion_fp"], metrics["lesion_fn"]) == (2, 0, 0)
    assert metrics["lesion_f1"] == 1.0
    assert metrics["lesion_count_difference"] == -1
    assert (
        compute_metrics(reference, prediction, SPACING, "isles22")["lesion_count_difference"] == 1
    )


def test_split_one_reference_lesion_into_two_predictions():
    reference = box(SHAPE, (2, 12), (2, 6), (1, 4))
    prediction = box(SHAPE, (2, 5), (2, 6), (1, 4)) | box(SHAPE, (8, 12), (2, 6), (1, 4))
    metrics = compute_metrics(reference, prediction, SPACING)
    assert (metrics["lesion_tp"], metrics["lesion_fp"], metrics["lesion_fn"]) == (1, 0, 0)
    assert metrics["lesion_f1"] == 1.0
    assert metrics["lesion_count_difference"] == 1


def test_diagonal_only_touch_is_not_an_overlap():
    reference = voxel(SHAPE, (5, 5, 2))
    prediction = voxel(SHAPE, (6, 6, 3))
    metrics = compute_metrics(reference, prediction, SPACING)
    assert (metrics["lesion_tp"], metrics["lesion_fp"], metrics["lesion_fn"]) == (0, 1, 1)
    assert metrics["lesion_f1"] == 0.0


def test_false_positive_lesions_only():
    reference = box(SHAPE, (2, 5), (2, 5), (1, 3))
    prediction = reference | box(SHAPE, (12, 15), (12, 15), (1, 3)) | voxel(SHAPE, (18, 2, 5))
    metrics = compute_metrics(reference, prediction, SPACING)
    assert (metrics["lesion_tp"], metrics["lesion_fp"], metrics["lesion_fn"]) == (1, 2, 0)
    assert metrics["lesion_f1"] == pytest.approx(2 / (2 + 2))
    only_fp = compute_metrics(np.zeros(SHAPE, bool), prediction, SPACING)
    assert (only_fp["lesion_tp"], only_fp["lesion_fp"], only_fp["lesion_f1"]) == (0, 3, 0.0)


def test_tiny_one_voxel_lesions_count():
    reference = voxel(SHAPE, (2, 2, 1), (10, 10, 3), (17, 4, 5))
    prediction = voxel(SHAPE, (2, 2, 1), (10, 10, 3))
    metrics = compute_metrics(reference, prediction, SPACING)
    assert (metrics["lesion_tp"], metrics["lesion_fp"], metrics["lesion_fn"]) == (2, 0, 1)
    assert metrics["lesion_f1"] == pytest.approx(4 / 5)
    assert metrics["lesion_count_reference"] == 3


# 12. Units -----------------------------------------------------------------------------------


def test_volumes_are_voxel_count_times_voxel_volume_in_ml():
    reference = box((10, 10, 4), (0, 5), (0, 2), (0, 1))  # 10 voxels
    prediction = box((10, 10, 4), (0, 5), (0, 5), (0, 2))  # 50 voxels
    metrics = compute_metrics(reference, prediction, (0.9, 0.8, 5.0))
    voxel_ml = 0.9 * 0.8 * 5.0 / 1000  # 3.6 mm^3 = 0.0036 ml
    assert metrics["voxel_volume_ml"] == pytest.approx(voxel_ml)
    assert metrics["volume_reference_ml"] == pytest.approx(0.036)
    assert metrics["volume_prediction_ml"] == pytest.approx(0.18)
    assert metrics["avd_ml"] == pytest.approx(0.144)
    assert metrics["volume_difference_ml"] == pytest.approx(0.144)
    swapped = compute_metrics(prediction, reference, (0.9, 0.8, 5.0))
    assert swapped["volume_difference_ml"] == pytest.approx(-0.144)
    assert swapped["avd_ml"] == pytest.approx(0.144)
    assert metrics["diagonal_mm"] == pytest.approx(math.sqrt(9.0**2 + 8.0**2 + 20.0**2))


# 13. Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spacing",
    [
        (0.9, 0.8),
        (0.9, 0.8, 5.0, 1.0),
        (0.9, 0.0, 5.0),
        (0.9, -1.0, 5.0),
        (0.9, math.nan, 5.0),
        (math.inf, 1.0, 1.0),
        ("a", 1, 1),
    ],
)
def test_bad_spacing_is_an_error(spacing):
    with pytest.raises(EvaluationError, match="spacing"):
        compute_metrics(LESION, LESION, spacing)


def test_shape_mismatch_is_an_error():
    with pytest.raises(EvaluationError, match=r"shape \(8, 8, 4\) differs .* \(8, 8, 3\)"):
        compute_metrics(LESION, np.zeros((8, 8, 4)), SPACING)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_or_inf_in_a_mask_is_an_error_even_when_binarising(bad):
    mask = LESION.astype(float)
    mask[0, 0, 0] = bad
    with pytest.raises(EvaluationError, match="prediction: mask contains"):
        compute_metrics(LESION, mask, SPACING)
    with pytest.raises(EvaluationError, match="reference: mask contains"):
        compute_metrics(mask, LESION, SPACING, binarise=True)


@pytest.mark.parametrize("values", [(0, 1, 2), (0, 1, 255), (0, -1), (0, 0.5)])
def test_non_binary_labels_are_an_error_unless_binarised(values):
    mask = np.zeros((8, 8, 3))
    for index, value in enumerate(values):
        mask[index, 0, 0] = value
    with pytest.raises(EvaluationError, match="non-binary labels"):
        compute_metrics(LESION, mask, SPACING)
    binarised = compute_metrics(LESION, mask, SPACING, binarise=True)
    assert binarised["volume_prediction_ml"] == pytest.approx((len(values) - 1) * VOXEL_ML)


def test_wrong_dimensionality_and_unknown_preset_are_errors():
    with pytest.raises(EvaluationError, match="3D"):
        compute_metrics(np.zeros((4, 4)), np.zeros((4, 4)), (1.0, 1.0))
    with pytest.raises(EvaluationError, match="unknown preset 'monai'"):
        compute_metrics(LESION, LESION, SPACING, "monai")
    with pytest.raises(EvaluationError, match="dtype"):
        compute_metrics(LESION.astype(complex), LESION, SPACING)
