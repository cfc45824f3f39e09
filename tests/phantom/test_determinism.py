"""Determinism: same seed → same bytes (any worker count); other seed → other bytes; adding
cases changes none of the earlier ones."""

from __future__ import annotations

from pathlib import Path

from phantom_helpers import DATASET_SEED

from isles2018.phantom.generate import Request, generate_dataset, read_manifest


def _generate(out: Path, **options) -> dict[str, str]:
    generate_dataset(Request(out=out, profile="ci", **options), progress=False)
    return read_manifest(out)["files"]


def test_same_seed_gives_identical_bytes_with_one_or_two_workers(tmp_path: Path) -> None:
    first = _generate(tmp_path / "a", cases=2, test_cases=1, seed=5, workers=1)
    second = _generate(tmp_path / "b", cases=2, test_cases=1, seed=5, workers=2)
    assert first == second
    for relative in first:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()


def test_another_seed_gives_different_data(tmp_path: Path) -> None:
    first = _generate(tmp_path / "a", cases=1, seed=5)
    second = _generate(tmp_path / "b", cases=1, seed=6)
    volumes = [k for k in first if k.endswith(".nii")]
    assert all(first[k] != second[k] for k in volumes)


def test_adding_cases_changes_none_of_the_earlier_ones(tmp_path: Path, ci_dataset: Path) -> None:
    smaller = _generate(tmp_path / "small", cases=1, test_cases=1, seed=DATASET_SEED)
    larger = read_manifest(ci_dataset)["files"]
    shared = [k for k in smaller if k != "cases.csv"]
    assert len(shared) == (8 + 2) + (6 + 3 + 2)  # training, then testing with its reference
    for relative in shared:
        assert smaller[relative] == larger[relative], relative
