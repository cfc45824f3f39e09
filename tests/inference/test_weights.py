from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from isles2018.config import load_config
from isles2018.data.normalise import NormStats
from isles2018.errors import CheckpointError
from isles2018.inference.checkpoint import save_checkpoint
from isles2018.inference.ensemble import load_members
from isles2018.inference.weights import read_manifest, verify_weights, write_manifest
from isles2018.models import build_models

SHIPPED = Path(__file__).resolve().parents[2] / "weights"


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    config = load_config("ci")
    stats = NormStats(
        channels=config.pipeline.inputs,
        method="zscore",
        mean=(0.0,) * 5,
        std=(1.0,) * 5,
        dwi_mean=0.0,
        dwi_std=1.0,
    )
    for fold in (0, 1):
        save_checkpoint(
            tmp_path / "w" / f"fold_{fold}", build_models(config), config, stats, fold=fold, epoch=1
        )
    write_manifest(tmp_path / "w", {"purpose": "test"})
    return tmp_path / "w"


def test_manifest_lists_every_checkpoint_file(weights: Path) -> None:
    manifest = verify_weights(weights)
    assert manifest is not None and manifest["purpose"] == "test"
    assert sorted(manifest["files"]) == [
        "fold_0/checkpoint.json",
        "fold_0/checkpoint.safetensors",
        "fold_1/checkpoint.json",
        "fold_1/checkpoint.safetensors",
    ]
    assert len(load_members([weights], torch.device("cpu"))) == 2


def test_changed_or_missing_file_is_refused(weights: Path) -> None:
    sidecar = weights / "fold_1" / "checkpoint.json"
    data = json.loads(sidecar.read_text())
    data["epoch"] = 99
    sidecar.write_text(json.dumps(data))
    with pytest.raises(CheckpointError, match=r"fold_1/checkpoint\.json: SHA-256 differs"):
        load_members([weights], torch.device("cpu"))
    shutil.rmtree(weights / "fold_1")
    with pytest.raises(CheckpointError, match=r"listed in manifest\.json but missing"):
        verify_weights(weights)


def test_folder_without_manifest_needs_no_verification(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) is None and verify_weights(tmp_path) is None


def test_shipped_weights_are_small_documented_and_intact() -> None:
    manifest = verify_weights(SHIPPED)
    assert manifest is not None
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size < 40e6
    assert "not for clinical" in manifest["purpose"]
    for key in (
        "config",
        "training_data",
        "training_seconds",
        "hardware",
        "cross_validation",
        "regression",
    ):
        assert key in manifest, key
    assert set(manifest["cross_validation"]["folds"]) == {"0", "1", "2", "3"}
