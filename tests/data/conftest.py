"""Fixtures of the data tests: tiny ISLES'24 trees (writer in ``isles24_tree.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from isles24_tree import write_subject


@pytest.fixture
def make_subject() -> Callable[..., str]:
    """Factory ``make_subject(root, number, **options)`` → subject name (see write_subject)."""
    return write_subject


@pytest.fixture
def isles24(tmp_path: Path) -> Path:
    """An ISLES'24 tree: sub-strokecase0001 (ses-0001, .nii.gz, uint16 mask) and sub-stroke0002
    (ses-01, .nii, float64 mask without space entity, 5D CTP), both complete; oblique grid."""
    root = tmp_path / "isles24"
    write_subject(root, 1, spelling="strokecase")
    write_subject(root, 2, gzip=False, mask="float64", mask_space=False, five_d=True)
    return root
