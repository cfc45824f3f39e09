"""The ground truth as a person draws it: OT is the infarct delineated slice by slice on the DWI.

A rater's outline is smooth (the infarct blurred in-plane), sits at a rater-specific level of
the blurred edge (generous or strict) and wobbles along the lesion with a smooth random field;
nothing is drawn away from the lesion or outside the parenchyma. The parameters are the
patient's (:class:`isles2018.phantom.sampling.Patient`), the field is drawn with the stroke.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from isles2018.phantom.lesion import SmoothField

#: Bounds of the local level of a drawn outline (:func:`delineate`).
LEVEL_RANGE = (0.15, 0.85)


@dataclass(frozen=True)
class Rater:
    """How a person delineates the lesion on the DWI.

    Attributes:
        sigma_mm: in-plane smoothness of the drawn outline (Gaussian σ, mm).
        level: where on the blurred lesion edge the outline sits (0.5 = on the edge;
            lower draws larger).
        wobble: amplitude of the outline's smooth deviations.
        field: unit-variance smooth field (MNI) that moves the outline.
    """

    sigma_mm: float
    level: float
    wobble: float
    field: SmoothField


def delineate(
    infarct: np.ndarray, tissue_fraction: np.ndarray, mni: np.ndarray, rater: Rater
) -> np.ndarray:
    """OT as drawn slice by slice on the DWI: ``blur(infarct) ≥ level · (1 + wobble · field)``.

    The local level stays within 0.15–0.85, so the outline moves along the lesion's blurred edge
    and nothing is drawn away from the lesion.

    Args:
        infarct: ``(X, Y, Z)`` bool true lesion (what the DWI shows).
        tissue_fraction: ``(X, Y, Z)`` GM + WM fraction; nothing is drawn below 0.3.
        mni: ``(3, X, Y, Z)`` MNI coordinates of the voxel centres (mm).
        rater: the delineation's parameters.

    Returns:
        ``(X, Y, Z)`` bool.
    """
    infarct = np.asarray(infarct, dtype=bool)
    if not infarct.any():
        return infarct.copy()
    pixel_mm = float(np.linalg.norm(mni[:, 1, 0, 0] - mni[:, 0, 0, 0]))
    sigma_px = rater.sigma_mm / max(pixel_mm, 1e-6)
    blurred = ndimage.gaussian_filter(
        infarct.astype(np.float32), sigma=(sigma_px, sigma_px, 0), truncate=3.0
    )
    near = (blurred >= LEVEL_RANGE[0]) & (np.asarray(tissue_fraction) >= 0.3)
    drawn = np.zeros(infarct.shape, dtype=bool)
    index = np.nonzero(near)
    if index[0].size:
        level = rater.level * (1.0 + rater.wobble * rater.field(mni[(slice(None), *index)]))
        drawn[index] = blurred[index] >= np.clip(level, *LEVEL_RANGE)
    return drawn
