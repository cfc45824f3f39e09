"""Calibration on a fixed 20-case ``ci`` set: the threshold rule scores Dice ≈ 0.3 (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from phantom_helpers import dice

from isles2018.data.modalities import Modality
from isles2018.inference.threshold import threshold_core
from isles2018.phantom.sampling import get_profile, plan_cases
from isles2018.phantom.synthesis import synthesize_case

CALIBRATION_SEED = 2018
#: Mean per-case Dice of the rule on this set, measured with generator version 1.0: 0.280
#: (pooled 0.31). Band: measured ± 0.05; it holds 0.3, the ISLES 2018 threshold baseline.
DICE_BAND = (0.230, 0.330)


@pytest.mark.slow
def test_threshold_rule_scores_dice_near_0_3() -> None:
    """Mean over the 20 cases of the per-case Dice (the challenge's ranking statistic)."""
    profile = get_profile("ci")
    scores = []
    for plan in plan_cases(CALIBRATION_SEED, 20, 0, profile):
        volumes = synthesize_case(plan, profile).volumes
        lesion = volumes[Modality.OT]
        assert lesion.any()
        scores.append(dice(lesion, threshold_core(volumes[Modality.CBF], volumes[Modality.TMAX])))
    assert DICE_BAND[0] <= np.mean(scores) <= DICE_BAND[1], np.mean(scores)
    assert DICE_BAND[0] <= 0.3 <= DICE_BAND[1]  # a re-recorded band must keep the baseline's 0.3
