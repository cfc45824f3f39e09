"""Where the networks run: the one place a device name becomes a ``torch.device``."""

from __future__ import annotations

import torch

from isles2018.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` → CUDA when torch sees a GPU, else CPU; ``cpu`` and ``cuda`` as named.

    Args:
        name: ``auto``, ``cpu``, ``cuda`` or a ``torch.device`` (returned as it is).

    Raises:
        ConfigError: an unknown name, or ``cuda`` on a machine where torch sees no GPU.
    """
    if isinstance(name, torch.device):
        return name
    if name not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but torch sees no CUDA GPU (use auto or cpu)")
    return torch.device(name)
