"""Perfusion maps as clinical software computes them: block-circulant truncated-SVD deconvolution.

Per slice: baseline = mean of the pre-arrival frames; enhancement smoothed in-plane (Gaussian,
σ = 2 px); the AIF zero-padded to ``N = 2T`` and written as a circulant matrix ``A`` (Wu et al.,
MRM 2003), whose singular values below ``λ · σ_max`` (λ = 0.1) are discarded; then per voxel

* ``k = A⁺ c`` (the flow-scaled residue), CBF = ``k_H/ρ · max k · 6000`` (mL/100 g/min);
* CBV = ``k_H/ρ · 100 · Σc / Σa`` (area ratio, mL/100 g);
* MTT = ``60 · CBV / CBF`` (s); Tmax = time of ``max k`` with parabolic sub-sample refinement (s).

A circulant matrix is diagonalised by the DFT: its singular values are the moduli of the DFT of
its first column, and its truncated-SVD pseudo-inverse is a division in the Fourier domain with
the discarded components set to zero. That is how it is computed here (identical to an explicit
SVD, which the tests check, without LAPACK's threads on a busy machine).

The regularisation biases the maps the way real software is biased (CBF low, Tmax late); they are
part of the realism, measured by the tests, not corrected.

Centres run different software (:data:`SITES`): each smooths in-plane with its own σ, truncates
the SVD at its own λ and scales CBF and CBV by its own calibration constant (haematocrit and
density factors, unit conventions), as vendors do; site ``A`` is the description above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from isles2018.phantom.perfusion import K_H, RHO_G_PER_ML

SVD_THRESHOLD = 0.1
SMOOTHING_SIGMA_PX = 2.0


@dataclass(frozen=True)
class Site:
    """One centre's perfusion software.

    Attributes:
        smoothing_sigma_px: in-plane Gaussian σ of the enhancement (px).
        svd_threshold: relative truncation λ of the SVD.
        flow_scale: factor on CBF and CBV (MTT and Tmax are unchanged).
    """

    smoothing_sigma_px: float
    svd_threshold: float
    flow_scale: float


#: The centres of the phantom: ``A`` the reference, ``B`` smoother and more regularised with
#: lower flow values, ``C`` more regularised still, less smoothed, with higher flow values.
SITES: dict[str, Site] = {
    "A": Site(SMOOTHING_SIGMA_PX, SVD_THRESHOLD, 1.0),
    "B": Site(2.5, 0.12, 0.8),
    "C": Site(2.0, 0.15, 1.25),
}


def circulant_inverse_spectrum(
    aif_hu: np.ndarray, time_step_s: float, *, threshold: float = SVD_THRESHOLD
) -> np.ndarray:
    """Truncated pseudo-inverse of the block-circulant AIF matrix, in the Fourier domain.

    Args:
        aif_hu: ``(T,)`` arterial enhancement at the frames (HU).
        time_step_s: frame interval (s).
        threshold: singular values below ``threshold · σ_max`` are dropped.

    Returns:
        ``(T + 1,)`` complex multipliers for the real FFT of a curve zero-padded to ``N = 2T``.
    """
    n_frames = len(aif_hu)
    padded = np.zeros(2 * n_frames)
    padded[:n_frames] = aif_hu
    singular = np.fft.rfft(time_step_s * padded)
    magnitude = np.abs(singular)
    keep = magnitude >= threshold * magnitude.max()
    inverse = np.zeros_like(singular)
    inverse[keep] = 1.0 / singular[keep]
    return inverse


@dataclass(frozen=True)
class MapValues:
    """Perfusion parameters of a set of voxels, each ``(V,)`` float32.

    Attributes:
        cbf: mL/100 g/min.
        cbv: mL/100 g.
        mtt_s: s.
        tmax_s: s.
    """

    cbf: np.ndarray
    cbv: np.ndarray
    mtt_s: np.ndarray
    tmax_s: np.ndarray


def maps_from_curves(
    curves_hu: np.ndarray, aif_hu: np.ndarray, inverse: np.ndarray, time_step_s: float
) -> MapValues:
    """Deconvolve baseline-subtracted tissue curves.

    Args:
        curves_hu: ``(V, T)`` enhancement (HU).
        aif_hu: ``(T,)`` arterial enhancement (HU).
        inverse: from :func:`circulant_inverse_spectrum` of the same AIF.
        time_step_s: frame interval (s).
    """
    n_vox, n_frames = curves_hu.shape
    size = 2 * n_frames
    spectrum = np.fft.rfft(np.asarray(curves_hu, dtype=np.float64), n=size, axis=1)
    residue = np.fft.irfft(spectrum * inverse, n=size, axis=1)
    peak_index = np.argmax(residue, axis=1)
    rows = np.arange(n_vox)
    peak = residue[rows, peak_index]
    before = residue[rows, (peak_index - 1) % size]
    after = residue[rows, (peak_index + 1) % size]
    curvature = before - 2.0 * peak + after
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, 0.5 * (before - after) / curvature, 0.0)
    offset = np.clip(np.nan_to_num(offset), -0.5, 0.5)
    position = peak_index + offset
    position = np.where(peak_index > size // 2, position - size, position)  # circular: early
    duration = n_frames * time_step_s
    tmax = np.clip(position * time_step_s, 0.0, duration)
    cbf = np.clip(K_H / RHO_G_PER_ML * 6000.0 * peak, 0.0, None)
    area_ratio = curves_hu.sum(axis=1) / max(float(np.sum(aif_hu)), 1e-6)
    cbv = np.clip(K_H / RHO_G_PER_ML * 100.0 * area_ratio, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        mtt = np.where(cbf > 1e-3, 60.0 * cbv / cbf, 0.0)
    mtt = np.clip(mtt, 0.0, duration)
    return MapValues(
        cbf=cbf.astype(np.float32),
        cbv=cbv.astype(np.float32),
        mtt_s=mtt.astype(np.float32),
        tmax_s=tmax.astype(np.float32),
    )


def compute_maps(
    pwi_hu: np.ndarray,
    aif_hu: np.ndarray,
    time_step_s: float,
    baseline_frames: int,
    mask: np.ndarray,
    *,
    site: Site = SITES["A"],
) -> MapValues:
    """CBF, CBV, MTT and Tmax maps from a CT perfusion series, slice by slice.

    Args:
        pwi_hu: ``(X, Y, Z, T)`` series (HU, any numeric dtype).
        aif_hu: ``(T,)`` arterial enhancement above baseline (HU).
        time_step_s: frame interval (s).
        baseline_frames: number of pre-arrival frames averaged as baseline.
        mask: ``(X, Y, Z)`` voxels to compute; the maps are 0 elsewhere.
        site: the software: smoothing, SVD truncation and flow scale.

    Returns:
        Maps of shape ``(X, Y, Z)`` (float32).
    """
    shape = pwi_hu.shape[:3]
    inverse = circulant_inverse_spectrum(aif_hu, time_step_s, threshold=site.svd_threshold)
    out = {name: np.zeros(shape, dtype=np.float32) for name in ("cbf", "cbv", "mtt_s", "tmax_s")}
    for z in range(shape[2]):
        inside = mask[:, :, z]
        if not inside.any():
            continue
        frames = pwi_hu[:, :, z, :].astype(np.float32)
        frames -= frames[:, :, : max(baseline_frames, 1)].mean(axis=2, keepdims=True)
        if site.smoothing_sigma_px > 0:
            frames = _smooth_in_plane(frames, inside, site.smoothing_sigma_px)
        values = maps_from_curves(frames[inside], aif_hu, inverse, time_step_s)
        for name in out:
            out[name][:, :, z][inside] = getattr(values, name)
    if site.flow_scale != 1.0:
        out["cbf"] *= np.float32(site.flow_scale)
        out["cbv"] *= np.float32(site.flow_scale)
    return MapValues(**out)


def _smooth_in_plane(frames: np.ndarray, inside: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian-smooth ``(X, Y, T)`` frames in-plane, on the mask's bounding box plus a margin."""
    radius = int(np.ceil(3 * sigma_px))
    xs, ys = np.nonzero(inside)
    x0, x1 = max(xs.min() - 2 * radius, 0), min(xs.max() + 2 * radius + 1, frames.shape[0])
    y0, y1 = max(ys.min() - 2 * radius, 0), min(ys.max() + 2 * radius + 1, frames.shape[1])
    box = frames[x0:x1, y0:y1]
    frames[x0:x1, y0:y1] = ndimage.gaussian_filter(
        box, sigma=(sigma_px, sigma_px, 0), truncate=3.0, mode="nearest"
    )
    return frames
