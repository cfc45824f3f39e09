"""Presets against the outside code they reproduce: ISLES'24 (panoptica) and DeepMind's
surface-distance, on arrays and through ``isles-eval score`` on NIfTI files.

The ISLES'24 reference is the challenge's ``compute_dice_f1_instance_difference`` and
``compute_absolute_volume_difference`` (ezequieldlrosa/isles24, utils/eval_utils.py) restated
for panoptica 2.x, whose ``evaluate`` returns the result itself and names the instance counts
``n_ref_instances`` / ``n_pred_instances``. surface-distance 0.1 still spells ``np.Inf``
(removed in NumPy 2.0) for an empty mask; the fixture below restores that alias for it.
"""

from __future__ import annotations

import csv
import math
import warnings

import nibabel as nib
import numpy as np
import pytest
import surface_distance
from click.testing import CliRunner
from panoptica import (
    ConnectedComponentsInstanceApproximator,
    InputType,
    NaiveThresholdMatching,
    Panoptica_Evaluator,
    disable_citation_reminder,
)
from scipy import ndimage

from evaluation.cli import main
from evaluation.conventions import PRESETS
from evaluation.metrics import compute_metrics
from evaluation.surface import surface_distances
from evaluation.surface_stats import hausdorff_percentile_mm

disable_citation_reminder()


@pytest.fixture(autouse=True)
def _numpy_inf_alias(monkeypatch):
    monkeypatch.setattr(np, "Inf", np.inf, raising=False)


# The references -------------------------------------------------------------------------------


def isles24_challenge(ground_truth, prediction, voxel_size_ml) -> dict[str, float]:
    """ISLES'24's eval_utils: panoptica on 26-connected components, naive matching at 0.2."""
    ground_truth = np.asarray(ground_truth).astype(int)
    prediction = np.asarray(prediction).astype(int)
    evaluator = Panoptica_Evaluator(
        expected_input=InputType.SEMANTIC,
        instance_approximator=ConnectedComponentsInstanceApproximator(),
        instance_matcher=NaiveThresholdMatching(matching_threshold=0.2),
    )
    result = evaluator.evaluate(prediction, ground_truth, verbose=False)["ungrouped"]
    count_difference = abs(result.n_ref_instances - result.n_pred_instances)
    if result.n_ref_instances == 0 and result.n_pred_instances == 0:
        f1, dice = 1.0, 1.0
    else:
        f1, dice = result.rq, result.global_bin_dsc
    voxel_size_ml = np.asarray(voxel_size_ml).astype(float)
    volume_difference = np.abs(
        np.sum(ground_truth.astype(bool)) * voxel_size_ml
        - np.sum(prediction.astype(bool)) * voxel_size_ml
    )
    return {
        "dice": float(dice),
        "lesion_f1": float(f1),
        "lesion_count_difference": int(count_difference),
        "avd_ml": float(volume_difference),
    }


def deepmind(reference, prediction, spacing, tolerance_mm=2.0) -> dict[str, float]:
    """surface-distance's robust Hausdorff (100, 95), average distances and surface Dice."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # scipy.ndimage.filters & co.
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 on an empty mask
        distances = surface_distance.compute_surface_distances(
            np.asarray(reference, bool), np.asarray(prediction, bool), spacing
        )
        forward, backward = surface_distance.compute_average_surface_distance(distances)
        return {
            "hd_mm": float(surface_distance.compute_robust_hausdorff(distances, 100)),
            "hd95_mm": float(surface_distance.compute_robust_hausdorff(distances, 95)),
            "asd_reference_to_prediction_mm": float(forward),
            "asd_prediction_to_reference_mm": float(backward),
            "surface_dice": float(
                surface_distance.compute_surface_dice_at_tolerance(distances, tolerance_mm)
            ),
        }


# Test pairs -----------------------------------------------------------------------------------


def _field(shape, sigma, rng):
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return field / field.std()


def lesions(seed, shape=(56, 48, 12)):
    """Many irregular components (a real-looking stroke mask) and a noisy prediction."""
    rng = np.random.default_rng(seed)
    reference = _field(shape, (3, 3, 0.8), rng) > 1.2
    prediction = _field(shape, (3, 3, 0.8), rng) * 0.4 + _field(shape, (2, 2, 0.6), rng) * 0.2
    prediction = prediction + np.where(reference, 1.0, 0.0) > 0.7
    return reference, prediction


def eroded_and_dilated(seed=3, shape=(48, 48, 10)):
    """One irregular lesion; its erosion (which falls apart) and its dilation."""
    rng = np.random.default_rng(seed)
    x, y, z = np.meshgrid(*(np.arange(n, dtype=float) for n in shape), indexing="ij")
    radius = np.sqrt(((x - 24) / 14) ** 2 + ((y - 22) / 11) ** 2 + ((z - 5) / 3.5) ** 2)
    lesion = radius + 0.45 * _field(shape, (2, 2, 0.7), rng) < 1.0
    structure = ndimage.generate_binary_structure(3, 1)
    return lesion, ndimage.binary_erosion(lesion, structure, 2), ndimage.binary_dilation(lesion)


def tie():
    """Equal IoUs whose visiting order decides TP (see test_instances._tie)."""
    reference = np.zeros((4, 12, 10), bool)
    prediction = np.zeros_like(reference)
    reference[1, 0:10, 0] = reference[0, 0:10, 4] = True
    prediction[1, 0:4, 0] = prediction[0, 0:4, 4] = True
    prediction[1, 0, 1] = prediction[1, 0, 2] = prediction[0, 0, 3] = True
    prediction[0, 5:10, 4:7] = True
    prediction[0, 9, 7:9] = True
    return reference, prediction


def _single(shape, *points):
    mask = np.zeros(shape, bool)
    for point in points:
        mask[point] = True
    return mask


def _pairs():
    lesion, eroded, dilated = eroded_and_dilated()
    empty = np.zeros((10, 9, 4), bool)
    block = empty.copy()
    block[2:6, 3:7, 1:3] = True
    yield "lesions-0", *lesions(0), (0.9, 0.9, 5.0)
    yield "lesions-1", *lesions(1), (0.43, 0.51, 2.7)
    yield "lesions-2", *lesions(2, (40, 44, 16)), (1.0, 1.2, 2.5)
    yield "eroded", lesion, eroded, (0.8, 0.8, 5.0)
    yield "dilated", lesion, dilated, (0.8, 0.8, 5.0)
    yield "tie", *tie(), (0.9, 0.8, 5.0)
    yield "tie-mirrored", *(m[::-1] for m in tie()), (0.9, 0.8, 5.0)
    yield "one-voxel", _single((7, 7, 5), (3, 3, 2)), _single((7, 7, 5), (4, 2, 3)), (0.7, 1.1, 3)
    yield "voxel-in-block", block, _single(block.shape, (3, 4, 2)), (0.9, 0.8, 5.0)
    yield "two-slice-slab", block[:, :, :2], np.roll(block[:, :, :2], 1, 0), (0.5, 0.5, 6.0)
    yield "reference-empty", empty, block, (0.9, 0.8, 5.0)
    yield "prediction-empty", block, empty, (0.9, 0.8, 5.0)
    yield "both-empty", empty, empty, (0.9, 0.8, 5.0)


PAIRS = list(_pairs())
IDS = [name for name, *_ in PAIRS]


# ISLES'24 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "reference", "prediction", "spacing"), PAIRS, ids=IDS)
def test_isles24_preset_reproduces_the_challenge_code(name, reference, prediction, spacing):
    ours = compute_metrics(reference, prediction, spacing, "isles24")
    theirs = isles24_challenge(reference, prediction, ours["voxel_volume_ml"])
    for key in ("dice", "lesion_f1", "avd_ml"):
        assert abs(ours[key] - theirs[key]) <= 1e-9, key
    assert ours["lesion_count_difference"] == theirs["lesion_count_difference"]


def test_isles24_and_isles22_differ_where_the_issue_says():
    """ISLES'22 counts any overlap as a hit; ISLES'24 needs IoU >= 0.2, one to one."""
    lesion, eroded, dilated = eroded_and_dilated()
    for prediction in (eroded, dilated):
        isles24 = compute_metrics(lesion, prediction, (0.8, 0.8, 5.0), "isles24")
        isles22 = compute_metrics(lesion, prediction, (0.8, 0.8, 5.0), "isles22")
        challenge = isles24_challenge(lesion, prediction, isles24["voxel_volume_ml"])
        assert isles24["lesion_f1"] == challenge["lesion_f1"] != isles22["lesion_f1"]
    # Equal IoUs: the visiting order decides, as in panoptica (both pinned in the test above).
    mirrored = tuple(m[::-1] for m in tie())
    assert compute_metrics(*tie(), (1, 1, 1), "isles24")["lesion_tp"] == 1
    assert compute_metrics(*mirrored, (1, 1, 1), "isles24")["lesion_tp"] == 2


def test_isles24_random_small_masks_match_panoptica():
    rng = np.random.default_rng(7)
    for _ in range(40):
        shape = tuple(int(n) for n in rng.integers(2, 12, 3))
        density = rng.choice([0.05, 0.2, 0.45])
        reference = rng.random(shape) < density
        prediction = (rng.random(shape) < density) | (reference & (rng.random(shape) < 0.6))
        ours = compute_metrics(reference, prediction, (1.0, 1.0, 1.0), "isles24")
        theirs = isles24_challenge(reference, prediction, ours["voxel_volume_ml"])
        assert ours["lesion_f1"] == theirs["lesion_f1"]
        assert ours["lesion_count_difference"] == theirs["lesion_count_difference"]
        assert abs(ours["dice"] - theirs["dice"]) <= 1e-12


# DeepMind surface-distance --------------------------------------------------------------------

DISTANCES = (
    "hd_mm",
    "hd95_mm",
    "asd_reference_to_prediction_mm",
    "asd_prediction_to_reference_mm",
)


@pytest.mark.parametrize(("name", "reference", "prediction", "spacing"), PAIRS, ids=IDS)
@pytest.mark.parametrize("tolerance", [0.0, 1.0, 2.0, 5.0])
def test_deepmind_preset_reproduces_surface_distance(
    name, reference, prediction, spacing, tolerance
):
    ours = compute_metrics(
        reference, prediction, spacing, "deepmind", surface_dice_tolerance_mm=tolerance
    )
    theirs = deepmind(reference, prediction, spacing, tolerance)
    if not reference.any() and not prediction.any():
        # surface-distance: HD inf, averages and surface Dice 0/0 = NaN. Ours: the empty table.
        assert math.isinf(theirs["hd_mm"]) and math.isnan(theirs["surface_dice"])
        assert ours["hd_mm"] == ours["hd95_mm"] == ours["assd_mm"] == 0.0
        assert ours["surface_dice"] == 1.0
        return
    if not reference.any() or not prediction.any():
        # surface-distance: inf from the non-empty side, NaN (0/0) from the empty one.
        assert math.isinf(theirs["hd_mm"]) and math.isinf(theirs["hd95_mm"])
        assert ours["surface_dice"] == theirs["surface_dice"] == 0.0
        assert all(math.isinf(ours[key]) for key in DISTANCES)
        return
    for key in (*DISTANCES, "surface_dice"):
        assert abs(ours[key] - theirs[key]) <= 1e-9, key
    mean_of_means = (
        theirs["asd_reference_to_prediction_mm"] + theirs["asd_prediction_to_reference_mm"]
    ) / 2
    assert abs(ours["assd_mm"] - mean_of_means) <= 1e-9


@pytest.mark.parametrize(("name", "reference", "prediction", "spacing"), PAIRS[:6], ids=IDS[:6])
def test_deepmind_percentiles_reproduce_the_robust_hausdorff(name, reference, prediction, spacing):
    ours = surface_distances(reference, prediction, spacing, PRESETS["deepmind"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        theirs = surface_distance.compute_surface_distances(reference, prediction, spacing)
    for percent in (0, 5, 50, 90, 95, 99, 100):
        expected = surface_distance.compute_robust_hausdorff(theirs, percent)
        found = hausdorff_percentile_mm(ours, percent, PRESETS["deepmind"])
        assert abs(found - expected) <= 1e-9, percent
    total = ours.reference_areas_mm2.sum()
    assert total == pytest.approx(theirs["surfel_areas_gt"].sum(), rel=1e-12)


# Through `isles-eval score` on NIfTI files ----------------------------------------------------


def _oblique(spacing):
    """A rotated, offset affine with the given voxel size."""
    sx, sy, sz = spacing
    return np.array([[0, -sy, 0, 100], [-sx, 0, 0, 120], [0, 0, sz, -30], [0, 0, 0, 1.0]])


def _score_files(tmp_path, nifti, preset):
    cases = {name: (r, p) for name, r, p, _ in PAIRS}
    for name, reference, prediction, spacing in PAIRS:
        affine = _oblique(spacing)
        nifti(tmp_path / "reference" / f"{name}.nii.gz", reference.astype(np.uint8), affine)
        mask = prediction.astype(np.uint8) * 255
        nifti(tmp_path / "predictions" / f"{name}.nii.gz", mask, affine)
    arguments = ["score", "--preset", preset, "--workers", "1", "--out", str(tmp_path / "run")]
    folders = ["--prediction", str(tmp_path / "predictions"), "--reference"]
    result = CliRunner().invoke(main, [*arguments, *folders, str(tmp_path / "reference")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "run" / "per_case.csv").open() as handle:
        rows = {row["case_id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(cases)
    for case_id in cases:
        # Read the way the challenge's code reads them: nibabel, (x, y, z), header zooms.
        reference = nib.load(tmp_path / "reference" / f"{case_id}.nii.gz")
        prediction = nib.load(tmp_path / "predictions" / f"{case_id}.nii.gz")
        spacing = tuple(float(z) for z in reference.header.get_zooms()[:3])
        yield rows[case_id], reference.get_fdata(), prediction.get_fdata(), spacing


def test_isles_eval_score_isles24_matches_the_challenge_on_files(tmp_path, nifti):
    for row, reference, prediction, spacing in _score_files(tmp_path, nifti, "isles24"):
        theirs = isles24_challenge(reference, prediction, math.prod(spacing) / 1000)
        for key in ("dice", "lesion_f1", "avd_ml"):
            assert abs(float(row[key]) - theirs[key]) <= 1e-9, (row["case_id"], key)
        assert int(row["lesion_count_difference"]) == theirs["lesion_count_difference"]


def test_isles_eval_score_deepmind_matches_surface_distance_on_files(tmp_path, nifti):
    for row, reference, prediction, spacing in _score_files(tmp_path, nifti, "deepmind"):
        if not reference.any() or not prediction.any():
            continue  # the empty-mask mapping is pinned by the array test above
        theirs = deepmind(reference > 0, prediction > 0, spacing)
        for key in (*DISTANCES, "surface_dice"):
            assert abs(float(row[key]) - theirs[key]) <= 1e-9, (row["case_id"], key)
