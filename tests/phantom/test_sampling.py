"""Profiles, case plans, patients with two slabs and SMIR ids."""

from __future__ import annotations

import collections

import pytest

from isles2018.phantom.sampling import PROFILES, get_profile, plan_cases, smir_ids


def test_a_smaller_plan_is_a_prefix_of_a_larger_one() -> None:
    profile = get_profile("isles")
    small = plan_cases(4, 5, 3, profile)
    large = plan_cases(4, 9, 6, profile)
    keyed = {(p.partition, p.number): p for p in large}
    for plan in small:
        assert keyed[(plan.partition, plan.number)] == plan


def test_isles_profile_reproduces_the_slice_and_frame_mix_and_two_slab_patients() -> None:
    plans = plan_cases(0, 3000, 0, get_profile("isles"))
    slices = collections.Counter(p.patient.slices for p in plans)
    expected = {2: 51, 4: 19, 8: 9, 16: 13, 22: 2}
    for n, weight in expected.items():
        assert abs(slices[n] / len(plans) - weight / 94) < 0.03, n
    assert {p.patient.frames for p in plans} == {43, 44, 45, 46, 49, 53, 61, 64}
    per_patient = collections.Counter(p.patient.patient_id for p in plans)
    two = sum(1 for count in per_patient.values() if count == 2)
    assert 0.35 < two / len(per_patient) < 0.6  # ISLES 2018: 53 of 103 patients
    assert max(per_patient.values()) == 2


@pytest.mark.parametrize("name", ["ci", "clean"])
def test_small_profiles_have_2_to_4_slices_and_43_to_53_frames(name: str) -> None:
    plans = plan_cases(1, 200, 0, PROFILES[name])
    assert {p.patient.slices for p in plans} <= {2, 4}
    assert all(43 <= p.patient.frames <= 53 for p in plans)
    expected = (3.0, 3.0) if name == "ci" else (0.0, 0.0)
    assert {p.patient.noise_sd_hu for p in plans} == {expected[0]}


def test_unknown_profile_is_refused_with_the_known_names() -> None:
    with pytest.raises(ValueError, match="isles, ci, clean"):
        get_profile("noisy")


def test_smir_ids_are_unique_six_digit_numbers() -> None:
    ids = [
        value
        for partition in ("TRAINING", "TESTING")
        for number in (1, 2, 99, 39999)
        for value in smir_ids(partition, number).values()
    ]
    assert len(ids) == len(set(ids))
    assert all(len(value) == 6 and value.isdigit() for value in ids)
    with pytest.raises(ValueError):
        smir_ids("TRAINING", 40000)
