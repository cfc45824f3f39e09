"""Vascular territories and large vessels: a geometric model in MNI coordinates (mm, RAS).

Territories (per hemisphere) are smooth memberships that sum to one: ACA a medial strip over the
frontal and parietal lobes that widens over the vertex; PCA the occipital lobe, the inferior
temporal lobe and the thalamus; MCA the rest. Large vessels are tubes around polylines: the
MCA trunk along the Sylvian fissure, the pericallosal ACA, the PCA around the midbrain (arterial)
and the superior sagittal and transverse sinuses (venous).
"""

from __future__ import annotations

import itertools

import numpy as np

OCCLUSIONS = ("M1", "ICA-T", "M2")

# Right-hemisphere arterial polylines (x mirrored for the left), MNI mm.
_ARTERIES = (
    ((8, 0, -14), (18, 2, -12), (32, 4, -8), (40, -2, 2), (44, -16, 12), (46, -36, 22)),
    ((6, 4, -12), (3, 16, -4), (3, 30, 6), (3, 32, 20), (3, 16, 38), (3, -14, 48), (3, -40, 50)),
    ((6, -18, -14), (18, -30, -10), (22, -50, -6), (16, -74, 4), (10, -90, 10)),
)
_SINUS = (
    (0, 62, 35),
    (0, 42, 57),
    (0, 20, 68),
    (0, 0, 75),
    (0, -20, 79),
    (0, -40, 78),
    (0, -60, 69),
    (0, -80, 50),
    (0, -96, 22),
    (0, -98, 8),
)
_TRANSVERSE = ((0, -98, 8), (30, -96, 0), (50, -76, -10))
_ARTERY_RADIUS_MM, _ARTERY_PEAK = 1.2, 0.6
_VEIN_RADIUS_MM, _VEIN_PEAK = 2.5, 0.8


def _sigmoid(value: np.ndarray, width: float) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(value / (2.0 * width)))


def territories(mni: np.ndarray) -> dict[str, np.ndarray]:
    """Membership of each point in the MCA, ACA and PCA territories (of its own hemisphere).

    Args:
        mni: ``(3, ...)`` MNI coordinates (mm).

    Returns:
        ``{"MCA", "ACA", "PCA"}`` → float32 arrays of shape ``mni.shape[1:]`` summing to 1.
    """
    x, y, z = (np.asarray(c, dtype=np.float32) for c in mni)
    lateral = np.abs(x)
    aca_width = 14.0 + 0.35 * np.clip(z - 20.0, 0.0, None)
    aca_back = -20.0 - 0.6 * np.clip(z - 20.0, 0.0, None)
    aca = (
        _sigmoid(aca_width - lateral, 3.0)
        * _sigmoid(y - aca_back, 6.0)
        * _sigmoid(z + 5.0, 4.0)
        * _sigmoid(lateral - 1.0, 1.0)  # the falx: ACA is paired, medial but not across
    )
    occipital = _sigmoid(-68.0 - y, 6.0)
    temporal = _sigmoid(-25.0 - y, 6.0) * _sigmoid(-8.0 - z, 4.0)
    thalamus = _sigmoid(18.0 - lateral, 2.0) * _sigmoid(y + 35.0, 3.0) * _sigmoid(-5.0 - y, 3.0)
    thalamus = thalamus * _sigmoid(z + 5.0, 3.0) * _sigmoid(15.0 - z, 3.0)
    pca = np.maximum(np.maximum(occipital, temporal), thalamus) * (1.0 - aca)
    mca = np.clip(1.0 - aca - pca, 0.0, 1.0)
    return {"MCA": mca, "ACA": aca, "PCA": pca}


def affected_weight(
    mni: np.ndarray, occlusion: str, hemisphere: str, m2_division: str = "superior"
) -> np.ndarray:
    """How much each point depends on the occluded vessel (0 … 1).

    Args:
        mni: ``(3, ...)`` MNI coordinates (mm).
        occlusion: ``"M1"`` (whole MCA), ``"ICA-T"`` (MCA + ACA) or ``"M2"`` (one MCA division).
        hemisphere: ``"left"`` (x < 0) or ``"right"``.
        m2_division: ``"superior"`` (above the Sylvian fissure) or ``"inferior"``, for M2.
    """
    if occlusion not in OCCLUSIONS:
        raise ValueError(f"unknown occlusion {occlusion!r}; expected one of {OCCLUSIONS}")
    member = territories(mni)
    weight = member["MCA"]
    if occlusion == "ICA-T":
        weight = weight + member["ACA"]
    elif occlusion == "M2":
        fissure = np.asarray(mni[2], dtype=np.float32) - 8.0 + 0.15 * np.asarray(mni[1])
        weight = weight * _sigmoid(fissure if m2_division == "superior" else -fissure, 4.0)
    side = np.asarray(mni[0], dtype=np.float32) * (1.0 if hemisphere == "right" else -1.0)
    return (weight * _sigmoid(side, 1.5)).astype(np.float32)


def _segments(polylines: list[tuple[tuple[float, float, float], ...]]) -> np.ndarray:
    pairs = [(a, b) for line in polylines for a, b in itertools.pairwise(line)]
    return np.array(pairs, dtype=np.float32)


def _mirrored(lines: tuple) -> list:
    return [*lines, *(tuple((-x, y, z) for x, y, z in line) for line in lines)]


def _tube(points: np.ndarray, segments: np.ndarray, radius: float, peak: float) -> np.ndarray:
    """Gaussian tube profile around segments: ``peak · exp(−d² / 2r²)`` of the nearest one."""
    best = np.full(points.shape[1], np.inf, dtype=np.float32)
    reach = 4.0 * radius
    for a, b in segments:
        lo, hi = np.minimum(a, b) - reach, np.maximum(a, b) + reach
        inside = np.flatnonzero(np.all((points >= lo[:, None]) & (points <= hi[:, None]), axis=0))
        if inside.size == 0:
            continue
        p = points[:, inside] - a[:, None]
        u = b - a
        t = np.clip((u[0] * p[0] + u[1] * p[1] + u[2] * p[2]) / float(np.sum(u * u)), 0.0, 1.0)
        d2 = np.sum((p - u[:, None] * t) ** 2, axis=0)
        best[inside] = np.minimum(best[inside], d2)
    return (peak * np.exp(-best / (2.0 * radius**2))).astype(np.float32)


def vessel_fractions(mni: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blood volume fraction of large arteries and of venous sinuses at each point.

    Args:
        mni: ``(3, N)`` MNI coordinates (mm).

    Returns:
        ``(artery, vein)``, each ``(N,)`` float32 in [0, 0.8].
    """
    points = np.asarray(mni, dtype=np.float32)
    artery = _tube(points, _segments(_mirrored(_ARTERIES)), _ARTERY_RADIUS_MM, _ARTERY_PEAK)
    veins = _segments([_SINUS, *_mirrored((_TRANSVERSE,))])
    return artery, _tube(points, veins, _VEIN_RADIUS_MM, _VEIN_PEAK)
