"""Subjects of an ISLES'24-layout data set, the grid sizes and the options that shape the files.

Subject ``n`` of a partition is patient ``n`` of the ISLES 2018 layout with the same seed and
profile (``sample_patient(seed, partition, n, profile)``): the same anatomy, pose, stroke and
lesion in MNI space, sampled on a whole-brain grid instead of a slab. Its noise draws come from
its own keyed generators, ``default_rng([seed, partition, 2, n, ...])``, so adding subjects
changes none of the earlier ones. Training subjects are numbered 1…, testing subjects
``5000 + n`` (labels never collide across the two trees).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isles2018.phantom.isles24.names import SPELLINGS, Spelling
from isles2018.phantom.sampling import PARTITIONS, Patient, Profile, sample_patient


@dataclass(frozen=True)
class GridSpec:
    """A grid size.

    Attributes:
        shape: ``(X, Y, Z)`` voxels.
        spacing_mm: ``(x, y, z)`` voxel size (mm).
        sub_slices: sub-slices averaged per slice for partial volume (about 1 mm apart).
    """

    shape: tuple[int, int, int]
    spacing_mm: tuple[float, float, float]
    sub_slices: int


#: Both cover 204.8 × 224 × ~200 mm: the whole brain at any pose the patients draw, with at
#: least 12 mm to spare in plane and 8 mm above and below.
GEOMETRIES = {
    # tiny and fast, for tests
    "small": GridSpec(shape=(64, 70, 22), spacing_mm=(3.2, 3.2, 9.0), sub_slices=5),
    # as real ISLES'24 NCCT space: ~0.4 mm in plane, 512 × 512–600, 2 mm slices
    "realistic": GridSpec(shape=(512, 560, 100), spacing_mm=(0.4, 0.4, 2.0), sub_slices=2),
}


def get_geometry(name: str) -> GridSpec:
    """The grid called ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    if name not in GEOMETRIES:
        raise ValueError(f"unknown geometry {name!r}; choose one of {', '.join(GEOMETRIES)}")
    return GEOMETRIES[name]


TESTING_OFFSET = 5000
MAX_SUBJECTS = 4999
MASK_DTYPES = ("uint16", "float64")
_LAYOUT_KEY = 2  # ISLES 2018 keys use 0 (patients) and 1 (cases)


@dataclass(frozen=True)
class SubjectPlan:
    """One subject (one patient, whole-brain coverage) to generate.

    Attributes:
        partition: ``TRAINING`` or ``TESTING``.
        number: ``n``: the patient's number in its partition (1…).
        patient: the patient (as in the ISLES 2018 layout).
        seed: the data set's seed.
    """

    partition: str
    number: int
    patient: Patient
    seed: int

    @property
    def subject_number(self) -> int:
        """The number in the subject label: ``n`` (training) or ``5000 + n`` (testing)."""
        return self.number + (TESTING_OFFSET if self.partition == "TESTING" else 0)

    @property
    def cost(self) -> int:
        """Relative generation cost (frames; every subject has the same grid)."""
        return self.patient.frames

    def rng(self, *key: int) -> np.random.Generator:
        """The subject's generator for ``key`` (``0``: case-wide draws; ``1, z``: slice ``z``)."""
        partition = PARTITIONS.index(self.partition)
        return np.random.default_rng([self.seed, partition, _LAYOUT_KEY, self.number, *key])


def plan_subjects(
    seed: int, n_training: int, n_testing: int, profile: Profile
) -> list[SubjectPlan]:
    """Subjects of a data set, training first; a prefix of a larger plan is the smaller plan."""
    return [
        SubjectPlan(partition, number, sample_patient(seed, partition, number, profile), seed)
        for partition, count in zip(PARTITIONS, (n_training, n_testing), strict=True)
        for number in range(1, count + 1)
    ]


@dataclass(frozen=True)
class Options:
    """How the subjects are written.

    Attributes:
        spelling: ``challenge`` or ``sample`` (see :mod:`isles2018.phantom.isles24.names`).
        geometry: ``small`` or ``realistic`` (see :mod:`isles2018.phantom.isles24.grid`).
        oblique: tilted (gantry-tilt) affine, else axis-aligned with x and y flipped.
        mask_dtype: ``uint16`` or ``float64`` (the two dtypes of real ISLES'24 masks).
        gzip: ``.nii.gz`` (else ``.nii``).
        five_d: store the CTP as ``(X, Y, Z, 1, T)``.
    """

    spelling: str = "challenge"
    geometry: str = "small"
    oblique: bool = False
    mask_dtype: str = "uint16"
    gzip: bool = True
    five_d: bool = False

    @property
    def ext(self) -> str:
        return ".nii.gz" if self.gzip else ".nii"

    @property
    def spelled(self) -> Spelling:
        return SPELLINGS[self.spelling]
