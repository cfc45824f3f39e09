"""Building blocks shared by the networks: normalisation choice and the U-Net double conv."""

from __future__ import annotations

import torch
from torch import nn


def group_count(channels: int, channels_per_group: int = 16) -> int:
    """Number of GroupNorm groups for a layer: ``channels / channels_per_group`` (paper §3.1).

    The paper fixes 16 channels per group, so the group count changes across layers. For narrow
    test models (fewer than 16 channels, or widths not a multiple of 16) we use the largest
    divisor of ``channels`` not above ``channels // channels_per_group``, and at least one group.

    Examples:
        64 → 4, 128 → 8, 1024 → 64, 8 → 1, 40 → 2.
    """
    groups = max(1, channels // channels_per_group)
    while channels % groups:
        groups -= 1
    return groups


def make_norm(kind: str, channels: int, channels_per_group: int = 16) -> nn.Module:
    """A normalisation layer: ``group`` (GroupNorm, 16 channels per group) or ``batch``."""
    if kind == "group":
        return nn.GroupNorm(group_count(channels, channels_per_group), channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    raise ValueError(f"norm must be 'group' or 'batch', got {kind!r}")


class DoubleConv(nn.Sequential):
    """Two 3×3 convolutions, each followed by norm and ReLU (U-Net level, paper §2.2).

    Shapes: ``(B, in_channels, H, W) → (B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str, channels_per_group: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels, channels_per_group),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels, channels_per_group),
            nn.ReLU(inplace=True),
        )


def maxout_background(maps: torch.Tensor) -> torch.Tensor:
    """Maxout head (paper §2.2, Fig. 3): 3 background maps + 1 foreground → 2-class logits.

    Args:
        maps: ``(B, 4, H, W)``; channels 0–2 are background candidates, channel 3 foreground.

    Returns:
        ``(B, 2, H, W)`` logits: channel 0 = max of the three background maps, 1 = foreground.
    """
    if maps.shape[1] != 4:
        raise ValueError(f"maxout expects 4 channels, got {maps.shape[1]}")
    background = maps[:, :3].amax(dim=1, keepdim=True)
    return torch.cat([background, maps[:, 3:]], dim=1)
