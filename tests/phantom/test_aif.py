"""The arterial input function: ISLES-like peak and timing, zero before arrival."""

from __future__ import annotations

import numpy as np

from isles2018.phantom.aif import AifParameters, aif_hu, sample_aif


def test_sampled_aifs_peak_150_to_600_hu_between_frames_8_and_25() -> None:
    rng = np.random.default_rng(0)
    frames = np.arange(64.0)
    peaks, frames_at_peak = [], []
    for _ in range(500):
        curve = aif_hu(sample_aif(rng), frames)
        peaks.append(curve.max())
        frames_at_peak.append(int(np.argmax(curve)))
    assert 150 <= min(peaks) and max(peaks) <= 600
    assert 8 <= min(frames_at_peak) and max(frames_at_peak) <= 25
    # ISLES 2018: the AIF peaks at frame 15 (IQR 12–19).
    assert 12 <= np.median(frames_at_peak) <= 17


def test_aif_is_zero_before_arrival_and_peaks_at_t0_plus_alpha_beta() -> None:
    params = AifParameters(t0_s=8.0, alpha=3.0, beta_s=1.5, peak_hu=400.0)
    t = np.arange(0.0, 60.0, 0.01)
    curve = aif_hu(params, t)
    assert np.all(curve[t <= 8.0] == 0)
    # The plateau, rising from the first-pass peak on, moves the maximum a little.
    assert abs(t[np.argmax(curve)] - params.peak_time_s) < 0.3
    assert abs(curve.max() / 400.0 - 1) < 0.03


def test_recirculation_and_plateau_keep_the_late_aif_near_a_tenth_of_the_peak() -> None:
    params = AifParameters(t0_s=8.0, alpha=3.0, beta_s=1.5, peak_hu=400.0, plateau_fraction=0.1)
    late = aif_hu(params, np.array([55.0]))[0]
    assert 0.07 * 400 < late < 0.14 * 400
    bump = aif_hu(params, np.array([params.peak_time_s + params.recirculation_delay_s]))[0]
    first_pass_only = aif_hu(
        AifParameters(8.0, 3.0, 1.5, 400.0, recirculation_fraction=0.0, plateau_fraction=0.1),
        np.array([params.peak_time_s + params.recirculation_delay_s]),
    )[0]
    assert 0.08 * 400 < bump - first_pass_only < 0.15 * 400
