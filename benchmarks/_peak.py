"""The matmul peak the benchmarks compare model FLOP/s with (shared by training and inference)."""

from __future__ import annotations

import time

import torch


def synchronise(device: torch.device) -> None:
    """Wait for queued GPU work (no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, repeats: int) -> float:
    """Best FLOP/s of ``size × size`` matrix products in ``dtype``."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.matmul(a, b)
    synchronise(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.matmul(a, b)
        synchronise(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
