"""Image noise: spatially correlated Gaussian (CT) and Rician magnitude noise (MR)."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import ndimage

#: In-plane Gaussian correlation length of CT noise (px; neighbouring pixels correlate ≈ 0.4,
#: as with a soft reconstruction kernel). It sets the noise floor of the written CBF after the
#: maps' 2 px smoothing, hence how much noise degrades the threshold rule: on four 20-case
#: ``ci`` sets its mean Dice is 0.34 at this value (calibration runs with a finer lesion jitter
#: gave 0.38 at 0.5 px and 0.30 at 0.6 px).
CORRELATION_PX = 0.55


@cache
def _white_to_unit(sigma_px: float) -> float:
    """SD of unit white noise after in-plane Gaussian filtering (from the kernel's energy)."""
    impulse = np.zeros((33, 33), dtype=np.float64)
    impulse[16, 16] = 1.0
    kernel = ndimage.gaussian_filter(impulse, sigma_px, truncate=3.0, mode="constant")
    return float(np.sqrt(np.sum(kernel**2)))


def correlated_noise(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    sd: float,
    *,
    sigma_px: float = CORRELATION_PX,
) -> np.ndarray:
    """Gaussian noise with SD ``sd``, correlated over the first two (in-plane) axes.

    Args:
        rng: the case's generator.
        shape: ``(X, Y, ...)``; trailing axes (slices, frames) are independent.
        sd: marginal standard deviation per voxel.
        sigma_px: Gaussian correlation length in pixels.

    Returns:
        float32 array of ``shape``.
    """
    if sd == 0:
        return np.zeros(shape, dtype=np.float32)
    white = rng.standard_normal(shape, dtype=np.float32)
    sigmas = (sigma_px, sigma_px) + (0.0,) * (len(shape) - 2)
    smooth = ndimage.gaussian_filter(white, sigmas, truncate=3.0, mode="wrap")
    smooth *= np.float32(sd / _white_to_unit(sigma_px))
    return smooth


def rician(rng: np.random.Generator, signal: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of ``signal`` plus complex Gaussian noise of SD ``sigma`` per channel (float32)."""
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imaginary = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    return np.hypot(real, imaginary).astype(np.float32)
