"""Checkpoints: safetensors + JSON sidecar, sha256 verified, rebuilt from the embedded config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from isles2018.config import load_config, with_overrides
from isles2018.data.dataset import Batch
from isles2018.data.normalise import NormStats
from isles2018.errors import CheckpointError
from isles2018.inference.checkpoint import (
    SIDECAR,
    STATE,
    WEIGHTS,
    load_checkpoint,
    load_training_state,
    save_checkpoint,
)
from isles2018.models import build_models, predict_probability
from isles2018.training.step import make_optimisers, train_step

CONFIG = with_overrides(load_config("ci"), model={"depth": 2})
STATS = NormStats(
    channels=CONFIG.pipeline.inputs,
    method="zscore",
    mean=(1.0, 2.0, 3.0, 4.0, 5.0),
    std=(1.5, 2.5, 3.5, 4.5, 5.5),
    dwi_mean=100.0,
    dwi_std=20.0,
)


def trained(seed: int = 0):
    torch.manual_seed(seed)
    models = build_models(CONFIG)
    optimisers = make_optimisers(models, CONFIG.optim)
    label = torch.zeros(2, 16, 16, dtype=torch.long)
    label[:, 4:8, 4:8] = 1
    batch = Batch(torch.randn(2, 5, 16, 16), torch.randn(2, 1, 16, 16), label)
    train_step(models, optimisers, batch, CONFIG.loss)
    return models, optimisers


def save(folder: Path, models, optimisers=None) -> Path:
    rng = {"augment.0": torch.Generator().manual_seed(5).get_state()}
    return save_checkpoint(
        folder,
        models,
        CONFIG,
        STATS,
        fold=2,
        epoch=7,
        scores={"val_dice": 0.5},
        optimisers=None if optimisers is None else optimisers.named(),
        rng=rng if optimisers is not None else None,
    )


def test_round_trip_rebuilds_the_networks_from_the_embedded_config(tmp_path: Path) -> None:
    models, optimisers = trained()
    sidecar = save(tmp_path, models, optimisers)
    assert sidecar == tmp_path / SIDECAR
    for path in (tmp_path, tmp_path / SIDECAR, tmp_path / WEIGHTS):
        loaded, config, stats, meta = load_checkpoint(path)
        assert config == CONFIG and stats == STATS
        assert (meta["fold"], meta["epoch"], meta["scores"]) == (2, 7, {"val_dice": 0.5})
        for key, value in models.state_dict().items():
            assert torch.equal(loaded.state_dict()[key], value)
        assert not loaded.segmentor.training
    x = torch.randn(1, 5, 16, 16)
    models.eval()
    torch.testing.assert_close(predict_probability(loaded, x), predict_probability(models, x))


def test_files_are_safetensors_and_json(tmp_path: Path) -> None:
    from safetensors import safe_open

    models, optimisers = trained()
    save(tmp_path, models, optimisers)
    with safe_open(str(tmp_path / WEIGHTS), "pt") as handle:
        metadata = handle.metadata()
        assert json.loads(metadata["config"])["model"]["width"] == CONFIG.model.width
        assert json.loads(metadata["stats"])["mean"] == list(STATS.mean)
        assert {k.split(".")[0] for k in handle.keys()} == {
            "generator",
            "discriminator",
            "segmentor",
        }
    meta = json.loads((tmp_path / SIDECAR).read_text())
    assert len(meta["weights"]["sha256"]) == 64 and meta["training_state"]["file"] == STATE


def test_tampered_weights_are_detected(tmp_path: Path) -> None:
    save(tmp_path, trained()[0])
    data = bytearray((tmp_path / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_checkpoint(tmp_path)


def test_sidecar_config_that_does_not_fit_the_weights_is_rejected(tmp_path: Path) -> None:
    save(tmp_path, trained()[0])
    meta = json.loads((tmp_path / SIDECAR).read_text())
    meta["config"]["model"]["width"] = 2 * CONFIG.model.width
    (tmp_path / SIDECAR).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("damage", ["missing sidecar", "missing weights", "not json", "other"])
def test_damaged_checkpoints_give_one_line(tmp_path: Path, damage: str) -> None:
    save(tmp_path, trained()[0])
    if damage == "missing sidecar":
        (tmp_path / SIDECAR).unlink()
    elif damage == "missing weights":
        (tmp_path / WEIGHTS).unlink()
    elif damage == "not json":
        (tmp_path / SIDECAR).write_text("{")
    else:
        (tmp_path / SIDECAR).write_text('{"format": "something else"}')
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path)
    assert "\n" not in str(error.value)


def test_loading_leaves_the_callers_rng_alone(tmp_path: Path) -> None:
    save(tmp_path, trained()[0])
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_checkpoint(tmp_path)
    assert torch.equal(torch.rand(3), expected)


def test_training_state_round_trip(tmp_path: Path) -> None:
    models, optimisers = trained(seed=0)
    save(tmp_path, models, optimisers)
    fresh, fresh_optimisers = trained(seed=1)
    meta, rng = load_training_state(tmp_path, fresh, fresh_optimisers.named())
    assert meta["epoch"] == 7
    assert torch.equal(rng["augment.0"], torch.Generator().manual_seed(5).get_state())
    for key, value in models.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)
    for name, optimiser in optimisers.named().items():
        saved, restored = optimiser.state_dict(), fresh_optimisers.named()[name].state_dict()
        assert saved["param_groups"] == restored["param_groups"]
        for index, values in saved["state"].items():
            for key, value in values.items():
                assert torch.equal(restored["state"][index][key], value)


def test_weights_only_checkpoint_cannot_resume(tmp_path: Path) -> None:
    models, optimisers = trained()
    save(tmp_path, models)
    with pytest.raises(CheckpointError, match="no training state"):
        load_training_state(tmp_path, models, optimisers.named())


def test_loading_a_checkpoint_does_not_import_the_trainer() -> None:
    code = (
        "import sys, isles2018.inference.checkpoint; "
        "print(any(m.startswith('isles2018.training') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
