"""``torch.compile`` of the networks, with a one-line eager fallback.

Used by training (``runtime.compile``) and by inference (``Predictor(compile=...)``,
``isles2018 predict --compile``). Compilation wraps each network in an ``OptimizedModule`` that
shares the plain network's parameters; the fold loop keeps the plain networks for checkpoints,
so weights saved from a compiled run carry no ``_orig_mod.`` prefix and load into eager
networks, and back.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from isles2018.config import COMPILE_MODES
from isles2018.models import Models


def compile_unavailable(device: torch.device) -> str | None:
    """Why inductor cannot compile for ``device`` here, or None when it can.

    Checks the platform (TorchDynamo's support of this Python and OS), Triton on CUDA and a C++
    compiler on CPU (inductor's CPU kernels are C++).
    """
    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile is not supported on this platform"
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        return None if has_triton() else "Triton is not installed"
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        get_cpp_compiler()
    except Exception as error:  # any failure here means no usable compiler
        return f"no C++ compiler for inductor ({_first_line(error)})"
    return None


def compile_models(
    models: Models,
    mode: str,
    device: torch.device,
    *,
    log: Callable[[str], object] = print,
) -> Models:
    """The networks ``torch.compile``d with inductor ``mode``, or ``models`` itself.

    ``off`` returns ``models`` unchanged (the eager path). ``default`` and ``max-autotune`` are
    ``torch.compile`` modes; ``max-autotune`` benchmarks kernel choices at the first call and,
    on CUDA, runs the compiled graphs as CUDA graphs. Compilation itself is lazy: graphs are
    built at the first step (seconds to minutes) and again for a new input shape, training
    mode or grad mode (validation). Wrap in DistributedDataParallel first: ``compile(DDP(m))``.

    Args:
        models: the networks (possibly DDP-wrapped).
        mode: one of ``COMPILE_MODES``.
        device: where the networks run (decides the compiler checked for).
        log: receives the one line that says why compilation fell back to eager.

    Returns:
        A copy of ``models`` whose networks are compiled, or ``models`` when ``mode`` is ``off``
        or compilation is unavailable (logged).

    Raises:
        ValueError: ``mode`` is not one of ``COMPILE_MODES``.
    """
    if mode not in COMPILE_MODES:
        raise ValueError(f"compile mode must be {'|'.join(COMPILE_MODES)}: {mode!r}")
    if mode == "off":
        return models
    reason = compile_unavailable(device)
    if reason is None:
        try:
            return models.wrapped(lambda module: torch.compile(module, mode=mode))
        except Exception as error:  # whatever stops compilation, the networks run eagerly
            reason = f"torch.compile failed: {type(error).__name__}: {_first_line(error)}"
    log(f"runtime.compile {mode}: {reason}; running eagerly")
    return models


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
