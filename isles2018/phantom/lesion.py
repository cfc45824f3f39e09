"""The stroke: one latent severity field that drives hypoperfusion, the core and the lesion.

``s(x) = w(x) · exp(−½ |(x − c) / r|²) · (1 + a · F(x))`` in MNI space, where ``w`` is the
territory of the occluded vessel, ``c`` the lesion centre, ``r`` its radii and ``F`` a smooth
random field (random Fourier features, so two slabs of a patient see one field). Thresholds of
``s`` are calibrated on the patient's first slab to the drawn lesion volume, core fraction and
mismatch ratio; they define zones (normal, benign oligemia, penumbra, core) with the physiology
of the specification's table. The ground-truth lesion is the core plus the most severe penumbra
(infarct growth before the DWI) with a jittered boundary (a second field), always inside the
Tmax > 6 s region: perfusion predicts it, imperfectly. How much of the penumbra it takes in is the
patient's unobserved growth (reperfusion, collaterals). OT is that lesion as a person draws it on
the DWI (:func:`isles2018.phantom.rater.delineate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from isles2018.phantom.vasculature import affected_weight

NORMAL, OLIGEMIA, PENUMBRA, CORE = 1, 2, 3, 4
#: Zone codes of the truth sidecar (0 = not brain parenchyma).
ZONES = {
    0: "background",
    NORMAL: "normal",
    OLIGEMIA: "oligemia",
    PENUMBRA: "penumbra",
    CORE: "core",
}
MIN_CORE_THRESHOLD = 0.12
MIN_PENUMBRA_THRESHOLD = 0.06


@dataclass(frozen=True)
class SmoothField:
    """A stationary smooth random field with unit variance: ``√(2/K) Σ cos(k·x + φ)``.

    Attributes:
        wavevectors: ``(K, 3)`` in rad/mm.
        phases: ``(K,)`` in rad.
    """

    wavevectors: np.ndarray
    phases: np.ndarray

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Field values at ``(3, N)`` MNI points (mm): ``(N,)`` float32."""
        x, y, z = np.asarray(points, dtype=np.float32)
        total = np.zeros(x.shape, dtype=np.float32)
        for (kx, ky, kz), phase in zip(self.wavevectors, self.phases, strict=True):
            total += np.cos(
                np.float32(kx) * x + np.float32(ky) * y + np.float32(kz) * z + np.float32(phase)
            )
        return total * np.float32(np.sqrt(2.0 / len(self.phases)))


def random_field(
    rng: np.random.Generator, wavelength_mm: tuple[float, float], n_waves: int = 12
) -> SmoothField:
    """Draw a field with wavelengths log-uniform in ``wavelength_mm`` and isotropic directions."""
    direction = rng.normal(size=(n_waves, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    wavelength = np.exp(rng.uniform(*np.log(wavelength_mm), size=n_waves))
    return SmoothField(
        wavevectors=direction * (2.0 * np.pi / wavelength)[:, None],
        phases=rng.uniform(0.0, 2.0 * np.pi, size=n_waves),
    )


@dataclass(frozen=True)
class Stroke:
    """A patient's stroke (MNI space), shared by the patient's slabs.

    Attributes:
        occlusion: ``"M1"``, ``"ICA-T"`` or ``"M2"``.
        hemisphere: ``"left"`` or ``"right"``.
        m2_division: ``"superior"`` or ``"inferior"`` (M2 only).
        centre_mm: ``(3,)`` lesion centre.
        radii_mm: ``(3,)`` Gaussian radii of the severity.
        texture, texture_amplitude: irregularity of the severity.
        jitter, jitter_amplitude: boundary jitter of the lesion against the core.
        rcbv_field: penumbral rCBV variation.
    """

    occlusion: str
    hemisphere: str
    m2_division: str
    centre_mm: np.ndarray
    radii_mm: np.ndarray
    texture: SmoothField
    texture_amplitude: float
    jitter: SmoothField
    jitter_amplitude: float
    rcbv_field: SmoothField

    def severity(self, mni: np.ndarray) -> np.ndarray:
        """Latent severity at ``(3, N)`` MNI points: ``(N,)`` float32, 0 … ~1.3."""
        offset = (np.asarray(mni, np.float32) - self.centre_mm[:, None]) / self.radii_mm[:, None]
        falloff = np.exp(-0.5 * np.sum(offset**2, axis=0))
        weight = affected_weight(mni, self.occlusion, self.hemisphere, self.m2_division)
        texture = 1.0 + self.texture_amplitude * self.texture(mni)
        return np.clip(weight * falloff * texture, 0.0, None).astype(np.float32)


@dataclass(frozen=True)
class Thresholds:
    """Severity thresholds: core ≥ ``core`` > penumbra ≥ ``penumbra`` > oligemia ≥ ``oligemia``.

    ``lesion`` bounds the true lesion: between penumbra and core when the infarct grew into the
    most severe penumbra before the DWI, above ``core`` when early reperfusion spared part of
    the perfusion core; ``peak`` is the
    severity at which the core reaches its most severe values.
    """

    core: float
    lesion: float
    penumbra: float
    oligemia: float
    peak: float


def calibrate(
    severity: np.ndarray,
    voxel_ml: float,
    lesion_ml: float,
    core_fraction: float,
    mismatch: float,
) -> Thresholds:
    """Thresholds for the wanted lesion, core and Tmax > 6 s volumes.

    Args:
        severity: ``(N,)`` severity of the parenchyma voxels of the calibration slab.
        voxel_ml: volume of one of those voxels (mL).
        lesion_ml: wanted ground-truth lesion volume (mL).
        core_fraction: core volume / lesion volume (above 1 when part of the core survives).
        mismatch: wanted (Tmax > 6 s volume) / (core volume); at least 1.15 × the lesion.

    Severity thresholds never fall below fixed floors, so a lesion stays inside the occluded
    territory; when the slab holds too little of it, all volumes shrink and keep their ratios.
    """
    ordered = np.sort(np.asarray(severity, dtype=np.float64))[::-1]
    available = int(np.count_nonzero(ordered >= MIN_PENUMBRA_THRESHOLD))
    n_lesion = lesion_ml / voxel_ml
    n_core = n_lesion * core_fraction
    n_hypo = max(n_core * mismatch, 1.15 * n_lesion)
    shrink = min(1.0, available / n_hypo) if n_hypo > 0 else 1.0

    def level(n: float, floor: float) -> float:
        count = round(n * shrink)
        return max(float(ordered[count - 1]), floor) if count >= 1 else float("inf")

    top = float(ordered[0]) if len(ordered) else 0.0
    core = level(n_core, MIN_CORE_THRESHOLD)
    if not np.isfinite(core):
        core = max(top, MIN_CORE_THRESHOLD) * 1.01
    lesion = level(n_lesion, MIN_CORE_THRESHOLD)  # above ``core`` when part of the core survives
    if not np.isfinite(lesion):
        lesion = core
    penumbra = min(level(n_hypo, MIN_PENUMBRA_THRESHOLD), 0.999 * lesion)
    peak = max(top, 1.25 * core)
    return Thresholds(
        core=core, lesion=lesion, penumbra=penumbra, oligemia=0.5 * penumbra, peak=peak
    )


@dataclass(frozen=True)
class PerfusionState:
    """Relative perfusion and delay of parenchyma voxels (all ``(N,)`` float32).

    Attributes:
        zone: :data:`ZONES` code.
        rcbf: CBF relative to the voxel's normal value.
        rcbv: CBV relative to normal.
        delay_s: arrival delay = true Tmax (s).
    """

    zone: np.ndarray
    rcbf: np.ndarray
    rcbv: np.ndarray
    delay_s: np.ndarray


def perfusion_state(
    severity: np.ndarray,
    thresholds: Thresholds,
    normal_delay_s: np.ndarray,
    rcbv_variation: np.ndarray,
) -> PerfusionState:
    """Zone, rCBF, rCBV and Tmax from the severity (continuous across zone borders).

    Core: rCBF 0.20 → 0.05, rCBV 0.5 → 0.2, Tmax 10.2 → 16 s as severity rises to the peak of
    the calibration slab; penumbra: rCBF 0.6 → 0.2, rCBV 1 ± 0.1, Tmax 6.2 → 10 s; oligemia:
    rCBF 1 → 0.6, Tmax normal → 6 s.

    Args:
        severity: ``(N,)`` latent severity.
        thresholds: from :func:`calibrate`.
        normal_delay_s: ``(N,)`` Tmax of healthy tissue at these voxels (s).
        rcbv_variation: ``(N,)`` unit-variance field for the penumbral rCBV.
    """
    s = np.asarray(severity, dtype=np.float32)
    t = thresholds
    zone = np.full(s.shape, NORMAL, dtype=np.uint8)
    zone[s >= t.oligemia] = OLIGEMIA
    zone[s >= t.penumbra] = PENUMBRA
    zone[s >= t.core] = CORE
    rcbf = np.ones_like(s)
    rcbv = np.ones_like(s)
    delay = np.asarray(normal_delay_s, dtype=np.float32).copy()

    q = np.clip((s - t.oligemia) / (t.penumbra - t.oligemia), 0.0, 1.0)
    olig = zone == OLIGEMIA
    rcbf[olig] = 1.0 - 0.4 * q[olig]
    delay[olig] += (6.0 - delay[olig]) * q[olig]

    v = np.clip((s - t.penumbra) / (t.core - t.penumbra), 0.0, 1.0)
    pen = zone == PENUMBRA
    rcbf[pen] = np.clip(0.6 - 0.4 * v[pen], 0.2, 0.6)
    rcbv[pen] = np.clip(1.0 + 0.1 * np.clip(rcbv_variation[pen] / 2.0, -1.0, 1.0), 0.9, 1.1)
    delay[pen] = np.clip(6.2 + 3.8 * v[pen], 6.2, 10.0)

    u = np.clip((s - t.core) / (t.peak - t.core), 0.0, 1.0)
    core = zone == CORE
    rcbf[core] = np.clip(0.20 - 0.15 * u[core], 0.05, 0.20)
    rcbv[core] = np.clip(0.5 - 0.3 * u[core], 0.2, 0.5)
    delay[core] = 10.2 + 5.8 * u[core]
    return PerfusionState(zone=zone, rcbf=rcbf, rcbv=rcbv, delay_s=delay)


def lesion_mask(
    stroke: Stroke,
    mni: np.ndarray,
    severity: np.ndarray,
    thresholds: Thresholds,
    tissue_fraction: np.ndarray,
) -> np.ndarray:
    """The ground-truth lesion: the core and the most severe penumbra, with a jittered boundary,
    inside Tmax > 6 s tissue.

    Args:
        stroke: the patient's stroke.
        mni: ``(3, N)`` MNI points.
        severity: ``(N,)`` their severity.
        thresholds: calibrated thresholds.
        tissue_fraction: ``(N,)`` GM + WM fraction; voxels under half parenchyma are excluded.
    """
    jittered = severity * (1.0 + stroke.jitter_amplitude * stroke.jitter(mni))
    return (
        (jittered >= thresholds.lesion)
        & (severity >= thresholds.penumbra)
        & (np.asarray(tissue_fraction) >= 0.5)
    )
