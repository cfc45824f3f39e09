"""The stroke: truth physiology per zone, core inside Tmax > 6 s, written-map consistency."""

from __future__ import annotations

import numpy as np

from isles2018.data.modalities import Modality
from isles2018.inference.threshold import brain_mask_from_maps, normal_reference
from isles2018.phantom.lesion import CORE, NORMAL, PENUMBRA, calibrate
from isles2018.phantom.sampling import get_profile, sample_patient


def test_calibration_hits_the_lesion_core_and_hypoperfused_volumes() -> None:
    severity = np.linspace(1.2, 0.0, 20000)
    thresholds = calibrate(severity, 0.004, lesion_ml=10.0, core_fraction=0.6, mismatch=2.5)

    def volume(level: float) -> float:
        return float(np.sum(severity >= level) * 0.004)

    assert abs(volume(thresholds.lesion) - 10.0) < 0.01
    assert abs(volume(thresholds.core) - 6.0) < 0.01
    assert abs(volume(thresholds.penumbra) - 15.0) < 0.01
    assert thresholds.penumbra < thresholds.lesion <= thresholds.core < thresholds.peak


def test_calibration_puts_the_lesion_inside_the_core_when_part_of_it_survives() -> None:
    severity = np.linspace(1.2, 0.0, 20000)
    thresholds = calibrate(severity, 0.004, lesion_ml=7.0, core_fraction=1 / 0.7, mismatch=2.0)
    assert abs(np.sum(severity >= thresholds.lesion) * 0.004 - 7.0) < 0.01
    assert abs(np.sum(severity >= thresholds.core) * 0.004 - 10.0) < 0.01
    assert thresholds.core < thresholds.lesion


def test_calibration_shrinks_all_volumes_when_the_territory_is_small() -> None:
    severity = np.concatenate([np.linspace(1.0, 0.2, 500), np.zeros(5000)])
    thresholds = calibrate(severity, 0.004, lesion_ml=50.0, core_fraction=1.0, mismatch=2.0)
    hypo = np.sum(severity >= thresholds.penumbra)
    core = np.sum(severity >= thresholds.core)
    assert hypo <= 500 and abs(hypo / core - 2.0) < 0.05


def test_lesion_volumes_are_log_normal_with_median_15_ml() -> None:
    profile = get_profile("isles")
    volumes = [sample_patient(0, "TRAINING", n, profile).lesion_ml for n in range(1, 600)]
    assert 11 <= np.median(volumes) <= 20
    assert 0.5 <= min(volumes) and max(volumes) <= 150
    assert 3 <= np.percentile(volumes, 25) <= 9 and 30 <= np.percentile(volumes, 75) <= 65


def test_truth_physiology_per_zone(clean_cases, ci_cases) -> None:
    cores = 0
    for case in clean_cases + ci_cases:
        t = case.truth
        tissue = t["gm"].astype(float) + t["wm"].astype(float)
        share = t["gm"].astype(float) / np.maximum(tissue, 1e-6)
        normal = (t["zone"] == NORMAL) & (tissue >= 0.9)
        grey, white = normal & (share > 0.95), normal & (share < 0.05)
        assert 49.5 <= np.median(t["cbf"][grey] / tissue[grey]) <= 60.5
        assert 19.8 <= np.median(t["cbf"][white] / tissue[white]) <= 24.2
        assert 3.6 <= np.median(t["cbv"][grey] / tissue[grey]) <= 4.4
        assert 1.8 <= np.median(t["cbv"][white] / tissue[white]) <= 2.2
        assert t["tmax"][grey].min() >= 0 and t["tmax"][grey].max() <= 1.0
        assert t["tmax"][white].min() >= 0.5 and t["tmax"][white].max() <= 1.5
        penumbra, core = t["zone"] == PENUMBRA, t["zone"] == CORE
        assert penumbra.any()
        if not core.any():  # a slab may hold the penumbra only
            continue
        cores += 1
        assert 0.2 <= t["rcbf"][penumbra].min() and t["rcbf"][penumbra].max() <= 0.6
        assert 0.9 <= t["rcbv"][penumbra].min() and t["rcbv"][penumbra].max() <= 1.1
        assert 6.0 <= t["tmax"][penumbra].min() and t["tmax"][penumbra].max() <= 10.0
        assert 0.05 <= t["rcbf"][core].min() and t["rcbf"][core].max() <= 0.20
        assert 0.2 <= t["rcbv"][core].min() and t["rcbv"][core].max() <= 0.5
        assert t["tmax"][core].min() > 10.0
    assert cores >= 3


def test_core_and_infarct_lie_entirely_in_tmax_over_6_s(clean_cases, ci_cases) -> None:
    for case in clean_cases + ci_cases:
        t = case.truth
        infarct, drawn = t["infarct"].astype(bool), t["lesion"].astype(bool)
        assert infarct.any() and drawn.any()
        assert np.all(t["tmax"][infarct] > 6.0)
        assert np.all(t["tmax"][t["zone"] == CORE] > 6.0)
        # the rater's outline strays a little beyond the infarct, not far
        assert np.mean(t["tmax"][drawn] > 6.0) >= 0.9
        np.testing.assert_array_equal(case.volumes[Modality.OT], t["lesion"])


def test_written_maps_are_consistent_with_the_lesion(clean_cases) -> None:
    for case in clean_cases:
        t, volumes = case.truth, case.volumes
        cbf, tmax = volumes[Modality.CBF], volumes[Modality.TMAX]
        lesion = t["lesion"].astype(bool)
        assert np.mean(tmax[lesion] > 6.0) >= 0.90
        brain = brain_mask_from_maps(cbf, tmax)
        rcbf = cbf / normal_reference(cbf, tmax, brain).cbf
        penumbra = (t["zone"] >= PENUMBRA) & ~lesion & brain
        normal = (t["zone"] == NORMAL) & brain
        lesion_rcbf = np.median(rcbf[lesion & brain])
        assert lesion_rcbf < np.median(rcbf[penumbra]) < np.median(rcbf[normal])


def test_noisy_written_tmax_still_marks_90_percent_of_the_lesion(ci_cases) -> None:
    """With 3 HU noise, ≥ 90 % of the lesion voxels (pooled) keep a written Tmax > 6 s."""
    pooled = np.concatenate([c.volumes[Modality.TMAX][c.truth["lesion"] == 1] for c in ci_cases])
    assert np.mean(pooled > 6.0) >= 0.90
