"""The three networks of the pipeline (paper Fig. 1): Generator, Segmentor, Discriminator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from isles2018.models.blocks import make_norm, maxout_background
from isles2018.models.unet import UNet


class Generator(nn.Module):
    """U-Net that synthesises DWI from the CTP channels (paper §2.2).

    Shapes: ``(B, C_in, H, W)`` normalised CTP maps → ``(B, 1, H, W)`` synthetic DWI in
    normalised DWI units (linear output, no activation; paper silent).
    """

    def __init__(self, in_channels: int, **unet: object):
        super().__init__()
        self.unet = UNet(in_channels, 1, **unet)  # type: ignore[arg-type]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Synthesise DWI: ``(B, C_in, H, W) → (B, 1, H, W)``."""
        return self.unet(inputs)


class Segmentor(nn.Module):
    """U-Net segmentor with a maxout or plain head (paper §2.2, Fig. 3).

    With ``head="maxout"`` the last 1×1 conv outputs 4 maps (3 background candidates + 1
    foreground) and the background logit is their maximum; with ``head="plain"`` it outputs the
    2 logits directly.

    Shapes: ``(B, C_in, H, W) → (B, 2, H, W)`` logits (channel 1 = lesion).
    """

    def __init__(self, in_channels: int, head: str = "maxout", **unet: object):
        super().__init__()
        if head not in ("maxout", "plain"):
            raise ValueError(f"head must be 'maxout' or 'plain', got {head!r}")
        self.head = head
        self.unet = UNet(in_channels, 4 if head == "maxout" else 2, **unet)  # type: ignore[arg-type]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Two-class logits ``(B, 2, H, W)`` for a ``(B, C_in, H, W)`` image."""
        maps = self.unet(image)
        return maxout_background(maps) if self.head == "maxout" else maps


class Discriminator(nn.Module):
    """LSGAN discriminator (paper §2.2): five 5×5 convolutions, stride 2, no padding.

    GroupNorm (16 channels per group) + ReLU follow the first four; the fifth gives a 1-channel
    raw score map, averaged to one score per image. No sigmoid (LSGAN). Widths are ``width``
    doubled per layer, then 1 (64, 128, 256, 512, 1 at the reference width; paper silent).

    Slice sizes: five unpadded stride-2 convs need at least ``MIN_SIZE = 125`` pixels per side
    (256 → 126 → 61 → 29 → 13 → 5). Smaller inputs are zero-padded, centred, up to 125 (zero is
    the mean of normalised DWI); larger ones are used as they are.

    Shapes: ``(B, C_in, H, W) → (B,)`` raw scores.
    """

    MIN_SIZE = 125

    def __init__(
        self, in_channels: int = 1, *, width: int = 64, norm: str = "group", channels_per_group=16
    ):
        super().__init__()
        layers: list[nn.Module] = []
        previous = in_channels
        for i in range(4):
            channels = width * 2**i
            layers += [
                nn.Conv2d(previous, channels, 5, stride=2, bias=False),
                make_norm(norm, channels, channels_per_group),
                nn.ReLU(inplace=True),
            ]
            previous = channels
        layers.append(nn.Conv2d(previous, 1, 5, stride=2))
        self.layers = nn.Sequential(*layers)

    def score_map(self, image: torch.Tensor) -> torch.Tensor:
        """The fifth layer's raw score map ``(B, 1, h, w)`` (h = 5 for 256-pixel slices)."""
        height, width = image.shape[-2:]
        pad_h, pad_w = max(0, self.MIN_SIZE - height), max(0, self.MIN_SIZE - width)
        if pad_h or pad_w:
            image = F.pad(image, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return self.layers(image)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """One raw LSGAN score per image: ``(B, C_in, H, W) → (B,)`` (global average pool)."""
        return self.score_map(image).mean(dim=(1, 2, 3))
