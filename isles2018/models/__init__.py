"""Networks: U-Net generator and segmentor, LSGAN discriminator (paper §2.2)."""

from __future__ import annotations

from isles2018.models.attention import SelfAttention
from isles2018.models.blocks import DoubleConv, group_count, make_norm, maxout_background
from isles2018.models.networks import Discriminator, Generator, Segmentor
from isles2018.models.pipeline import (
    LESION_THRESHOLD,
    Models,
    build_models,
    predict_probability,
    predict_slices,
    run_pipeline,
    unwrap,
)
from isles2018.models.unet import UNet

__all__ = [
    "LESION_THRESHOLD",
    "Discriminator",
    "DoubleConv",
    "Generator",
    "Models",
    "Segmentor",
    "SelfAttention",
    "UNet",
    "build_models",
    "group_count",
    "make_norm",
    "maxout_background",
    "predict_probability",
    "predict_slices",
    "run_pipeline",
    "unwrap",
]
