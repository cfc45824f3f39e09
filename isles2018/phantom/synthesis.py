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
from isles2018.phantom.anatomy import Anatomy, sample_anatomy
from isles2018.phantom.deconvolution import SITES, compute_maps
from isles2018.phantom.dwi import diffusion, dwi_image, plain_ct
from isles2018.phantom.lesion import CORE, PENUMBRA, PerfusionState
from isles2018.phantom.perfusion import Compartment
from isles2018.phantom.sampling import CasePlan, Profile
from isles2018.phantom.series import baseline_frame_count, perfusion_series
from isles2018.phantom.state import (
    baseline_hu,
    patient_geometry,
    patient_stroke,
    tissue_state,
)

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
    grid = tissue_state(patient, stroke, anatomy, mni)
    del mni
    index, state, compartments, lesion = grid.index, grid.perfusion, grid.compartments, grid.lesion
    infarct = grid.infarct
    vessel_index, artery, vein = grid.vessel_index, grid.artery, grid.vein

    n_frames = patient.frames
    frame_times = np.arange(n_frames) * TIME_STEP_S
    baseline = baseline_hu(patient, anatomy)
    pwi = perfusion_series(
        patient.aif,
        baseline,
        (index, compartments, state.delay_s),
        (vessel_index, artery, vein, grid.vessel_delay_s),
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
    maps = compute_maps(pwi, measured_aif, TIME_STEP_S, n_base, mask, site=SITES[patient.site])

    signal, adc = diffusion(f, infarct, patient.adc_factor)
    dwi = dwi_image(signal, rng, profile.dwi_noise_fraction)
    ct = plain_ct(baseline, infarct, tissue, patient.ct_core_drop_hu, rng, profile.ct_noise_sd_hu)

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
    truth = _truth_arrays(anatomy, index, state, compartments, grid.severity, lesion, adc, baseline)
    truth.update(
        infarct=infarct.astype(np.uint8),
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
        "infarct_ml": float(infarct.sum() * voxel_ml),
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
