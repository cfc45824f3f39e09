"""Indicator-dilution forward model: tissue enhancement curves from a lookup table.

A tissue compartment with flow CBF, mean transit time MTT and delay d enhances as

    C_t(t) = (ρ / k_H) · (CBF / 6000) · (C_a ⊗ R)(t − d),   R(t) = e^(−t / MTT),

with CBF in mL/100 g/min (÷ 6000 → mL/g/s), ρ = 1.04 g/mL and k_H = 0.73 (large- vs
small-vessel haematocrit). CBV = CBF · MTT / 60 (mL/100 g); the true Tmax is d.

``G[MTT, t] = (C_a ⊗ e^(−t/MTT))(t)`` is tabulated once per case on a 0.1 s grid for ~160
log-spaced MTTs (exact recurrence for a piecewise-linear AIF); curve synthesis then gathers and
bilinearly interpolates the table per voxel and frame, with no per-voxel convolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isles2018.phantom.aif import AifParameters, aif_hu

RHO_G_PER_ML = 1.04
K_H = 0.73
#: Enhancement (HU) per (CBF in mL/100 g/min) per (HU·s of G).
FLOW_SCALE = RHO_G_PER_ML / K_H / 6000.0


@dataclass(frozen=True)
class CurveTable:
    """``G[MTT, t]`` for one AIF.

    Attributes:
        step_s: fine time step (s).
        log_mtt0: natural log of the first MTT (s).
        log_mtt_step: spacing of the MTTs in natural log.
        values: ``(n_mtt, n_t)`` table in HU·s; column ``j`` is time ``j · step_s``.
    """

    step_s: float
    log_mtt0: float
    log_mtt_step: float
    values: np.ndarray

    @property
    def mtts_s(self) -> np.ndarray:
        """The tabulated MTTs (s)."""
        return np.exp(self.log_mtt0 + self.log_mtt_step * np.arange(self.values.shape[0]))

    def lookup(
        self, mtt_s: np.ndarray, delay_s: np.ndarray, frame_times_s: np.ndarray
    ) -> np.ndarray:
        """Interpolated ``G(mtt, t − delay)`` (bilinear in log MTT and time; 0 before arrival).

        Frame times must lie on the table's grid (multiples of ``step_s``), so each voxel's time
        interpolation weight is the same for all its frames. Times past the table are clamped.

        Args:
            mtt_s: ``(V,)`` MTTs (s), clipped to the table's range.
            delay_s: ``(V,)`` arrival delays (s).
            frame_times_s: ``(T,)`` acquisition times (s).

        Returns:
            ``(V, T)`` float32 values in HU·s.
        """
        n_mtt, n_t = self.values.shape
        row = (np.log(np.asarray(mtt_s, dtype=np.float64)) - self.log_mtt0) / self.log_mtt_step
        row = np.clip(row, 0.0, n_mtt - 1.000001)
        i0 = row.astype(np.int64)
        wr = (row - i0).astype(np.float32)[:, None]
        steps = np.asarray(frame_times_s, dtype=np.float64) / self.step_s
        if not np.allclose(steps, np.round(steps), atol=1e-6):
            raise ValueError(f"frame times must be multiples of the table step {self.step_s} s")
        shift = np.asarray(delay_s, dtype=np.float64) / self.step_s
        whole = np.floor(shift).astype(np.int64)
        # t − delay falls between columns j0 and j0 + 1 with the same weight for every frame.
        wc = (1.0 - (shift - whole)).astype(np.float32)[:, None]
        j0 = np.round(steps).astype(np.int64)[None, :] - whole[:, None] - 1
        before = j0 < 0
        j0 = np.clip(j0, 0, n_t - 2)
        flat = self.values.ravel()
        base = (i0 * n_t)[:, None] + j0
        lower = flat[base]
        lower += wc * (flat[base + 1] - lower)
        upper = flat[base + n_t]
        upper += wc * (flat[base + n_t + 1] - upper)
        lower += wr * (upper - lower)
        lower[before] = 0.0
        return lower


def build_table(
    params: AifParameters,
    duration_s: float,
    *,
    step_s: float = 0.1,
    n_mtt: int = 160,
    mtt_range_s: tuple[float, float] = (1.0, 80.0),
) -> CurveTable:
    """Tabulate ``G[MTT, t] = (AIF ⊗ e^(−t/MTT))(t)`` for ``0 ≤ t ≤ duration_s``.

    The AIF is sampled on the fine grid and treated as piecewise linear; the convolution with an
    exponential then obeys an exact one-step recurrence, run for all MTTs at once.
    """
    n_t = int(np.ceil(duration_s / step_s)) + 2
    t = np.arange(n_t) * step_s
    aif = aif_hu(params, t)
    mtts = np.exp(np.linspace(np.log(mtt_range_s[0]), np.log(mtt_range_s[1]), n_mtt))
    decay = np.exp(-step_s / mtts)
    # ∫0^h (a + (b − a) s/h) e^(−(h − s)/M) ds = a·M(1 − E) + (b − a)·(M − M²(1 − E)/h)
    c_const = mtts * (1.0 - decay)
    c_slope = mtts - mtts**2 * (1.0 - decay) / step_s
    values = np.zeros((n_mtt, n_t), dtype=np.float64)
    y = np.zeros(n_mtt)
    for j in range(1, n_t):
        a, b = aif[j - 1], aif[j]
        y = decay * y + a * c_const + (b - a) * c_slope
        values[:, j] = y
    return CurveTable(
        step_s=step_s,
        log_mtt0=float(np.log(mtts[0])),
        log_mtt_step=float(np.log(mtts[1] / mtts[0])),
        values=values.astype(np.float32),
    )


@dataclass(frozen=True)
class Compartment:
    """Perfusion of one tissue class in a set of voxels (all ``(V,)``).

    Attributes:
        fraction: volume fraction of the voxel occupied by this tissue.
        cbf: flow of this tissue in mL/100 g/min.
        mtt_s: mean transit time (s).
    """

    fraction: np.ndarray
    cbf: np.ndarray
    mtt_s: np.ndarray

    @property
    def cbv(self) -> np.ndarray:
        """Blood volume of this tissue in mL/100 g (CBF · MTT / 60)."""
        return self.cbf * self.mtt_s / 60.0


def tissue_curves(
    table: CurveTable,
    compartments: list[Compartment],
    delay_s: np.ndarray,
    frame_times_s: np.ndarray,
) -> np.ndarray:
    """Enhancement of voxels made of several compartments sharing one delay.

    Args:
        table: ``G`` of the case's AIF.
        compartments: e.g. grey and white matter, each with ``(V,)`` arrays.
        delay_s: ``(V,)`` arrival delay relative to the AIF (the true Tmax, s).
        frame_times_s: ``(T,)`` acquisition times (s).

    Returns:
        ``(V, T)`` float32 enhancement in HU.
    """
    out = np.zeros((len(delay_s), len(frame_times_s)), dtype=np.float32)
    for comp in compartments:
        weight = (FLOW_SCALE * comp.fraction * comp.cbf).astype(np.float32)
        out += weight[:, None] * table.lookup(np.maximum(comp.mtt_s, 1e-3), delay_s, frame_times_s)
    return out
