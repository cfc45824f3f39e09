from __future__ import annotations

import json
from pathlib import Path

import pytest

from isles2018.data.layout import discover_cases
from isles2018.data.patients import published_table
from isles2018.data.splits import Splits, load_or_make_splits, make_splits
from isles2018.errors import DataError


def _real_training() -> tuple[dict[str, str], dict[str, int]]:
    rows = {c: r for (p, c), r in published_table().items() if p == "TRAINING"}
    return {c: r["patient"] for c, r in rows.items()}, {
        c: int(r["slices"]) for c, r in rows.items()
    }


def test_real_table_patient_grouped_and_balanced() -> None:
    patients, slices = _real_training()
    splits = make_splits(patients, slices, k=4, seed=0)
    vals = [set(f.val) for f in splits.folds]
    assert set().union(*vals) == set(patients) and sum(map(len, vals)) == 94
    for fold in splits.folds:
        assert set(fold.train) | set(fold.val) == set(patients)
        assert not set(fold.train) & set(fold.val)
        train_patients = {patients[c] for c in fold.train}
        assert not train_patients & {patients[c] for c in fold.val}
    totals = [sum(slices[c] for c in f.val) for f in splits.folds]
    assert sum(totals) == 502
    assert max(totals) - min(totals) <= 22  # balanced to within the largest patient


def test_deterministic_and_seed_dependent() -> None:
    patients, slices = _real_training()
    first = make_splits(patients, slices, seed=3).to_dict()
    assert first == make_splits(patients, slices, seed=3).to_dict()
    others = [make_splits(patients, slices, seed=s).to_dict()["folds"] for s in range(4, 8)]
    assert any(o != first["folds"] for o in others)


def test_too_few_patients() -> None:
    with pytest.raises(ValueError, match="2 patient"):
        make_splits({"case_1": "a", "case_2": "b"}, {"case_1": 2, "case_2": 2}, k=4)


def test_saved_and_reused(isles_training: Path, tmp_path: Path) -> None:
    cases = discover_cases(isles_training)
    path = tmp_path / "splits.json"
    made = load_or_make_splits(cases, path, k=2, seed=0)
    data = json.loads(path.read_text())
    assert (
        data["version"] == 1
        and data["k"] == 2
        and set(data["patients"]) == {"case_1", "case_2", "case_3", "case_10"}
    )
    assert Splits.load(path) == made
    assert load_or_make_splits(cases, path, k=2, seed=99) == made
    with pytest.raises(DataError, match="has 2 folds, 4 were asked"):
        load_or_make_splits(cases, path, k=4)
    with pytest.raises(DataError, match="lists other cases"):
        load_or_make_splits(cases[:3], path, k=2)
    assert made.fold_of("case_10") in (0, 1)


def test_too_few_patients_for_discovered_cases(isles_training: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot split 4 case"):
        load_or_make_splits(discover_cases(isles_training), tmp_path / "s.json", k=5)
