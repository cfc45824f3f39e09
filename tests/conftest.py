"""Shared fixtures: tiny ISLES-shaped folders with real SMIR names and real NIfTI headers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from isles2018.data.io import write_volume
from isles2018.data.modalities import REQUIRED, Modality, smir_name

_ids = itertools.count(345000)


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread per test process: two xdist workers share the two cores of CI."""
    import torch

    torch.set_num_threads(1)


#: Anisotropic spacing (0.9, 0.8, 5 mm) with a rotation about z and an offset: not identity.
AFFINE = np.array(
    [
        [0.0, -0.8, 0.0, 100.0],
        [-0.9, 0.0, 0.0, 120.0],
        [0.0, 0.0, 5.0, -30.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def write_case(
    partition: Path,
    number: int,
    *,
    shape: tuple[int, int, int] = (16, 12, 2),
    frames: int = 8,
    modalities: tuple[Modality, ...] | None = None,
    prefix: str = "CT",
    gzip: bool = False,
    five_d: bool = False,
    seed: int | None = None,
    affine: np.ndarray = AFFINE,
) -> Path:
    """Write one ``case_<number>`` folder with every modality (OT and MR_DWI included).

    The lesion is a small block; perfusion maps are random but finite, in ISLES dtypes.
    ``prefix="MR"`` writes the early release's ``MR_*`` tokens for the perfusion volumes.
    """
    rng = np.random.default_rng(number if seed is None else seed)
    folder = Path(partition) / f"case_{number}"
    lesion = np.zeros(shape, np.uint8)
    lesion[4:9, 3:7, :] = 1
    arrays = {
        Modality.CT: rng.integers(0, 80, shape).astype(np.int32),
        Modality.PWI: rng.integers(0, 200, (*shape, frames)).astype(np.int16),
        Modality.CBF: rng.integers(0, 600, shape).astype(np.uint16),
        Modality.CBV: rng.integers(0, 60, shape).astype(np.uint16),
        Modality.MTT: rng.uniform(0, 20, shape),
        Modality.TMAX: rng.uniform(0, 20, shape) + 6 * lesion,
        Modality.DWI: rng.uniform(100, 200, shape).astype(np.float32) + 100 * lesion,
        Modality.OT: lesion,
    }
    chosen = modalities if modalities is not None else tuple(arrays)
    extension = ".nii.gz" if gzip else ".nii"
    for modality in chosen:
        stem = smir_name(modality, next(_ids))
        if prefix == "MR" and modality.token.startswith("CT_"):
            stem = stem.replace(".CT_", ".MR_")
        path = folder / stem / f"{stem}{extension}"
        four_d = modality is Modality.PWI
        write_volume(
            path,
            arrays[modality],
            affine,
            time_step_s=1.0 if four_d else None,
            five_d=five_d and four_d,
        )
    return folder


@pytest.fixture
def make_case() -> Callable[..., Path]:
    """Factory ``make_case(partition, number, **options)`` → case folder (see write_case)."""
    return write_case


@pytest.fixture
def isles_training(tmp_path: Path) -> Path:
    """A TRAINING folder with cases 1, 2, 3 and 10 (numeric order differs from string order)."""
    root = tmp_path / "TRAINING"
    for number in (1, 2, 3, 10):
        write_case(root, number)
    return root


@pytest.fixture
def testing(tmp_path: Path) -> Path:
    """A TESTING folder of three cases (case_1..3) with every required modality and no OT."""
    root = tmp_path / "TESTING"
    for number in (1, 2, 3):
        write_case(root, number, modalities=REQUIRED)
    return root
