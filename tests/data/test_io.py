from __future__ import annotations

import tracemalloc
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from isles2018.data.io import (
    read_series_max,
    read_volume,
    read_volume_sitk,
    write_prediction,
    write_volume,
)
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality, prediction_name
from isles2018.errors import DataError
from isles2018.files import atomic_path


def test_spacing_order_nibabel_and_simpleitk(tmp_path: Path) -> None:
    array = np.arange(4 * 3 * 2, dtype=np.int16).reshape(4, 3, 2)
    path = write_volume(tmp_path / "v.nii", array, np.diag([0.9, 0.7, 5.0, 1.0]))
    volume = read_volume(path)
    assert volume.spacing_mm == pytest.approx((0.9, 0.7, 5.0))
    assert volume.array.shape == (4, 3, 2)
    itk_array, itk_spacing = read_volume_sitk(path)
    assert itk_spacing == pytest.approx((0.9, 0.7, 5.0))
    np.testing.assert_array_equal(itk_array, array)


@pytest.mark.parametrize("five_d", [False, True])
def test_pwi_four_and_five_d(tmp_path: Path, five_d: bool) -> None:
    series = np.random.default_rng(0).integers(0, 100, (5, 4, 3, 7)).astype(np.int16)
    path = write_volume(tmp_path / "p.nii.gz", series, np.eye(4), time_step_s=1.5, five_d=five_d)
    assert nib.load(path).ndim == (5 if five_d else 4)
    volume = read_volume(path, ndim=4)
    np.testing.assert_array_equal(volume.array, series)
    assert volume.time_step_s == pytest.approx(1.5)


def test_three_d_where_four_d_expected(tmp_path: Path) -> None:
    path = write_volume(tmp_path / "p.nii", np.zeros((4, 4, 2), np.int16), np.eye(4))
    with pytest.raises(DataError, match=r"p\.nii: expected a 4D series"):
        read_volume(path, ndim=4)


def test_truncated_and_garbage(tmp_path: Path) -> None:
    path = write_volume(tmp_path / "v.nii", np.ones((32, 32, 4), np.float64), np.eye(4))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated"):
        read_volume(path)
    junk = tmp_path / "junk.nii"
    junk.write_bytes(b"not a nifti file at all")
    with pytest.raises(DataError, match=r"junk\.nii: not a readable NIfTI"):
        read_volume(junk)


def test_prediction_header_round_trip(isles_training: Path, tmp_path: Path) -> None:
    case = discover_cases(isles_training)[0]
    mtt_path = case.path(Modality.MTT)
    mask = np.zeros((16, 12, 2), np.float32)
    mask[2:5, 2:5, 1] = 0.9
    name = prediction_name("X", case.smir_id(Modality.MTT))
    written = write_prediction(mask, mtt_path, tmp_path / "out" / name)
    assert written.name == f"SMIR.X.{case.smir_id(Modality.MTT)}.nii"
    reference, prediction = nib.load(mtt_path), nib.load(written)
    assert prediction.shape == reference.shape
    np.testing.assert_array_equal(prediction.affine, reference.affine)
    for field in (
        "pixdim",
        "qform_code",
        "sform_code",
        "quatern_b",
        "quatern_c",
        "quatern_d",
        "qoffset_x",
        "qoffset_y",
        "qoffset_z",
        "srow_x",
        "srow_y",
        "srow_z",
        "dim",
        "xyzt_units",
    ):
        np.testing.assert_array_equal(prediction.header[field], reference.header[field], field)
    assert prediction.get_data_dtype() == np.uint8
    values = np.asanyarray(prediction.dataobj)
    assert set(np.unique(values)) == {0, 1} and values.sum() == 9
    itk_array, itk_spacing = read_volume_sitk(written)
    assert itk_spacing == pytest.approx(read_volume(mtt_path).spacing_mm)
    np.testing.assert_array_equal(itk_array, values)
    assert [p.name for p in (tmp_path / "out").iterdir()] == [written.name]


def test_prediction_grid_mismatch_writes_nothing(isles_training: Path, tmp_path: Path) -> None:
    case = discover_cases(isles_training)[0]
    with pytest.raises(DataError, match="does not match"):
        target = tmp_path / "o" / prediction_name("GANSeg", "1")
        write_prediction(np.zeros((3, 3, 3)), case.path(Modality.MTT), target)
    assert not list((tmp_path / "o").glob("*")) if (tmp_path / "o").exists() else True


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 - object dtype cannot be written as NIfTI
        write_volume(tmp_path / "bad.nii", np.array([[[object()]]]), np.eye(4))
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_uses_normal_permissions(tmp_path: Path) -> None:
    import os
    import stat

    with atomic_path(tmp_path / "weights.bin") as temporary:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    mode = stat.S_IMODE((tmp_path / "weights.bin").stat().st_mode)
    assert mode & stat.S_IROTH  # readable by a container's non-root user


def _scaled_series(path: Path, series: np.ndarray) -> Path:
    """A series stored int16 with scl_slope/scl_inter: nibabel reads it as float."""
    image = nib.Nifti1Image(series, np.diag([0.4, 0.4, 2.0, 1.0]))
    image.header.set_slope_inter(0.5, -3.0)
    nib.save(image, str(path))
    return path


@pytest.mark.parametrize("chunk_bytes", [1, 3 * 5 * 4 * 3 * 8, 2**30])
@pytest.mark.parametrize(
    ("name", "five_d", "dtype"),
    [
        ("p.nii", False, np.int16),
        ("p.nii.gz", True, np.int16),
        ("p.nii.gz", False, np.float32),
        ("scaled.nii.gz", False, np.int16),
    ],
)
def test_series_max_equals_the_max_of_the_whole_series(
    tmp_path: Path, chunk_bytes: int, name: str, five_d: bool, dtype: type
) -> None:
    series = np.random.default_rng(1).integers(-50, 300, (5, 4, 3, 7)).astype(dtype)
    if name.startswith("scaled"):
        path = _scaled_series(tmp_path / name, series)
    else:
        path = write_volume(tmp_path / name, series, np.eye(4), time_step_s=2.0, five_d=five_d)
    whole = read_volume(path, ndim=4)
    reduced = read_series_max(path, chunk_bytes=chunk_bytes)
    expected = whole.array.max(axis=3)
    assert reduced.array.dtype == expected.dtype and reduced.array.shape == (5, 4, 3)
    np.testing.assert_array_equal(reduced.array, expected)
    assert (reduced.frames, reduced.nonfinite) == (7, 0)
    assert reduced.time_step_s == whole.time_step_s and reduced.spacing_mm == whole.spacing_mm
    np.testing.assert_array_equal(reduced.affine, whole.affine)


def test_series_max_counts_every_nan_and_inf(tmp_path: Path) -> None:
    series = np.ones((4, 3, 2, 9), np.float32)
    series[0, 0, 0, 1] = np.nan
    series[1, 2, 1, 8] = -np.inf  # hidden by the max, still counted
    series[3, 0, 1, 4] = np.inf
    path = write_volume(tmp_path / "p.nii.gz", series, np.eye(4), time_step_s=1.0)
    reduced = read_series_max(path, chunk_bytes=1)
    assert reduced.nonfinite == 3
    assert np.isnan(reduced.array[0, 0, 0]) and reduced.array[3, 0, 1] == np.inf


def _peak_bytes(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_series_max_never_holds_the_whole_series(tmp_path: Path) -> None:
    series = np.random.default_rng(2).uniform(0, 100, (64, 64, 16, 24)).astype(np.float32)
    path = write_volume(tmp_path / "ctp.nii.gz", series, np.eye(4), time_step_s=1.0)
    frame = 64 * 64 * 16 * 8  # read_series_max's bound: one frame at 8 bytes a voxel
    whole = _peak_bytes(lambda: read_volume(path, ndim=4).array.max(axis=3))
    assert whole >= series.nbytes  # the measurement sees a whole read
    chunked = _peak_bytes(lambda: read_series_max(path, chunk_bytes=frame))
    assert chunked < series.nbytes / 4, (chunked, series.nbytes)


def test_series_max_of_a_bad_file(tmp_path: Path) -> None:
    volume = write_volume(tmp_path / "v.nii", np.zeros((4, 4, 2), np.int16), np.eye(4))
    with pytest.raises(DataError, match=r"v\.nii: expected a 4D series"):
        read_series_max(volume)
    series = np.ones((32, 32, 4, 6), np.float64)
    path = write_volume(tmp_path / "p.nii", series, np.eye(4), time_step_s=1.0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=r"p\.nii: image data unreadable or truncated"):
        read_series_max(path, chunk_bytes=1)
