"""Training fixtures: a tiny TRAINING folder shared by the run, ablation and concurrency tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def data(tmp_path: Path, make_case) -> Path:
    """Four training cases, 32×32, two slices each, with MR_DWI."""
    root = tmp_path / "TRAINING"
    for number in (1, 2, 3, 4):
        make_case(root, number, shape=(32, 32, 2))
    return root
