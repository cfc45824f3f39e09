"""A patient's stroke and the tissue state it gives on any grid (no randomness drawn here).

The stroke (severity field, calibrated thresholds, healthy-tissue fields) belongs to the patient
and lives in MNI space; :func:`tissue_state` evaluates it at the voxels of a grid — an ISLES 2018
slab, a whole-brain ISLES'24 grid or one slice of it — so every layout shows the same tissue and
the same lesion, sampled differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isles2018.phantom.anatomy import Anatomy, SlabGeometry, sample_anatomy, slab_geometry
from isles2018.phantom.lesion import (
    PerfusionState,
    SmoothField,
    Stroke,
    Thresholds,
    calibrate,
    lesion_mask,
    perfusion_state,
    random_field,
)
from isles2018.phantom.perfusion import Compartment
from isles2018.phantom.rater import Rater, delineate
from isles2018.phantom.sampling import Patient
from isles2018.phantom.vasculature import affected_weight, vessel_fractions


@dataclass(frozen=True)
class PatientStroke:
    """A patient's stroke with its calibrated thresholds and healthy-tissue fields."""

    stroke: Stroke
    thresholds: Thresholds
    heterogeneity: SmoothField
    delay: SmoothField
    rater: Rater


def patient_geometry(patient: Patient, slab_index: int) -> SlabGeometry:
    """Geometry of ISLES 2018 slab 0 or 1 of a patient (the pose is the patient's, z the slab's)."""
    return slab_geometry(
        patient.slices,
        patient.pixel_mm,
        patient.slab_z_mm(slab_index),
        patient.z_centre_mm,
        patient.rotation_deg,
        patient.scale,
        patient.shift_mm,
    )


def patient_stroke(patient: Patient) -> PatientStroke:
    """Draw the stroke fields, place the centre and calibrate on a preview of slab 0."""
    rng = np.random.default_rng(patient.field_seed)
    texture = random_field(rng, (15.0, 50.0))
    jitter = random_field(rng, (8.0, 30.0))
    rcbv = random_field(rng, (10.0, 30.0))
    heterogeneity = random_field(rng, (10.0, 40.0))
    delay = random_field(rng, (15.0, 50.0))
    geometry = patient_geometry(patient, 0)
    preview = sample_anatomy(geometry, patient.skull_thickness_mm, stride=2, sub_slices=1)
    points = geometry.mni_points(stride=2)[:, preview.tissue >= 0.5]
    weight = affected_weight(points, patient.occlusion, patient.hemisphere, patient.m2_division)
    candidates = np.flatnonzero(weight >= 0.6)
    if candidates.size == 0:
        candidates = np.array([int(np.argmax(weight))]) if weight.size else np.array([], int)
    centre = points[:, rng.choice(candidates)] if candidates.size else np.zeros(3)
    rater_field = random_field(rng, (10.0, 30.0))
    stroke = Stroke(
        occlusion=patient.occlusion,
        hemisphere=patient.hemisphere,
        m2_division=patient.m2_division,
        centre_mm=np.asarray(centre, dtype=np.float32),
        radii_mm=np.asarray(patient.radii_mm, dtype=np.float32),
        texture=texture,
        texture_amplitude=patient.texture_amplitude,
        jitter=jitter,
        jitter_amplitude=patient.jitter_amplitude,
        rcbv_field=rcbv,
    )
    thresholds = calibrate(
        stroke.severity(points),
        geometry.voxel_ml * 4,
        patient.lesion_ml,
        patient.core_fraction,
        patient.mismatch,
    )
    rater = Rater(patient.rater_sigma_mm, patient.rater_level, patient.rater_wobble, rater_field)
    return PatientStroke(stroke, thresholds, heterogeneity, delay, rater)


def zmajor(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``(x, y, z)`` of a ``(X, Y, Z)`` mask sorted by slice."""
    z, x, y = np.nonzero(np.moveaxis(mask, 2, 0))
    return x, y, z


def baseline_hu(patient: Patient, anatomy: Anatomy) -> np.ndarray:
    """Pre-contrast CT numbers ``(X, Y, Z)`` float32 (HU) from the tissue fractions."""
    f = anatomy.fractions
    hu = {
        "gm": patient.hu_gm,
        "wm": patient.hu_wm,
        "csf": patient.hu_csf,
        "skull": patient.hu_skull,
        "scalp": patient.hu_scalp,
        "air": -1000.0,
    }
    return sum(np.float32(value) * f[name] for name, value in hu.items()).astype(np.float32)


def _compartments(
    patient: Patient, anatomy: Anatomy, index: tuple, state: PerfusionState, het: np.ndarray
) -> list[Compartment]:
    out = []
    for name, cbf, cbv in (
        ("gm", patient.cbf_gm, patient.cbv_gm),
        ("wm", patient.cbf_wm, patient.cbv_wm),
    ):
        flow = cbf * het * state.rcbf
        volume = cbv * (1.0 + 0.5 * (het - 1.0)) * state.rcbv
        out.append(Compartment(anatomy.fractions[name][index], flow, 60.0 * volume / flow))
    return out


@dataclass(frozen=True)
class TissueState:
    """The stroke evaluated on a grid.

    Attributes:
        index: z-major indices ``(x, y, z)`` of the parenchyma voxels (GM + WM > 0), ``(V,)``.
        severity: ``(V,)`` latent severity there.
        perfusion: zones, rCBF, rCBV and delay there.
        compartments: GM and WM flow, volume and transit time there.
        infarct: ``(X, Y, Z)`` bool true (follow-up) lesion, what the DWI shows.
        lesion: ``(X, Y, Z)`` bool ground truth (OT): the infarct as a person draws it.
        vessel_index: z-major indices of the voxels inside the skull, ``(W,)``.
        artery, vein: ``(W,)`` blood fractions of large arteries and sinuses.
        vessel_delay_s: ``(W,)`` arterial delay (s).
    """

    index: tuple[np.ndarray, np.ndarray, np.ndarray]
    severity: np.ndarray
    perfusion: PerfusionState
    compartments: list[Compartment]
    infarct: np.ndarray
    lesion: np.ndarray
    vessel_index: tuple[np.ndarray, np.ndarray, np.ndarray]
    artery: np.ndarray
    vein: np.ndarray
    vessel_delay_s: np.ndarray


def tissue_state(
    patient: Patient, stroke: PatientStroke, anatomy: Anatomy, mni: np.ndarray
) -> TissueState:
    """Perfusion state, lesion and vessels of a grid.

    Args:
        patient: the patient.
        stroke: from :func:`patient_stroke`.
        anatomy: the grid's tissue fractions, ``(X, Y, Z)`` each.
        mni: ``(3, X, Y, Z)`` MNI coordinates of the voxel centres (mm).
    """
    f = anatomy.fractions
    tissue = anatomy.tissue
    index = zmajor(tissue > 1e-3)
    points = mni[(slice(None), *index)]
    severity = stroke.stroke.severity(points)
    wm_share = f["wm"][index] / tissue[index]
    normal_delay = np.clip(
        0.5 + 0.5 * wm_share + 0.2 * stroke.delay(points),
        0.05 + 0.5 * wm_share,
        0.95 + wm_share / 2,
    )
    state = perfusion_state(
        severity, stroke.thresholds, normal_delay, stroke.stroke.rcbv_field(points)
    )
    het = 1.0 + 0.05 * np.clip(stroke.heterogeneity(points), -2.0, 2.0)
    compartments = _compartments(patient, anatomy, index, state, het)
    infarct = np.zeros(tissue.shape, dtype=bool)
    infarct[index] = lesion_mask(stroke.stroke, points, severity, stroke.thresholds, tissue[index])
    del points
    lesion = delineate(infarct, tissue, mni, stroke.rater)

    vessel_index = zmajor((anatomy.brain > 1e-3) | (f["csf"] > 1e-3))  # inside the skull
    vessel_points = mni[(slice(None), *vessel_index)]
    artery, vein = vessel_fractions(vessel_points)
    zeros = np.zeros(artery.shape, dtype=np.float32)
    vessel_delay = perfusion_state(
        stroke.stroke.severity(vessel_points), stroke.thresholds, zeros, zeros
    ).delay_s
    return TissueState(
        index, severity, state, compartments, infarct, lesion, vessel_index, artery, vein,
        vessel_delay,
    )  # fmt: skip
