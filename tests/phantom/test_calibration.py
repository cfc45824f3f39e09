"""Calibration: the anchors (threshold rule, DWI and CTP ceilings) and the levers behind them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from isles2018.phantom.anchors import (
    BANDS,
    N_BINS,
    CaseStats,
    best_threshold_dice,
    ctp_ceiling,
    dice,
    field_bins,
    summarise,
)
from isles2018.phantom.deconvolution import SITES, compute_maps
from isles2018.phantom.lesion import random_field
from isles2018.phantom.rater import Rater, delineate
from isles2018.phantom.report import (
    case_stats_from_files,
    case_stats_in_memory,
    report_lines,
    simulated_anchors,
)
from isles2018.phantom.sampling import (
    GROWTH_OCCLUDED,
    GROWTH_REPERFUSED,
    REPERFUSION_PROBABILITY,
    core_fraction,
    get_profile,
    plan_cases,
    sample_patient,
)

#: The anchors are checked on a fresh 94-case ``isles`` set: a seed the calibration never saw
#: (it was done on seed 2026).
CALIBRATION_SEED = 2018


@pytest.mark.slow
def test_the_three_anchors_land_in_their_bands_on_94_isles_cases() -> None:
    anchors = simulated_anchors(CALIBRATION_SEED, 94, "isles", workers=2)
    assert anchors["n_cases"] == 94
    assert all(anchors["in_band"].values()), anchors
    assert BANDS["threshold_dice"][0] <= 0.30 <= BANDS["threshold_dice"][1]


def test_best_threshold_dice_tries_every_cut() -> None:
    image = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    assert best_threshold_dice(image, image >= 3.0) == 1.0
    # cuts after 1…5 voxels give 2/3, 2/4, 2/5, 4/6, 4/7
    reference = np.array([True, False, False, True, False])
    assert best_threshold_dice(image, reference) == pytest.approx(2 / 3)
    assert best_threshold_dice(image, np.zeros(5, bool)) == 1.0
    # ties are never split: equal values are predicted together
    assert best_threshold_dice(np.ones(4), np.array([1, 0, 0, 0], bool)) == pytest.approx(0.4)


def test_dice_follows_the_evaluation_rule_for_empty_masks() -> None:
    empty = np.zeros(3, bool)
    assert dice(empty, empty) == 1.0
    assert dice(empty, np.array([1, 0, 0], bool)) == 0.0


def _stats(total: dict[int, int], lesion: dict[int, int]) -> CaseStats:
    t, les = np.zeros(N_BINS, np.int64), np.zeros(N_BINS, np.int64)
    for k, v in total.items():
        t[k] = v
    for k, v in lesion.items():
        les[k] = v
    return CaseStats("c", 0.0, 0.0, t, les)


def test_ctp_ceiling_is_the_pooled_bayes_rule() -> None:
    # bin 1: OT in 9 of 10 voxels pooled; bin 2: 1 of 10 → the rule predicts bin 1 only
    a = _stats({1: 5, 2: 5}, {1: 5})
    b = _stats({1: 5, 2: 5}, {1: 4, 2: 1})
    mean, cut, per_case = ctp_ceiling([a, b])
    assert per_case == [pytest.approx(1.0), pytest.approx(2 * 4 / (5 + 5))]
    assert mean == pytest.approx(0.9) and 0.1 <= cut < 0.9


def test_field_bins_separate_parenchyma_rcbf_and_tmax() -> None:
    bins = field_bins(np.array([0.1, 0.1, 0.9, 0.1]), np.array([12, 12, 12, 2.0]), [1, 0, 1, 1])
    assert len(set(bins.tolist())) == 4 and bins.max() < N_BINS


def test_summary_reports_bands_and_verdicts() -> None:
    summary = summarise([_stats({1: 4}, {1: 4})])
    assert summary["ctp_ceiling"] == 1.0 and summary["in_band"]["ctp_ceiling"] is False
    lines = report_lines(summary)
    assert len(lines) == 4 and "OUT OF BAND" in lines[3]


def test_manifest_anchors_equal_those_read_back_from_the_files(ci_dataset) -> None:
    manifest = json.loads((ci_dataset / "manifest.json").read_text())
    anchors = manifest["anchors"]
    assert anchors["n_cases"] == 5
    profile = get_profile("ci")
    plans = plan_cases(manifest["parameters"]["seed"], 3, 2, profile)
    from_files = [case_stats_from_files(ci_dataset, plan, ".nii") for plan in plans]
    assert summarise(from_files) == anchors
    # and the files hold exactly what was generated
    from isles2018.phantom.synthesis import synthesize_case

    in_memory = case_stats_in_memory(synthesize_case(plans[3], profile))
    assert in_memory.threshold_dice == from_files[3].threshold_dice
    np.testing.assert_array_equal(in_memory.lesion, from_files[3].lesion)


def test_growth_is_a_hidden_mixture_of_reperfused_and_occluded_patients() -> None:
    profile = get_profile("isles")
    patients = [sample_patient(3, "TRAINING", n, profile) for n in range(1, 400)]
    reperfused = [p for p in patients if p.reperfused]
    share = len(reperfused) / len(patients)
    assert abs(share - REPERFUSION_PROBABILITY) <= 0.08
    assert all(GROWTH_REPERFUSED[0] <= p.growth <= GROWTH_REPERFUSED[1] for p in reperfused)
    occluded = [p for p in patients if not p.reperfused]
    assert all(GROWTH_OCCLUDED[0] <= p.growth <= GROWTH_OCCLUDED[1] for p in occluded)
    assert {p.site for p in patients} == set(SITES)
    # a spared core (negative growth) makes the core larger than the lesion
    assert core_fraction(-0.2, 3.0) == pytest.approx(1.25)
    assert core_fraction(1.0, 3.0) == pytest.approx(1 / 3)
    assert core_fraction(0.0, 3.0) == 1.0


def test_clean_profile_uses_the_reference_site_only() -> None:
    patients = [sample_patient(0, "TRAINING", n, get_profile("clean")) for n in range(1, 50)]
    assert {p.site for p in patients} == {"A"}


def test_a_rater_draws_a_smooth_outline_near_the_infarct_and_nothing_elsewhere() -> None:
    x, y = np.meshgrid(np.arange(64.0), np.arange(64.0), indexing="ij")
    infarct = ((x - 32) ** 2 + (y - 32) ** 2 <= 12**2)[..., None]
    mni = np.stack([x, y, np.zeros_like(x)])[..., None]  # 1 mm pixels
    field = random_field(np.random.default_rng(0), (10.0, 30.0))
    tissue = np.ones(infarct.shape)
    generous = delineate(infarct, tissue, mni, Rater(1.5, 0.35, 0.1, field))
    strict = delineate(infarct, tissue, mni, Rater(1.5, 0.65, 0.1, field))
    assert strict.sum() < infarct.sum() < generous.sum()
    assert 0.85 <= dice(generous, infarct) < 1.0 and 0.85 <= dice(strict, infarct) < 1.0
    far = (x - 32) ** 2 + (y - 32) ** 2 > 18**2
    assert not generous[..., 0][far].any()
    assert not delineate(np.zeros_like(infarct), tissue, mni, Rater(1.5, 0.35, 0.2, field)).any()
    no_tissue = delineate(infarct, np.zeros(infarct.shape), mni, Rater(1.5, 0.35, 0.1, field))
    assert not no_tissue.any()


def test_sites_scale_and_smooth_the_maps_differently(clean_cases) -> None:
    case = clean_cases[0]
    from isles2018.data.modalities import Modality

    pwi = case.volumes[Modality.PWI]
    mask = case.truth["map_mask"].astype(bool)
    aif, n_base = case.truth["aif_measured_hu"], int(case.summary["baseline_frames"])
    maps = {
        name: compute_maps(pwi, aif, 1.0, n_base, mask, site=site) for name, site in SITES.items()
    }
    np.testing.assert_array_equal(maps["A"].cbf, case.volumes[Modality.CBF])
    ratio = {name: np.median(m.cbf[mask] / maps["A"].cbf[mask]) for name, m in maps.items()}
    assert 0.7 <= ratio["B"] <= 0.9 and 1.1 <= ratio["C"] <= 1.4
    np.testing.assert_allclose(
        np.median(maps["B"].tmax_s[mask]), np.median(maps["A"].tmax_s[mask]), atol=0.5
    )
