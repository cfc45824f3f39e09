"""On-the-fly augmentation of training batches (paper §2.1: scaling, flipping, rotation,
translation), applied identically to the input channels, the DWI and the lesion mask.

One random affine transform per slice, drawn from an explicit ``torch.Generator`` on the CPU (so
a seed gives the same transforms on any device) and applied to the batch tensors on their device
with a single ``grid_sample`` per tensor kind. Ranges are ours (paper silent): see
:class:`isles2018.config.AugmentConfig`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from isles2018.config import AugmentConfig


def random_affines(
    batch: int, height: int, width: int, config: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Draw one sampling transform per slice for :func:`torch.nn.functional.affine_grid`.

    Maps output to input coordinates in ``[-1, 1]`` units, correcting for non-square slices so
    rotations stay rigid in pixel space. The flip mirrors the height axis (the array's x axis,
    left–right in ISLES volumes).

    Returns:
        ``(B, 2, 3)`` float32 on the CPU.
    """

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(batch, generator=generator)

    scale = uniform(*config.scale_range)
    angle = uniform(-config.rotation_deg, config.rotation_deg) * (math.pi / 180)
    shift = uniform(-1, 1), uniform(-1, 1)
    flip = torch.rand(batch, generator=generator) < config.flip_probability
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    aspect = height / width
    sign = torch.where(flip, -1.0, 1.0)  # applied to the output's height coordinate
    theta = torch.zeros(batch, 2, 3)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin * aspect * sign
    theta[:, 1, 0] = sin / aspect
    theta[:, 1, 1] = cos * sign
    theta[:, 0, 2] = 2 * config.translation_fraction * shift[0]
    theta[:, 1, 2] = 2 * config.translation_fraction * shift[1]
    return theta


def augment_batch(
    inputs: torch.Tensor,
    dwi: torch.Tensor | None,
    label: torch.Tensor,
    config: AugmentConfig,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Apply one random affine per slice to inputs, DWI and mask alike.

    Images are resampled bilinearly with border replication (the slice edge is background);
    the mask is resampled bilinearly and thresholded at 0.5, with zeros outside.

    Args:
        inputs: ``(B, C, H, W)`` normalised input channels.
        dwi: ``(B, 1, H, W)`` normalised MR_DWI, or None.
        label: ``(B, H, W)`` integer lesion mask.
        config: ranges; with ``enabled=False`` the batch is returned unchanged.
        generator: CPU generator that draws the transforms.

    Returns:
        ``(inputs, dwi, label)`` with the same shapes, dtypes and devices.
    """
    if not config.enabled:
        return inputs, dwi, label
    batch, _, height, width = inputs.shape
    theta = random_affines(batch, height, width, config, generator).to(inputs.device)
    grid = F.affine_grid(theta, [batch, 1, height, width], align_corners=False)
    images = inputs if dwi is None else torch.cat([inputs, dwi.to(inputs.dtype)], dim=1)
    images = F.grid_sample(
        images, grid.to(images.dtype), mode="bilinear", padding_mode="border", align_corners=False
    )
    mask = F.grid_sample(
        label[:, None].float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    label_out = (mask[:, 0] > 0.5).to(label.dtype)
    channels = inputs.shape[1]
    dwi_out = None if dwi is None else images[:, channels:].to(dwi.dtype)
    return images[:, :channels], dwi_out, label_out
