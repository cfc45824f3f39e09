"""The matmul peak the benchmarks compare model FLOP/s with (shared by training and inference)."""

from __future__ import annotations

import time
from collections.abc import Callable

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

    def product() -> None:
        torch.matmul(a, b)
        synchronise(device)

    return 2 * size**3 / best_seconds(product, repeats)


def best_seconds(function: Callable[[], object], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in seconds (the caller synchronises the device)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best
