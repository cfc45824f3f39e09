"""Spacing and geometry through real NIfTI files, cross-checked with SimpleITK."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import SimpleITK as sitk

from evaluation.errors import EvaluationError
from evaluation.io import read_header, read_image, same_grid
from evaluation.metrics import compute_metrics

AFFINE = np.diag([0.9, 0.9, 5.0, 1.0])


def _sitk_read(path):
    """SimpleITK arrays are (z, y, x) while GetSpacing() is (x, y, z): reverse the array."""
    image = sitk.ReadImage(str(path))
    return sitk.GetArrayFromImage(image).transpose(2, 1, 0), image.GetSpacing()


@pytest.mark.parametrize(
    ("shift", "expected_mm"), [((0, 0, 1), 5.0), ((1, 0, 0), 0.9), ((0, 2, 0), 1.8)]
)
def test_shift_in_mm_through_nibabel_and_simpleitk(tmp_path, nifti, shift, expected_mm):
    reference = np.zeros((12, 10, 6), np.uint8)
    reference[4, 5, 2] = 1
    prediction = np.zeros_like(reference)
    prediction[4 + shift[0], 5 + shift[1], 2 + shift[2]] = 1
    reference_path = nifti(tmp_path / "reference.nii", reference, AFFINE)
    prediction_path = nifti(tmp_path / "prediction.nii.gz", prediction, AFFINE)

    ours = [read_image(reference_path), read_image(prediction_path)]
    assert ours[0].spacing_mm == pytest.approx((0.9, 0.9, 5.0))
    via_nibabel = compute_metrics(ours[0].array, ours[1].array, ours[0].spacing_mm)

    (ref_array, spacing), (pred_array, _) = _sitk_read(reference_path), _sitk_read(prediction_path)
    assert spacing == pytest.approx((0.9, 0.9, 5.0))
    assert np.array_equal(ref_array, ours[0].array)
    via_sitk = compute_metrics(ref_array, pred_array, spacing)

    for metrics in (via_nibabel, via_sitk):
        assert metrics["hd_mm"] == pytest.approx(expected_mm, rel=1e-6)
        assert metrics["assd_mm"] == pytest.approx(expected_mm, rel=1e-6)


def test_rotated_affine_spacing_follows_the_array_axes(tmp_path, nifti):
    affine = np.array([[0, -0.8, 0, 100], [-0.9, 0, 0, 120], [0, 0, 5, -30], [0, 0, 0, 1.0]])
    path = nifti(tmp_path / "mask.nii", np.zeros((20, 16, 4), np.uint8), affine)
    image = read_image(path)
    assert image.shape == (20, 16, 4)
    assert image.spacing_mm == pytest.approx((0.9, 0.8, 5.0))
    assert np.allclose(image.affine, affine, atol=1e-5)
    header = read_header(path)
    assert header.shape == image.shape and header.spacing_mm == image.spacing_mm


def test_trailing_singleton_axis_is_accepted(tmp_path, nifti):
    path = nifti(tmp_path / "mask.nii", np.ones((4, 5, 3, 1), np.uint8), AFFINE)
    assert read_image(path).shape == (4, 5, 3)


def test_same_grid_names_shape_then_affine(tmp_path, nifti):
    a = read_image(nifti(tmp_path / "a.nii", np.zeros((4, 5, 3), np.uint8), AFFINE))
    b = read_image(nifti(tmp_path / "b.nii", np.zeros((4, 5, 2), np.uint8), AFFINE))
    shifted = AFFINE.copy()
    shifted[0, 3] = 0.9  # one voxel along x
    c = read_image(nifti(tmp_path / "c.nii", np.zeros((4, 5, 3), np.uint8), shifted))
    assert same_grid(a, a) is None
    assert "shape (4, 5, 2) differs" in same_grid(a, b)
    assert "affine differs" in same_grid(a, c)


def test_unreadable_files_give_one_line_naming_the_file(tmp_path, nifti):
    with pytest.raises(EvaluationError, match=r"missing\.nii: file not found"):
        read_image(tmp_path / "missing.nii")
    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"not a nifti header")
    with pytest.raises(EvaluationError, match=r"junk\.nii: not a readable NIfTI") as caught:
        read_image(junk)
    assert "\n" not in str(caught.value)
    four_d = nifti(tmp_path / "four.nii", np.zeros((4, 4, 3, 2), np.uint8), AFFINE)
    with pytest.raises(EvaluationError, match=r"four\.nii: expected a 3D volume"):
        read_image(four_d)
    good = nifti(tmp_path / "good.nii.gz", np.ones((30, 30, 8), np.uint8), AFFINE)
    truncated = tmp_path / "truncated.nii.gz"
    truncated.write_bytes(gzip.compress(gzip.decompress(good.read_bytes())[:600]))
    with pytest.raises(EvaluationError, match=r"truncated\.nii\.gz: image data unreadable"):
        read_image(truncated)
