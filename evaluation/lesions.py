"""Lesion-wise detection counts: connected components matched by overlap (ISLES'22 rule)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from evaluation.conventions import CONNECTIVITY_RANK


@dataclass(frozen=True)
class LesionCounts:
    """Lesion-wise counts of one case.

    A reference lesion is a true positive when it shares at least one voxel with the prediction
    (else a false negative); a predicted lesion sharing no voxel with the reference is a false
    positive. Touching only diagonally is not sharing a voxel. One predicted lesion covering two
    reference lesions (merge) gives two true positives; two predicted lesions covering one
    reference lesion (split) give one true positive and no false positive.

    Attributes:
        n_reference: connected components of the reference.
        n_prediction: connected components of the prediction.
        tp: reference lesions detected.
        fp: predicted lesions that touch no reference voxel.
        fn: reference lesions missed.
    """

    n_reference: int
    n_prediction: int
    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        """Lesion-wise F1 ``2·TP / (2·TP + FP + FN)``; 1.0 when both masks have no lesion."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 1.0 if denominator == 0 else 2.0 * self.tp / denominator


def label_lesions(mask: np.ndarray, connectivity: int = 26) -> tuple[np.ndarray, int]:
    """Connected components of a bool mask with 6-, 18- or 26-connectivity.

    Returns:
        ``(labels, n)``: int32 labels of ``mask``'s shape (0 = background) and their count.
    """
    if connectivity not in CONNECTIVITY_RANK:
        raise ValueError(f"lesion connectivity must be 6, 18 or 26, got {connectivity!r}")
    structure = ndimage.generate_binary_structure(mask.ndim, CONNECTIVITY_RANK[connectivity])
    labels, count = ndimage.label(mask, structure=structure)
    return labels, int(count)


def count_lesions(
    reference: np.ndarray, prediction: np.ndarray, connectivity: int = 26
) -> LesionCounts:
    """Count detected, missed and false-positive lesions.

    Args:
        reference: ``(X, Y, Z)`` bool (may be cropped; components must not be cut).
        prediction: ``(X, Y, Z)`` bool of the same shape.
        connectivity: 6, 18 or 26.
    """
    reference_labels, n_reference = label_lesions(reference, connectivity)
    prediction_labels, n_prediction = label_lesions(prediction, connectivity)
    overlap = reference & prediction
    tp = int(np.unique(reference_labels[overlap]).size)
    matched_predictions = int(np.unique(prediction_labels[overlap]).size)
    return LesionCounts(
        n_reference=n_reference,
        n_prediction=n_prediction,
        tp=tp,
        fp=n_prediction - matched_predictions,
        fn=n_reference - tp,
    )
