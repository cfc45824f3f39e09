"""Input validation: binary masks, spacing and shapes, checked eagerly with the bad value shown."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluation.errors import EvaluationError

#: Masks are 3D volumes in nibabel's ``(x, y, z)`` order.
NDIM = 3


def binarise_mask(mask: np.ndarray, *, binarise: bool = False, name: str = "mask") -> np.ndarray:
    """Validate a lesion mask and return it as ``bool``.

    The rule: a mask is ``bool``, or numeric with values in ``{0, 1}`` or in ``{0, 255}`` (the
    two encodings of binary masks seen in the wild); lesion = ``!= 0``. Any other set of values
    (``{0, 1, 2}``, ``{0, 1, 255}``, negative values, fractions) is an error unless
    ``binarise=True``, which treats every non-zero voxel as lesion. NaN or infinite values are an
    error either way.

    Args:
        mask: ``(X, Y, Z)`` array.
        binarise: accept any finite values and binarise as ``!= 0``.
        name: what to call the mask in error messages (e.g. a file name).

    Returns:
        ``(X, Y, Z)`` bool array.

    Raises:
        EvaluationError: wrong dimensionality, non-numeric dtype, NaN/inf, or non-binary labels.
    """
    mask = np.asarray(mask)
    if mask.ndim != NDIM:
        raise EvaluationError(f"{name}: expected a 3D (x, y, z) mask, got shape {mask.shape}")
    if mask.dtype == bool:
        return mask
    if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
        raise EvaluationError(f"{name}: mask dtype {mask.dtype} is not numeric")
    if np.issubdtype(mask.dtype, np.floating) and not np.isfinite(mask).all():
        kind = "NaN" if np.isnan(mask).any() else "infinite"
        raise EvaluationError(f"{name}: mask contains {kind} values")
    lesion = mask != 0
    if binarise:
        return lesion
    values = mask[lesion]
    if values.size and not ((values[0] in (1, 255)) and (values == values[0]).all()):
        # Enough digits that a near-1 value (a uint8 mask stored with scl_slope 1/255 reads as
        # 0.99999994) is not shown as the "1" it is refused for not being.
        shown = ", ".join(f"{v:.9g}" for v in np.unique(np.concatenate([[0], values]))[:6])
        raise EvaluationError(
            f"{name}: non-binary labels {{{shown}}}; a mask must hold {{0,1}} or {{0,255}} "
            "(use binarise=True / --binarise to count every non-zero voxel as lesion)"
        )
    return lesion


def validate_spacing(
    spacing_mm: Sequence[float], ndim: int = NDIM, *, name: str = "spacing"
) -> tuple[float, ...]:
    """Check a voxel spacing and return it as a tuple of floats (mm).

    Args:
        spacing_mm: one positive, finite size per axis, ``(x, y, z)`` in mm.
        ndim: expected number of axes.
        name: what to call it in error messages.

    Raises:
        EvaluationError: wrong length, non-numeric, non-finite or not positive.
    """
    try:
        values = np.asarray(spacing_mm, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise EvaluationError(f"{name}: spacing {spacing_mm!r} is not numeric") from None
    if values.size != ndim:
        raise EvaluationError(
            f"{name}: spacing {tuple(values.tolist())} has {values.size} values, expected {ndim}"
        )
    if not np.isfinite(values).all() or (values <= 0).any():
        raise EvaluationError(
            f"{name}: spacing {tuple(values.tolist())} mm must be positive and finite"
        )
    return tuple(float(v) for v in values)


def check_same_shape(reference: np.ndarray, prediction: np.ndarray, *, name: str = "") -> None:
    """Raise :class:`EvaluationError` unless both masks have one shape."""
    if reference.shape != prediction.shape:
        prefix = f"{name}: " if name else ""
        raise EvaluationError(
            f"{prefix}prediction shape {prediction.shape} differs from reference shape "
            f"{reference.shape}"
        )
