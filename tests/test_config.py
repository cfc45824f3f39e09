"""Config defaults equal the paper's values; JSON round trip; named variants; bad keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isles2018.config import (
    STAGES,
    Config,
    from_dict,
    load_config,
    named_configs,
    save_config,
    to_dict,
    with_overrides,
)
from isles2018.errors import ConfigError


def test_defaults_are_the_papers_values() -> None:
    config = Config()
    assert config.optim.lr == 1e-4  # §3.1
    assert config.optim.alpha == 0.9  # γ
    assert config.optim.epochs == 700
    assert config.optim.lr_milestones_epochs == (100, 300, 500)
    assert config.optim.lr_factor == 0.5
    assert config.optim.batch_size == 6
    assert (config.loss.weight_generator, config.loss.weight_adversarial) == (0.002, 0.5)
    assert config.loss.weight_segmentation == 1.0
    assert (config.model.width, config.model.depth) == (64, 4)
    assert config.model.norm == "group" and config.model.channels_per_group == 16
    assert config.model.head == "maxout"
    assert config.pipeline.inputs == ("CT_MTT", "CT_Tmax", "CT_CBV", "CT_CBF", "CT_4DPWI")
    assert config.pipeline.adversarial
    assert config.runtime.folds == 4


def test_json_round_trip(tmp_path: Path) -> None:
    config = load_config("gan+ci")
    save_config(config, tmp_path / "config.json")
    assert load_config(tmp_path / "config.json") == config
    assert from_dict(json.loads((tmp_path / "config.json").read_text())) == config
    assert from_dict(to_dict(config)) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modle": {}}, "'modle'"),
        ({"model": {"widht": 8}}, "'model.widht'"),
        ({"optim": {"lr": "fast"}}, "optim.lr"),
        ({"model": {"norm": "layer"}}, "layer"),
        ({"model": {"width": 0}}, "model.width"),
        ({"pipeline": {"inputs": ["CT_XYZ"]}}, "CT_XYZ"),
        ({"pipeline": {"inputs": ["MR_DWI"], "adversarial": True}}, "MR_DWI"),
        ({"optim": {"lr_milestones_epochs": 100}}, "lr_milestones_epochs"),
        ({"augment": {"enabled": 1}}, "augment.enabled"),
    ],
)
def test_bad_keys_and_values_are_rejected_with_their_name(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(data)


def test_named_configs_are_shipped() -> None:
    assert set(named_configs()) >= {*STAGES, "fast", "ci"}
    with pytest.raises(ConfigError, match="unknown config 'nope'"):
        load_config("nope")


@pytest.mark.parametrize(
    ("stage", "inputs", "adversarial", "norm", "head", "needs_dwi"),
    [
        ("dwi-unet", ("MR_DWI",), False, "batch", "plain", True),
        (
            "perfusion-unet",
            ("CT_MTT", "CT_Tmax", "CT_CBV", "CT_CBF"),
            False,
            "batch",
            "plain",
            False,
        ),
        (
            "gan",
            ("CT_MTT", "CT_Tmax", "CT_CBV", "CT_CBF", "CT_4DPWI"),
            True,
            "batch",
            "plain",
            True,
        ),
        ("gan-gn-maxout", Config().pipeline.inputs, True, "group", "maxout", True),
    ],
)
def test_ablation_stages(stage, inputs, adversarial, norm, head, needs_dwi) -> None:
    config = load_config(stage)
    assert config.name == stage
    assert config.pipeline.inputs == inputs
    assert config.pipeline.adversarial is adversarial
    assert (config.model.norm, config.model.head) == (norm, head)
    assert config.pipeline.needs_dwi is needs_dwi
    # Stages differ from the paper's defaults only in what Table 1 changes.
    assert config.optim == Config().optim and config.loss == Config().loss


def test_default_stage_is_the_defaults() -> None:
    assert load_config("gan-gn-maxout") == Config()


def test_variants_change_scale_not_method() -> None:
    for name in ("ci", "fast"):
        config = load_config(name)
        assert config.pipeline == Config().pipeline
        assert (config.model.norm, config.model.head) == ("group", "maxout")
        assert config.model.width < 64 and config.optim.epochs < 700
    merged = load_config("perfusion-unet+ci")
    assert merged.name == "perfusion-unet+ci"
    assert merged.model.width == load_config("ci").model.width
    assert merged.pipeline == load_config("perfusion-unet").pipeline
    assert merged.model.norm == "batch"


def test_with_overrides() -> None:
    config = with_overrides(Config(), optim={"epochs": 3})
    assert config.optim.epochs == 3 and config.optim.lr == 1e-4
    with pytest.raises(ConfigError, match=r"optim\.epoch"):
        with_overrides(Config(), optim={"epoch": 3})


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        load_config(tmp_path / "bad.json")
    (tmp_path / "partial.json").write_text('{"optim": {"epochs": 5}}')
    partial = load_config(tmp_path / "partial.json")
    assert partial.optim.epochs == 5 and partial.name == "partial"


def test_config_module_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys, isles2018.config, isles2018.training.commands; print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
