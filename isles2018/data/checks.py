"""Per-case checks behind ``isles2018 inspect``: every problem of a case, without raising."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isles2018.data.grid import grid_differences
from isles2018.data.io import read_volume
from isles2018.data.layout import Case
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
        shape: ``(X, Y, Z)`` of its CT_MTT, or None when unreadable.
        timepoints: frames of its CT_4DPWI, or None.
        spacing_mm: ``(x, y, z)`` of its CT_MTT, or None.
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
    4D, one grid for all modalities (shape, spacing, origin, orientation; see
    :mod:`isles2018.data.grid`),
    finite values, binary ground truth.
    """
    problems = list(case.problems)
    shape = spacing = timepoints = None
    grids: dict[Modality, tuple[int, ...]] = {}
    for modality, entry in sorted(case.files.items(), key=lambda kv: kv[0].value):
        try:
            volume = read_volume(entry.path, ndim=4 if modality is Modality.PWI else 3)
        except DataError as error:
            problems.append(str(error))
            continue
        array = volume.array
        grids[modality] = array.shape[:3]
        if modality is Modality.MTT:
            shape, spacing = array.shape[:3], volume.spacing_mm
        if modality is Modality.PWI:
            timepoints = array.shape[3]
        if array.dtype.kind == "f":
            bad = int(array.size - np.count_nonzero(np.isfinite(array)))
            if bad:
                problems.append(f"{entry.path}: {bad} NaN/inf value(s)")
        if modality is Modality.OT:
            values = np.unique(array)
            if not np.isin(values, (0, 1)).all():
                problems.append(f"{entry.path}: ground truth is not binary {{0, 1}}")
    reference = Modality.MTT if Modality.MTT in grids else next(iter(grids), None)
    for modality in grids:
        if modality is not reference:
            path, reference_path = case.files[modality].path, case.files[reference].path
            differences = grid_differences(path, reference_path)
            if differences:
                problems.append(
                    f"{path}: not on the grid of {reference_path.name}: {'; '.join(differences)}"
                )
    return CaseReport(case, shape, timepoints, spacing, tuple(problems))


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
