"""Profiles, the case plan (patients and their slabs), per-patient parameters and SMIR ids.

Randomness is keyed, never sequential, so that adding cases changes none of the earlier ones:
patient ``p`` of a partition draws from ``default_rng([seed, partition, 0, p])`` and case ``n``
(its slab) from ``default_rng([seed, partition, 1, n])``, partition 0 = TRAINING, 1 = TESTING.
Patients are numbered in case order; a patient owns one or two consecutive cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isles2018.data.modalities import Modality
from isles2018.phantom.aif import AifParameters, sample_aif

PARTITIONS = ("TRAINING", "TESTING")
_TWO_SLAB_PROBABILITY = {2: 0.85, 4: 0.3, 8: 0.6, 16: 0.0, 22: 0.0}  # as in ISLES 2018
_ID_BASE = {"TRAINING": 100000, "TESTING": 500000}
_ID_ORDER = (
    Modality.CT,
    Modality.PWI,
    Modality.CBF,
    Modality.CBV,
    Modality.MTT,
    Modality.TMAX,
    Modality.OT,
    Modality.DWI,
)
MAX_CASES = 39999
#: Infarct growth between the CT perfusion and the DWI: the share of the penumbra (Tmax > 6 s
#: beyond the core) that the DWI lesion takes in. Unobserved in the acute images; it depends on
#: whether the occlusion reopened in time and on the collaterals. Early reperfusion stops the
#: growth and spares part of the perfusion "core" (negative growth: the share of the core that
#: survives, the "ghost core" of CT perfusion).
REPERFUSION_PROBABILITY = 0.45
GROWTH_REPERFUSED = (-0.4, 0.1)
GROWTH_OCCLUDED = (0.1, 1.0)
#: A person delineates OT on the DWI: the drawn outline is smooth (Gaussian σ in-plane, mm), sits
#: at a rater-specific level of the blurred lesion edge (lower = more generous) and wobbles with
#: a smooth random field of this amplitude.
RATER_SIGMA_MM = (0.5, 1.5)
RATER_LEVEL = (0.4, 0.6)
RATER_WOBBLE = (0.05, 0.15)
#: Relative amplitude of the lesion's boundary jitter against the severity field.
JITTER_AMPLITUDE = (0.4, 0.8)


@dataclass(frozen=True)
class Profile:
    """What kind of cases to draw.

    Attributes:
        name: ``isles``, ``ci`` or ``clean``.
        slices, slice_weights: slab sizes and their relative frequency among cases.
        frames, frame_weights: CT perfusion time points and their frequency.
        noise_sd_hu: range of the per-frame noise SD of the perfusion series (HU).
        ct_noise_sd_hu: noise SD of the plain CT (HU).
        dwi_noise_fraction: Rician noise σ relative to white-matter S0.
        sites: the centres whose perfusion software writes the maps
            (:data:`isles2018.phantom.deconvolution.SITES`), drawn per patient.
    """

    name: str
    slices: tuple[int, ...]
    slice_weights: tuple[float, ...]
    frames: tuple[int, ...]
    frame_weights: tuple[float, ...]
    noise_sd_hu: tuple[float, float]
    ct_noise_sd_hu: float
    dwi_noise_fraction: float
    sites: tuple[str, ...] = ("A", "B", "C")


_ISLES_FRAMES = (43, 44, 45, 46, 49, 53, 61, 64)
_ISLES_FRAME_WEIGHTS = (26, 8, 2, 29, 14, 9, 2, 4)
PROFILES: dict[str, Profile] = {
    "isles": Profile(
        "isles", (2, 4, 8, 16, 22), (51, 19, 9, 13, 2), _ISLES_FRAMES, _ISLES_FRAME_WEIGHTS,
        (2.0, 8.0), 3.0, 0.04,
    ),
    "ci": Profile(
        "ci", (2, 4), (51, 19), _ISLES_FRAMES[:6], _ISLES_FRAME_WEIGHTS[:6], (3.0, 3.0), 3.0, 0.04
    ),
    "clean": Profile(
        "clean", (2, 4), (51, 19), _ISLES_FRAMES[:6], _ISLES_FRAME_WEIGHTS[:6], (0.0, 0.0), 0.0,
        0.0, ("A",),
    ),
}  # fmt: skip


def get_profile(name: str) -> Profile:
    """The profile called ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


@dataclass(frozen=True)
class Patient:
    """Everything drawn once per patient (shared by the patient's slabs).

    Units: mm, s, HU, mL/100 g/min (CBF), mL/100 g (CBV), mL (volumes).
    """

    partition: str
    number: int
    slices: int
    frames: int
    two_slabs: bool
    pixel_mm: float
    rotation_deg: tuple[float, float, float]
    scale: float
    shift_mm: tuple[float, float]
    z_centre_mm: float
    second_slab_offset_mm: float
    skull_thickness_mm: float
    hu_gm: float
    hu_wm: float
    hu_csf: float
    hu_skull: float
    hu_scalp: float
    cbf_gm: float
    cbf_wm: float
    cbv_gm: float
    cbv_wm: float
    aif: AifParameters
    noise_sd_hu: float
    occlusion: str
    hemisphere: str
    m2_division: str
    lesion_ml: float
    core_fraction: float
    mismatch: float
    reperfused: bool
    growth: float
    radii_mm: tuple[float, float, float]
    texture_amplitude: float
    jitter_amplitude: float
    adc_factor: float
    ct_core_drop_hu: float
    field_seed: int
    site: str
    rater_sigma_mm: float
    rater_level: float
    rater_wobble: float

    @property
    def patient_id(self) -> str:
        """``phantom_007`` (training) or ``phantom_test_007`` (testing)."""
        prefix = "phantom" if self.partition == "TRAINING" else "phantom_test"
        return f"{prefix}_{self.number:03d}"

    def slab_z_mm(self, slab_index: int) -> float:
        """Scanner z of the centre of slab 0 or 1 (mm)."""
        return self.z_centre_mm + (self.second_slab_offset_mm if slab_index else 0.0)


def _choice(rng: np.random.Generator, values: tuple, weights: tuple) -> int:
    p = np.asarray(weights, dtype=np.float64)
    return int(values[rng.choice(len(values), p=p / p.sum())])


def core_fraction(growth: float, mismatch: float) -> float:
    """Perfusion core / lesion volume for a growth and a mismatch (Tmax > 6 s volume / core).

    Growth ≥ 0: lesion = core + growth · (Tmax > 6 s volume − core); growth < 0: lesion =
    (1 + growth) · core.
    """
    if growth < 0:
        return 1.0 / (1.0 + growth)
    return 1.0 / (1.0 + growth * (mismatch - 1.0))


def sample_patient(seed: int, partition: str, number: int, profile: Profile) -> Patient:
    """Draw patient ``number`` of ``partition`` (deterministic in ``seed``)."""
    rng = np.random.default_rng([seed, PARTITIONS.index(partition), 0, number])
    # Patient-level slab weights make the *case* frequencies match the profile's.
    weights = tuple(
        w / (1.0 + _TWO_SLAB_PROBABILITY.get(n, 0.0))
        for n, w in zip(profile.slices, profile.slice_weights, strict=True)
    )
    slices = _choice(rng, profile.slices, weights)
    frames = _choice(rng, profile.frames, profile.frame_weights)
    two_slabs = bool(rng.random() < _TWO_SLAB_PROBABILITY.get(slices, 0.0))
    z_centre = float(rng.uniform(-5.0, 35.0))
    offset = slices * 5.0 * float(rng.uniform(0.6, 1.0)) * (1.0 if z_centre < 15.0 else -1.0)
    scale_cbf = float(rng.uniform(0.92, 1.08))
    occlusion = str(rng.choice(["M1", "ICA-T", "M2"], p=[0.60, 0.15, 0.25]))
    lesion_ml = float(np.clip(np.exp(rng.normal(np.log(15.0), 1.53)), 0.5, 150.0))
    reperfused = bool(rng.random() < REPERFUSION_PROBABILITY)
    growth = float(rng.uniform(*(GROWTH_REPERFUSED if reperfused else GROWTH_OCCLUDED)))
    mismatch = float(rng.uniform(1.3, 4.0))
    return Patient(
        partition=partition,
        number=number,
        slices=slices,
        frames=frames,
        two_slabs=two_slabs,
        pixel_mm=float(rng.uniform(0.8, 1.0)),
        rotation_deg=tuple(float(a) for a in rng.uniform(-8.0, 8.0, size=3)),
        scale=float(rng.uniform(0.92, 1.08)),
        shift_mm=tuple(float(a) for a in rng.uniform(-5.0, 5.0, size=2)),
        z_centre_mm=z_centre,
        second_slab_offset_mm=offset,
        skull_thickness_mm=float(rng.uniform(5.0, 8.0)),
        hu_gm=float(rng.uniform(36.0, 40.0)),
        hu_wm=float(rng.uniform(26.0, 30.0)),
        hu_csf=float(rng.uniform(5.0, 12.0)),
        hu_skull=float(rng.uniform(800.0, 1500.0)),
        hu_scalp=float(rng.uniform(35.0, 45.0)),
        cbf_gm=55.0 * scale_cbf,
        cbf_wm=22.0 * scale_cbf,
        cbv_gm=4.0 * float(rng.uniform(0.95, 1.05)),
        cbv_wm=2.0 * float(rng.uniform(0.95, 1.05)),
        aif=sample_aif(rng),
        noise_sd_hu=float(rng.uniform(*profile.noise_sd_hu)),
        occlusion=occlusion,
        hemisphere=str(rng.choice(["left", "right"])),
        m2_division=str(rng.choice(["superior", "inferior"])),
        lesion_ml=lesion_ml,
        core_fraction=core_fraction(growth, mismatch),
        mismatch=mismatch,
        reperfused=reperfused,
        growth=growth,
        radii_mm=tuple(float(r) for r in rng.uniform(20.0, 50.0, size=3)),
        texture_amplitude=float(rng.uniform(0.2, 0.4)),
        jitter_amplitude=float(rng.uniform(*JITTER_AMPLITUDE)),
        adc_factor=float(rng.uniform(0.55, 0.75)),
        ct_core_drop_hu=float(rng.uniform(1.0, 3.0)),
        field_seed=int(rng.integers(2**62)),
        site=str(rng.choice(profile.sites)),
        rater_sigma_mm=float(rng.uniform(*RATER_SIGMA_MM)),
        rater_level=float(rng.uniform(*RATER_LEVEL)),
        rater_wobble=float(rng.uniform(*RATER_WOBBLE)),
    )


@dataclass(frozen=True)
class CasePlan:
    """One case (slab) to generate.

    Attributes:
        partition: ``TRAINING`` or ``TESTING``.
        number: the ``n`` of ``case_<n>``.
        patient: the patient it belongs to.
        slab_index: 0, or 1 for a patient's second slab.
        seed: the data set's seed.
    """

    partition: str
    number: int
    patient: Patient
    slab_index: int
    seed: int

    @property
    def case_id(self) -> str:
        return f"case_{self.number}"

    @property
    def cost(self) -> int:
        """Relative generation cost (voxel-frames), for scheduling the largest first."""
        return self.patient.slices * self.patient.frames

    def rng(self) -> np.random.Generator:
        """This slab's own generator (noise realisations)."""
        return np.random.default_rng([self.seed, PARTITIONS.index(self.partition), 1, self.number])


def plan_cases(seed: int, n_training: int, n_testing: int, profile: Profile) -> list[CasePlan]:
    """Cases of a data set, training first; a prefix of a larger plan is the smaller plan."""
    plans: list[CasePlan] = []
    for partition, count in zip(PARTITIONS, (n_training, n_testing), strict=True):
        number, patient_number = 1, 1
        while number <= count:
            patient = sample_patient(seed, partition, patient_number, profile)
            for slab in range(2 if patient.two_slabs else 1):
                if number <= count:
                    plans.append(CasePlan(partition, number, patient, slab, seed))
                    number += 1
            patient_number += 1
    return plans


def smir_ids(partition: str, number: int) -> dict[Modality, str]:
    """Six-digit SMIR ids of a case's volumes, unique across the data set.

    Training case ``n`` uses ``100000 + 10(n−1) + k``, testing ``500000 + 10(n−1) + k``, with
    ``k`` the modality's place in CT, CT_4DPWI, CT_CBF, CT_CBV, CT_MTT, CT_Tmax, OT, MR_DWI.
    """
    if not 1 <= number <= MAX_CASES:
        raise ValueError(f"case number {number} outside 1..{MAX_CASES}")
    base = _ID_BASE[partition] + 10 * (number - 1)
    return {modality: str(base + k) for k, modality in enumerate(_ID_ORDER)}
