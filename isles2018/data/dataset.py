"""2D training slices of a set of cases, normalised and held in memory (optionally on the GPU).

Each case is read once (:func:`isles2018.data.stack.load_case_arrays`); its slices
``volume[:, :, k]`` become samples ``(C, H, W)`` with ``H`` = x and ``W`` = y. The whole set is one
tensor, so a batch is an index into it: no DataLoader workers, no per-step file access.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DistributedSampler

from isles2018.data.normalise import NormStats
from isles2018.errors import DataError


@dataclass(frozen=True)
class Batch:
    """One training batch.

    Attributes:
        inputs: ``(B, C, H, W)`` normalised input channels.
        dwi: ``(B, 1, H, W)`` normalised MR_DWI (the generator's target), or None.
        label: ``(B, H, W)`` int64 lesion mask {0, 1}.
    """

    inputs: torch.Tensor
    dwi: torch.Tensor | None
    label: torch.Tensor


def load_cases(
    cases: Sequence[Any], *, with_dwi: bool, resample_spacing_mm: float | None = None
) -> list[Any]:
    """Load each case once with its lesion mask (and MR_DWI if asked); ISLES'24 cases are
    resampled to ``resample_spacing_mm`` in plane (default: the data layer's).

    Returns:
        One :class:`isles2018.data.stack.CaseArrays` per case, in order.
    """
    from isles2018.data.stack import load_case_arrays

    options = {} if resample_spacing_mm is None else {"resample_spacing_mm": resample_spacing_mm}
    return [load_case_arrays(case, with_dwi=with_dwi, with_label=True, **options) for case in cases]


class SliceDataset(torch.utils.data.Dataset):
    """Every z-slice of the given cases, normalised with a training fold's statistics.

    Args:
        arrays: loaded cases (``CaseArrays``) with labels; all slices must share ``(H, W)``.
        stats: the training fold's normalisation statistics (they name the input channels).
        with_dwi: also hold normalised MR_DWI as the generator's target.

    Raises:
        DataError: a case has no label, no MR_DWI when needed, or a different slice size.
    """

    def __init__(self, arrays: Sequence[Any], stats: NormStats, *, with_dwi: bool):
        if not arrays:
            raise DataError("a dataset needs at least one case")
        shape = arrays[0].inputs.shape[-2:]
        inputs, dwi, labels, index = [], [], [], []
        for case in arrays:
            if case.label is None:
                raise DataError(f"{case.case_id}: no lesion mask (OT) to train on")
            if case.inputs.shape[-2:] != shape:
                raise DataError(
                    f"{case.case_id}: slice size {case.inputs.shape[-2:]} differs from "
                    f"{arrays[0].case_id}'s {shape}"
                )
            if with_dwi and case.dwi is None:
                raise DataError(f"{case.case_id}: no MR_DWI, which this stage needs")
            inputs.append(stats.normalise_inputs(case))
            if with_dwi:
                dwi.append(stats.normalise_dwi(case.dwi)[:, None])
            labels.append((case.label > 0).astype(np.int64))
            index += [(case.case_id, k) for k in range(case.inputs.shape[0])]
        self.inputs = torch.from_numpy(np.concatenate(inputs))
        self.dwi = torch.from_numpy(np.concatenate(dwi)) if with_dwi else None
        self.label = torch.from_numpy(np.concatenate(labels))
        self.index: list[tuple[str, int]] = index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> Batch:
        return self.batch(torch.tensor([item]))

    def to(self, device: torch.device | str) -> SliceDataset:
        """Move the held tensors (e.g. to the GPU once, before training)."""
        self.inputs = self.inputs.to(device)
        self.dwi = None if self.dwi is None else self.dwi.to(device)
        self.label = self.label.to(device)
        return self

    def batch(self, indices: torch.Tensor, *, channels_last: bool = False) -> Batch:
        """The slices at ``indices`` as one :class:`Batch` on the dataset's device."""
        indices = indices.to(self.inputs.device)
        inputs = self.inputs[indices]
        dwi = None if self.dwi is None else self.dwi[indices]
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
            dwi = None if dwi is None else dwi.contiguous(memory_format=torch.channels_last)
        return Batch(inputs=inputs, dwi=dwi, label=self.label[indices])

    def batches(
        self,
        epoch: int,
        batch_size: int,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
    ) -> Iterator[Batch]:
        """One epoch of shuffled batches; under DDP this rank's shard.

        The order is a pure function of ``(seed, epoch)`` (torch's DistributedSampler), so a
        resumed run sees the same batches as an uninterrupted one. With several processes each
        rank gets ``ceil(N / world_size)`` slices (the sampler repeats a few to even out).
        """
        sampler = DistributedSampler(
            self, num_replicas=world_size, rank=rank, shuffle=True, seed=seed
        )
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler))
        for start in range(0, len(order), batch_size):
            yield self.batch(order[start : start + batch_size], channels_last=channels_last)

    def steps_per_epoch(self, batch_size: int, world_size: int = 1) -> int:
        """Number of batches :meth:`batches` yields per rank."""
        per_rank = -(-len(self) // world_size)
        return -(-per_rank // batch_size)
