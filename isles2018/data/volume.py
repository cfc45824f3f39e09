"""What :mod:`isles2018.data.io` returns: a volume read from disk, or a series reduced over time.

Kept apart from the reader so that modules can name these types without nibabel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Volume:
    """One image read from disk.

    Attributes:
        array: ``(X, Y, Z)`` or ``(X, Y, Z, T)`` in the stored dtype (scaling applied).
        affine: ``(4, 4)`` voxel → world (mm) matrix.
        spacing_mm: voxel size ``(x, y, z)`` in mm.
        time_step_s: frame interval in seconds for 4D data, else None.
        path: the file it came from.
    """

    array: np.ndarray
    affine: np.ndarray
    spacing_mm: tuple[float, float, float]
    time_step_s: float | None
    path: Path


@dataclass(frozen=True)
class SeriesMax:
    """The maximum over time of a 4D series, and what reading it found.

    Attributes:
        array: ``(X, Y, Z)`` maximum over time, in the dtype the whole series would be read in.
        frames: number of time points ``T``.
        nonfinite: NaN/inf values in the whole series.
        affine: ``(4, 4)`` voxel → world (mm) matrix.
        spacing_mm: voxel size ``(x, y, z)`` in mm.
        time_step_s: frame interval in seconds, or None.
        path: the file it came from.
    """

    array: np.ndarray
    frames: int
    nonfinite: int
    affine: np.ndarray
    spacing_mm: tuple[float, float, float]
    time_step_s: float | None
    path: Path
