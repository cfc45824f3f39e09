"""Diffusion-weighted MR (b = 1000 s/mm²) and plain CT from the tissue state.

DWI: ``S = Σ_c f_c · S0_c · exp(−b · ADC_c)`` over GM, WM and CSF with ADC 0.80, 0.70 and
3.0 × 10⁻³ mm²/s; in the lesion the parenchymal ADC is multiplied by the patient's factor
(0.55–0.75) and S0 rises 10 % (T2 shine-through), so the lesion is 1.3–1.6× brighter than the
mirror tissue; magnitude (Rician) noise with σ = 4 % of white-matter S0. Skull, scalp and air
give no signal (fat-suppressed EPI). CT: the noise-free baseline plus correlated noise, 1–3 HU
darker in the lesion's parenchyma (early ischaemic hypodensity).

ADC map (ISLES'24 layout): estimated as scanners do, from a b = 0 and the b = 1000 image,
``ADC = ln(S_0 / S_1000) / b``, both with Rician noise; partial volume with CSF makes it
bi-exponential at tissue borders, and noise biases it where the signal is low.
"""

from __future__ import annotations

import numpy as np

from isles2018.phantom.noise import correlated_noise, rician

B_VALUE = 1000.0
S0_WM = 600.0
S0 = {"gm": 1.25 * S0_WM, "wm": S0_WM, "csf": 2.2 * S0_WM}
ADC_MM2_S = {"gm": 0.80e-3, "wm": 0.70e-3, "csf": 3.0e-3}
T2_SHINE = 1.10


def diffusion(
    fractions: dict[str, np.ndarray], lesion: np.ndarray, adc_factor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free DWI signal and apparent diffusion coefficient.

    Args:
        fractions: ``gm``, ``wm``, ``csf`` volume fractions, each ``(X, Y, Z)``.
        lesion: ``(X, Y, Z)`` bool ground-truth lesion.
        adc_factor: parenchymal ADC in the lesion / normal ADC.

    Returns:
        ``(signal, adc)``: float32 ``(X, Y, Z)``; ADC in mm²/s, the fraction-weighted mean of
        the compartments (0 outside the brain).
    """
    signal = np.zeros(lesion.shape, dtype=np.float32)
    adc_sum = np.zeros(lesion.shape, dtype=np.float32)
    weight = np.zeros(lesion.shape, dtype=np.float32)
    for name in ("gm", "wm", "csf"):
        fraction = fractions[name]
        adc = np.full(lesion.shape, ADC_MM2_S[name], dtype=np.float32)
        s0 = np.full(lesion.shape, S0[name], dtype=np.float32)
        if name != "csf":
            adc[lesion] *= adc_factor
            s0[lesion] *= T2_SHINE
        signal += fraction * s0 * np.exp(-B_VALUE * adc)
        adc_sum += fraction * adc
        weight += fraction
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_adc = np.where(weight > 1e-3, adc_sum / weight, 0.0).astype(np.float32)
    return signal, mean_adc


def dwi_image(signal: np.ndarray, rng: np.random.Generator, noise_fraction: float) -> np.ndarray:
    """DWI magnitude image (float32) with Rician noise ``σ = noise_fraction · S0_WM``."""
    if noise_fraction == 0:
        return signal.astype(np.float32)
    return rician(rng, signal, noise_fraction * S0_WM)


def plain_ct(
    baseline_hu: np.ndarray,
    lesion: np.ndarray,
    tissue_fraction: np.ndarray,
    drop_hu: float,
    rng: np.random.Generator,
    noise_sd_hu: float,
) -> np.ndarray:
    """Non-contrast CT in HU, int32 ``(X, Y, Z)`` as in ISLES 2018."""
    image = baseline_hu - drop_hu * tissue_fraction * lesion
    image = image + correlated_noise(rng, baseline_hu.shape, noise_sd_hu)
    return np.rint(image).astype(np.int32)


def b0_signal(fractions: dict[str, np.ndarray], lesion: np.ndarray) -> np.ndarray:
    """Noise-free b = 0 signal ``Σ_c f_c · S0_c`` (T2 shine-through in the lesion), float32.

    Args:
        fractions: ``gm``, ``wm``, ``csf`` volume fractions, each ``(X, Y, Z)``.
        lesion: ``(X, Y, Z)`` bool ground-truth lesion.
    """
    signal = np.zeros(lesion.shape, dtype=np.float32)
    for name in ("gm", "wm", "csf"):
        s0 = np.full(lesion.shape, S0[name], dtype=np.float32)
        if name != "csf":
            s0[lesion] *= T2_SHINE
        signal += fractions[name] * s0
    return signal


def estimated_adc(b0_image: np.ndarray, dwi: np.ndarray, noise_sigma: float) -> np.ndarray:
    """Two-point ADC ``ln(S_0 / S_1000) / b`` in 10⁻⁶ mm²/s (the unit scanners export), float32.

    Args:
        b0_image: ``(X, Y, Z)`` b = 0 magnitude image.
        dwi: ``(X, Y, Z)`` b = 1000 magnitude image.
        noise_sigma: Rician σ of both images (0 for noise-free ones).

    Returns:
        ``(X, Y, Z)``; 0 where the b = 0 signal is below ``max(5σ, 0.1 · S0_WM)`` (background,
        bone), clipped to 0–4000.
    """
    valid = (b0_image > max(5.0 * noise_sigma, 0.1 * S0_WM)) & (dwi > 0)
    ratio = np.divide(b0_image, dwi, out=np.ones_like(b0_image), where=valid)
    adc = np.log(ratio) / B_VALUE * 1e6
    return np.where(valid, np.clip(adc, 0.0, 4000.0), 0.0).astype(np.float32)
