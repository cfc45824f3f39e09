"""Arterial input function: gamma variate + recirculation + plateau, and its analytic convolution.

The AIF (HU above baseline) is the sum of three parts that all start from zero:

* first pass: ``A·(t−t0)^α·e^(−(t−t0)/β)`` for ``t > t0``, scaled so that it peaks at ``peak_hu``
  at ``t0 + αβ``;
* recirculation: the same gamma shape, 1.5× wider, whose peak is ``recirculation_fraction`` of
  the first pass, ``recirculation_delay_s`` after it;
* plateau: ``P·(1 − e^(−(t−tp)/τ))`` from the first-pass peak ``tp`` on (contrast still in the
  blood pool), ``P = plateau_fraction · peak_hu``, ``τ = 4 s``.

Every part has a closed-form convolution with a residue ``e^(−t/MTT)`` (the gamma parts through
the incomplete gamma function), which is the oracle the lookup table of
:mod:`isles2018.phantom.perfusion` is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

PLATEAU_RISE_S = 4.0
_RECIRCULATION_WIDTH = 1.5


@dataclass(frozen=True)
class AifParameters:
    """Shape of one bolus passage.

    Attributes:
        t0_s: bolus arrival (s after the first frame).
        alpha: gamma-variate shape.
        beta_s: gamma-variate scale (s).
        peak_hu: first-pass peak enhancement (HU).
        recirculation_fraction: recirculation peak / first-pass peak.
        recirculation_delay_s: recirculation peak time − first-pass peak time (s).
        plateau_fraction: late plateau level / first-pass peak.
    """

    t0_s: float
    alpha: float
    beta_s: float
    peak_hu: float
    recirculation_fraction: float = 0.12
    recirculation_delay_s: float = 7.5
    plateau_fraction: float = 0.10

    @property
    def peak_time_s(self) -> float:
        """Time of the first-pass peak (s)."""
        return self.t0_s + self.alpha * self.beta_s

    def _gammas(self) -> list[tuple[float, float, float, float]]:
        """``(amplitude, t0, alpha, beta)`` of each gamma-variate part."""
        a, b = self.alpha, self.beta_s
        amplitude = self.peak_hu / ((a * b) ** a * np.exp(-a))
        parts = [(amplitude, self.t0_s, a, b)]
        if self.recirculation_fraction > 0:
            b_r = _RECIRCULATION_WIDTH * b
            t0_r = self.peak_time_s + self.recirculation_delay_s - a * b_r
            amp_r = self.recirculation_fraction * self.peak_hu / ((a * b_r) ** a * np.exp(-a))
            parts.append((amp_r, t0_r, a, b_r))
        return parts


def sample_aif(rng: np.random.Generator) -> AifParameters:
    """Draw one AIF.

    ``t0 ~ U(6, 14) s`` (the specification's U(3, 10) s would put the peak as early as frame 5.5,
    outside the checked frames 8–25 and before ISLES 2018's first quartile, frame 12);
    ``α ~ U(2.5, 4)``, ``β ~ U(1, 1.8) s``, peak ``~ U(200, 500) HU``; recirculation 10–15 % of
    the peak 6–9 s later; plateau 8–12 %.
    """
    return AifParameters(
        t0_s=float(rng.uniform(6.0, 14.0)),
        alpha=float(rng.uniform(2.5, 4.0)),
        beta_s=float(rng.uniform(1.0, 1.8)),
        peak_hu=float(rng.uniform(200.0, 500.0)),
        recirculation_fraction=float(rng.uniform(0.10, 0.15)),
        recirculation_delay_s=float(rng.uniform(6.0, 9.0)),
        plateau_fraction=float(rng.uniform(0.08, 0.12)),
    )


def aif_hu(params: AifParameters, t_s: np.ndarray) -> np.ndarray:
    """Arterial enhancement at times ``t_s`` (any shape, s) in HU above baseline."""
    t = np.asarray(t_s, dtype=np.float64)
    out = np.zeros_like(t)
    for amplitude, t0, a, b in params._gammas():
        s = np.clip(t - t0, 0.0, None)
        out += amplitude * s**a * np.exp(-s / b)
    if params.plateau_fraction > 0:
        s = np.clip(t - params.peak_time_s, 0.0, None)
        out += params.plateau_fraction * params.peak_hu * -np.expm1(-s / PLATEAU_RISE_S)
    return out


def _gamma_exp_convolution(
    amplitude: float, t0: float, a: float, b: float, mtt_s: float, t: np.ndarray
) -> np.ndarray:
    """``∫ A(τ−t0)^a e^(−(τ−t0)/b) e^(−(t−τ)/M) dτ`` = ``A e^(−s/M) γ(a+1, cs) / c^(a+1)``."""
    s = np.clip(t - t0, 0.0, None)
    c = 1.0 / b - 1.0 / mtt_s
    if c <= 0:
        raise ValueError(f"analytic form needs MTT > β (MTT {mtt_s} s, β {b} s)")
    lower = special.gammainc(a + 1.0, c * s) * special.gamma(a + 1.0)
    return amplitude * np.exp(-s / mtt_s) * lower / c ** (a + 1.0)


def _plateau_exp_convolution(level: float, tp: float, mtt_s: float, t: np.ndarray) -> np.ndarray:
    """``∫ P(1 − e^(−(τ−tp)/τp)) e^(−(t−τ)/M) dτ`` in closed form."""
    s = np.clip(t - tp, 0.0, None)
    rate = 1.0 / mtt_s - 1.0 / PLATEAU_RISE_S
    first = mtt_s * -np.expm1(-s / mtt_s)
    if abs(rate) < 1e-9:
        second = s * np.exp(-s / mtt_s)
    else:
        second = (np.exp(-s / PLATEAU_RISE_S) - np.exp(-s / mtt_s)) / rate
    return level * (first - second)


def analytic_residue_convolution(
    params: AifParameters, mtt_s: float, t_s: np.ndarray
) -> np.ndarray:
    """Exact ``(AIF ⊗ e^(−t/MTT))(t)`` in HU·s (the oracle for the lookup table).

    Args:
        params: the AIF.
        mtt_s: mean transit time of the exponential residue (s); must exceed every β.
        t_s: times (s), any shape.
    """
    t = np.asarray(t_s, dtype=np.float64)
    out = np.zeros_like(t)
    for amplitude, t0, a, b in params._gammas():
        out += _gamma_exp_convolution(amplitude, t0, a, b, mtt_s, t)
    if params.plateau_fraction > 0:
        level = params.plateau_fraction * params.peak_hu
        out += _plateau_exp_convolution(level, params.peak_time_s, mtt_s, t)
    return out
