"""Loss functions of the paper, §2.3, eq. 1–6.

Every loss is computed in float32 (inputs are cast), so they are safe under bf16 autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from isles2018.config import LossConfig


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
    probabilities: torch.Tensor, reference: torch.Tensor, epsilon: float = 1e-6
) -> torch.Tensor:
    """Generalised Dice score (Sudre et al. 2017) over all classes, pooled over the batch.

    ``GDS = 2 Σ_l w_l Σ_n r_ln p_ln / Σ_l w_l Σ_n (r_ln + p_ln)`` with ``w_l = 1 / (Σ_n r_ln)²``.
    A class absent from the reference (an empty lesion mask) would get an infinite weight; as in
    NiftyNet's implementation it gets the largest weight of the classes present instead (paper
    silent). Weights are rescaled to sum to 1 (GDS is invariant to that) so that ``epsilon``
    stays negligible next to the sums; they are constants for the gradient.

    Args:
        probabilities: ``(B, L, H, W)`` softmax probabilities.
        reference: ``(B, H, W)`` integer class labels in ``0..L-1``.
        epsilon: added to the denominator.

    Returns:
        Scalar in ``[0, 1]``; 1 for a perfect prediction.
    """
    classes = probabilities.shape[1]
    probabilities = probabilities.float()
    one_hot = F.one_hot(reference.long(), classes).permute(0, 3, 1, 2).to(probabilities.dtype)
    dims = (0, 2, 3)
    counts = one_hot.sum(dims)
    present = counts > 0
    weights = torch.where(present, 1.0 / counts.clamp(min=1.0) ** 2, torch.zeros_like(counts))
    weights = torch.where(present, weights, weights.max())
    weights = weights / weights.sum()
    intersection = (weights * (one_hot * probabilities).sum(dims)).sum()
    total = (weights * (one_hot + probabilities).sum(dims)).sum()
    return 2.0 * intersection / (total + epsilon)


def segmentation_loss(
    logits: torch.Tensor,
    reference: torch.Tensor,
    class_weights: tuple[float, float] | None = None,
    epsilon: float = 1e-6,
) -> torch.Tensor:
    """SegLoss = CE − log(GDS) (eq. 5) on 2-class logits.

    Args:
        logits: ``(B, 2, H, W)`` segmentor output.
        reference: ``(B, H, W)`` lesion mask, 0 = background, 1 = lesion.
        class_weights: optional (background, lesion) cross-entropy weights.
        epsilon: keeps ``log`` away from 0 (finite gradients even when GDS → 0).
    """
    logits = logits.float()
    target = reference.long()
    weight = None
    if class_weights is not None:
        weight = torch.tensor(class_weights, dtype=logits.dtype, device=logits.device)
    cross_entropy = F.cross_entropy(logits, target, weight=weight)
    gds = generalised_dice_score(torch.softmax(logits, dim=1), target, epsilon)
    return cross_entropy - torch.log(gds + epsilon)


def total_loss(
    g_loss: torch.Tensor, d_loss: torch.Tensor, seg_loss: torch.Tensor, config: LossConfig
) -> torch.Tensor:
    """Loss = ω_g·GLoss + ω_d·DLoss + ω_s·SegLoss (eq. 6; 0.002 : 0.5 : 1 by default)."""
    return (
        config.weight_generator * g_loss
        + config.weight_adversarial * d_loss
        + config.weight_segmentation * seg_loss
    )
