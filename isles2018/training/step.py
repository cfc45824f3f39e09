"""One training iteration of the paper (§3.1), one epoch, and validation Dice.

Each iteration alternates (1) a discriminator step on eq. 2 and (2) one joint step of generator
and segmentor on eq. 6 with the discriminator frozen; both with RMSprop (lr 1e-4, α 0.9).
Stages without a GAN take a segmentor-only step on eq. 5. The fold loop (checkpoints, resume,
logs) is in :mod:`isles2018.training.run`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from isles2018.config import Config, LossConfig, OptimConfig, RuntimeConfig
from isles2018.data.augment import augment_batch
from isles2018.data.dataset import Batch, SliceDataset
from isles2018.data.normalise import NormStats
from isles2018.models import LESION_THRESHOLD, Models, predict_slices, unwrap
from isles2018.training.distributed import DistributedContext
from isles2018.training.losses import (
    adversarial_loss,
    discriminator_loss,
    generator_loss,
    segmentation_loss,
    total_loss,
)


@dataclass
class Optimisers:
    """RMSprop for generator + segmentor together, and for the discriminator (paper §3.1).

    Without a GAN ``generator_segmentor`` holds the segmentor alone and ``discriminator`` is None.
    """

    generator_segmentor: torch.optim.Optimizer
    discriminator: torch.optim.Optimizer | None = None

    def named(self) -> dict[str, torch.optim.Optimizer]:
        """The optimisers present, by name (checkpoint keys)."""
        found = {"generator_segmentor": self.generator_segmentor}
        if self.discriminator is not None:
            found["discriminator"] = self.discriminator
        return found


def make_optimisers(models: Models, config: OptimConfig) -> Optimisers:
    """RMSprop(lr, alpha) over G+S parameters and, separately, over D's.

    Multi-tensor (``foreach``) updates: a few kernels per step instead of a few per parameter
    (torch's RMSprop has no fused kernel). Same arithmetic as the per-parameter loop.
    """

    def rmsprop(*modules: torch.nn.Module | None) -> torch.optim.Optimizer:
        params = [p for m in modules if m is not None for p in m.parameters()]
        return torch.optim.RMSprop(params, lr=config.lr, alpha=config.alpha, foreach=True)

    discriminator = None if models.discriminator is None else rmsprop(models.discriminator)
    return Optimisers(rmsprop(models.generator, models.segmentor), discriminator)


def learning_rate(epoch: int, config: OptimConfig) -> float:
    """Learning rate of a 0-based epoch: ``lr`` times ``lr_factor`` per milestone reached.

    Defaults: 1e-4, halved from epochs 100, 300 and 500 on (paper §3.1). A pure function of the
    epoch, so resuming needs no scheduler state.
    """
    reached = sum(epoch >= milestone for milestone in config.lr_milestones_epochs)
    return config.lr * config.lr_factor**reached


def amp_dtype(config: RuntimeConfig, device: torch.device) -> torch.dtype | None:
    """bf16 autocast on CUDA for ``amp=auto``, on any device for ``bf16``; None means fp32."""
    if config.amp == "bf16" or (config.amp == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return None


def _autocast(batch: Batch, dtype: torch.dtype | None) -> torch.autocast:
    device_type = batch.inputs.device.type
    return torch.autocast(device_type, dtype=dtype or torch.float32, enabled=dtype is not None)


def train_step(
    models: Models,
    optimisers: Optimisers,
    batch: Batch,
    config: LossConfig,
    *,
    amp: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """One iteration: discriminator step (eq. 2), then generator + segmentor step (eq. 6).

    The synthetic DWI is computed once: detached for the discriminator step, with its graph for
    the joint step. The discriminator is frozen (``requires_grad=False``) during the joint step,
    so eq. 3's gradient reaches the generator but no discriminator parameter. Stages without a
    generator take :func:`segmentor_step`.

    Args:
        models: networks in training mode (possibly DDP-wrapped).
        optimisers: from :func:`make_optimisers`.
        batch: inputs ``(B, C, H, W)``, real DWI ``(B, 1, H, W)``, mask ``(B, H, W)``.
        config: loss weights ω_g, ω_d, ω_s and CE class weights.
        amp: autocast dtype (``torch.bfloat16``) or None for fp32.

    Returns:
        Detached scalar losses: ``d_loss`` (eq. 2), ``g_loss`` (eq. 1), ``adv_loss`` (eq. 3),
        ``seg_loss`` (eq. 5) and ``loss`` (eq. 6).
    """
    if models.generator is None:
        return segmentor_step(models, optimisers, batch, config, amp=amp)
    assert models.discriminator is not None and optimisers.discriminator is not None
    if batch.dwi is None:
        raise ValueError("a GAN step needs the real MR_DWI of the batch")
    with _autocast(batch, amp):
        synthetic = models.generator(batch.inputs)
        # Real and fake in one pass: GroupNorm normalises per sample, so this equals two passes.
        scores = models.discriminator(torch.cat([synthetic.detach(), batch.dwi]))
        d_loss = discriminator_loss(*scores.chunk(2))
    optimisers.discriminator.zero_grad(set_to_none=True)
    d_loss.backward()
    optimisers.discriminator.step()

    frozen = unwrap(models.discriminator).requires_grad_(False)
    try:
        with _autocast(batch, amp):
            logits = models.segmentor(models.segmentor_input(batch.inputs, synthetic))
            g_loss = generator_loss(synthetic, batch.dwi)
            adv_loss = adversarial_loss(frozen(synthetic))
            seg_loss = segmentation_loss(
                logits, batch.label, config.ce_class_weights, config.epsilon, config.gds_reduction
            )
            loss = total_loss(g_loss, adv_loss, seg_loss, config)
        optimisers.generator_segmentor.zero_grad(set_to_none=True)
        loss.backward()
        optimisers.generator_segmentor.step()
    finally:
        frozen.requires_grad_(True)
    losses = {"d_loss": d_loss, "g_loss": g_loss, "adv_loss": adv_loss, "seg_loss": seg_loss}
    return {name: value.detach() for name, value in {**losses, "loss": loss}.items()}


def segmentor_step(
    models: Models,
    optimisers: Optimisers,
    batch: Batch,
    config: LossConfig,
    *,
    amp: torch.dtype | None = None,
) -> dict[str, torch.Tensor]:
    """One step of a stage without GAN (Table 1, stages 1–2): ω_s · SegLoss (eq. 5).

    Returns:
        Detached scalars ``seg_loss`` and ``loss``.
    """
    with _autocast(batch, amp):
        logits = models.segmentor(batch.inputs)
        seg_loss = segmentation_loss(
            logits, batch.label, config.ce_class_weights, config.epsilon, config.gds_reduction
        )
        loss = config.weight_segmentation * seg_loss
    optimisers.generator_segmentor.zero_grad(set_to_none=True)
    loss.backward()
    optimisers.generator_segmentor.step()
    return {"seg_loss": seg_loss.detach(), "loss": loss.detach()}


def train_epoch(
    models: Models,
    optimisers: Optimisers,
    dataset: SliceDataset,
    config: Config,
    *,
    epoch: int,
    generator: torch.Generator,
    amp: torch.dtype | None = None,
    context: DistributedContext | None = None,
    progress: bool = True,
    description: str | None = None,
    class_weights: tuple[float, float] | None = None,
) -> dict[str, float]:
    """Train one epoch over this rank's shuffled, augmented batches.

    Args:
        epoch: 0-based epoch (sets the learning rate and the shuffling).
        generator: CPU generator of the augmentation (its state is part of a checkpoint).
        context: distributed context (rank, world size); a single process if None.
        progress: show a tqdm bar with the running losses.
        description: the bar's label (default ``epoch <n>/<epochs>``).
        class_weights: the fold's CE weights (``losses.fold_class_weights``), in place of
            ``config.loss.ce_class_weights``; needed when that is ``"inverse-frequency"``.

    Returns:
        Mean of each loss over the epoch's steps (this rank), and ``lr``.
    """
    loss_config = config.loss
    if class_weights is not None:
        loss_config = replace(loss_config, ce_class_weights=tuple(class_weights))
    context = context or DistributedContext()
    lr = learning_rate(epoch, config.optim)
    for optimiser in optimisers.named().values():
        for group in optimiser.param_groups:
            group["lr"] = lr
    models.train()
    steps = dataset.steps_per_epoch(config.optim.batch_size, context.world_size)
    bar = tqdm(
        total=steps,
        desc=description or f"epoch {epoch + 1}/{config.optim.epochs}",
        leave=False,
        disable=not (progress and context.is_main),
    )
    sums: dict[str, torch.Tensor] = {}
    batches = dataset.batches(
        epoch,
        config.optim.batch_size,
        seed=config.runtime.seed,
        rank=context.rank,
        world_size=context.world_size,
        channels_last=config.runtime.channels_last,
    )
    for step, batch in enumerate(batches, start=1):
        augmented = Batch(
            *augment_batch(batch.inputs, batch.dwi, batch.label, config.augment, generator)
        )
        losses = train_step(models, optimisers, augmented, loss_config, amp=amp)
        for name, value in losses.items():
            sums[name] = sums.get(name, 0) + value
        # Losses stay on the device; the host waits for them only every 10 steps.
        if step % 10 == 0 or step == steps:
            bar.set_postfix({k: f"{float(v) / step:.4f}" for k, v in sums.items()})
        bar.update()
    bar.close()
    means = {name: float(value) / steps for name, value in sums.items()}
    return {**means, "lr": lr}


def validate(
    models: Models,
    cases: Sequence[Any],
    stats: NormStats,
    *,
    device: torch.device,
    amp: torch.dtype | None = None,
    batch_size: int = 8,
    channels_last: bool = False,
) -> dict[str, float]:
    """Per-case Dice of the full validation cases (probability ≥ 0.5 → lesion, as at inference).

    Each case is normalised with the training fold's statistics, predicted slice by slice,
    stacked back to ``(X, Y, Z)`` and scored with :func:`evaluation.metrics.compute_metrics`.

    Args:
        models: the networks; DDP wrappers are unwrapped, compiled networks
            (``runtime.compile``) are used as they are.
        cases: ``CaseArrays`` with labels.

    Returns:
        ``case_id → Dice`` (1.0 when both masks are empty, per the evaluation module).
    """
    from evaluation.metrics import compute_metrics

    was_training = unwrap(models.segmentor).training
    models.eval()
    bare = Models(
        segmentor=unwrap(models.segmentor),
        generator=None if models.generator is None else unwrap(models.generator),
        segmentor_sees_inputs=models.segmentor_sees_inputs,
    )
    dice = {}
    for case in cases:
        probability = predict_slices(
            bare,
            stats.normalise_inputs(case),
            device=device,
            batch_size=batch_size,
            amp_dtype=amp,
            channels_last=channels_last,
        )
        prediction = np.moveaxis(probability >= LESION_THRESHOLD, 0, 2)
        reference = np.moveaxis(case.label > 0, 0, 2)
        dice[case.case_id] = float(compute_metrics(reference, prediction, case.spacing_mm)["dice"])
    models.train(was_training)
    return dice
