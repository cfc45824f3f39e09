"""The ablation's stages (Table 1's four by default, the attention stage beside them), and
the options for what the paper leaves open, trained and predicted from a JSON config."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from isles2018.cli import main
from isles2018.config import ABLATION_STAGES, STAGES
from isles2018.data.layout import training_cases
from isles2018.data.stack import load_case_arrays
from isles2018.inference.checkpoint import load_checkpoint, read_sidecar
from isles2018.inference.predictor import Predictor
from isles2018.training.ablation import stage_configs
from isles2018.training.losses import fold_class_weights

STAGE = "gan-gn-maxout-attn"


def test_the_default_stages_are_table_1_and_the_command_offers_the_attention_stage() -> None:
    assert list(stage_configs()) == list(STAGES)
    command = main.get_command(None, "ablation")  # type: ignore[arg-type]
    option = next(p for p in command.params if p.name == "stages")
    assert tuple(option.type.choices) == ABLATION_STAGES
    attention = stage_configs([STAGE], "ci", epochs=1)[STAGE]
    assert attention.name == f"{STAGE}+ci" and attention.optim.epochs == 1
    assert attention.model.resolved_attention_levels == (attention.model.depth,)


def test_the_attention_stage_trains_resumes_and_predicts_on_cpu(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "ablation"
    args = ["ablation", str(data), "--out", str(run), "--stage", STAGE, "--config-suffix", "ci"]
    args += ["--fold", "0", "--device", "cpu", "--quiet"]
    result = CliRunner().invoke(main, [*args, "--epochs", "1"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith(f"| {STAGE} |"))
    assert row.endswith("| – |")  # the paper has no Dice for this stage
    assert "| gan-gn-maxout | 0 | – | – | 0.6065 |" in result.output  # the four are not run

    folder = run / STAGE / "fold_0"
    models, config, _stats, meta = load_checkpoint(folder)
    assert config.model.attention == "self" and config.loss.ce_class_weights == "inverse-frequency"
    # The sidecar holds the weights computed from the training fold's labels.
    train = json.loads((run / STAGE / "splits.json").read_text())["folds"][0]["train"]
    cases = [c for c in training_cases(data) if c.case_id in train]
    labels = [load_case_arrays(c, with_dwi=False).label for c in cases]
    weights = fold_class_weights(config.loss, labels)
    assert meta["ce_class_weights"] == list(weights) and weights[1] > 1
    # One epoch moved every attention gate away from 0.
    gates = [m.gate.item() for m in models.segmentor.modules() if hasattr(m, "gate")]
    assert gates and all(g != 0 for g in gates)

    resumed = CliRunner().invoke(main, [*args, "--epochs", "2", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert read_sidecar(folder)["epoch"] == 2
    assert read_sidecar(folder)["ce_class_weights"] == list(weights)

    report = Predictor.from_checkpoints([folder], device="cpu").predict_folder(
        data, tmp_path / "predictions", save_probabilities=True, progress=False
    )
    assert not report.failed and len(report.written) == 4
    probability = next((tmp_path / "predictions").glob("*.probability.nii.gz"))
    assert probability.stat().st_size > 0


def test_every_new_option_trains_and_predicts_from_a_json_config(
    data: Path, tmp_path: Path
) -> None:
    options = {
        "model": {"attention": "self", "attention_levels": [-2, -1]},
        "loss": {"ce_class_weights": [1, 20], "gds_reduction": "image"},
    }
    (tmp_path / "options.json").write_text(json.dumps(options))
    run = tmp_path / "run"
    config = f"ci+{tmp_path / 'options.json'}"
    args = [str(data), "--out", str(run), "--config", config, "--fold", "1", "--epochs", "1"]
    result = CliRunner().invoke(main, ["train", *args, "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    models, loaded, _stats, meta = load_checkpoint(run / "fold_1")
    assert loaded.model.resolved_attention_levels == (2, 3)
    assert loaded.loss.gds_reduction == "image" and meta["ce_class_weights"] == [1.0, 20.0]
    assert set(models.generator.unet.attention) == {"2", "3"}
    out = tmp_path / "predictions"
    predict = ["predict", str(data), "--weights", str(run / "fold_1"), "--out", str(out)]
    result = CliRunner().invoke(main, [*predict, "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("SMIR.GANSeg.*.nii"))) == 4
