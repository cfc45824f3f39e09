"""DWI from tissue state: lesion brighter than mirror tissue, restricted diffusion."""

from __future__ import annotations

import numpy as np
from phantom_helpers import mirror_mask

from isles2018.data.modalities import Modality
from isles2018.phantom.dwi import diffusion


def test_lesion_is_at_least_1_25_times_brighter_than_mirror_tissue(clean_cases, ci_cases) -> None:
    for case in clean_cases + ci_cases:
        t = case.truth
        lesion = t["infarct"].astype(bool)
        tissue = t["gm"].astype(float) + t["wm"].astype(float)
        mirror = mirror_mask(lesion, t["mni_from_voxel"]) & (tissue >= 0.5) & ~lesion
        assert mirror.sum() >= 50  # enough mirror tissue for a mean
        dwi = case.volumes[Modality.DWI]
        assert dwi[lesion].mean() / dwi[mirror].mean() >= 1.25


def test_adc_of_pure_tissue_drops_by_the_lesion_factor() -> None:
    one = np.ones((1, 1, 2), dtype=np.float32)
    fractions = {"gm": one, "wm": 0 * one, "csf": 0 * one}
    lesion = np.array([[[True, False]]])
    signal, adc = diffusion(fractions, lesion, 0.6)
    np.testing.assert_allclose(adc[0, 0], [0.48e-3, 0.80e-3], rtol=1e-6)
    assert 1.3 <= signal[0, 0, 0] / signal[0, 0, 1] <= 1.6


def test_lesion_adc_is_restricted(clean_cases, ci_cases) -> None:
    """Pooled median ADC in 0.45–0.65 × 10⁻³ mm²/s; per case within 0.35–0.70 (white-matter
    lesions at the specified factor 0.55 reach 0.7 × 0.55 = 0.385)."""
    cases = clean_cases + ci_cases
    pooled = np.concatenate([c.truth["adc"][c.truth["infarct"] == 1] for c in cases])
    assert 0.45e-3 <= np.median(pooled) <= 0.65e-3
    for case in cases:
        assert 0.35e-3 <= np.median(case.truth["adc"][case.truth["infarct"] == 1]) <= 0.70e-3
