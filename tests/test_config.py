"""Config defaults equal the paper's values; JSON round trip; named variants; bad keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from isles2018.config import (
    ABLATION_STAGES,
    ATTENTION_BUDGET_GIB,
    STAGES,
    Config,
    attention_matrix_gib,
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
    # Options for what the paper leaves open: off, or today's behaviour, by default.
    assert config.model.attention == "none" and config.model.resolved_attention_levels == ()
    assert config.loss.ce_class_weights == (1.0, 1.0)
    assert config.loss.gds_reduction == "batch"


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
        ({"model": {"attention": "cross"}}, "model.attention must be none|self: 'cross'"),
        ({"model": {"attention": "self", "attention_levels": [5]}}, "level 5 is not in -5..4"),
        ({"model": {"attention": "self", "attention_levels": [4, -1]}}, "repeated"),
        ({"model": {"attention_levels": 4}}, "model.attention_levels: expected a list"),
        ({"loss": {"ce_class_weights": "inverse"}}, "two numbers or 'inverse-frequency'"),
        ({"loss": {"ce_class_weights": 2}}, "ce_class_weights: expected a list or a string"),
        ({"loss": {"ce_class_weights": [1, 2, 3]}}, "ce_class_weights: expected 2 values"),
        ({"loss": {"ce_class_weights": [0, 0]}}, "at least one must be > 0"),
        ({"loss": {"ce_max_weight": 0.5}}, "loss.ce_max_weight"),
        ({"loss": {"gds_reduction": "mean"}}, "loss.gds_reduction must be batch|image: 'mean'"),
    ],
)
def test_bad_keys_and_values_are_rejected_with_their_name(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_dict(data)


def test_every_config_error_is_one_line() -> None:
    with pytest.raises(ConfigError) as error:
        from_dict({"model": {"attention": "self", "attention_levels": [0]}})
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("level", "side", "gib"),
    [(0, 256, 16.0), (1, 128, 1.0), (2, 64, 0.0625), (3, 32, 2**-8), (4, 16, 2**-12)],
)
def test_attention_memory_per_level_at_256_pixels(level: int, side: int, gib: float) -> None:
    model = Config().model
    assert model.level_size_px(level) == side
    assert attention_matrix_gib(side) == gib
    data = {"model": {"attention": "self", "attention_levels": [level]}}
    if gib <= ATTENTION_BUDGET_GIB:
        assert from_dict(data).model.resolved_attention_levels == (level,)
    else:
        message = rf"level {level} \({side}×{side} maps of 256-pixel slices\) needs a {gib:g} GiB"
        with pytest.raises(ConfigError, match=message):
            from_dict(data)


def test_attention_memory_check_follows_the_slice_size_and_depth() -> None:
    small = {"attention": "self", "attention_levels": [0], "slice_size_px": 64}
    assert from_dict({"model": small}).model.resolved_attention_levels == (0,)  # 64²: 64 MiB
    # A 3-level U-Net pads 250 to 256, so its full-resolution level is 256².
    model = {"depth": 3, "slice_size_px": 250, "attention": "self", "attention_levels": [0]}
    with pytest.raises(ConfigError, match=r"level 0 \(256×256"):
        from_dict({"model": model})
    # Levels are not checked (nor used) while attention is off.
    assert from_dict({"model": {"attention_levels": [0]}}).model.resolved_attention_levels == ()


def test_negative_attention_levels_count_back_from_the_bottleneck() -> None:
    model = {"attention": "self", "attention_levels": [-1, -3]}
    assert from_dict({"model": model}).model.resolved_attention_levels == (2, 4)
    ci = load_config("gan-gn-maxout-attn+ci")
    assert ci.model.depth == 3 and ci.model.resolved_attention_levels == (3,)


def test_configs_saved_before_the_new_options_load_with_todays_behaviour() -> None:
    old = to_dict(Config())
    for section, key in [
        ("model", "attention"),
        ("model", "attention_levels"),
        ("model", "slice_size_px"),
        ("loss", "ce_max_weight"),
        ("loss", "gds_reduction"),
    ]:
        del old[section][key]
    assert from_dict(old) == Config()


def test_named_configs_are_shipped() -> None:
    assert set(named_configs()) >= {*ABLATION_STAGES, "fast", "ci"}
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


def test_the_attention_stage_is_stage_4_with_attention_and_inverse_frequency_ce() -> None:
    assert STAGES == ("dwi-unet", "perfusion-unet", "gan", "gan-gn-maxout")  # Table 1
    assert ABLATION_STAGES == (*STAGES, "gan-gn-maxout-attn")
    config = load_config("gan-gn-maxout-attn")
    assert config.model.attention == "self" and config.model.resolved_attention_levels == (4,)
    assert config.loss.ce_class_weights == "inverse-frequency"
    stage_4 = load_config("gan-gn-maxout")
    assert config.pipeline == stage_4.pipeline and config.optim == stage_4.optim
    assert to_dict(config)["model"] | {"attention": "none"} == to_dict(stage_4)["model"]
    assert to_dict(config)["loss"] | {"ce_class_weights": [1.0, 1.0]} == to_dict(stage_4)["loss"]


def test_attention_and_loss_options_round_trip_through_json(tmp_path: Path) -> None:
    config = with_overrides(
        load_config("gan-gn-maxout-attn+ci"),
        model={"attention_levels": [2, -1]},
        loss={"gds_reduction": "image", "ce_max_weight": 20.0},
    )
    save_config(config, tmp_path / "config.json")
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["loss"]["ce_class_weights"] == "inverse-frequency"
    assert saved["model"]["attention_levels"] == [2, -1]
    assert load_config(tmp_path / "config.json") == config
    explicit = with_overrides(config, loss={"ce_class_weights": [1, 4]})
    assert explicit.loss.ce_class_weights == (1.0, 4.0)
    assert from_dict(to_dict(explicit)) == explicit


def test_variants_change_scale_not_method() -> None:
    for name in ("ci", "fast", "table1-cpu"):
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
