"""The CT perfusion source series: baseline + tissue and vessel enhancement + noise, as int16."""

from __future__ import annotations

import numpy as np

from isles2018.phantom.aif import AifParameters, aif_hu
from isles2018.phantom.noise import correlated_noise
from isles2018.phantom.perfusion import Compartment, CurveTable, build_table, tissue_curves

#: Venous output: the AIF dispersed (MTT 3 s), 5 s later, 1.3× its area (no partial volume).
VENOUS_MTT_S, VENOUS_DELAY_S, VENOUS_GAIN = 3.0, 5.0, 1.3


def baseline_frame_count(aif_hu_frames: np.ndarray) -> int:
    """Pre-arrival frames as software finds them: before the AIF first exceeds 10 % of its peak,
    less one frame of margin (at least 2)."""
    above = np.flatnonzero(aif_hu_frames > 0.1 * np.max(aif_hu_frames))
    first = int(above[0]) if above.size else len(aif_hu_frames)
    return max(2, first - 1)


def _slice_bounds(z_index: np.ndarray, n_slices: int) -> np.ndarray:
    return np.searchsorted(z_index, np.arange(n_slices + 1))


def perfusion_series(
    aif: AifParameters,
    baseline_hu: np.ndarray,
    tissue: tuple[tuple[np.ndarray, ...], list[Compartment], np.ndarray],
    vessels: tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray, np.ndarray],
    frame_times_s: np.ndarray,
    rng: np.random.Generator,
    noise_sd_hu: float,
    *,
    table: CurveTable | None = None,
) -> np.ndarray:
    """Build the 4D series one slice at a time.

    Args:
        aif: the case's arterial input.
        baseline_hu: ``(X, Y, Z)`` pre-contrast HU.
        tissue: ``(index, compartments, delay_s)``: z-major voxel indices ``(x, y, z)`` of the
            parenchyma, their compartments and arrival delays (``(V,)`` each).
        vessels: ``(index, artery, vein, delay_s)``: z-major indices of voxels inside the skull
            with their arterial and venous blood fractions and arterial delay.
        frame_times_s: ``(T,)`` acquisition times (s).
        rng: the case's generator (noise).
        noise_sd_hu: per-frame noise SD (HU), spatially correlated in-plane.
        table: ``G`` of this AIF covering the frame times (built here when None).

    Returns:
        ``(X, Y, Z, T)`` int16 series in HU.
    """
    shape = baseline_hu.shape
    n_frames = len(frame_times_s)
    if table is None:
        table = build_table(aif, float(frame_times_s[-1]) + 1.0)
    t_index, compartments, t_delay = tissue
    v_index, artery, vein, v_delay = vessels
    keep = (artery + vein) > 0.01
    v_index = tuple(i[keep] for i in v_index)
    artery, vein, v_delay = artery[keep], vein[keep], v_delay[keep]
    t_bounds = _slice_bounds(t_index[2], shape[2])
    v_bounds = _slice_bounds(v_index[2], shape[2])
    out = np.empty((*shape, n_frames), dtype=np.int16)
    for z in range(shape[2]):
        frames = correlated_noise(rng, (shape[0], shape[1], n_frames), noise_sd_hu)
        frames += baseline_hu[:, :, z, None]
        part = slice(t_bounds[z], t_bounds[z + 1])
        if part.stop > part.start:
            curves = tissue_curves(
                table,
                [Compartment(c.fraction[part], c.cbf[part], c.mtt_s[part]) for c in compartments],
                t_delay[part],
                frame_times_s,
            )
            frames[t_index[0][part], t_index[1][part]] += curves
        part = slice(v_bounds[z], v_bounds[z + 1])
        if part.stop > part.start:
            delay = v_delay[part]
            arterial = artery[part, None] * aif_hu(aif, frame_times_s[None, :] - delay[:, None])
            venous_mtt = np.full(delay.shape, VENOUS_MTT_S)
            venous = table.lookup(venous_mtt, delay + VENOUS_DELAY_S, frame_times_s)
            venous *= VENOUS_GAIN / VENOUS_MTT_S
            frames[v_index[0][part], v_index[1][part]] += arterial + vein[part, None] * venous
        np.rint(frames, out=frames)
        out[:, :, z, :] = np.clip(frames, -32768, 32767)
    return out
