"""Normalisation from the training fold and the in-memory slice dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from isles2018.data.dataset import SliceDataset
from isles2018.data.normalise import NormStats, compute_stats, select_channels
from isles2018.data.stack import CaseArrays
from isles2018.errors import DataError

FIVE = ("CT_MTT", "CT_Tmax", "CT_CBV", "CT_CBF", "CT_4DPWI")


def case(number: int, slices: int = 2, size: tuple[int, int] = (8, 6), dwi: bool = True):
    rng = np.random.default_rng(number)
    inputs = rng.normal(loc=[1, 2, 3, 4, 5], scale=[1, 2, 3, 4, 5], size=(slices, *size, 5))
    label = np.zeros((slices, *size), np.uint8)
    label[:, 2:4, 1:3] = 1
    return CaseArrays(
        case_id=f"case_{number}",
        inputs=np.moveaxis(inputs, -1, 1).astype(np.float32),
        dwi=rng.normal(100, 10, (slices, *size)).astype(np.float32) if dwi else None,
        label=label,
        affine=np.eye(4),
        spacing_mm=(1.0, 1.0, 5.0),
    )


def test_select_channels_in_config_order() -> None:
    arrays = case(1)
    picked = select_channels(arrays, ("CT_4DPWI", "CT_MTT", "MR_DWI"))
    assert picked.shape == (2, 3, 8, 6)
    np.testing.assert_array_equal(picked[:, 0], arrays.inputs[:, 4])
    np.testing.assert_array_equal(picked[:, 1], arrays.inputs[:, 0])
    np.testing.assert_array_equal(picked[:, 2], arrays.dwi)
    with pytest.raises(ValueError, match="MR_DWI"):
        select_channels(case(2, dwi=False), ("MR_DWI",))


def test_stats_come_from_the_given_cases_only() -> None:
    train = [case(1), case(2, slices=3)]
    stats = compute_stats(train, FIVE, with_dwi=True)
    every = np.concatenate([c.inputs for c in train])
    np.testing.assert_allclose(stats.mean, every.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(stats.std, every.std(axis=(0, 2, 3)), rtol=1e-5)
    dwi = np.concatenate([c.dwi for c in train])
    assert stats.dwi_mean == pytest.approx(dwi.mean(), rel=1e-6)
    assert stats.dwi_std == pytest.approx(dwi.std(), rel=1e-5)
    other = compute_stats([case(3)], FIVE, with_dwi=True)
    assert other.mean != stats.mean


def test_normalised_training_fold_has_zero_mean_unit_sd() -> None:
    train = [case(1), case(2, slices=3)]
    stats = compute_stats(train, FIVE, with_dwi=True)
    normalised = np.concatenate([stats.normalise_inputs(c) for c in train])
    np.testing.assert_allclose(normalised.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(normalised.std(axis=(0, 2, 3)), 1, atol=1e-4)
    dwi = np.concatenate([stats.normalise_dwi(c.dwi) for c in train])
    assert abs(dwi.mean()) < 1e-4 and abs(dwi.std() - 1) < 1e-4


def test_robust_stats_clip_outliers_and_round_trip() -> None:
    arrays = case(1, slices=4, size=(16, 16))
    arrays.inputs[0, 0, 0, 0] = 1e6
    plain = compute_stats([arrays], FIVE, with_dwi=False)
    robust = compute_stats([arrays], FIVE, with_dwi=False, method="robust", percentiles=(1, 99))
    assert robust.std[0] < plain.std[0] / 10
    assert robust.high[0] < 1e6
    assert robust.dwi_mean is None
    assert NormStats.from_dict(robust.to_dict()) == robust
    assert robust.normalise_inputs(arrays).max() < 10
    with pytest.raises(ValueError, match="MR_DWI"):
        robust.normalise_dwi(arrays.dwi)


def test_slice_dataset_holds_every_slice() -> None:
    cases = [case(1), case(2, slices=3)]
    stats = compute_stats(cases, FIVE, with_dwi=True)
    dataset = SliceDataset(cases, stats, with_dwi=True)
    assert len(dataset) == 5
    assert dataset.index == [
        ("case_1", 0),
        ("case_1", 1),
        ("case_2", 0),
        ("case_2", 1),
        ("case_2", 2),
    ]
    batch = dataset.batch(torch.tensor([4, 0]))
    assert batch.inputs.shape == (2, 5, 8, 6) and batch.inputs.dtype == torch.float32
    assert batch.dwi.shape == (2, 1, 8, 6)
    assert batch.label.shape == (2, 8, 6) and batch.label.dtype == torch.int64
    np.testing.assert_allclose(batch.inputs[1].numpy(), stats.normalise_inputs(cases[0])[0])
    np.testing.assert_array_equal(batch.label[0].numpy(), cases[1].label[2])


def test_perfusion_channels_without_dwi() -> None:
    cases = [case(1, dwi=False)]
    channels = ("CT_MTT", "CT_Tmax", "CT_CBV", "CT_CBF")
    dataset = SliceDataset(cases, compute_stats(cases, channels, with_dwi=False), with_dwi=False)
    batch = dataset.batch(torch.tensor([0]), channels_last=True)
    assert batch.inputs.shape == (1, 4, 8, 6) and batch.dwi is None
    assert batch.inputs.is_contiguous(memory_format=torch.channels_last)


def test_dataset_errors_name_the_case() -> None:
    stats = compute_stats([case(1)], FIVE, with_dwi=True)
    with pytest.raises(DataError, match="case_2: no MR_DWI"):
        SliceDataset([case(1), case(2, dwi=False)], stats, with_dwi=True)
    with pytest.raises(DataError, match="case_3: slice size"):
        SliceDataset([case(1), case(3, size=(8, 8))], stats, with_dwi=False)


def test_epochs_are_seeded_shuffles_of_every_slice() -> None:
    cases = [case(n, slices=3) for n in (1, 2, 3)]
    dataset = SliceDataset(cases, compute_stats(cases, FIVE, with_dwi=False), with_dwi=False)
    dataset.inputs[:, 0, 0, 0] = torch.arange(len(dataset), dtype=torch.float32)

    def order(epoch: int, seed: int = 0, rank: int = 0, world: int = 1) -> list[int]:
        batches = dataset.batches(epoch, 4, seed=seed, rank=rank, world_size=world)
        return [int(i) for b in batches for i in b.inputs[:, 0, 0, 0]]

    assert sorted(order(0)) == list(range(9))
    assert order(0) == order(0)
    assert order(0) != order(1)
    assert order(0, seed=1) != order(0)
    assert dataset.steps_per_epoch(4) == 3
    # Two ranks: disjoint-as-possible shards of equal length that cover every slice.
    shards = [order(0, rank=r, world=2) for r in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 5
    assert set(shards[0]) | set(shards[1]) == set(range(9))
    assert dataset.steps_per_epoch(4, world_size=2) == 2
