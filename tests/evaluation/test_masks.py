"""Mask validation: what counts as a binary mask, and messages that show the real values."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.masks import binarise_mask


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, bool])
def test_zero_one_masks_are_accepted(dtype) -> None:
    mask = np.zeros((3, 3, 2), dtype)
    mask[1, 1, 1] = 1
    assert binarise_mask(mask).sum() == 1


def test_zero_255_is_accepted_and_other_labels_refused() -> None:
    mask = np.zeros((3, 3, 2), np.uint8)
    mask[0, 0, 0] = 255
    assert binarise_mask(mask).sum() == 1
    mask[1, 1, 1] = 2
    with pytest.raises(EvaluationError, match=r"m: non-binary labels \{0, 2, 255\}"):
        binarise_mask(mask, name="m")
    assert binarise_mask(mask, binarise=True).sum() == 2


def test_a_scaled_uint8_mask_shows_its_real_values(tmp_path) -> None:
    stored = np.zeros((3, 3, 2), np.uint8)
    stored[1, 1, 1] = 255
    image = nib.Nifti1Image(stored, np.eye(4))
    image.header.set_slope_inter(np.float32(1 / 255), 0)
    nib.save(image, tmp_path / "mask.nii")
    values = np.asanyarray(nib.load(tmp_path / "mask.nii").dataobj)
    assert values.max() != 1.0  # float rounding of 255 × (1/255)
    with pytest.raises(EvaluationError) as caught:
        binarise_mask(values, name="mask.nii")
    assert f"{{0, {values.max():.9g}}}" in str(caught.value)
    assert "{0, 1}" not in str(caught.value)
