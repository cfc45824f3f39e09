"""U-Net backbone (Ronneberger 2015) shared by the generator and the segmentor (paper Fig. 4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from isles2018.models.attention import SelfAttention
from isles2018.models.blocks import DoubleConv


class UNet(nn.Module):
    """Encoder of double 3×3 convs with 2×2 max pooling, decoder with 2×2 up-convolutions and
    skip concatenation, and a final 1×1 convolution.

    Level ``i`` has ``width * 2**i`` channels, ``i = 0..depth``; the reference U-Net is width 64,
    depth 4 (five resolution levels).

    Self-attention (optional, ``attention_levels``): a :class:`SelfAttention` block follows the
    encoder's double conv at each listed level, so both the skip connection and the next level
    see its output; at level ``depth`` (the bottleneck) it comes before the first up-convolution.
    Its gate starts at 0: an untrained U-Net with attention computes what the plain one does.
    The blocks are created after every other layer, so the same seed gives the other layers the
    same initial weights as the plain U-Net.

    Slice sizes: any ``H, W >= 1`` are accepted. When a size is not divisible by ``2**depth``
    the input is zero-padded at the bottom/right up to the next multiple and the output cropped
    back, so the output always has the input's ``H, W`` (zero is the training-fold mean after
    normalisation). ISLES slices (256) need no padding.

    Shapes: ``(B, in_channels, H, W) → (B, out_channels, H, W)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        width: int = 64,
        depth: int = 4,
        norm: str = "group",
        channels_per_group: int = 16,
        attention_levels: tuple[int, ...] = (),
    ):
        super().__init__()
        if any(not 0 <= level <= depth for level in attention_levels):
            raise ValueError(f"attention levels must be in 0..{depth}, got {attention_levels}")
        self.depth = depth
        widths = [width * 2**i for i in range(depth + 1)]
        self.encoder = nn.ModuleList()
        previous = in_channels
        for level_width in widths:
            self.encoder.append(DoubleConv(previous, level_width, norm, channels_per_group))
            previous = level_width
        self.upsample = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level_width in reversed(widths[:-1]):
            self.upsample.append(nn.ConvTranspose2d(previous, level_width, 2, stride=2))
            self.decoder.append(DoubleConv(2 * level_width, level_width, norm, channels_per_group))
            previous = level_width
        self.head = nn.Conv2d(previous, out_channels, 1)
        self.attention = nn.ModuleDict(
            {str(level): SelfAttention(widths[level]) for level in sorted(set(attention_levels))}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, C_in, H, W)`` to ``(B, C_out, H, W)``."""
        height, width = x.shape[-2:]
        multiple = 2**self.depth
        pad_h, pad_w = -height % multiple, -width % multiple
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h))
        skips = []
        for level, block in enumerate(self.encoder):
            if level:
                x = F.max_pool2d(x, 2)
            x = block(x)
            if str(level) in self.attention:
                x = self.attention[str(level)](x)
            skips.append(x)
        skips.pop()
        for upsample, block in zip(self.upsample, self.decoder, strict=True):
            x = block(torch.cat([skips.pop(), upsample(x)], dim=1))
        x = self.head(x)
        return x[..., :height, :width] if (pad_h or pad_w) else x
