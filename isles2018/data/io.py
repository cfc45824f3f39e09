"""NIfTI reading and writing: the only module that touches nibabel or SimpleITK.

Canonical conventions, decided here once:

* Arrays are in the file's stored voxel order, called ``(x, y, z)`` (nibabel's order); 4D
  perfusion source is ``(x, y, z, t)``. No reorientation: predictions must land on the case's
  own grid.
* Spacing is ``(x, y, z)`` in mm, from the header's ``pixdim`` — the same order as the array.
  SimpleITK stores ``(z, y, x)`` arrays; the one reversal lives in :func:`read_volume_sitk`.
* Every write is atomic (:func:`isles2018.files.atomic_path`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from isles2018.data.volume import SeriesMax, Volume
from isles2018.errors import DataError
from isles2018.files import atomic_path


def _load(path: Path, *, keep_file_open: bool = False) -> nib.Nifti1Image:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        return nib.load(str(path), keep_file_open=keep_file_open)
    except Exception as error:  # nibabel raises many types for a damaged header
        raise DataError(f"{path}: not a readable NIfTI file ({_reason(error)})") from None


def _reason(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _array(image: nib.Nifti1Image, path: Path, index: tuple[slice, ...] = ()) -> np.ndarray:
    try:
        return np.asanyarray(image.dataobj[index] if index else image.dataobj)
    except Exception as error:  # truncated data: EOFError, ValueError, OSError, zlib errors
        raise DataError(f"{path}: image data unreadable or truncated ({_reason(error)})") from None


def _time_step_s(image: nib.Nifti1Image, time_axis: int) -> float | None:
    zooms = image.header.get_zooms()
    if len(zooms) <= time_axis:
        return None
    step = float(zooms[time_axis])
    if not np.isfinite(step) or step <= 0:
        return None
    _, time_unit = image.header.get_xyzt_units()
    scale = {"msec": 1e-3, "usec": 1e-6}.get(time_unit, 1.0)
    return step * scale


def header_shape(path: Path) -> tuple[int, ...]:
    """The stored shape from the header alone (no pixel data read)."""
    return tuple(int(n) for n in _load(path).shape)


def _time_axis(path: Path, shape: tuple[int, ...]) -> int:
    """Axis of the frames of a ``(X, Y, Z, T)`` or ``(X, Y, Z, 1, T)`` series."""
    if len(shape) == 4 or (len(shape) == 5 and shape[3] == 1):
        if shape[-1] < 2:
            raise DataError(f"{path}: 4D series has {shape[-1]} time point(s)")
        return len(shape) - 1
    raise DataError(
        f"{path}: expected a 4D series (x, y, z, t) or (x, y, z, 1, t), found shape {shape}"
    )


def _spacing_mm(image: nib.Nifti1Image, path: Path) -> tuple[float, float, float]:
    spacing = tuple(float(z) for z in image.header.get_zooms()[:3])
    if not all(np.isfinite(s) and s > 0 for s in spacing):
        raise DataError(f"{path}: invalid voxel spacing {spacing} in the header")
    return spacing  # type: ignore[return-value]


def read_volume(path: Path, *, ndim: int = 3) -> Volume:
    """Read a 3D volume, or a 4D series with ``ndim=4``.

    4D data is accepted as ``(X, Y, Z, T)`` or 5D ``(X, Y, Z, 1, T)`` (both occur in ISLES 2018)
    and always returned as ``(X, Y, Z, T)``. A 3D file stored with trailing singleton axes is
    squeezed to 3D. A large series is better reduced by :func:`read_series_max`.

    Raises:
        DataError: unreadable, truncated, or with the wrong number of dimensions.
    """
    path = Path(path)
    image = _load(path)
    shape = image.shape
    if ndim == 3:
        if len(shape) < 3 or any(n != 1 for n in shape[3:]):
            raise DataError(f"{path}: expected a 3D volume, found shape {shape}")
        array = _array(image, path).reshape(shape[:3])
    elif ndim == 4:
        time_axis = _time_axis(path, shape)
        array = _array(image, path).reshape((*shape[:3], shape[-1]))
    else:
        raise ValueError(f"ndim must be 3 or 4, got {ndim}")
    return Volume(
        array=array,
        affine=np.asarray(image.affine, dtype=np.float64),
        spacing_mm=_spacing_mm(image, path),
        time_step_s=_time_step_s(image, time_axis) if ndim == 4 else None,
        path=path,
    )


#: Bytes of voxel data read at once by :func:`read_series_max` (whole frames, at least one).
SERIES_CHUNK_BYTES = 256 * 2**20


def read_series_max(path: Path, *, chunk_bytes: int = SERIES_CHUNK_BYTES) -> SeriesMax:
    """Max over time of a ``(X, Y, Z, T)`` or ``(X, Y, Z, 1, T)`` series, read through nibabel's
    array proxy a few whole frames at a time: the 4D array is never in memory (an ISLES'24 CTP
    can exceed 1 GB). Frames, not z-slices, because a frame is contiguous on disk: with the file
    kept open, a ``.nii.gz`` is decompressed once, front to back, where z-chunks would
    decompress it once per chunk (measured on a 1.2 GB int16 series: 12 s and 190 MB peak
    resident memory, against 98 s for z-chunks of 8 slices).

    The result equals ``read_volume(path, ndim=4).array.max(axis=3)``, dtype included.

    Raises:
        DataError: unreadable, truncated, or not a 4D series.
    """
    path = Path(path)
    image = _load(path, keep_file_open=True)  # one gzip stream, read forward
    shape = image.shape
    time_axis = _time_axis(path, shape)
    frame_bytes = int(np.prod(shape[:3])) * max(np.dtype(image.get_data_dtype()).itemsize, 8)
    step = max(1, chunk_bytes // frame_bytes)
    maximum, nonfinite = None, 0
    for start in range(0, shape[-1], step):
        index = (*[slice(None)] * (len(shape) - 1), slice(start, start + step))
        chunk = _array(image, path, index).reshape((*shape[:3], -1))
        if chunk.dtype.kind in "fc":
            nonfinite += int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
        frame_max = chunk.max(axis=3)
        maximum = frame_max if maximum is None else np.maximum(maximum, frame_max)
    return SeriesMax(
        array=maximum,
        frames=int(shape[-1]),
        nonfinite=nonfinite,
        affine=np.asarray(image.affine, dtype=np.float64),
        spacing_mm=_spacing_mm(image, path),
        time_step_s=_time_step_s(image, time_axis),
        path=path,
    )


def read_volume_sitk(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    """Read with SimpleITK, returned in our ``(x, y, z)`` order with ``(x, y, z)`` spacing.

    Used to cross-check nibabel and by callers that need ITK's reader; SimpleITK's arrays are
    ``(z, y, x)`` and this is the one place that reverses them.
    """
    import SimpleITK as sitk

    image = sitk.ReadImage(str(path))
    array = sitk.GetArrayFromImage(image)
    return np.ascontiguousarray(array.transpose(tuple(reversed(range(array.ndim))))), tuple(
        float(s) for s in image.GetSpacing()
    )


def write_volume(
    path: Path,
    array: np.ndarray,
    affine: np.ndarray,
    *,
    time_step_s: float | None = None,
    five_d: bool = False,
) -> Path:
    """Write a 3D ``(X, Y, Z)`` or 4D ``(X, Y, Z, T)`` array atomically as NIfTI-1.

    The dtype written is the array's. Spacing follows from the affine; for 4D data the frame
    interval goes to ``pixdim[4]`` and units are set to mm / s.

    Args:
        path: ``.nii`` or ``.nii.gz`` target.
        array: voxel data.
        affine: ``(4, 4)`` voxel → world matrix (mm).
        time_step_s: frame interval of 4D data in seconds.
        five_d: store 4D data as ``(X, Y, Z, 1, T)`` as some ISLES files are.
    """
    data = np.asarray(array)
    if five_d:
        if data.ndim != 4:
            raise ValueError("five_d needs a 4D array")
        data = data[:, :, :, np.newaxis, :]
    image = nib.Nifti1Image(data, np.asarray(affine, dtype=np.float64))
    image.header.set_data_dtype(data.dtype)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    if data.ndim > 3:
        zooms = list(image.header.get_zooms())
        zooms[-1] = float(time_step_s) if time_step_s else 1.0
        image.header.set_zooms(zooms)
        image.header.set_xyzt_units(xyz="mm", t="sec")
    else:
        image.header.set_xyzt_units(xyz="mm")
    with atomic_path(path) as temporary:
        nib.save(image, str(temporary))
    return Path(path)


def write_like(path: Path, array: np.ndarray, reference_path: Path) -> Path:
    """Write ``array`` atomically with the affine and header of ``reference_path``.

    Shape, origin, spacing, direction and the q/s-form codes are the reference's; only the data
    type (the array's) and the scaling fields differ. Used for predictions and synthetic DWI.

    Raises:
        DataError: the reference cannot be read or its shape differs from ``array``'s.
    """
    reference = _load(Path(reference_path))
    data = np.asarray(array)
    if tuple(reference.shape[:3]) != data.shape or any(n != 1 for n in reference.shape[3:]):
        raise DataError(
            f"{reference_path}: grid {reference.shape} does not match the array {data.shape}"
        )
    header = reference.header.copy()
    header.set_data_dtype(data.dtype)
    header.set_data_shape(data.shape)
    header["scl_slope"] = np.nan
    header["scl_inter"] = np.nan
    header["cal_min"] = 0
    header["cal_max"] = 0
    image = type(reference)(data, reference.affine, header)
    qform, qcode = reference.get_qform(coded=True)
    sform, scode = reference.get_sform(coded=True)
    if qform is not None:
        image.set_qform(qform, code=int(qcode))
    if sform is not None:
        image.set_sform(sform, code=int(scode))
    with atomic_path(path) as temporary:
        nib.save(image, str(temporary))
    return Path(path)


def write_prediction(mask: np.ndarray, reference_path: Path, target: Path) -> Path:
    """Write a lesion mask as uint8 {0, 1} with the grid and header of ``reference_path``.

    Args:
        mask: ``(X, Y, Z)`` lesion mask on the case's grid; nonzero means lesion.
        reference_path: the volume whose affine and header are copied exactly (the CT_MTT of an
            ISLES 2018 case, as the challenge requires; the NCCT of an ISLES'24 subject).
        target: the file to write, e.g. ``SMIR.<method>.<CT_MTT id>.nii``
            (:meth:`isles2018.data.case.Case.prediction_file`).

    Returns:
        The written path; written atomically.
    """
    binary = (np.asarray(mask) != 0).astype(np.uint8)
    return write_like(Path(target), binary, reference_path)


def read_header(path: Path) -> Any:
    """The NIfTI header alone (no pixel data read), for :mod:`isles2018.data.grid`.

    Raises:
        DataError: the file cannot be read.
    """
    return _load(Path(path)).header


def read_mask(path: Path) -> np.ndarray:
    """Read a label image's voxel values as stored, ``(X, Y, Z)`` (no binarisation).

    Raises:
        DataError: unreadable, truncated or not 3D.
    """
    return read_volume(path).array


def stored_dtype(path: Path) -> np.dtype:
    """The on-disk data type from the header."""
    return np.dtype(_load(Path(path)).get_data_dtype())
