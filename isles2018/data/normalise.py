"""Per-channel intensity normalisation with statistics from the training fold only.

Paper §2.1: the stacked channels are "normalize[d] in the training process"; the method is ours:
a z-score per channel over every voxel of the training fold's slices (optionally after clipping
to percentiles), stored in the checkpoint and reused unchanged at validation and inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from isles2018.data.modalities import INPUT_CHANNELS, Modality

_MIN_STD = 1e-6
_PERCENTILE_SAMPLE = 1_000_000  # voxels per channel used to estimate percentiles


class _Arrays(Protocol):  # the fields of data.stack.CaseArrays used here
    case_id: str
    inputs: np.ndarray
    dwi: np.ndarray | None


def select_channels(arrays: _Arrays, channels: Sequence[str]) -> np.ndarray:
    """Stack the requested channels of one case, unnormalised.

    Args:
        arrays: a loaded case (``inputs`` ``(S, 5, H, W)`` in :data:`INPUT_CHANNELS` order,
            ``dwi`` ``(S, H, W)`` or None).
        channels: ISLES tokens, e.g. ``("CT_MTT", "CT_Tmax")`` or ``("MR_DWI",)``;
            ``CT_4DPWI`` means PWI_max.

    Returns:
        ``(S, len(channels), H, W)`` float32.

    Raises:
        ValueError: ``MR_DWI`` requested but the case was loaded without it.
    """
    planes = []
    for token in channels:
        modality = Modality(token)
        if modality is Modality.DWI:
            if arrays.dwi is None:
                raise ValueError(f"{arrays.case_id}: MR_DWI requested but not loaded")
            planes.append(arrays.dwi)
        else:
            planes.append(arrays.inputs[:, INPUT_CHANNELS.index(modality)])
    return np.stack(planes, axis=1).astype(np.float32, copy=False)


@dataclass(frozen=True)
class NormStats:
    """Normalisation statistics of one training fold.

    Attributes:
        channels: input channel tokens, in network order.
        method: ``zscore`` or ``robust``.
        mean, std: per input channel, in the modality's own units (after clipping if robust).
        low, high: per-channel clip bounds (``robust``), else None.
        dwi_mean, dwi_std, dwi_low, dwi_high: the same for MR_DWI as the generator's target,
            None when the stage has no GAN.
    """

    channels: tuple[str, ...]
    method: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None
    dwi_mean: float | None = None
    dwi_std: float | None = None
    dwi_low: float | None = None
    dwi_high: float | None = None

    def normalise_inputs(self, arrays: _Arrays) -> np.ndarray:
        """``(S, C, H, W)`` float32 network input of one case (channels in ``self.channels``)."""
        stacked = select_channels(arrays, self.channels)
        shape = (1, -1, 1, 1)
        if self.low is not None and self.high is not None:
            low = np.asarray(self.low, np.float32).reshape(shape)
            stacked = np.clip(stacked, low, np.asarray(self.high, np.float32).reshape(shape))
        mean = np.asarray(self.mean, np.float32).reshape(shape)
        return (stacked - mean) / np.asarray(self.std, np.float32).reshape(shape)

    def normalise_dwi(self, dwi: np.ndarray) -> np.ndarray:
        """``(S, H, W)`` float32 normalised MR_DWI (the generator's target)."""
        if self.dwi_mean is None or self.dwi_std is None:
            raise ValueError("these statistics hold no MR_DWI statistics (stage without GAN)")
        dwi = dwi.astype(np.float32, copy=False)
        if self.dwi_low is not None and self.dwi_high is not None:
            dwi = np.clip(dwi, self.dwi_low, self.dwi_high)
        return (dwi - np.float32(self.dwi_mean)) / np.float32(self.dwi_std)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NormStats:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _channel_stats(
    values: list[np.ndarray], method: str, percentiles: tuple[float, float]
) -> tuple[float, float, float | None, float | None]:
    low = high = None
    if method == "robust":
        flat = np.concatenate([v.ravel() for v in values])
        step = max(1, flat.size // _PERCENTILE_SAMPLE)
        low, high = (float(p) for p in np.percentile(flat[::step], percentiles))
        values = [np.clip(v, low, high) for v in values]
    count = sum(v.size for v in values)
    total = sum(float(v.sum(dtype=np.float64)) for v in values)
    mean = total / count
    square = sum(float(((v.astype(np.float64) - mean) ** 2).sum()) for v in values)
    std = max((square / count) ** 0.5, _MIN_STD)
    return mean, std, low, high


def compute_stats(
    arrays: Sequence[_Arrays],
    channels: Sequence[str],
    *,
    with_dwi: bool,
    method: str = "zscore",
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> NormStats:
    """Statistics over every voxel of the given (training-fold) cases.

    Args:
        arrays: the training fold's loaded cases, never validation cases.
        channels: input channel tokens.
        with_dwi: also compute MR_DWI statistics (GAN stages).
        method: ``zscore`` or ``robust`` (percentile clip first).
        percentiles: clip range of ``robust``, in percent.

    Raises:
        ValueError: no cases, or MR_DWI needed but missing.
    """
    if not arrays:
        raise ValueError("normalisation statistics need at least one training case")
    stacked = [select_channels(a, channels) for a in arrays]
    per_channel = [
        _channel_stats([s[:, c] for s in stacked], method, percentiles)
        for c in range(len(channels))
    ]
    mean, std, low, high = zip(*per_channel, strict=True)
    robust = method == "robust"
    dwi: tuple[Any, ...] = (None, None, None, None)
    if with_dwi:
        missing = [a.case_id for a in arrays if a.dwi is None]
        if missing:
            raise ValueError(f"MR_DWI statistics need MR_DWI; missing in {', '.join(missing)}")
        dwi = _channel_stats([a.dwi for a in arrays], method, percentiles)  # type: ignore[misc]
    return NormStats(
        channels=tuple(channels),
        method=method,
        mean=tuple(mean),
        std=tuple(std),
        low=tuple(low) if robust else None,
        high=tuple(high) if robust else None,
        dwi_mean=dwi[0],
        dwi_std=dwi[1],
        dwi_low=dwi[2],
        dwi_high=dwi[3],
    )
