"""Losses of §2.3 on hand-computed tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from isles2018.config import LossConfig
from isles2018.training.losses import (
    adversarial_loss,
    discriminator_loss,
    fold_class_weights,
    generalised_dice_score,
    generator_loss,
    inverse_frequency_weights,
    label_voxel_counts,
    segmentation_loss,
    total_loss,
)

REFERENCE = torch.tensor([[[1, 0], [0, 0]]])
P_LESION = torch.tensor([[[0.8, 0.2], [0.1, 0.1]]])


def probabilities() -> torch.Tensor:
    return torch.stack([1 - P_LESION, P_LESION], dim=1)  # (1, 2, 2, 2)


def test_generalised_dice_score_by_hand() -> None:
    # Weights 1/3² (background, 3 voxels) and 1/1² (lesion). Background: Σrp = 2.6,
    # Σ(r+p) = 5.8; lesion: Σrp = 0.8, Σ(r+p) = 2.2.
    expected = 2 * (2.6 / 9 + 0.8) / (5.8 / 9 + 2.2)
    assert expected == pytest.approx(0.765625)
    assert generalised_dice_score(probabilities(), REFERENCE).item() == pytest.approx(expected)


def test_segmentation_loss_is_ce_minus_log_gds_by_hand() -> None:
    logits = probabilities().log().requires_grad_()
    cross_entropy = -(2 * math.log(0.8) + 2 * math.log(0.9)) / 4
    expected = cross_entropy - math.log(0.765625)
    assert segmentation_loss(logits, REFERENCE).item() == pytest.approx(expected, rel=1e-5)


def test_class_weighted_cross_entropy() -> None:
    logits = probabilities().log()
    weighted = -(3 * math.log(0.8) + math.log(0.8) + 2 * math.log(0.9)) / (3 + 1 + 2)
    expected = weighted - math.log(0.765625)
    loss = segmentation_loss(logits, REFERENCE, class_weights=(1.0, 3.0))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_perfect_prediction_scores_one() -> None:
    reference = torch.tensor([[[1, 0, 0], [0, 1, 0]]])
    one_hot = torch.stack([1 - reference, reference], dim=1).float()
    assert generalised_dice_score(one_hot, reference).item() == pytest.approx(1.0, abs=1e-6)
    logits = 50 * (2 * one_hot - 1)  # confident and right
    assert segmentation_loss(logits, reference).item() == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("reduction", ["batch", "image"])
@pytest.mark.parametrize("scale", [1.0, 100.0])
@pytest.mark.parametrize("lesion", [False, True])
def test_finite_gradients_with_empty_masks_and_extreme_logits(
    scale: float, lesion: bool, reduction: str
) -> None:
    reference = torch.zeros(2, 8, 8, dtype=torch.long)
    if lesion:
        reference[0, 2:4, 2:4] = 1  # lesion in one slice, the other empty
    logits = scale * torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(0))
    logits.requires_grad_()
    loss = segmentation_loss(logits, reference, reduction=reduction)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_empty_mask_gds_uses_the_background_weight_for_the_lesion() -> None:
    # All background: the lesion class takes the background's weight (NiftyNet's rule), so a
    # prediction of all background scores 1 and lesion probability lowers the score.
    reference = torch.zeros(1, 2, 2, dtype=torch.long)
    clean = torch.stack([torch.ones(1, 2, 2), torch.zeros(1, 2, 2)], dim=1)
    assert generalised_dice_score(clean, reference).item() == pytest.approx(1.0, abs=1e-6)
    noisy = torch.stack([torch.full((1, 2, 2), 0.75), torch.full((1, 2, 2), 0.25)], dim=1)
    # Weights equal: 2·(3 + 0) / ((4 + 3) + (0 + 1)) = 0.75.
    assert generalised_dice_score(noisy, reference).item() == pytest.approx(0.75)


def two_images() -> tuple[torch.Tensor, torch.Tensor]:
    """Image 0 is REFERENCE / P_LESION (GDS 0.765625); image 1 has no lesion, p = 0.25."""
    reference = torch.cat([REFERENCE, torch.zeros(1, 2, 2, dtype=torch.long)])
    lesion = torch.cat([P_LESION, torch.full((1, 2, 2), 0.25)])
    return torch.stack([1 - lesion, lesion], dim=1), reference


def test_per_image_gds_is_the_mean_of_the_images_scores_by_hand() -> None:
    probabilities, reference = two_images()
    # Image 0: 0.765625 (above). Image 1, no lesion: equal weights, 2·3 / (7 + 1) = 0.75.
    image = generalised_dice_score(probabilities, reference, reduction="image")
    assert image.item() == pytest.approx((0.765625 + 0.75) / 2)
    # Pooled: background 7 voxels (Σrp = 2.6 + 3 = 5.6, Σ(r+p) = 5.8 + 7 = 12.8), lesion 1 voxel
    # (Σrp = 0.8, Σ(r+p) = 1 + 0.8 + 0.2 + 0.1 + 0.1 + 4·0.25 = 3.2); weights 1/49 and 1.
    batch = generalised_dice_score(probabilities, reference, reduction="batch")
    assert batch.item() == pytest.approx(2 * (5.6 / 49 + 0.8) / (12.8 / 49 + 3.2))
    assert generalised_dice_score(probabilities, reference).item() == batch.item()  # default


def test_per_image_and_batch_gds_agree_on_one_image() -> None:
    image = generalised_dice_score(probabilities(), REFERENCE, reduction="image")
    assert image.item() == pytest.approx(0.765625)


@pytest.mark.parametrize("reduction", ["batch", "image"])
def test_a_lesion_free_reference_scores_the_mean_background_probability(reduction: str) -> None:
    reference = torch.zeros(2, 3, 3, dtype=torch.long)
    lesion = torch.rand(2, 3, 3, generator=torch.Generator().manual_seed(1))
    probabilities = torch.stack([1 - lesion, lesion], dim=1)
    gds = generalised_dice_score(probabilities, reference, reduction=reduction)
    assert gds.item() == pytest.approx(1 - lesion.mean().item(), rel=1e-5)
    clean = torch.stack([torch.ones(2, 3, 3), torch.zeros(2, 3, 3)], dim=1)
    assert generalised_dice_score(clean, reference, reduction=reduction).item() == pytest.approx(1)


def test_unknown_gds_reduction_is_refused() -> None:
    with pytest.raises(ValueError, match="'mean'"):
        generalised_dice_score(probabilities(), REFERENCE, reduction="mean")


def test_segmentation_loss_uses_the_chosen_reduction() -> None:
    probabilities, reference = two_images()
    logits = probabilities.log()
    cross_entropy = segmentation_loss(logits, reference) + torch.log(
        generalised_dice_score(probabilities, reference) + 1e-6
    )
    image = generalised_dice_score(probabilities, reference, reduction="image")
    expected = cross_entropy - torch.log(image + 1e-6)
    loss = segmentation_loss(logits, reference, reduction="image")
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_unresolved_inverse_frequency_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="fold_class_weights"):
        segmentation_loss(probabilities().log(), REFERENCE, class_weights="inverse-frequency")


@pytest.mark.parametrize(
    ("background", "lesion", "weights"),
    [
        (900, 100, (1.0, 9.0)),  # background / lesion
        (1000, 1, (1.0, 100.0)),  # clipped at the default maximum
        (5000, 10, (1.0, 100.0)),
        (1000, 0, (1.0, 100.0)),  # no lesion in the fold: the maximum
        (10, 90, (1.0, 1.0)),  # more lesion than background: never below the background
        (0, 0, (1.0, 100.0)),
    ],
)
def test_inverse_frequency_weights(background: int, lesion: int, weights) -> None:
    assert inverse_frequency_weights(background, lesion) == weights


def test_inverse_frequency_weights_respect_the_configured_maximum() -> None:
    assert inverse_frequency_weights(900, 100, max_weight=5.0) == (1.0, 5.0)
    with pytest.raises(ValueError, match=">= 0"):
        inverse_frequency_weights(-1, 3)


def test_fold_class_weights_from_the_training_labels() -> None:
    labels = [np.zeros((2, 4, 4), np.uint8), np.zeros((1, 4, 4), np.uint8)]
    labels[0][0, :2, :2] = 1  # 4 lesion voxels of 48
    assert label_voxel_counts(labels) == (44, 4)
    config = LossConfig(ce_class_weights="inverse-frequency")
    assert fold_class_weights(config, labels) == (1.0, 11.0)
    assert fold_class_weights(
        LossConfig(ce_class_weights="inverse-frequency", ce_max_weight=3), labels
    ) == (1.0, 3.0)


def test_explicit_class_weights_are_used_as_they_are_and_labels_are_not_read() -> None:
    def unread():
        raise AssertionError("labels read")
        yield

    assert fold_class_weights(LossConfig(), unread()) == (1.0, 1.0)
    assert fold_class_weights(LossConfig(ce_class_weights=(0.5, 2.0)), unread()) == (0.5, 2.0)


def test_lsgan_losses_by_hand() -> None:
    fake, real = torch.tensor([0.5, -0.5]), torch.tensor([1.0, 0.0])
    # eq. 2: mean(0.25, 0.25) + mean(0, 1)
    assert discriminator_loss(fake, real).item() == pytest.approx(0.75)
    # eq. 3: mean(0.25, 2.25)
    assert adversarial_loss(fake).item() == pytest.approx(1.25)


def test_generator_loss_is_mse() -> None:
    synthetic = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    real = torch.tensor([[[[1.0, 0.0], [3.0, 6.0]]]])
    assert generator_loss(synthetic, real).item() == pytest.approx((4 + 4) / 4)


def test_total_loss_uses_the_paper_weights() -> None:
    config = LossConfig()
    assert (config.weight_generator, config.weight_adversarial, config.weight_segmentation) == (
        0.002,
        0.5,
        1.0,
    )
    total = total_loss(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0), config)
    assert total.item() == pytest.approx(0.002 + 1.0 + 3.0)


def test_losses_are_float32_under_bf16_inputs() -> None:
    logits = probabilities().log().to(torch.bfloat16)
    assert segmentation_loss(logits, REFERENCE).dtype == torch.float32
    assert adversarial_loss(torch.tensor([0.5], dtype=torch.bfloat16)).dtype == torch.float32
