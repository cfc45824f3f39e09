"""Noise: configured SD recovered from pre-bolus frame differences."""

from __future__ import annotations

import numpy as np

from isles2018.data.modalities import Modality
from isles2018.phantom.noise import correlated_noise
from isles2018.phantom.sampling import get_profile, plan_cases
from isles2018.phantom.synthesis import synthesize_case


def test_correlated_noise_has_the_requested_sd_and_is_spatially_correlated() -> None:
    noise = correlated_noise(np.random.default_rng(0), (256, 256, 8), 5.0)
    assert abs(noise.std() - 5.0) < 0.1
    neighbour = np.corrcoef(noise[:-1].ravel(), noise[1:].ravel())[0, 1]
    assert 0.2 < neighbour < 0.8


def _prebolus_sd(case) -> float:
    series = case.volumes[Modality.PWI].astype(np.float64)
    differences = np.diff(series[..., : case.summary["baseline_frames"]], axis=-1)
    return float(differences.std() / np.sqrt(2.0))


def test_noise_sd_from_pre_bolus_frame_differences_is_the_configured_one(ci_cases) -> None:
    profile = get_profile("isles")
    small = [
        p for p in plan_cases(5, 20, 0, profile) if p.patient.slices <= 4 and p.slab_index == 0
    ]
    plans = small[:2]
    cases = [synthesize_case(plan, profile) for plan in plans] + list(ci_cases)
    for case in cases:
        configured = case.plan.patient.noise_sd_hu
        assert abs(_prebolus_sd(case) / configured - 1) <= 0.15, configured
    assert len({round(c.plan.patient.noise_sd_hu, 3) for c in cases}) >= 3
