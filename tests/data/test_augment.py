"""Batch augmentation: identical geometry for inputs, DWI and mask; seeded; fast."""

from __future__ import annotations

import pytest
import torch

from isles2018.config import AugmentConfig
from isles2018.data.augment import augment_batch, random_affines

IDENTITY = AugmentConfig(
    scale_range=(1.0, 1.0), rotation_deg=0.0, translation_fraction=0.0, flip_probability=0.0
)


def blob_batch(batch: int = 4, height: int = 32, width: int = 32):
    label = torch.zeros(batch, height, width, dtype=torch.long)
    label[:, 6:14, 9:20] = 1  # off-centre and asymmetric
    label[:, 6:9, 20:26] = 1
    inputs = torch.stack([label.float() * (c + 1) for c in range(5)], dim=1)
    dwi = 10 * label.float()[:, None]
    return inputs, dwi, label


def dice(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


def test_disabled_returns_the_batch_unchanged() -> None:
    inputs, dwi, label = blob_batch()
    out = augment_batch(inputs, dwi, label, AugmentConfig(enabled=False), torch.Generator())
    assert out[0] is inputs and out[1] is dwi and out[2] is label


def test_identity_ranges_leave_the_batch_unchanged() -> None:
    inputs, dwi, label = blob_batch()
    out_inputs, out_dwi, out_label = augment_batch(
        inputs, dwi, label, IDENTITY, torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(out_inputs, inputs, atol=1e-4, rtol=0)
    torch.testing.assert_close(out_dwi, dwi, atol=1e-4, rtol=0)
    assert torch.equal(out_label, label)


def test_flip_mirrors_the_height_axis_of_everything() -> None:
    inputs, dwi, label = blob_batch()
    config = AugmentConfig(
        scale_range=(1.0, 1.0), rotation_deg=0.0, translation_fraction=0.0, flip_probability=1.0
    )
    out_inputs, out_dwi, out_label = augment_batch(
        inputs, dwi, label, config, torch.Generator().manual_seed(0)
    )
    torch.testing.assert_close(out_inputs, inputs.flip(-2), atol=1e-4, rtol=0)
    torch.testing.assert_close(out_dwi, dwi.flip(-2), atol=1e-4, rtol=0)
    assert torch.equal(out_label, label.flip(-2))


@pytest.mark.parametrize("size", [(32, 32), (48, 32)])
def test_inputs_dwi_and_mask_move_together(size: tuple[int, int]) -> None:
    inputs, dwi, label = blob_batch(8, *size)
    config = AugmentConfig(rotation_deg=30.0, translation_fraction=0.15, scale_range=(0.8, 1.2))
    out_inputs, out_dwi, out_label = augment_batch(
        inputs, dwi, label, config, torch.Generator().manual_seed(3)
    )
    assert out_inputs.shape == inputs.shape and out_dwi.shape == dwi.shape
    assert out_label.shape == label.shape and out_label.dtype == label.dtype
    moved = [dice(out_label[i] > 0, label[i] > 0) for i in range(8)]
    assert min(moved) < 0.9  # the transforms do move the lesion
    for i in range(8):
        for channel in range(5):
            assert dice(out_inputs[i, channel] > 0.5 * (channel + 1), out_label[i] > 0) > 0.9
        assert dice(out_dwi[i, 0] > 5, out_label[i] > 0) > 0.9


def test_seeded_and_per_sample() -> None:
    config = AugmentConfig()
    first = random_affines(6, 32, 32, config, torch.Generator().manual_seed(7))
    again = random_affines(6, 32, 32, config, torch.Generator().manual_seed(7))
    other = random_affines(6, 32, 32, config, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert not torch.allclose(first[0], first[1])  # one transform per slice


def _covariance(mask: torch.Tensor) -> torch.Tensor:
    points = mask.nonzero().float()
    points = points - points.mean(0)
    return points.T @ points / len(points)


def test_rotation_is_rigid_on_non_square_slices() -> None:
    # A square stays a square under a rigid rotation on a 2:1 slice: its coordinate covariance
    # stays isotropic (a rotation done in [-1, 1] units without the aspect fix would shear it).
    label = torch.zeros(1, 96, 48, dtype=torch.long)
    label[0, 40:56, 16:32] = 1
    config = AugmentConfig(
        scale_range=(1.0, 1.0), rotation_deg=45.0, translation_fraction=0.0, flip_probability=0.0
    )
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        _, _, out = augment_batch(label[:, None].float(), None, label, config, generator)
        eigenvalues = torch.linalg.eigvalsh(_covariance(out[0]))
        assert eigenvalues[1] / eigenvalues[0] < 1.15
        assert abs(int(out.sum()) - 256) <= 20
