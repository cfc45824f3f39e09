"""The classical threshold rule for the ischaemic core: rCBF < 30 % where perfusion is late.

The "traditional method" the paper compares against (Liu, BrainLes 2018, §1) and the calibration
check of the phantom. It works on the perfusion maps of any case, real or synthetic; no torch.
Two forms, by name (:data:`RULES`):

* ``tmax6`` (our default, as before): rCBF < 30 % and Tmax > 6 s. The thresholds of
  RAPID-style automated CTP software — rCBF < 30 % for the core, Tmax > 6 s for critical
  hypoperfusion — combined; this is **not** the paper's rule.
* ``delay3``: rCBF < 30 % and Tmax > 3 s, the rule the paper quotes in §1 ("rCBF < 30 % within
  delay time > 3 s", citing Yu et al., Sci. Rep. 2015). Delay time and Tmax are different
  delay measures of a deconvolved CTP; ISLES 2018 provides Tmax only, so Tmax stands in (ours).

Reference for rCBF: the **median CBF of normally perfused brain on the side opposite the
hypoperfusion**. The brain mask is where both maps are finite and CBF > 0 (clinical software
writes 0 outside the brain, in CSF and in bone). The mid-plane is the median x of the brain
voxels (axial slabs are stored with x left–right). The hypoperfused side is the half holding
more voxels with Tmax above the threshold; its mirror half, restricted to Tmax below the
threshold, is the normal tissue. A median is robust to the bright large vessels and to the
CBF spread of grey and white matter. With fewer than ``min_reference_voxels`` such voxels the
whole brain with Tmax below the threshold is used, then the whole brain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from isles2018.data.io import header_shape, read_volume
from isles2018.data.modalities import Modality
from isles2018.data.stack import _checked
from isles2018.errors import ConfigError

if TYPE_CHECKING:
    from isles2018.data.layout import Case

RCBF_THRESHOLD = 0.30
TMAX_THRESHOLD_S = 6.0
MIN_REFERENCE_VOXELS = 100


@dataclass(frozen=True)
class ThresholdRule:
    """One form of the rule: core where ``rCBF < rcbf_threshold`` and ``Tmax > tmax_threshold_s``.

    Attributes:
        rcbf_threshold: relative CBF below which tissue is core (0.30 = 30 %).
        tmax_threshold_s: Tmax above which tissue is hypoperfused (s).
        source: where the rule comes from.
    """

    rcbf_threshold: float
    tmax_threshold_s: float
    source: str


#: The rules by name (see the module docstring); ``tmax6`` is the default.
RULES = {
    "tmax6": ThresholdRule(
        RCBF_THRESHOLD,
        TMAX_THRESHOLD_S,
        "RAPID-style CTP software thresholds (core rCBF < 30 %, hypoperfusion Tmax > 6 s), "
        "combined; not the paper's rule",
    ),
    "delay3": ThresholdRule(
        RCBF_THRESHOLD,
        3.0,
        "the paper, §1, quoting Yu et al. 2015: rCBF < 30 % within delay time > 3 s "
        "(Tmax stands in for delay time)",
    ),
}
DEFAULT_RULE = "tmax6"


def threshold_rule(name: str) -> ThresholdRule:
    """The rule of a name in :data:`RULES`.

    Raises:
        ConfigError: an unknown name.
    """
    if name not in RULES:
        raise ConfigError(f"threshold rule must be one of {', '.join(RULES)}, got {name!r}")
    return RULES[name]


def _rule_options(rule: str, options: dict[str, Any]) -> dict[str, Any]:
    chosen = threshold_rule(rule)
    defaults = {
        "rcbf_threshold": chosen.rcbf_threshold,
        "tmax_threshold_s": chosen.tmax_threshold_s,
    }
    return {**defaults, **options}


def brain_mask_from_maps(cbf: np.ndarray, tmax: np.ndarray) -> np.ndarray:
    """Voxels where the maps were computed: both finite and CBF > 0, ``(X, Y, Z)`` bool."""
    cbf = np.asarray(cbf, dtype=np.float64)
    tmax = np.asarray(tmax, dtype=np.float64)
    return np.isfinite(cbf) & np.isfinite(tmax) & (cbf > 0)


@dataclass(frozen=True)
class Reference:
    """The normal-tissue reference of one case.

    Attributes:
        cbf: median CBF of the reference voxels (map units).
        voxels: how many voxels it was taken over.
        side: ``"low-x"``, ``"high-x"`` (the half used) or ``"whole brain"``.
    """

    cbf: float
    voxels: int
    side: str


def normal_reference(
    cbf: np.ndarray,
    tmax: np.ndarray,
    mask: np.ndarray,
    *,
    tmax_threshold_s: float = TMAX_THRESHOLD_S,
    min_reference_voxels: int = MIN_REFERENCE_VOXELS,
) -> Reference:
    """Median CBF of normally perfused tissue contralateral to the hypoperfusion (see module).

    Args:
        cbf, tmax: ``(X, Y, Z)`` maps.
        mask: ``(X, Y, Z)`` brain mask.
        tmax_threshold_s: voxels with Tmax at or above it are never reference tissue.
        min_reference_voxels: fewest voxels a reference may rest on before falling back.

    Raises:
        ValueError: the mask is empty.
    """
    if not mask.any():
        raise ValueError("empty brain mask: no voxel with finite maps and CBF > 0")
    x = np.nonzero(mask)[0]
    mid = float(np.median(x))
    xs = np.arange(mask.shape[0])[:, None, None]
    low, high = mask & (xs < mid), mask & (xs > mid)
    late = tmax >= tmax_threshold_s
    normal = mask & ~late
    side_low = np.count_nonzero(late & high) >= np.count_nonzero(late & low)
    half, name = (low, "low-x") if side_low else (high, "high-x")
    for candidate, label in ((half & normal, name), (normal, "whole brain")):
        count = int(np.count_nonzero(candidate))
        if count >= min_reference_voxels:
            return Reference(float(np.median(cbf[candidate])), count, label)
    return Reference(float(np.median(cbf[mask])), int(np.count_nonzero(mask)), "whole brain")


def threshold_core(
    cbf: np.ndarray,
    tmax: np.ndarray,
    *,
    rcbf_threshold: float = RCBF_THRESHOLD,
    tmax_threshold_s: float = TMAX_THRESHOLD_S,
    mask: np.ndarray | None = None,
    min_reference_voxels: int = MIN_REFERENCE_VOXELS,
) -> np.ndarray:
    """Core by the threshold rule: ``CBF / reference < rcbf_threshold`` and ``Tmax > tmax``.

    Args:
        cbf: ``(X, Y, Z)`` CBF map, any units (the rule is relative).
        tmax: ``(X, Y, Z)`` Tmax map in seconds.
        rcbf_threshold: relative CBF below which tissue is core (0.30 = 30 %).
        tmax_threshold_s: Tmax above which tissue is hypoperfused (s).
        mask: brain mask; by default :func:`brain_mask_from_maps`.
        min_reference_voxels: see :func:`normal_reference`.

    Returns:
        ``(X, Y, Z)`` uint8 mask {0, 1}. All zero when the brain mask is empty.
    """
    cbf = np.asarray(cbf, dtype=np.float64)
    tmax = np.asarray(tmax, dtype=np.float64)
    if cbf.shape != tmax.shape:
        raise ValueError(f"CBF {cbf.shape} and Tmax {tmax.shape} maps differ in shape")
    brain = brain_mask_from_maps(cbf, tmax) if mask is None else np.asarray(mask, dtype=bool)
    if not brain.any():
        return np.zeros(cbf.shape, dtype=np.uint8)
    reference = normal_reference(
        cbf,
        tmax,
        brain,
        tmax_threshold_s=tmax_threshold_s,
        min_reference_voxels=min_reference_voxels,
    )
    core = brain & (cbf < rcbf_threshold * reference.cbf) & (tmax > tmax_threshold_s)
    return core.astype(np.uint8)


def threshold_case_files(
    cbf_path: Path, tmax_path: Path, *, rule: str = DEFAULT_RULE, **options: Any
) -> np.ndarray:
    """Run :func:`threshold_core` on a CBF and a Tmax file as they are.

    Non-finite voxels count as outside the brain here; :func:`threshold_case` refuses them.

    Args:
        cbf_path: the CBF volume.
        tmax_path: the Tmax volume (seconds).
        rule: a name in :data:`RULES` (sets ``rcbf_threshold`` and ``tmax_threshold_s``).
        **options: keyword arguments of :func:`threshold_core` (they override the rule's).

    Returns:
        ``(X, Y, Z)`` uint8 core mask on the maps' grid.

    Raises:
        DataError: a file is missing or unreadable.
        ConfigError: an unknown rule.
        ValueError: the two grids differ.
    """
    settings = _rule_options(rule, options)
    cbf = read_volume(Path(cbf_path)).array
    tmax = read_volume(Path(tmax_path)).array
    return threshold_core(cbf, tmax, **settings)


def threshold_case(case: Case, *, rule: str = DEFAULT_RULE, **options: Any) -> np.ndarray:
    """The threshold method on a discovered case: its CT_CBF and CT_Tmax volumes, checked.

    The maps are checked as the networks' inputs are (:mod:`isles2018.data.stack`): each must
    have the case's CT_MTT grid (the grid the mask is written on) and only finite values.

    Args:
        case: a discovered case with CT_CBF, CT_Tmax and CT_MTT.
        rule: a name in :data:`RULES`.
        **options: keyword arguments of :func:`threshold_core` (they override the rule's).

    Returns:
        ``(X, Y, Z)`` uint8 core mask on the case's grid (write it with
        :func:`isles2018.data.io.write_prediction`).

    Raises:
        DataError: a missing or unreadable file, a map on another grid, or a map with NaN/inf
            values (one line naming the case and the file).
        ConfigError: an unknown rule.
    """
    settings = _rule_options(rule, options)
    shape = header_shape(case.path(Modality.MTT))[:3]
    cbf = _checked(case, read_volume(case.path(Modality.CBF)), shape)
    tmax = _checked(case, read_volume(case.path(Modality.TMAX)), shape)
    return threshold_core(cbf, tmax, **settings)
