"""The networks of one configuration, built together and run in the paper's order (Fig. 1)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from isles2018.config import Config
from isles2018.models.networks import Discriminator, Generator, Segmentor

NETWORK_NAMES = ("generator", "discriminator", "segmentor")


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DistributedDataParallel wrapper (or the module itself)."""
    return getattr(module, "module", module)


@dataclass
class Models:
    """The networks of one stage; ``generator`` and ``discriminator`` are None without a GAN.

    Attributes may hold DistributedDataParallel wrappers during distributed training;
    :meth:`state_dict` always stores the bare networks' parameters.
    """

    segmentor: nn.Module
    generator: nn.Module | None = None
    discriminator: nn.Module | None = None
    segmentor_sees_inputs: bool = False

    def networks(self) -> dict[str, nn.Module]:
        """The networks present, by name, in a fixed order."""
        found = {name: getattr(self, name) for name in NETWORK_NAMES}
        return {name: module for name, module in found.items() if module is not None}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """All parameters and buffers, keyed ``<network>.<parameter>`` (DDP unwrapped)."""
        tensors = {}
        for name, module in self.networks().items():
            for key, value in unwrap(module).state_dict().items():
                tensors[f"{name}.{key}"] = value
        return tensors

    def load_state_dict(self, tensors: dict[str, torch.Tensor]) -> None:
        """Load tensors saved by :meth:`state_dict` (strict: every key must match).

        Raises:
            KeyError: missing or unexpected keys.
        """
        networks = self.networks()
        unknown = {key.split(".", 1)[0] for key in tensors} - set(networks)
        if unknown:
            raise KeyError(f"tensors for networks this config does not have: {sorted(unknown)}")
        for name, module in networks.items():
            prefix = f"{name}."
            own = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            unwrap(module).load_state_dict(own, strict=True)

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> Models:
        """Move every network to ``device`` (NHWC memory layout if ``channels_last``)."""
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        for module in self.networks().values():
            module.to(device=device, memory_format=memory_format)
        return self

    def train(self, mode: bool = True) -> Models:
        """Set every network's training mode."""
        for module in self.networks().values():
            module.train(mode)
        return self

    def eval(self) -> Models:
        """Set every network to evaluation mode."""
        return self.train(False)

    def wrapped(self, wrap) -> Models:  # type: ignore[no-untyped-def]
        """A copy whose networks are ``wrap(network)`` (e.g. DistributedDataParallel)."""
        return replace(self, **{name: wrap(m) for name, m in self.networks().items()})

    def segmentor_input(self, inputs: torch.Tensor, synthetic: torch.Tensor | None) -> torch.Tensor:
        """What the segmentor reads: the synthetic DWI (GAN stages) or the inputs themselves.

        Args:
            inputs: ``(B, C, H, W)`` normalised input channels.
            synthetic: ``(B, 1, H, W)`` generator output, or None without a generator.
        """
        if synthetic is None:
            return inputs
        if self.segmentor_sees_inputs:
            return torch.cat([synthetic, inputs.to(synthetic.dtype)], dim=1)
        return synthetic


def build_models(config: Config) -> Models:
    """Build the networks of a configuration (weights freshly initialised by torch's RNG).

    Stages with ``pipeline.adversarial`` get a Generator (C_in → 1), a Discriminator (1 → score)
    and a Segmentor reading the synthetic DWI; other stages get a Segmentor reading the inputs.
    With ``model.attention = "self"`` both U-Nets (never the discriminator) get self-attention
    blocks at ``model.attention_levels``; without it the networks, and their parameter names,
    are those of every earlier checkpoint.
    """
    model = config.model
    unet = {
        "width": model.width,
        "depth": model.depth,
        "norm": model.norm,
        "channels_per_group": model.channels_per_group,
        "attention_levels": model.resolved_attention_levels,
    }
    channels = len(config.pipeline.inputs)
    if not config.pipeline.adversarial:
        return Models(segmentor=Segmentor(channels, head=model.head, **unet))
    sees_inputs = config.pipeline.segmentor_sees_inputs
    return Models(
        generator=Generator(channels, **unet),
        # The discriminator always uses GroupNorm (paper §2.2); `norm` concerns the U-Nets.
        discriminator=Discriminator(
            1, width=model.discriminator_width, channels_per_group=model.channels_per_group
        ),
        segmentor=Segmentor(1 + channels * sees_inputs, head=model.head, **unet),
        segmentor_sees_inputs=sees_inputs,
    )


#: Lesion where the probability is at least this (paper: 2-class softmax, argmax).
LESION_THRESHOLD = 0.5


@torch.no_grad()
def run_pipeline(models: Models, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The inference path of Fig. 1: generator (if any), segmentor, 2-class softmax.

    The caller sets eval mode, device and autocast.

    Args:
        inputs: ``(B, C, H, W)`` normalised input channels.

    Returns:
        ``(B, H, W)`` float32 lesion probabilities and the ``(B, 1, H, W)`` synthetic DWI
        (normalised units), or None without a generator.
    """
    synthetic = models.generator(inputs) if models.generator is not None else None
    logits = models.segmentor(models.segmentor_input(inputs, synthetic))
    return torch.softmax(logits.float(), dim=1)[:, 1], synthetic


def predict_probability(models: Models, inputs: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` lesion probability of ``(B, C, H, W)`` normalised slices (see run_pipeline)."""
    return run_pipeline(models, inputs)[0]


@torch.no_grad()
def predict_slices(
    models: Models,
    inputs: np.ndarray,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 8,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
) -> np.ndarray:
    """Lesion probability of every slice of one case, in batches.

    Args:
        inputs: ``(S, C, H, W)`` normalised input channels (see ``NormStats.normalise_inputs``).
        device: where the networks are.
        batch_size: slices per forward pass.
        amp_dtype: autocast dtype (e.g. ``torch.bfloat16``) or None for fp32.
        channels_last: feed NHWC tensors.

    Returns:
        ``(S, H, W)`` float32 probabilities of the lesion class (a mask is ``>= LESION_THRESHOLD``).
    """
    device = torch.device(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    out = []
    for start in range(0, inputs.shape[0], batch_size):
        chunk = torch.from_numpy(np.ascontiguousarray(inputs[start : start + batch_size]))
        chunk = chunk.to(device).contiguous(memory_format=memory_format)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=bool(amp_dtype)):
            out.append(predict_probability(models, chunk).cpu().numpy())
    return np.concatenate(out).astype(np.float32, copy=False)
