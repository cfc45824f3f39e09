"""Loss functions of the paper, §2.3, eq. 1–6, and the CE class weights of a training fold.

Every loss is computed in float32 (inputs are cast), so they are safe under bf16 autocast.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from isles2018.config import INVERSE_FREQUENCY, LossConfig


def generator_loss(synthetic: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """GLoss = MSE(synthetic DWI, real DWI) (eq. 1), in normalised DWI units.

    Args:
        synthetic: ``(B, 1, H, W)`` generator output.
        real: ``(B, 1, H, W)`` normalised MR_DWI.
    """
    return F.mse_loss(synthetic.float(), real.float())


def discriminator_loss(score_fake: torch.Tensor, score_real: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss: MSE(D(fake), 0) + MSE(D(real), 1) (eq. 2).

    Args:
        score_fake: ``(B,)`` raw scores of synthetic DWI (computed from a detached fake).
        score_real: ``(B,)`` raw scores of real DWI.
    """
    fake, real = score_fake.float(), score_real.float()
    return F.mse_loss(fake, torch.zeros_like(fake)) + F.mse_loss(real, torch.ones_like(real))


def adversarial_loss(score_fake: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss: MSE(D(fake), 1) (eq. 3).

    Args:
        score_fake: ``(B,)`` raw scores of synthetic DWI from the (frozen) discriminator.
    """
    fake = score_fake.float()
    return F.mse_loss(fake, torch.ones_like(fake))


def generalised_dice_score(
    probabilities: torch.Tensor,
    reference: torch.Tensor,
    epsilon: float = 1e-6,
    reduction: str = "batch",
) -> torch.Tensor:
    """Generalised Dice score (Sudre et al. 2017) over all classes.

    ``GDS = 2 Σ_l w_l Σ_n r_ln p_ln / Σ_l w_l Σ_n (r_ln + p_ln)`` with ``w_l = 1 / (Σ_n r_ln)²``.
    With ``reduction="batch"`` the sums over ``n`` run over every voxel of the batch and the
    weights come from the whole batch; with ``"image"`` each image gets its own weights and
    score, and the result is the mean of the images' scores (paper: silent; Sudre 2017 allows
    both readings).

    A class absent from the reference (an empty lesion mask) would get an infinite weight; as in
    NiftyNet's implementation it gets the largest weight of the classes present instead (paper
    silent). So a reference without lesion scores the **mean background probability** (1 for a
    prediction of all background): the whole batch under ``"batch"`` when no image of it has a
    lesion, that image under ``"image"`` (a lesion-free slice still counts, equally with the
    others). Weights are rescaled to sum to 1 (GDS is invariant to that) so that ``epsilon``
    stays negligible next to the sums; they are constants for the gradient.

    Args:
        probabilities: ``(B, L, H, W)`` softmax probabilities.
        reference: ``(B, H, W)`` integer class labels in ``0..L-1``.
        epsilon: added to each denominator.
        reduction: ``batch`` or ``image``.

    Returns:
        Scalar in ``[0, 1]``; 1 for a perfect prediction.
    """
    if reduction not in ("batch", "image"):
        raise ValueError(f"reduction must be 'batch' or 'image', got {reduction!r}")
    classes = probabilities.shape[1]
    probabilities = probabilities.float()
    one_hot = F.one_hot(reference.long(), classes).permute(0, 3, 1, 2).to(probabilities.dtype)
    # (B, L) sums per image and class; "batch" pools them into one row first.
    counts = one_hot.sum((2, 3))
    overlap = (one_hot * probabilities).sum((2, 3))
    volume = (one_hot + probabilities).sum((2, 3))
    if reduction == "batch":
        counts, overlap, volume = (t.sum(0, keepdim=True) for t in (counts, overlap, volume))
    present = counts > 0
    weights = torch.where(present, 1.0 / counts.clamp(min=1.0) ** 2, torch.zeros_like(counts))
    weights = torch.where(present, weights, weights.amax(dim=1, keepdim=True))
    weights = weights / weights.sum(dim=1, keepdim=True)
    intersection = (weights * overlap).sum(dim=1)
    total = (weights * volume).sum(dim=1)
    return (2.0 * intersection / (total + epsilon)).mean()


def segmentation_loss(
    logits: torch.Tensor,
    reference: torch.Tensor,
    class_weights: tuple[float, float] | str | None = None,
    epsilon: float = 1e-6,
    reduction: str = "batch",
) -> torch.Tensor:
    """SegLoss = CE − log(GDS) (eq. 5) on 2-class logits.

    Args:
        logits: ``(B, 2, H, W)`` segmentor output.
        reference: ``(B, H, W)`` lesion mask, 0 = background, 1 = lesion.
        class_weights: optional (background, lesion) cross-entropy weights (the CE is then the
            weighted mean ``Σ w_y·ce / Σ w_y``, so only their ratio matters).
        epsilon: keeps ``log`` away from 0 (finite gradients even when GDS → 0).
        reduction: the GDS's ``batch`` or ``image`` reduction (:func:`generalised_dice_score`).

    Raises:
        ValueError: ``class_weights`` is ``"inverse-frequency"``, which needs the training fold
            (:func:`fold_class_weights` turns it into numbers).
    """
    if isinstance(class_weights, str):
        raise ValueError(
            f"CE class weights {class_weights!r} must be computed from the training fold first "
            "(isles2018.training.losses.fold_class_weights)"
        )
    logits = logits.float()
    target = reference.long()
    weight = None
    if class_weights is not None:
        weight = torch.tensor(class_weights, dtype=logits.dtype, device=logits.device)
    cross_entropy = F.cross_entropy(logits, target, weight=weight)
    gds = generalised_dice_score(torch.softmax(logits, dim=1), target, epsilon, reduction)
    return cross_entropy - torch.log(gds + epsilon)


def label_voxel_counts(labels: Iterable[np.ndarray]) -> tuple[int, int]:
    """(background, lesion) voxel counts of ``{0, 1}`` label arrays of any shape."""
    background = lesion = 0
    for label in labels:
        found = int(np.count_nonzero(label))
        lesion += found
        background += int(np.size(label)) - found
    return background, lesion


def inverse_frequency_weights(
    background_voxels: int, lesion_voxels: int, max_weight: float = 100.0
) -> tuple[float, float]:
    """CE class weights inverse to the class frequencies (the abstract's weighted CE; ours).

    The weights ``N / n_class`` are normalised so that background gets 1, which leaves the
    lesion ``n_background / n_lesion``; that is clipped to ``[1, max_weight]`` (the lesion is
    never weighted below the background, and a fold with no or very few lesion voxels gets
    ``max_weight``).

    Examples:
        (900, 100) → (1.0, 9.0); (1000, 0) → (1.0, max_weight); (10, 90) → (1.0, 1.0).
    """
    if background_voxels < 0 or lesion_voxels < 0:
        raise ValueError(f"voxel counts must be >= 0, got {background_voxels, lesion_voxels}")
    ratio = background_voxels / lesion_voxels if lesion_voxels else float("inf")
    return 1.0, float(min(max(ratio, 1.0), max_weight))


def fold_class_weights(config: LossConfig, labels: Iterable[np.ndarray]) -> tuple[float, float]:
    """The (background, lesion) CE weights a training fold uses.

    Args:
        config: the loss section; ``ce_class_weights`` is a pair (returned as it is, ``labels``
            unread) or ``"inverse-frequency"``.
        labels: the training fold's ground-truth arrays (every slice of every training case).
    """
    if config.ce_class_weights != INVERSE_FREQUENCY:
        background, lesion = config.ce_class_weights
        return float(background), float(lesion)
    return inverse_frequency_weights(*label_voxel_counts(labels), config.ce_max_weight)


def total_loss(
    g_loss: torch.Tensor, d_loss: torch.Tensor, seg_loss: torch.Tensor, config: LossConfig
) -> torch.Tensor:
    """Loss = ω_g·GLoss + ω_d·DLoss + ω_s·SegLoss (eq. 6; 0.002 : 0.5 : 1 by default)."""
    return (
        config.weight_generator * g_loss
        + config.weight_adversarial * d_loss
        + config.weight_segmentation * seg_loss
    )
