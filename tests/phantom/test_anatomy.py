"""Anatomy: MNI templates resampled onto slabs, partial volume, CT numbers."""

from __future__ import annotations

import numpy as np

from isles2018.data.modalities import Modality
from isles2018.phantom.anatomy import CLASSES, load_templates, sample_anatomy
from isles2018.phantom.sampling import get_profile, plan_cases
from isles2018.phantom.synthesis import patient_geometry


def test_templates_are_the_mni152_2009_grid() -> None:
    templates = load_templates()
    assert templates.gm.shape == (197, 233, 189)
    assert templates.mni_from_voxel[0, 0] == 1.0
    brain_ml = np.count_nonzero(templates.brain) / 1000.0
    assert 1200 < brain_ml < 2100


def test_tissue_fractions_sum_to_one_and_hold_a_brain() -> None:
    plan = plan_cases(3, 1, 0, get_profile("ci"))[0]
    geometry = patient_geometry(plan.patient, 0)
    anatomy = sample_anatomy(geometry, 6.0)
    total = sum(anatomy.fractions[name] for name in CLASSES)
    np.testing.assert_allclose(total, 1.0, atol=1e-4)
    brain_ml = float(anatomy.brain.sum()) * geometry.voxel_ml
    slab_ml = 256 * 256 * geometry.shape[2] * geometry.voxel_ml
    assert 0.15 * slab_ml < brain_ml < 0.6 * slab_ml
    assert anatomy.fractions["gm"].max() > 0.7 and anatomy.fractions["wm"].max() > 0.95


def test_second_slab_shares_the_patient_pose_at_another_height() -> None:
    plans = plan_cases(11, 2, 0, get_profile("ci"))
    assert plans[1].patient is plans[0].patient and plans[1].slab_index == 1
    first = patient_geometry(plans[0].patient, 0)
    second = patient_geometry(plans[1].patient, 1)
    np.testing.assert_array_equal(first.mni_from_world, second.mni_from_world)
    assert abs(first.affine[2, 3] - second.affine[2, 3]) >= 0.6 * 5.0 * first.shape[2] - 1e-9


def test_pre_bolus_ct_numbers_are_in_clinical_ranges(clean_cases) -> None:
    for case in clean_cases:
        frame = case.volumes[Modality.PWI][..., 0].astype(float)
        truth = {k: v.astype(float) for k, v in case.truth.items() if v.ndim == 3}
        assert 32 <= frame[truth["gm"] >= 0.7].mean() <= 42
        assert 24 <= frame[truth["wm"] >= 0.9].mean() <= 32
        assert 0 <= frame[truth["csf"] >= 0.9].mean() <= 15
        assert frame[truth["skull"] >= 0.9].mean() > 700
        assert frame[truth["air"] >= 0.99].mean() < -900
