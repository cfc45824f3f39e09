"""One device batch through one checkpoint: normalisation, TTA flips, autocast, compilation.

:class:`~isles2018.inference.batching.SliceBatcher` calls these for every batch and member;
:func:`compile_members` is what ``Predictor(compile=...)`` does to the members once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

from isles2018.config import COMPILE_MODES
from isles2018.data.normalise import NormStats
from isles2018.errors import ConfigError
from isles2018.models import run_pipeline
from isles2018.models.compilation import compile_models

if TYPE_CHECKING:
    from isles2018.inference.ensemble import Member


def compile_members(
    members: Sequence[Member],
    mode: str,
    device: torch.device,
    *,
    channels_last: bool,
    log: Callable[[str], object] = print,
) -> bool:
    """``torch.compile`` every member's networks in place (``mode`` as ``runtime.compile``).

    The weights are made NHWC first when ``channels_last``, so the graphs see the layout they
    will run with. Where the compiler is unavailable, ``log`` gets one line and the members stay
    eager.

    Returns:
        Whether the members now run compiled.

    Raises:
        ConfigError: ``mode`` is not one of ``COMPILE_MODES``.
    """
    if mode not in COMPILE_MODES:
        raise ConfigError(f"compile must be one of {', '.join(COMPILE_MODES)}, got {mode!r}")
    compiled = False
    for member in members if mode != "off" else []:
        if channels_last:
            member.models.to(device, channels_last=True)
        plain = member.models
        member.models = compile_models(plain, mode, device, log=log)
        compiled = member.models is not plain
    return compiled


def flips(tta: bool) -> list[tuple[int, ...]]:
    # Slices are (B, C, H, W); flipping H mirrors x, flipping W mirrors y. All four flips form a
    # group, so the TTA average is exactly equivariant to mirroring the input.
    return [(), (-2,), (-1,), (-2, -1)] if tta else [()]


@torch.no_grad()
def member_forward(
    member: Member, inputs: torch.Tensor, flips: list[tuple[int, ...]], amp: torch.dtype | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    probability = torch.zeros(inputs.shape[0], *inputs.shape[2:], device=inputs.device)
    dwi = None
    for dims in flips:
        view = inputs.flip(dims) if dims else inputs
        with torch.autocast(inputs.device.type, dtype=amp or torch.float32, enabled=bool(amp)):
            lesion, synthetic = run_pipeline(member.models, view)
        probability += lesion.flip(dims) if dims else lesion  # negative dims: same axes
        if synthetic is not None and not dims:
            dwi = synthetic[:, 0].float()
    return probability / len(flips), dwi


def normalise(stats: NormStats, raw: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` float32 network input from unnormalised channels, on their device.

    The float32 arithmetic of :meth:`NormStats.normalise_inputs`, so the results are equal.
    """

    def channel(values: Sequence[float]) -> torch.Tensor:
        return _channel(tuple(values), raw.device)

    if stats.low is not None and stats.high is not None:
        raw = torch.clamp(raw, channel(stats.low), channel(stats.high))
    return (raw - channel(stats.mean)) / channel(stats.std)


@functools.lru_cache(maxsize=256)
def _channel(values: tuple[float, ...], device: torch.device) -> torch.Tensor:
    # Cached: a fresh host-to-device copy per batch would wait for the GPU's queue to drain.
    return torch.tensor(values, dtype=torch.float32, device=device).reshape(1, -1, 1, 1)
