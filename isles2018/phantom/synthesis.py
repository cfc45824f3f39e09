"""One phantom case in memory: anatomy → stroke → perfusion series → maps, DWI, CT and truth.

Everything is computed on the case's own grid; per-voxel parameters live on the parenchyma
voxels (GM + WM > 0), ordered slice by slice so that the perfusion series is built one slice
at a time (memory stays at the size of the output series plus one slice of curves).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from isles2018.data.modalities import Modality
from isles2018.phantom.aif import aif_hu
from isles2018.phantom.anatomy import Anatomy, SlabGeometry, sample_anatomy, slab_geometry
from isles2018.phantom.deconvolution import compute_maps
from isles2018.phantom.dwi import diffusion, dwi_image, plain_ct
from isles2018.phantom.lesion import (
    CORE,
    PENUMBRA,
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
from isles2018.phantom.sampling import CasePlan, Patient, Profile
from isles2018.phantom.series import baseline_frame_count, perfusion_series
from isles2018.phantom.vasculature import affected_weight, vessel_fractions

TIME_STEP_S = 1.0
#: Written maps cover brain voxels whose pre-contrast HU is parenchymal (CSF, bone excluded).
MAP_HU_RANGE = (15.0, 80.0)


@dataclass(frozen=True)
class CaseData:
    """A generated case.

    Attributes:
        plan: what was generated.
        affine: ``(4, 4)`` voxel → scanner mm, shared by every volume.
        volumes: ISLES volumes by modality, in their written dtypes.
        truth: truth arrays (maps ``(X, Y, Z)``, curves ``(T,)``, matrices ``(4, 4)``).
        summary: JSON-ready parameters and figures of the case.
    """

    plan: CasePlan
    affine: np.ndarray
    volumes: dict[Modality, np.ndarray]
    truth: dict[str, np.ndarray]
    summary: dict


@dataclass(frozen=True)
class PatientStroke:
    """A patient's stroke with its calibrated thresholds and healthy-tissue fields."""

    stroke: Stroke
    thresholds: Thresholds
    heterogeneity: SmoothField
    delay: SmoothField


def patient_geometry(patient: Patient, slab_index: int) -> SlabGeometry:
    """Geometry of slab 0 or 1 of a patient (the pose is the patient's, z the slab's)."""
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
    return PatientStroke(stroke, thresholds, heterogeneity, delay)


def _zmajor(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``(x, y, z)`` of ``mask`` sorted by slice."""
    z, x, y = np.nonzero(np.moveaxis(mask, 2, 0))
    return x, y, z


def _baseline_hu(patient: Patient, anatomy: Anatomy) -> np.ndarray:
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


def synthesize_case(plan: CasePlan, profile: Profile) -> CaseData:
    """Generate one case (deterministic in the plan)."""
    patient = plan.patient
    rng = plan.rng()
    geometry = patient_geometry(patient, plan.slab_index)
    anatomy = sample_anatomy(geometry, patient.skull_thickness_mm)
    stroke = patient_stroke(patient)
    f = anatomy.fractions
    tissue = anatomy.tissue
    mni = geometry.mni_points()

    index = _zmajor(tissue > 1e-3)
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
    lesion = np.zeros(tissue.shape, dtype=bool)
    lesion[index] = lesion_mask(stroke.stroke, points, severity, stroke.thresholds, tissue[index])

    vessel_index = _zmajor((anatomy.brain > 1e-3) | (f["csf"] > 1e-3))  # inside the skull
    vessel_points = mni[(slice(None), *vessel_index)]
    artery, vein = vessel_fractions(vessel_points)
    zeros = np.zeros(artery.shape, dtype=np.float32)
    vessel_delay = perfusion_state(
        stroke.stroke.severity(vessel_points), stroke.thresholds, zeros, zeros
    ).delay_s
    del mni

    n_frames = patient.frames
    frame_times = np.arange(n_frames) * TIME_STEP_S
    baseline = _baseline_hu(patient, anatomy)
    pwi = perfusion_series(
        patient.aif,
        baseline,
        (index, compartments, state.delay_s),
        (vessel_index, artery, vein, vessel_delay),
        frame_times,
        rng,
        patient.noise_sd_hu,
    )
    true_aif = aif_hu(patient.aif, frame_times)
    measured_aif = true_aif.copy()
    if patient.noise_sd_hu > 0:  # an arterial ROI of ~9 voxels
        measured_aif += rng.normal(0.0, patient.noise_sd_hu / 3.0, size=n_frames)
    n_base = baseline_frame_count(measured_aif)
    pre_contrast = pwi[..., :n_base].mean(axis=-1)
    mask = (anatomy.brain >= 0.5) & (pre_contrast >= MAP_HU_RANGE[0])
    mask &= pre_contrast <= MAP_HU_RANGE[1]
    maps = compute_maps(pwi, measured_aif, TIME_STEP_S, n_base, mask)

    signal, adc = diffusion(f, lesion, patient.adc_factor)
    dwi = dwi_image(signal, rng, profile.dwi_noise_fraction)
    ct = plain_ct(baseline, lesion, tissue, patient.ct_core_drop_hu, rng, profile.ct_noise_sd_hu)

    volumes = {
        Modality.CT: ct,
        Modality.PWI: pwi,
        Modality.CBF: maps.cbf,
        Modality.CBV: maps.cbv,
        Modality.MTT: maps.mtt_s.astype(np.float64),
        Modality.TMAX: maps.tmax_s.astype(np.float64),
        Modality.DWI: dwi,
        Modality.OT: lesion.astype(np.uint8),
    }
    truth = _truth_arrays(anatomy, index, state, compartments, severity, lesion, adc, baseline)
    truth.update(
        artery=_scatter(tissue.shape, vessel_index, artery, np.float16),
        vein=_scatter(tissue.shape, vessel_index, vein, np.float16),
        map_mask=mask.astype(np.uint8),
        frame_times_s=frame_times,
        aif_hu=true_aif,
        aif_measured_hu=measured_aif,
        affine=geometry.affine,
        mni_from_voxel=geometry.mni_from_voxel,
    )
    voxel_ml = geometry.voxel_ml
    summary = {
        "case": plan.case_id,
        "partition": plan.partition,
        "patient": patient.patient_id,
        "slab_index": plan.slab_index,
        "seed": plan.seed,
        "profile": profile.name,
        "patient_parameters": asdict(patient),
        "thresholds": asdict(stroke.thresholds),
        "lesion_centre_mni_mm": [float(c) for c in stroke.stroke.centre_mm],
        "baseline_frames": n_base,
        "time_step_s": TIME_STEP_S,
        "voxel_ml": voxel_ml,
        "lesion_ml": float(lesion.sum() * voxel_ml),
        "core_ml": float(np.sum(state.zone == CORE) * voxel_ml),
        "tmax_over_6s_ml": float(np.sum(state.zone >= PENUMBRA) * voxel_ml),
    }
    return CaseData(plan, geometry.affine, volumes, truth, summary)


def _scatter(shape: tuple, index: tuple, values: np.ndarray, dtype: type) -> np.ndarray:
    out = np.zeros(shape, dtype=dtype)
    out[index] = values
    return out


def _truth_arrays(
    anatomy: Anatomy,
    index: tuple,
    state: PerfusionState,
    compartments: list[Compartment],
    severity: np.ndarray,
    lesion: np.ndarray,
    adc: np.ndarray,
    baseline: np.ndarray,
) -> dict[str, np.ndarray]:
    """Voxel truth: flow and volume per voxel (CSF dilutes), Tmax = delay, zones, fractions."""
    shape = lesion.shape
    cbf = sum(c.fraction * c.cbf for c in compartments)
    cbv = sum(c.fraction * c.cbv for c in compartments)
    truth = {name: value.astype(np.float16) for name, value in anatomy.fractions.items()}
    truth["brain"] = anatomy.brain.astype(np.float16)
    for name, values in (
        ("cbf", cbf),
        ("cbv", cbv),
        ("mtt", 60.0 * cbv / np.maximum(cbf, 1e-6)),
        ("tmax", state.delay_s),
        ("rcbf", state.rcbf),
        ("rcbv", state.rcbv),
        ("severity", severity),
    ):
        truth[name] = _scatter(shape, index, values, np.float32)
    truth["zone"] = _scatter(shape, index, state.zone, np.uint8)
    truth["lesion"] = lesion.astype(np.uint8)
    truth["adc"] = adc
    truth["baseline_hu"] = baseline
    return truth
