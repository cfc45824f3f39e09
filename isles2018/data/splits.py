"""Patient-grouped k-fold cross-validation splits, saved to and reused from ``splits.json``.

Slabs of one patient always fall in the same fold (paper §3.1 and ISLES practice). Folds are
balanced by slice count as far as grouping allows: patients are placed, largest first, into the
fold with the fewest slices so far; ties are broken by a seeded permutation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from isles2018.data.io import header_shape
from isles2018.data.layout import Case
from isles2018.data.modalities import Modality
from isles2018.errors import DataError
from isles2018.files import atomic_path

VERSION = 1


#: The file a run folder keeps its split in (``isles2018 split`` writes it by default).
SPLITS_FILE = "splits.json"


@dataclass(frozen=True)
class Fold:
    """One fold: the cases trained on and the held-out validation cases."""

    fold: int
    train: tuple[str, ...]
    val: tuple[str, ...]


@dataclass(frozen=True)
class Splits:
    """A k-fold split of the cases of one partition.

    Attributes:
        k: number of folds.
        seed: seed of the tie-breaking permutation.
        folds: the k folds, in order.
        patients: case id → patient id for every case.
        slices: case id → slice count used for balancing.
    """

    k: int
    seed: int
    folds: tuple[Fold, ...]
    patients: dict[str, str]
    slices: dict[str, int]

    def fold_of(self, case_id: str) -> int:
        """The fold in which ``case_id`` is a validation case."""
        for fold in self.folds:
            if case_id in fold.val:
                return fold.fold
        raise KeyError(case_id)

    def to_dict(self) -> dict:
        """JSON-ready form (the ``splits.json`` format)."""
        return {
            "version": VERSION,
            "k": self.k,
            "seed": self.seed,
            "folds": [
                {"fold": f.fold, "train": list(f.train), "val": list(f.val)} for f in self.folds
            ],
            "patients": dict(self.patients),
            "slices": dict(self.slices),
        }

    def save(self, path: Path) -> Path:
        """Write ``splits.json`` atomically."""
        with atomic_path(Path(path)) as temporary:
            temporary.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> Splits:
        """Read a ``splits.json``.

        Raises:
            DataError: unreadable or not a splits file.
        """
        try:
            data = json.loads(Path(path).read_text())
            folds = tuple(
                Fold(int(f["fold"]), tuple(f["train"]), tuple(f["val"])) for f in data["folds"]
            )
            return cls(
                k=int(data["k"]),
                seed=int(data["seed"]),
                folds=folds,
                patients=dict(data["patients"]),
                slices={k: int(v) for k, v in data.get("slices", {}).items()},
            )
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(f"{path}: not a readable splits file ({error})") from None


def make_splits(
    patients: Mapping[str, str], slices: Mapping[str, int], k: int = 4, seed: int = 0
) -> Splits:
    """Split cases into ``k`` patient-grouped folds balanced by slice count.

    Args:
        patients: case id → patient id.
        slices: case id → number of slices.
        k: number of folds (paper: 4).
        seed: seed of the tie-breaking permutation.

    Raises:
        ValueError: fewer patients than folds, or k < 2.
    """
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    groups: dict[str, list[str]] = {}
    for case_id in sorted(patients, key=_case_key):
        groups.setdefault(patients[case_id], []).append(case_id)
    if len(groups) < k:
        raise ValueError(f"{len(groups)} patient(s) cannot fill {k} folds")
    names = sorted(groups)
    order = np.random.default_rng(seed).permutation(len(names))
    rank = {names[i]: r for r, i in enumerate(order)}
    placed = sorted(names, key=lambda p: (-sum(slices[c] for c in groups[p]), rank[p]))
    fold_slices = [0] * k
    fold_cases: list[list[str]] = [[] for _ in range(k)]
    fold_tiebreak = np.random.default_rng([seed, 1]).permutation(k)
    for patient in placed:
        target = min(range(k), key=lambda f: (fold_slices[f], len(fold_cases[f]), fold_tiebreak[f]))
        fold_cases[target].extend(groups[patient])
        fold_slices[target] += sum(slices[c] for c in groups[patient])
    every = sorted(patients, key=_case_key)
    folds = []
    for index, val in enumerate(fold_cases):
        held = set(val)
        folds.append(
            Fold(
                fold=index,
                train=tuple(c for c in every if c not in held),
                val=tuple(sorted(val, key=_case_key)),
            )
        )
    return Splits(k, seed, tuple(folds), dict(patients), {c: int(slices[c]) for c in patients})


def _case_key(case_id: str) -> tuple[int, str]:
    tail = case_id.rsplit("_", 1)[-1]
    return (int(tail), case_id) if tail.isdigit() else (10**9, case_id)


def split_cases(cases: Sequence[Case], k: int = 4, seed: int = 0) -> Splits:
    """:func:`make_splits` over discovered cases (slice counts read from CT_MTT headers)."""
    ids = [c.case_id for c in cases]
    if len(set(ids)) != len(ids):
        raise DataError("cases from more than one partition: split TRAINING alone")
    slices = {c.case_id: header_shape(c.path(Modality.MTT))[2] for c in cases}
    try:
        return make_splits({c.case_id: c.patient_id for c in cases}, slices, k=k, seed=seed)
    except ValueError as error:
        raise DataError(f"cannot split {len(cases)} case(s) into {k} folds: {error}") from None


def load_or_make_splits(
    cases: Sequence[Case], path: Path, k: int = 4, seed: int = 0, *, save: bool = True
) -> Splits:
    """Reuse ``path`` if it exists and matches the cases, else make a split (saved to ``path``
    unless ``save`` is False).

    Raises:
        DataError: an existing file lists other cases or another k than asked for, or the cases
            cannot fill k folds.
    """
    path = Path(path)
    if path.exists():
        splits = Splits.load(path)
        listed = set(splits.patients)
        present = {c.case_id for c in cases}
        if listed != present:
            extra = sorted(listed - present, key=_case_key)[:5]
            missing = sorted(present - listed, key=_case_key)[:5]
            raise DataError(
                f"{path}: lists other cases than the data (not in data: {extra}, "
                f"not in splits: {missing}); delete it or use another --out"
            )
        if splits.k != k:
            raise DataError(f"{path}: has {splits.k} folds, {k} were asked for")
        return splits
    splits = split_cases(cases, k=k, seed=seed)
    if save:
        splits.save(path)
    return splits
