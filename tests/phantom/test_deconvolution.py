"""Written maps: block-circulant SVD deconvolution and its clinical biases on clean data."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from isles2018.data.modalities import Modality
from isles2018.phantom.aif import AifParameters, aif_hu
from isles2018.phantom.deconvolution import (
    SVD_THRESHOLD,
    Site,
    circulant_inverse_spectrum,
    compute_maps,
    maps_from_curves,
)
from isles2018.phantom.lesion import NORMAL
from isles2018.phantom.perfusion import Compartment, build_table, tissue_curves
from isles2018.phantom.synthesis import CaseData

AIF = AifParameters(t0_s=8.0, alpha=3.0, beta_s=1.4, peak_hu=350.0)


def _curves(cbf: np.ndarray, mtt: np.ndarray, delay: np.ndarray, n_frames: int = 49):
    frames = np.arange(float(n_frames))
    table = build_table(AIF, n_frames + 1.0)
    comp = Compartment(np.ones(len(cbf)), cbf, mtt)
    return tissue_curves(table, [comp], delay, frames), aif_hu(AIF, frames), comp


def _explicit_svd_pseudoinverse(aif: np.ndarray, threshold: float) -> np.ndarray:
    """Wu et al.'s block-circulant matrix and its truncated-SVD pseudo-inverse, by LAPACK."""
    size = 2 * len(aif)
    padded = np.zeros(size)
    padded[: len(aif)] = aif
    matrix = padded[(np.arange(size)[:, None] - np.arange(size)[None, :]) % size]
    u, s, vt = np.linalg.svd(matrix)
    keep = s >= threshold * s.max()
    return (vt[keep].T / s[keep]) @ u[:, keep].T


def test_fourier_deconvolution_equals_the_explicit_truncated_svd() -> None:
    aif = aif_hu(AIF, np.arange(40.0))
    rng = np.random.default_rng(0)
    curves = rng.normal(5.0, 3.0, size=(6, 40))
    padded = np.zeros((6, 80))
    padded[:, :40] = curves
    for threshold in (0.0, 0.1, 0.3):
        residue = padded @ _explicit_svd_pseudoinverse(aif, threshold).T
        spectrum = np.fft.rfft(padded, axis=1) * circulant_inverse_spectrum(
            aif, 1.0, threshold=threshold
        )
        np.testing.assert_allclose(np.fft.irfft(spectrum, n=80, axis=1), residue, atol=1e-9)


def test_deconvolution_biases_of_grey_matter_curve_are_the_clinical_ones() -> None:
    curves, aif, comp = _curves(np.array([55.0]), np.array([60 * 4 / 55]), np.array([0.5]))
    maps = maps_from_curves(curves, aif, circulant_inverse_spectrum(aif, 1.0), 1.0)
    assert -0.45 <= maps.cbf[0] / 55.0 - 1 <= -0.25
    assert -0.15 <= maps.cbv[0] / comp.cbv[0] - 1 <= 0.05
    assert 1.0 <= maps.tmax_s[0] - 0.5 <= 3.5
    np.testing.assert_allclose(maps.mtt_s, 60 * maps.cbv / maps.cbf, rtol=1e-5)


def test_block_circulant_estimates_are_nearly_delay_insensitive() -> None:
    delays = np.array([0.0, 3.0, 6.0])
    curves, aif, _ = _curves(np.full(3, 40.0), np.full(3, 6.0), delays)
    maps = maps_from_curves(curves, aif, circulant_inverse_spectrum(aif, 1.0), 1.0)
    assert np.ptp(maps.cbf) / maps.cbf.mean() < 0.1
    np.testing.assert_allclose(np.diff(maps.tmax_s), 3.0, atol=0.5)


def test_maps_are_zero_outside_the_mask() -> None:
    curves, aif, _ = _curves(np.full(4, 40.0), np.full(4, 6.0), np.zeros(4), n_frames=30)
    series = np.zeros((4, 1, 1, 30), dtype=np.int16)
    series[:, 0, 0, :] = np.rint(30 + curves).astype(np.int16)
    mask = np.array([True, False, True, False])[:, None, None]
    maps = compute_maps(series, aif, 1.0, 6, mask, site=Site(0.0, SVD_THRESHOLD, 1.0))
    assert np.all(maps.cbf[~mask] == 0) and np.all(maps.tmax_s[~mask] == 0)
    assert np.all(maps.cbf[mask] > 0)


def _normal_tissue(case: CaseData) -> np.ndarray:
    truth = case.truth
    vessels = truth["artery"].astype(float) + truth["vein"].astype(float)
    near_vessel = ndimage.maximum_filter(vessels, size=(7, 7, 1)) > 0.01
    tissue = truth["gm"].astype(float) + truth["wm"].astype(float)
    return (truth["zone"] == NORMAL) & (tissue >= 0.9) & (truth["map_mask"] == 1) & ~near_vessel


def test_written_maps_are_biased_like_clinical_software_on_clean_data(clean_cases) -> None:
    for case in clean_cases:
        normal = _normal_tissue(case)
        assert normal.sum() > 1000
        truth, volumes = case.truth, case.volumes
        cbf = np.median(volumes[Modality.CBF][normal] / truth["cbf"][normal]) - 1
        cbv = np.median(volumes[Modality.CBV][normal] / truth["cbv"][normal]) - 1
        tmax = np.median(volumes[Modality.TMAX][normal] - truth["tmax"][normal])
        assert -0.50 <= cbf <= -0.15, cbf
        assert -0.15 <= cbv <= 0.05, cbv
        assert 1.0 <= tmax <= 3.5, tmax
