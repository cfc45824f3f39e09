"""Patient ids and cross-validation folds of the scored cases.

Patient ids come from the first source that exists: ``splits.json``'s ``patients`` map, a
``--patients`` CSV (columns ``case,patient``), a ``cases.csv`` in the reference folder or its
parent (columns ``case``, ``patient`` and optionally ``partition``: rows whose partition equals
the reference folder's name, e.g. ``TRAINING``, are used when that column is present), else
each case is its own patient. A case's fold is the fold whose ``val`` list holds it.

A splits file must name every scored case (in a ``val`` or ``train`` list or its ``patients``
map), else it is refused as the splits of another data set. It may name more cases than are
scored: scoring part of a data set (a reference folder holding some of its cases) is legitimate,
and those extra cases are counted in the summary.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.errors import EvaluationError


@dataclass(frozen=True)
class CaseGroups:
    """Patient and fold of every case.

    Attributes:
        patients: case id → patient id (only cases the source names).
        folds: case id → validation fold (only cases in some ``val`` list).
        patient_source: where the patient ids came from, for the summary.
        splits_not_scored: case ids the splits file names that were not scored.
    """

    patients: dict[str, str] = field(default_factory=dict)
    folds: dict[str, int] = field(default_factory=dict)
    patient_source: str = "none: each case is its own patient"
    splits_not_scored: tuple[str, ...] = ()

    def patient_of(self, case_id: str) -> str:
        """The case's patient id; the case id itself when the source does not name it."""
        return self.patients.get(case_id, case_id)


def read_splits(path: str | Path) -> tuple[dict[str, int], dict[str, str] | None]:
    """Read ``splits.json`` (written by ``isles2018``).

    Format: ``{"version": 1, "k": 4, "seed": 0, "folds": [{"fold": 0, "train": [...],
    "val": [...]}, ...], "patients": {"case_1": "train_01", ...}}``.

    Returns:
        ``(folds, patients)``: case id → fold of its ``val`` list, and the patient map (or None).

    Raises:
        EvaluationError: unreadable JSON, missing keys, or a case in two ``val`` lists.
    """
    folds, patients, _ = _read_splits(Path(path))
    return folds, patients


def _read_splits(path: Path) -> tuple[dict[str, int], dict[str, str] | None, set[str]]:
    """:func:`read_splits`, plus every case id the file names (val, train, patient map)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EvaluationError(f"{path}: splits file not found") from None
    except (OSError, ValueError) as error:
        raise EvaluationError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("folds"), list):
        raise EvaluationError(f"{path}: expected an object with a 'folds' list")
    folds: dict[str, int] = {}
    named: set[str] = set()
    for index, entry in enumerate(data["folds"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("val"), list):
            raise EvaluationError(f"{path}: folds[{index}] has no 'val' list")
        fold = entry.get("fold", index)
        if not isinstance(fold, int):
            raise EvaluationError(f"{path}: folds[{index}].fold must be an integer, got {fold!r}")
        for case_id in map(str, entry["val"]):
            if case_id in folds:
                raise EvaluationError(
                    f"{path}: {case_id} is in the val lists of folds {folds[case_id]} and {fold}"
                )
            folds[case_id] = fold
        train = entry.get("train")
        named |= set(map(str, train)) if isinstance(train, list) else set()
    patients = data.get("patients")
    if patients is not None and not isinstance(patients, dict):
        raise EvaluationError(f"{path}: 'patients' must map case ids to patient ids")
    patients = {str(k): str(v) for k, v in patients.items()} if patients else None
    return folds, patients, named | set(folds) | set(patients or ())


def check_splits(path: str | Path, named: set[str], cases: Collection[str]) -> tuple[str, ...]:
    """Check that a splits file belongs to the scored cases.

    Every scored case must be named by the file (``named``: its val and train lists and patient
    map); the file may name more cases (a superset: part of its data set is scored).

    Returns:
        The case ids the file names that are not scored, in natural order.

    Raises:
        EvaluationError: some scored cases are not in the file (some of its own ids are shown).
    """
    unknown = sorted(set(cases) - named, key=_natural)
    extra = sorted(named - set(cases), key=_natural)
    if unknown:
        listed = f"; it lists {_some(extra)} instead" if extra else ""
        raise EvaluationError(
            f"{path}: {len(unknown)} of {len(cases)} scored case(s) are not in this splits "
            f"file ({_some(unknown)}){listed}: is it the splits file of this reference?"
        )
    return tuple(extra)


def _natural(case_id: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", case_id))


def _some(ids: list[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (f", … ({len(ids) - n} more)" if len(ids) > n else "")


def read_patients_csv(path: str | Path, partition: str | None = None) -> dict[str, str]:
    """Read a ``case,patient`` table (extra columns allowed).

    Args:
        path: the CSV file.
        partition: when the table has a ``partition`` column and this matches one of its values
            (case-insensitive), only those rows are used: case ids repeat across partitions.

    Raises:
        EvaluationError: unreadable file, missing columns, or one case with two patients.
    """
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise EvaluationError(f"{path}: patients file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise EvaluationError(f"{path}: not a readable CSV ({error})") from None
    columns = set(rows[0]) if rows else set()
    if not {"case", "patient"} <= columns:
        raise EvaluationError(
            f"{path}: needs 'case' and 'patient' columns, found {sorted(columns)}"
        )
    if partition and "partition" in columns:
        wanted = partition.upper()
        if any((row["partition"] or "").upper() == wanted for row in rows):
            rows = [row for row in rows if (row["partition"] or "").upper() == wanted]
    patients: dict[str, str] = {}
    for row in rows:
        case_id, patient_id = (row["case"] or "").strip(), (row["patient"] or "").strip()
        if not case_id or not patient_id:
            continue
        if patients.get(case_id, patient_id) != patient_id:
            raise EvaluationError(
                f"{path}: {case_id} maps to patients {patients[case_id]} and {patient_id} "
                "(a 'partition' column matching the reference folder's name selects one)"
            )
        patients[case_id] = patient_id
    return patients


def find_cases_csv(reference_dir: str | Path) -> Path | None:
    """``cases.csv`` in the reference folder or its parent, if any."""
    reference_dir = Path(reference_dir)
    for folder in (reference_dir, reference_dir.parent):
        candidate = folder / "cases.csv"
        if candidate.is_file():
            return candidate
    return None


def resolve_groups(
    reference_dir: str | Path,
    splits_path: str | Path | None = None,
    patients_csv: str | Path | None = None,
    cases: Collection[str] | None = None,
) -> CaseGroups:
    """Patients and folds from the first source available (see the module docstring).

    Args:
        reference_dir: the folder whose cases are scored (its name selects a ``partition``).
        splits_path: ``splits.json``, or None.
        patients_csv: ``case,patient`` table, or None.
        cases: the scored case ids: when given, the splits file is checked against them
            (:func:`check_splits`).

    Raises:
        EvaluationError: an unreadable source, or a splits file of other cases.
    """
    reference_dir = Path(reference_dir)
    folds: dict[str, int] = {}
    extra: tuple[str, ...] = ()
    if splits_path is not None:
        folds, patients, named = _read_splits(Path(splits_path))
        if cases is not None:
            extra = check_splits(splits_path, named, cases)
        if patients:
            return CaseGroups(patients, folds, f"splits: {splits_path}", extra)
    if patients_csv is not None:
        patients = read_patients_csv(patients_csv, reference_dir.name)
        return CaseGroups(patients, folds, f"patients CSV: {patients_csv}", extra)
    found = find_cases_csv(reference_dir)
    if found is not None:
        patients = read_patients_csv(found, reference_dir.name)
        return CaseGroups(patients, folds, f"cases.csv: {found}", extra)
    return CaseGroups(folds=folds, splits_not_scored=extra)
