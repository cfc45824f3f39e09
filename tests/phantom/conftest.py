"""Phantom fixtures: small data sets generated once per session (per xdist worker)."""

from __future__ import annotations

from pathlib import Path

import pytest
from phantom_helpers import DATASET_SEED

from isles2018.phantom.generate import Request, generate_dataset
from isles2018.phantom.sampling import get_profile, plan_cases
from isles2018.phantom.synthesis import CaseData, synthesize_case


@pytest.fixture(scope="session")
def ci_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A written ``ci`` data set: 3 training and 2 testing cases (one process)."""
    out = tmp_path_factory.mktemp("phantom") / "ci"
    generate_dataset(
        Request(out=out, cases=3, test_cases=2, seed=DATASET_SEED, profile="ci"), progress=False
    )
    return out


@pytest.fixture(scope="session")
def clean_cases() -> list[CaseData]:
    """Three noise-free cases in memory (physics checks)."""
    profile = get_profile("clean")
    return [synthesize_case(plan, profile) for plan in plan_cases(7, 3, 0, profile)]


@pytest.fixture(scope="session")
def ci_cases() -> list[CaseData]:
    """Two ``ci`` cases in memory (3 HU noise)."""
    profile = get_profile("ci")
    return [synthesize_case(plan, profile) for plan in plan_cases(7, 2, 0, profile)]


@pytest.fixture(scope="session")
def isles24_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ISLES'24 layout with its defaults (challenge spelling, small axis-aligned grid,
    uint16 masks, .nii.gz): 2 training subjects and 1 testing subject, seed and profile of
    ``ci_dataset`` (so subject n is its patient n)."""
    out = tmp_path_factory.mktemp("phantom24") / "challenge"
    request = Request(
        out=out, cases=2, test_cases=1, seed=DATASET_SEED, profile="ci", layout="isles24"
    )
    generate_dataset(request, progress=False)
    return out


@pytest.fixture(scope="session")
def isles24_sample_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ISLES'24 layout in the sample files' spelling, oblique, float64 masks, 5D CTP:
    1 training and 1 testing subject of the same seed as ``isles24_dataset``."""
    out = tmp_path_factory.mktemp("phantom24") / "sample"
    request = Request(
        out=out,
        cases=1,
        test_cases=1,
        seed=DATASET_SEED,
        profile="ci",
        layout="isles24",
        spelling="sample",
        oblique=True,
        mask_dtype="float64",
        five_d=True,
    )
    generate_dataset(request, progress=False)
    return out
