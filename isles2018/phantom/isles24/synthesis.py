"""One ISLES'24-layout subject, synthesised slice by slice on its whole-brain NCCT grid.

The physics is the ISLES 2018 layout's (:mod:`isles2018.phantom.synthesis`): the same patient,
stroke, perfusion series, SVD maps, DWI and CT, evaluated one slice at a time so that memory
stays at the 3D volumes plus one slice of the series, whatever the grid. The 4D CTP never
exists in memory: each slice of it goes to ``on_series_slice`` (the writer streams it to disk).

Added for this layout: a CTA (the arterial-phase image of the same bolus: the frame at the AIF's
first-pass peak, with plain-CT noise) and an ADC map estimated from a b = 0 and the b = 1000
image (:func:`isles2018.phantom.dwi.estimated_adc`). The lesion mask is the ISLES 2018 layout's
ground truth (the infarct at the time of the DWI).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from isles2018.phantom.aif import aif_hu
from isles2018.phantom.anatomy import SlabGeometry, sample_anatomy
from isles2018.phantom.deconvolution import SITES, compute_maps
from isles2018.phantom.dwi import (
    S0_WM,
    b0_signal,
    diffusion,
    dwi_image,
    estimated_adc,
    plain_ct,
)
from isles2018.phantom.isles24.grid import slice_geometry, subject_grid
from isles2018.phantom.isles24.names import MASK
from isles2018.phantom.isles24.plan import GridSpec, SubjectPlan
from isles2018.phantom.lesion import CORE, PENUMBRA
from isles2018.phantom.perfusion import CurveTable, build_table
from isles2018.phantom.sampling import Profile
from isles2018.phantom.series import baseline_frame_count, perfusion_series
from isles2018.phantom.state import PatientStroke, baseline_hu, patient_stroke, tissue_state
from isles2018.phantom.synthesis import MAP_HU_RANGE, TIME_STEP_S

#: Written dtypes by file suffix (the mask's is chosen per data set).
DTYPES = {
    "ncct": "int16",
    "cta": "int16",
    "ctp": "int16",
    "tmax": "float32",
    "mtt": "float32",
    "cbf": "float32",
    "cbv": "float32",
    "dwi": "float32",
    "adc": "float32",
}
UNITS = {
    "ncct": "HU",
    "cta": "HU",
    "ctp": "HU, frames 1 s apart",
    "tmax": "s",
    "mtt": "s",
    "cbf": "mL/100 g/min",
    "cbv": "mL/100 g",
    "dwi": "arbitrary (b = 1000 s/mm2)",
    "adc": "1e-6 mm2/s",
    MASK: "{0, 1}",
}
#: One slice of the CTP: ``(z, (X, Y, T) int16)``.
SeriesSink = Callable[[int, np.ndarray], None]


@dataclass(frozen=True)
class SubjectData:
    """A synthesised subject (all but the CTP, which went to the sink).

    Attributes:
        plan: what was generated.
        affine: ``(4, 4)`` voxel → mm of the NCCT grid, shared by every volume.
        volumes: 3D volumes ``(X, Y, Z)`` by file suffix, in their written dtypes.
        frames: CTP time points.
        truth: compact truth (``zone``, ``brain``, ``map_mask`` uint8 ``(X, Y, Z)``; AIF curves
            ``(T,)``; ``affine`` and ``mni_from_voxel`` ``(4, 4)``).
        summary: JSON-ready parameters and figures.
    """

    plan: SubjectPlan
    affine: np.ndarray
    volumes: dict[str, np.ndarray]
    frames: int
    truth: dict[str, np.ndarray]
    summary: dict


@dataclass(frozen=True)
class _Bolus:
    frame_times_s: np.ndarray
    true_aif: np.ndarray
    measured_aif: np.ndarray
    baseline_frames: int
    cta_time_s: np.ndarray
    table: CurveTable


def _bolus(plan: SubjectPlan) -> _Bolus:
    patient = plan.patient
    frame_times = np.arange(patient.frames) * TIME_STEP_S
    true_aif = aif_hu(patient.aif, frame_times)
    measured = true_aif.copy()
    if patient.noise_sd_hu > 0:  # an arterial ROI of ~9 voxels
        measured += plan.rng(0).normal(0.0, patient.noise_sd_hu / 3.0, size=len(frame_times))
    cta_time = np.array([round(patient.aif.peak_time_s, 1)])
    table = build_table(patient.aif, float(frame_times[-1]) + 1.0)
    return _Bolus(frame_times, true_aif, measured, baseline_frame_count(measured), cta_time, table)


def synthesize_subject(
    plan: SubjectPlan,
    profile: Profile,
    spec: GridSpec,
    *,
    oblique: bool,
    mask_dtype: str,
    on_series_slice: SeriesSink,
) -> SubjectData:
    """Generate one subject (deterministic in the plan; the tilt changes only the affine).

    Args:
        plan: the subject.
        profile: noise levels of the data set.
        spec: the grid size.
        oblique: tilt the affine (see :mod:`isles2018.phantom.isles24.grid`).
        mask_dtype: ``uint16`` or ``float64``.
        on_series_slice: receives each slice ``z`` of the CTP as ``(X, Y, T)`` int16, in order.
    """
    patient = plan.patient
    grid = subject_grid(patient, spec, oblique=oblique)
    stroke = patient_stroke(patient)
    bolus = _bolus(plan)
    dtypes = {**{k: v for k, v in DTYPES.items() if k != "ctp"}, MASK: mask_dtype}
    volumes = {key: np.zeros(grid.shape, dtype=dtype) for key, dtype in dtypes.items()}
    truth = {name: np.zeros(grid.shape, dtype=np.uint8) for name in ("zone", "brain", "map_mask")}
    for z in range(grid.shape[2]):
        series = _synthesize_slice(plan, profile, spec, grid, stroke, bolus, z, volumes, truth)
        on_series_slice(z, series)
    truth.update(
        frame_times_s=bolus.frame_times_s,
        aif_hu=bolus.true_aif,
        aif_measured_hu=bolus.measured_aif,
        affine=grid.affine,
        mni_from_voxel=grid.mni_from_voxel,
    )
    voxel_ml = grid.voxel_ml
    summary = {
        **_summary(plan, profile, stroke, bolus),
        "voxel_ml": voxel_ml,
        "lesion_ml": float(np.count_nonzero(volumes[MASK]) * voxel_ml),
        "core_ml": float(np.count_nonzero(truth["zone"] == CORE) * voxel_ml),
        "tmax_over_6s_ml": float(np.count_nonzero(truth["zone"] >= PENUMBRA) * voxel_ml),
    }
    return SubjectData(plan, grid.affine, volumes, patient.frames, truth, summary)


def _synthesize_slice(
    plan: SubjectPlan,
    profile: Profile,
    spec: GridSpec,
    grid: SlabGeometry,
    stroke: PatientStroke,
    bolus: _Bolus,
    z: int,
    volumes: dict[str, np.ndarray],
    truth: dict[str, np.ndarray],
) -> np.ndarray:
    """Fill slice ``z`` of ``volumes`` and ``truth``; returns its CTP ``(X, Y, T)`` int16."""
    patient = plan.patient
    geometry = slice_geometry(grid, z)
    anatomy = sample_anatomy(geometry, patient.skull_thickness_mm, sub_slices=spec.sub_slices)
    state = tissue_state(patient, stroke, anatomy, geometry.mni_points())
    rng = plan.rng(1, z)
    baseline = baseline_hu(patient, anatomy)
    tissue = (state.index, state.compartments, state.perfusion.delay_s)
    vessels = (state.vessel_index, state.artery, state.vein, state.vessel_delay_s)
    ctp = perfusion_series(
        patient.aif, baseline, tissue, vessels, bolus.frame_times_s, rng, patient.noise_sd_hu,
        table=bolus.table,
    )  # fmt: skip
    pre_contrast = ctp[..., : bolus.baseline_frames].mean(axis=-1)
    mask = (anatomy.brain >= 0.5) & (pre_contrast >= MAP_HU_RANGE[0])
    mask &= pre_contrast <= MAP_HU_RANGE[1]
    maps = compute_maps(
        ctp, bolus.measured_aif, TIME_STEP_S, bolus.baseline_frames, mask,
        site=SITES[patient.site],
    )  # fmt: skip
    cta = perfusion_series(
        patient.aif, baseline, tissue, vessels, bolus.cta_time_s, rng, profile.ct_noise_sd_hu,
        table=bolus.table,
    )  # fmt: skip

    lesion, infarct = state.lesion, state.infarct
    signal, _ = diffusion(anatomy.fractions, infarct, patient.adc_factor)
    dwi = dwi_image(signal, rng, profile.dwi_noise_fraction)
    b0 = dwi_image(b0_signal(anatomy.fractions, infarct), rng, profile.dwi_noise_fraction)
    ct = plain_ct(
        baseline, infarct, anatomy.tissue, patient.ct_core_drop_hu, rng, profile.ct_noise_sd_hu
    )
    zone = np.zeros(lesion.shape, dtype=np.uint8)
    zone[state.index] = state.perfusion.zone
    for key, values in (
        ("ncct", ct),
        ("cta", cta[..., 0]),
        ("tmax", maps.tmax_s),
        ("mtt", maps.mtt_s),
        ("cbf", maps.cbf),
        ("cbv", maps.cbv),
        ("dwi", dwi),
        ("adc", estimated_adc(b0, dwi, profile.dwi_noise_fraction * S0_WM)),
        (MASK, lesion),
    ):
        volumes[key][:, :, z] = values[:, :, 0]
    truth["zone"][:, :, z] = zone[:, :, 0]
    truth["brain"][:, :, z] = anatomy.brain[:, :, 0] >= 0.5
    truth["map_mask"][:, :, z] = mask[:, :, 0]
    return ctp[:, :, 0, :]


def _summary(plan: SubjectPlan, profile: Profile, stroke: PatientStroke, bolus: _Bolus) -> dict:
    patient = plan.patient
    return {
        "partition": plan.partition,
        "subject_number": plan.subject_number,
        "patient": patient.patient_id,
        "seed": plan.seed,
        "profile": profile.name,
        "patient_parameters": asdict(patient),
        "thresholds": asdict(stroke.thresholds),
        "lesion_centre_mni_mm": [float(c) for c in stroke.stroke.centre_mm],
        "baseline_frames": bolus.baseline_frames,
        "time_step_s": TIME_STEP_S,
        "cta_time_s": float(bolus.cta_time_s[0]),
    }
