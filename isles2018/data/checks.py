"""Per-case checks behind ``isles2018 inspect``: every problem of a case, without raising."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isles2018.data.case import Case
from isles2018.data.grid import grid_differences
from isles2018.data.io import read_series_max, read_volume
from isles2018.data.modalities import Modality
from isles2018.errors import DataError

#: The phantom's data-set manifest, recognised here so that ``inspect`` can tell an unfinished
#: phantom run (:mod:`isles2018.phantom.generate` writes it with these names).
PHANTOM_MANIFEST = "manifest.json"
PHANTOM_GENERATOR = "isles2018.phantom"


@dataclass(frozen=True)
class CaseReport:
    """What ``inspect`` shows for one case.

    Attributes:
        case: the case.
        shape: ``(X, Y, Z)`` of its reference volume (CT_MTT; ISLES'24: the NCCT), or None.
        timepoints: frames of its CT_4DPWI, or None.
        spacing_mm: ``(x, y, z)`` of its reference volume in mm, or None.
        problems: one readable line per problem; empty when the case is usable.
    """

    case: Case
    shape: tuple[int, int, int] | None
    timepoints: int | None
    spacing_mm: tuple[float, float, float] | None
    problems: tuple[str, ...]

    @property
    def slices(self) -> int | None:
        """Number of slices (z), or None."""
        return self.shape[2] if self.shape else None


def inspect_case(case: Case) -> CaseReport:
    """Read every volume of a case and collect its problems.

    Checked: the layout problems found by discovery, readability (including truncation), 3D vs
    4D, one grid for all modalities, that of the case's reference volume (shape, spacing, origin,
    orientation; see :mod:`isles2018.data.grid`), finite values, binary ground truth (any
    integer or float dtype holding only 0 and 1). The 4D series is read a few frames at a time.
    """
    problems = list(case.problems)
    shape = spacing = timepoints = None
    readable: list[Modality] = []
    for modality, entry in sorted(case.files.items(), key=lambda kv: kv[0].value):
        try:
            if modality is Modality.PWI:
                series = read_series_max(entry.path)
                array, bad, timepoints = series.array, series.nonfinite, series.frames
            else:
                volume = read_volume(entry.path)
                array, bad = volume.array, _nonfinite(volume.array)
        except DataError as error:
            problems.append(str(error))
            continue
        readable.append(modality)
        if modality is case.reference:  # a 3D volume: CT_MTT or the NCCT
            shape, spacing = array.shape[:3], volume.spacing_mm
        if bad:
            problems.append(f"{entry.path}: {bad} NaN/inf value(s)")
        if modality is Modality.OT and not np.isin(np.unique(array), (0, 1)).all():
            problems.append(f"{entry.path}: ground truth is not binary {{0, 1}}")
    reference = case.reference if case.reference in readable else next(iter(readable), None)
    for modality in readable:
        if modality is not reference:
            path, reference_path = case.files[modality].path, case.files[reference].path
            differences = grid_differences(path, reference_path)
            if differences:
                problems.append(
                    f"{path}: not on the grid of {reference_path.name}: {'; '.join(differences)}"
                )
    return CaseReport(case, shape, timepoints, spacing, tuple(problems))


def _nonfinite(array: np.ndarray) -> int:
    if array.dtype.kind != "f":
        return 0
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def check_case(case: Case) -> list[str]:
    """The problems of one case (an empty list when it is usable)."""
    return list(inspect_case(case).problems)


def data_set_problems(root: Path) -> list[str]:
    """Problems of the data set as a whole: an unfinished phantom run.

    The phantom writes ``manifest.json`` with ``"complete": false`` before its first case and
    ``true`` after its last; a folder whose manifest (in ``root`` or up to two levels above,
    e.g. ``PHANTOM/TRAINING``) still says false was interrupted, and some cases may be missing.
    """
    root = Path(root).resolve()
    for folder in (root, *root.parents[:2]):
        path = folder / PHANTOM_MANIFEST
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("generator") == PHANTOM_GENERATOR:
            if manifest.get("complete") is not True:
                return [
                    f"{path}: the phantom run that writes this data set has not finished "
                    "(complete: false); rerun the same `isles2018 phantom` command"
                ]
            return []
    return []
