"""Lesion-wise counts by one-to-one instance matching at an IoU threshold (ISLES'24 rule).

ISLES'24 scores lesions with panoptica: connected components of each mask are the instances
(26-connectivity, cc3d), and panoptica's ``NaiveThresholdMatching`` pairs them greedily:

1. every (reference, prediction) pair of components sharing at least one voxel gets its IoU
   ``|R ∩ P| / |R ∪ P|`` (float64, voxel counts);
2. pairs are visited by decreasing IoU; a pair is matched when its IoU is at least the threshold
   (inclusive: panoptica compares with ``>=``, so IoU = 0.2 exactly matches at 0.2) and neither
   component is matched yet;
3. ties in IoU keep the order of (prediction label, reference label), smallest first, where a
   component's label is its rank by first voxel in C order of the ``(x, y, z)`` array (x
   slowest, z fastest). panoptica hands cc3d a C-ordered copy whatever the input's memory
   layout, so this is its numbering for arrays read by nibabel in ``(x, y, z)``, as the
   challenge's example evaluation reads them (with SimpleITK's ``(z, y, x)`` arrays only the
   outcome of exact ties could differ).

TP = matched pairs, FP = unmatched predicted components, FN = unmatched reference components.
Unlike the ISLES'22 rule (:mod:`evaluation.lesions`), a small overlap is not a detection, one
prediction can match one reference lesion only (a merge gives one TP and one FN; a split one TP
and one FP), and a component overlapping nothing is never matched.
"""

from __future__ import annotations

import numpy as np

from evaluation.lesions import LesionCounts, label_lesions


def match_lesions(
    reference: np.ndarray,
    prediction: np.ndarray,
    connectivity: int = 26,
    iou_threshold: float = 0.2,
) -> LesionCounts:
    """Count lesions matched one to one at IoU ≥ ``iou_threshold`` (module docstring rules).

    Args:
        reference: ``(X, Y, Z)`` bool (may be cropped; components must not be cut).
        prediction: ``(X, Y, Z)`` bool of the same shape.
        connectivity: 6, 18 or 26 (ISLES'24: 26).
        iou_threshold: minimum IoU of a match, within [0, 1] (ISLES'24: 0.2).

    Returns:
        The counts; ``f1`` is panoptica's recognition quality ``TP / (TP + (FP + FN) / 2)``.
    """
    reference_labels, n_reference = label_lesions(reference, connectivity)
    prediction_labels, n_prediction = label_lesions(prediction, connectivity)
    tp = 0
    if n_reference and n_prediction:
        both = (reference_labels > 0) & (prediction_labels > 0)
        stride = n_reference + 1
        encoded = prediction_labels[both].astype(np.int64) * stride + reference_labels[both]
        pairs, intersections = np.unique(encoded, return_counts=True)  # by (pred, ref) label
        pair_prediction, pair_reference = pairs // stride, pairs % stride
        reference_sizes = np.bincount(reference_labels.ravel(), minlength=stride)
        prediction_sizes = np.bincount(prediction_labels.ravel(), minlength=n_prediction + 1)
        unions = reference_sizes[pair_reference] + prediction_sizes[pair_prediction]
        iou = intersections / (unions - intersections)
        matched_reference: set[int] = set()
        matched_prediction: set[int] = set()
        for index in np.argsort(-iou, kind="stable"):
            if iou[index] < iou_threshold:
                break  # sorted: no later pair reaches the threshold
            r, p = int(pair_reference[index]), int(pair_prediction[index])
            if r in matched_reference or p in matched_prediction:
                continue
            matched_reference.add(r)
            matched_prediction.add(p)
        tp = len(matched_reference)
    return LesionCounts(
        n_reference=n_reference,
        n_prediction=n_prediction,
        tp=tp,
        fp=n_prediction - tp,
        fn=n_reference - tp,
    )
