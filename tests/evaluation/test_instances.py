"""One-to-one lesion matching at IoU >= threshold (ISLES'24) on hand-drawn geometry."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.conventions import Conventions
from evaluation.instances import match_lesions
from evaluation.metrics import compute_metrics

SHAPE = (20, 20, 6)
SPACING = (0.9, 0.8, 5.0)


def box(*ranges, shape=SHAPE):
    mask = np.zeros(shape, bool)
    mask[tuple(slice(a, b) for a, b in ranges)] = True
    return mask


def _counts(reference, prediction, **kwargs):
    counts = match_lesions(reference, prediction, **kwargs)
    return counts.tp, counts.fp, counts.fn


def test_iou_exactly_at_the_threshold_matches():
    reference = box((2, 7), (3, 4), (2, 3))  # 5 voxels
    prediction = box((4, 5), (3, 4), (2, 3))  # 1 of them: IoU = 1/5 = 0.2
    assert _counts(reference, prediction) == (1, 0, 0)
    longer = box((2, 8), (3, 4), (2, 3))  # 6 voxels: IoU = 1/6
    assert _counts(longer, prediction) == (0, 1, 1)
    assert _counts(longer, prediction, iou_threshold=1 / 6) == (1, 0, 0)


def test_a_small_overlap_is_no_detection_unlike_isles22():
    reference = box((2, 12), (2, 6), (1, 4))  # 120 voxels
    prediction = box((11, 16), (2, 6), (1, 4))  # 60 voxels, 12 shared: IoU = 12/168
    isles24 = compute_metrics(reference, prediction, SPACING, "isles24")
    isles22 = compute_metrics(reference, prediction, SPACING, "isles22")
    assert (isles24["lesion_tp"], isles24["lesion_fp"], isles24["lesion_fn"]) == (0, 1, 1)
    assert isles24["lesion_f1"] == 0.0
    assert (isles22["lesion_tp"], isles22["lesion_f1"]) == (1, 1.0)
    assert isles24["dice"] == isles22["dice"] and isles24["avd_ml"] == isles22["avd_ml"]


def test_a_merge_matches_one_reference_lesion_only():
    reference = box((2, 6), (2, 6), (1, 4)) | box((8, 12), (2, 6), (1, 4))
    prediction = box((2, 12), (2, 6), (1, 4))  # covers both: IoU 48/120 each
    assert _counts(reference, prediction) == (1, 0, 1)
    metrics = compute_metrics(reference, prediction, SPACING, "isles24")
    assert metrics["lesion_f1"] == pytest.approx(2 / 3)  # 2·1 / (2·1 + 0 + 1)
    assert metrics["lesion_count_difference"] == 1


def test_a_split_leaves_one_part_as_false_positive():
    reference = box((2, 12), (2, 6), (1, 4))
    prediction = box((2, 6), (2, 6), (1, 4)) | box((8, 12), (2, 6), (1, 4))  # IoU 0.4 each
    assert _counts(reference, prediction) == (1, 1, 0)


def test_the_higher_iou_wins_a_contested_lesion():
    reference = box((2, 12), (2, 6), (1, 4))  # 120 voxels
    small = box((2, 5), (2, 6), (1, 4))  # 36 voxels inside: IoU 0.3
    large = box((7, 12), (2, 6), (1, 4))  # 60 voxels inside: IoU 0.5
    assert _counts(reference, small | large) == (1, 1, 0)
    # The loser goes on to its next best lesion: S overlaps R (IoU 36/156) and R2 (18/90 = 0.2).
    second = box((2, 5), (8, 12), (1, 4))
    loser = box((2, 5), (2, 10), (1, 4))
    assert _counts(reference | second, large | loser) == (2, 0, 0)


def _tie():
    """One prediction P overlaps reference lesions A and B with the same IoU (4/17); a second
    prediction Q overlaps B only (IoU 5/22). Whether P takes A (then Q takes B: 2 TP) or B
    (1 TP) depends on which of A and B comes first in C order of the (x, y, z) array."""
    reference = np.zeros((4, 12, 10), bool)
    prediction = np.zeros_like(reference)
    reference[1, 0:10, 0] = True  # A: starts at x = 1
    reference[0, 0:10, 4] = True  # B: starts at x = 0, first in C order
    prediction[1, 0:4, 0] = prediction[0, 0:4, 4] = True
    prediction[1, 0, 1] = prediction[1, 0, 2] = prediction[0, 0, 3] = True
    prediction[0, 5:10, 4:7] = True
    prediction[0, 9, 7:9] = True
    return reference, prediction


def test_equal_ious_are_visited_in_label_order():
    reference, prediction = _tie()
    assert _counts(reference, prediction) == (1, 1, 1)  # B has the smaller label
    # Mirrored along x, A comes first: P takes A and Q takes B.
    assert _counts(reference[::-1], prediction[::-1]) == (2, 0, 0)
    # Memory layout does not matter, only the array's index order.
    fortran = np.asfortranarray(reference), np.asfortranarray(prediction)
    assert _counts(*fortran) == (1, 1, 1)


def test_connectivity_is_the_conventions():
    reference = box((2, 4), (2, 4), (1, 3))
    prediction = reference.copy()
    prediction[4, 4, 3] = True  # touches the block diagonally only
    six = Conventions(lesion_matching="iou", lesion_connectivity=6)
    assert compute_metrics(reference, prediction, SPACING, six)["lesion_fp"] == 1
    assert compute_metrics(reference, prediction, SPACING, "isles24")["lesion_fp"] == 0


@pytest.mark.parametrize(
    ("reference", "prediction", "expected"),
    [
        (np.zeros(SHAPE, bool), np.zeros(SHAPE, bool), (0, 0, 0, 1.0)),
        (np.zeros(SHAPE, bool), box((2, 4), (2, 4), (1, 3)), (0, 1, 0, 0.0)),
        (box((2, 4), (2, 4), (1, 3)), np.zeros(SHAPE, bool), (0, 0, 1, 0.0)),
    ],
    ids=["both-empty", "reference-empty", "prediction-empty"],
)
def test_empty_masks(reference, prediction, expected):
    metrics = compute_metrics(reference, prediction, SPACING, "isles24")
    found = (metrics["lesion_tp"], metrics["lesion_fp"], metrics["lesion_fn"])
    assert (*found, metrics["lesion_f1"]) == expected
    assert metrics["dice"] == expected[3]
