"""Devices and multi-process training (torchrun + DistributedDataParallel).

One process per GPU (or several CPU processes), started by torchrun::

    torchrun --standalone --nproc_per_node 4 --no-python isles2018 train DATA --out RUN --fold 0

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous variables;
:func:`init_distributed` reads them, picks NCCL on CUDA and gloo on the CPU, and pins each
process to ``cuda:LOCAL_RANK``. Every rank builds the same networks from the same seed, DDP
broadcasts rank 0's weights, each rank trains on its shard of the slices (DistributedSampler)
and gradients are averaged, so all ranks hold identical parameters after every step. Only rank
0 writes checkpoints, logs and plots. ``optim.batch_size`` is per process.

Folds are independent: running ``--fold K`` in separate processes (or machines) is the other
way to use several devices, with no communication at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from isles2018.models import Models
from isles2018.models.device import resolve_device


def launched_by_torchrun() -> bool:
    """Whether torchrun started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands; the default is a single process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the only process that writes files."""
        return self.rank == 0

    def wrap(self, models: Models, device: torch.device) -> Models:
        """Wrap every network in DistributedDataParallel (unchanged with one process)."""
        if not self.enabled:
            return models
        ids = [device.index] if device.type == "cuda" else None
        return models.wrapped(lambda m: DistributedDataParallel(m, device_ids=ids))

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average scalars over all ranks (for logging)."""
        if not self.enabled or not values:
            return values
        keys = sorted(values)
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return dict(zip(keys, (tensor / self.world_size).tolist(), strict=True))

    def barrier(self) -> None:
        """Wait for every rank (no-op with one process)."""
        if self.enabled:
            dist.barrier()


def init_distributed(device_name: str = "auto") -> tuple[DistributedContext, torch.device]:
    """Join the torchrun process group if there is one; pick this process's device.

    Returns:
        The context and the device (``cuda:LOCAL_RANK`` under torchrun with GPUs).
    """
    device = resolve_device(device_name)
    if not launched_by_torchrun():
        return DistributedContext(), device
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank), device


def shutdown_distributed() -> None:
    """Leave the process group if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
