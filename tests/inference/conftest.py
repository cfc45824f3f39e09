"""Fixtures of the inference tests: a run with two fold checkpoints, forward-pass sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from isles2018.config import load_config
from isles2018.data.layout import discover_cases
from isles2018.data.normalise import compute_stats
from isles2018.data.stack import load_case_arrays
from isles2018.inference.checkpoint import save_checkpoint
from isles2018.models import build_models


def _checkpoint(folder: Path, training: Path, seed: int, config: str = "ci") -> Path:
    torch.manual_seed(seed)
    cfg = load_config(config)
    arrays = [load_case_arrays(c) for c in discover_cases(training)]
    stats = compute_stats(arrays, cfg.pipeline.inputs, with_dwi=cfg.pipeline.adversarial)
    save_checkpoint(folder, build_models(cfg), cfg, stats, fold=seed, epoch=1)
    return folder


@pytest.fixture
def run(tmp_path: Path, isles_training: Path) -> Path:
    for fold in (0, 1):
        _checkpoint(tmp_path / "run" / f"fold_{fold}", isles_training, seed=fold)
    return tmp_path / "run"


@pytest.fixture
def batch_sizes(monkeypatch) -> list[int]:
    """The slices of every forward pass (the generator's input), recorded as they run."""
    import isles2018.inference.forward as forward

    seen: list[int] = []
    original = forward.run_pipeline

    def recording(models, inputs):
        seen.append(inputs.shape[0])
        return original(models, inputs)

    monkeypatch.setattr(forward, "run_pipeline", recording)
    return seen
