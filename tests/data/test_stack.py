from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from isles2018.data.io import read_volume, write_volume
from isles2018.data.layout import discover_cases
from isles2018.data.modalities import Modality
from isles2018.data.stack import from_slices, load_case_arrays, to_slices
from isles2018.errors import DataError


def test_channel_order_and_shapes(isles_training: Path) -> None:
    case = discover_cases(isles_training)[0]
    arrays = load_case_arrays(case)
    assert arrays.inputs.shape == (2, 5, 16, 12) and arrays.inputs.dtype == np.float32
    expected = [
        read_volume(case.path(Modality.MTT)).array,
        read_volume(case.path(Modality.TMAX)).array,
        read_volume(case.path(Modality.CBV)).array,
        read_volume(case.path(Modality.CBF)).array,
        read_volume(case.path(Modality.PWI), ndim=4).array.max(axis=3),
    ]
    for channel, volume in enumerate(expected):
        np.testing.assert_allclose(arrays.inputs[:, channel], to_slices(volume).astype(np.float32))
    assert arrays.label.shape == (2, 16, 12) and arrays.label.dtype == np.uint8
    assert arrays.dwi.shape == (2, 16, 12)
    assert arrays.spacing_mm == pytest.approx((0.9, 0.8, 5.0))
    np.testing.assert_array_equal(
        from_slices(arrays.label), read_volume(case.path(Modality.OT)).array
    )


def test_optional_dwi_and_label(isles_training: Path) -> None:
    arrays = load_case_arrays(discover_cases(isles_training)[0], with_dwi=False, with_label=False)
    assert arrays.dwi is None and arrays.label is None


def _replace(case_path: Path, array: np.ndarray) -> None:
    write_volume(case_path, array, read_volume(case_path).affine)


def test_nan_map_is_an_error(isles_training: Path) -> None:
    case = discover_cases(isles_training)[1]
    array = read_volume(case.path(Modality.TMAX)).array.copy()
    array[0, 0, 0] = np.nan
    _replace(case.path(Modality.TMAX), array)
    with pytest.raises(DataError, match=r"case_2: SMIR\.Brain\.XX\.O\.CT_Tmax\.\d+\.nii has 1 NaN"):
        load_case_arrays(case)


def test_shape_mismatch_is_an_error(isles_training: Path) -> None:
    case = discover_cases(isles_training)[0]
    _replace(case.path(Modality.CBF), np.zeros((16, 12, 3), np.uint16))
    with pytest.raises(DataError, match=r"case_1/.*CT_CBF.*shape \(16, 12, 3\) != \(16, 12, 2\)"):
        load_case_arrays(case)
