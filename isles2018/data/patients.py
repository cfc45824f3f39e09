"""Which patient each ISLES 2018 case (slab) belongs to.

(An ISLES'24 subject is its own patient: :mod:`isles2018.data.isles24` sets it.) Order of
precedence:

1. A ``cases.csv`` beside the data (in the partition folder or its parent) with the columns
   ``partition, case, patient`` — synthetic data sets carry their own. Rows whose partition is
   the folder's own name win, then the split's (TRAINING/TESTING), then rows without one.
2. The real ISLES 2018 data set, recognised by its case ids, slice counts and CT perfusion time
   points all matching the published table shipped with the package
   (``isles2018/data/isles2018_cases.csv``).
3. Otherwise each case is its own patient.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from isles2018.data.io import header_shape
from isles2018.data.modalities import CaseFile, Modality
from isles2018.errors import DataError

SIDECAR = "cases.csv"


def _read_table(lines: Sequence[str], source: str) -> dict[tuple[str, str], dict[str, str]]:
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or not {"case", "patient"} <= set(reader.fieldnames):
        raise DataError(f"{source}: a cases table needs the columns 'case' and 'patient'")
    return {(row.get("partition", "").upper(), row["case"]): row for row in reader}


@cache
def published_table() -> dict[tuple[str, str], dict[str, str]]:
    """The real data set's case → patient table, keyed by (partition, case)."""
    text = resources.files("isles2018.data").joinpath("isles2018_cases.csv").read_text()
    return _read_table(text.splitlines(), "isles2018_cases.csv")


def _partition_name(split: str) -> str:
    return "TRAINING" if split == "training" else "TESTING"


def _from_sidecar(partition: Path, split: str, case_ids: list[str]) -> dict[str, str] | None:
    for folder in (partition, partition.parent):
        sidecar = folder / SIDECAR
        if sidecar.is_file():
            table = _read_table(sidecar.read_text().splitlines(), str(sidecar))
            names = (partition.name.upper(), _partition_name(split), "")
            result = {}
            for case_id in case_ids:
                row = next((table[(n, case_id)] for n in names if (n, case_id) in table), None)
                result[case_id] = row["patient"] if row else case_id
            return result
    return None


def _is_published(split: str, cases: list[tuple[str, Mapping[Modality, CaseFile]]]) -> bool:
    table = published_table()
    name = _partition_name(split)
    matched = 0
    for case_id, files in cases:
        row = table.get((name, case_id))
        if row is None:
            return False
        try:
            if Modality.MTT in files:
                if header_shape(files[Modality.MTT].path)[2] != int(row["slices"]):
                    return False
            if Modality.PWI in files:
                if header_shape(files[Modality.PWI].path)[-1] != int(row["ctp_timepoints"]):
                    return False
        except (DataError, IndexError):
            continue  # a damaged file is reported by inspect; it neither proves nor disproves
        matched += 1
    return matched > 0


def assign_patients(
    partition: Path, split: str, cases: list[tuple[str, Mapping[Modality, CaseFile]]]
) -> dict[str, str]:
    """Patient id of every case of one partition folder.

    Args:
        partition: the folder holding the ``case_<n>`` folders.
        split: ``"training"`` or ``"testing"``.
        cases: ``(case_id, files)`` pairs found in it.
    """
    case_ids = [case_id for case_id, _ in cases]
    sidecar = _from_sidecar(partition, split, case_ids)
    if sidecar is not None:
        return sidecar
    if _is_published(split, cases):
        table = published_table()
        name = _partition_name(split)
        return {case_id: table[(name, case_id)]["patient"] for case_id in case_ids}
    return {case_id: case_id for case_id in case_ids}
