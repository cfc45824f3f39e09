"""Cross-validation runs, exact resume, the ablation, and the train/ablation commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from isles2018.cli import main
from isles2018.config import load_config, with_overrides
from isles2018.crossval.table1 import StageScores, table1_markdown
from isles2018.data.modalities import Modality
from isles2018.errors import DataError, TrainingError
from isles2018.inference.checkpoint import load_checkpoint
from isles2018.training import run as crossval
from isles2018.training.metrics_log import read_metrics
from isles2018.training.run import FoldResult, train_run

SIZE = (32, 32, 2)
NO_DWI = tuple(m for m in Modality if m is not Modality.DWI)


@pytest.fixture
def data_without_dwi(tmp_path: Path, make_case) -> Path:
    """Like the public ISLES 2018 release: no MR_DWI."""
    root = tmp_path / "PUBLIC" / "TRAINING"
    for number in (1, 2, 3, 4):
        make_case(root, number, shape=SIZE, modalities=NO_DWI)
    return root


def tiny(epochs: int = 2, name: str = "ci"):
    return with_overrides(
        load_config(name),
        model={"depth": 2},
        optim={"epochs": epochs},
        runtime={"folds": 2, "device": "cpu"},
    )


def test_train_command_writes_the_run_layout(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = [str(data), "--out", str(run), "--config", "ci", "--fold", "1", "--epochs", "2"]
    result = CliRunner().invoke(main, ["train", *args, "--device", "cpu", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "fold 1: 2 epochs, validation Dice" in result.output
    assert json.loads((run / "config.json").read_text())["optim"]["epochs"] == 2
    splits = json.loads((run / "splits.json").read_text())
    assert splits["k"] == 4
    fold = run / "fold_1"
    for name in ("checkpoint.safetensors", "checkpoint.json", "metrics.jsonl", "loss_curve.png"):
        assert (fold / name).is_file(), name
    assert not (run / "fold_0").exists()
    records = read_metrics(fold)
    assert [r["epoch"] for r in records] == [1, 2]
    assert set(records[-1]["val_dice_per_case"]) == set(splits["folds"][1]["val"])
    _models, config, stats, meta = load_checkpoint(fold)
    assert meta["epoch"] == 2 and meta["fold"] == 1
    assert stats.channels == config.pipeline.inputs
    # Normalisation statistics come from the fold's training cases only.
    assert set(splits["folds"][1]["val"]).isdisjoint(splits["folds"][1]["train"])

    again = CliRunner().invoke(main, ["train", *args, "--device", "cpu", "--quiet"])
    assert again.exit_code == 1
    assert "already holds a checkpoint" in again.output and "--resume" in again.output


def test_resume_continues_exactly(data: Path, tmp_path: Path, monkeypatch) -> None:
    config = tiny(epochs=3)
    whole = train_run(
        data, tmp_path / "whole", config, folds=[0], device=torch.device("cpu"), progress=False
    )

    real_epoch = crossval.train_epoch

    def interrupted(*args, epoch: int, **kwargs):
        if epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, epoch=epoch, **kwargs)

    monkeypatch.setattr(crossval, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_run(
            data, tmp_path / "cut", config, folds=[0], device=torch.device("cpu"), progress=False
        )
    monkeypatch.setattr(crossval, "train_epoch", real_epoch)
    assert load_checkpoint(tmp_path / "cut" / "fold_0")[3]["epoch"] == 2
    with pytest.raises(TrainingError, match="--resume"):
        train_run(
            data, tmp_path / "cut", config, folds=[0], device=torch.device("cpu"), progress=False
        )
    resumed = train_run(
        data,
        tmp_path / "cut",
        config,
        folds=[0],
        device=torch.device("cpu"),
        resume=True,
        progress=False,
    )

    def losses(run: str) -> list[dict]:
        return [
            {k: v for k, v in r.items() if k != "seconds"}
            for r in read_metrics(tmp_path / run / "fold_0")
        ]

    assert [r["epoch"] for r in losses("cut")] == [1, 2, 3]
    assert losses("cut") == losses("whole")  # bit-identical losses and validation Dice
    assert resumed[0].val_dice == whole[0].val_dice
    first, second = (
        load_checkpoint(tmp_path / "whole" / "fold_0")[0],
        load_checkpoint(tmp_path / "cut" / "fold_0")[0],
    )
    for key, value in first.state_dict().items():
        assert torch.equal(second.state_dict()[key], value), key
    # Resuming a finished fold trains nothing more.
    done = train_run(
        data,
        tmp_path / "cut",
        config,
        folds=[0],
        device=torch.device("cpu"),
        resume=True,
        progress=False,
    )
    assert done[0].epoch == 3 and done[0].val_dice == whole[0].val_dice


def test_gan_stage_without_dwi_stops_at_once(data_without_dwi: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["train", str(data_without_dwi), "--out", str(tmp_path / "run"), "--config", "ci"]
    )
    assert result.exit_code == 1
    assert "public ISLES 2018 release has no MR_DWI" in result.output
    assert "perfusion-unet" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
    for stage in ("dwi-unet", "gan", "gan-gn-maxout"):
        with pytest.raises(TrainingError, match="needs MR_DWI"):
            train_run(
                data_without_dwi, tmp_path / stage, tiny(name=stage), device=torch.device("cpu")
            )


def test_ablation_of_perfusion_unet_without_dwi(data_without_dwi: Path, tmp_path: Path) -> None:
    run = tmp_path / "ablation"
    args = [str(data_without_dwi), "--out", str(run), "--stage", "perfusion-unet"]
    result = CliRunner().invoke(
        main,
        [
            "ablation",
            *args,
            "--config-suffix",
            "ci",
            "--epochs",
            "1",
            "--fold",
            "0",
            "--device",
            "cpu",
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "perfusion-unet" in result.output and "0.5463" in result.output
    assert (run / "perfusion-unet" / "fold_0" / "checkpoint.json").is_file()
    config = json.loads((run / "perfusion-unet" / "config.json").read_text())
    assert config["name"] == "perfusion-unet+ci" and config["pipeline"]["adversarial"] is False

    every = CliRunner().invoke(
        main, ["ablation", str(data_without_dwi), "--out", str(run), "--epochs", "1"]
    )
    assert every.exit_code == 1 and "no MR_DWI" in every.output


def test_run_guards(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train_run(data, run, tiny(epochs=1), folds=[0], device=torch.device("cpu"), progress=False)
    with pytest.raises(TrainingError, match="another config"):
        train_run(data, run, tiny(epochs=1, name="perfusion-unet+ci"), device=torch.device("cpu"))
    with pytest.raises(TrainingError, match="fold 5 does not exist"):
        train_run(data, run, tiny(epochs=1), folds=[5], device=torch.device("cpu"))
    bad = CliRunner().invoke(main, ["train", str(data), "--out", str(run), "--config", "nope"])
    assert bad.exit_code == 1 and "unknown config 'nope'" in bad.output


def test_cuda_without_gpu_is_a_user_error(data: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on GPU machines
    run = tmp_path / "run"
    for command in (
        ["train", str(data), "--out", str(run), "--config", "ci", "--device", "cuda"],
        ["predict", str(data), "--weights", str(run), "--out", str(run), "--device", "cuda"],
    ):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, result.output
        assert result.output.strip().splitlines() == [
            "Error: device 'cuda' asked for, but torch sees no CUDA GPU (use auto or cpu)"
        ]


def test_ablation_table_beside_the_paper() -> None:
    results = {
        "dwi-unet": [FoldResult(0, 2, 0.5, Path()), FoldResult(1, 2, 0.7, Path())],
        "gan-gn-maxout": [FoldResult(0, 2, None, Path())],
    }
    rows = {s: StageScores.from_training([f.val_dice for f in r], 4) for s, r in results.items()}
    lines = table1_markdown(rows).splitlines()
    assert lines[0] == "| stage | folds scored | Dice (ours) | Dice (checkpoints) | Dice (paper) |"
    assert lines[2] == "| dwi-unet | 2/4 | – | 0.6000 | 0.8473 |"
    assert "| perfusion-unet | 0 | – | – | 0.5463 |" in lines  # every stage of the paper
    assert "| gan-gn-maxout | 0/4 | – | – | 0.6065 |" in lines


def test_a_failed_start_leaves_nothing_and_the_corrected_rerun_trains(
    data: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    too_many = with_overrides(tiny(epochs=1), runtime={"folds": 20})
    with pytest.raises(DataError, match="cannot fill 20 folds"):
        train_run(data, run, too_many, device=torch.device("cpu"), progress=False)
    assert not run.exists()
    with pytest.raises(TrainingError, match="fold 7 does not exist"):
        train_run(data, run, tiny(epochs=1), folds=[7], device=torch.device("cpu"))
    assert not run.exists()
    results = train_run(data, run, tiny(epochs=1), folds=[0], device=torch.device("cpu"))
    assert [r.epoch for r in results] == [1]


def test_resume_may_extend_but_never_shorten_a_run(data: Path, tmp_path: Path) -> None:
    run, cpu = tmp_path / "run", torch.device("cpu")
    train_run(data, run, tiny(epochs=2), folds=[0], device=cpu, progress=False)
    before = (run / "config.json").read_bytes()
    with pytest.raises(TrainingError, match="has trained 2 epochs; --epochs 1 would shorten"):
        train_run(data, run, tiny(epochs=1), folds=[0], resume=True, device=cpu)
    with pytest.raises(TrainingError, match="already holds a checkpoint"):
        train_run(data, run, tiny(epochs=3), folds=[0], device=cpu)
    assert (run / "config.json").read_bytes() == before  # neither attempt rewrote the config
    train_run(data, run, tiny(epochs=3), folds=[0], resume=True, device=cpu, progress=False)
    assert json.loads((run / "config.json").read_text())["optim"]["epochs"] == 3


def test_train_uses_the_splits_of_the_split_command(data: Path, tmp_path: Path) -> None:
    made = tmp_path / "my_splits.json"
    runner = CliRunner()
    split = runner.invoke(
        main, ["split", str(data), "--folds", "2", "--seed", "5", "-o", str(made)]
    )
    assert split.exit_code == 0, split.output
    run = tmp_path / "run"
    args = ["train", str(data), "--out", str(run), "--config", "ci", "--epochs", "1", "--fold"]
    bad = runner.invoke(main, [*args, "0", "--splits", str(made), "--device", "cpu", "--quiet"])
    assert bad.exit_code == 1 and "has 2 folds but runtime.folds is 4" in bad.output
    assert not run.exists()
    config = tmp_path / "two.json"
    config.write_text(json.dumps({"model": {"depth": 2}, "runtime": {"folds": 2}}))
    args[5] = str(config)
    good = runner.invoke(main, [*args, "1", "--splits", str(made), "--device", "cpu", "--quiet"])
    assert good.exit_code == 0, good.output
    assert json.loads((run / "splits.json").read_text()) == json.loads(made.read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps(json.loads(made.read_text()) | {"seed": 99}))
    again = runner.invoke(main, [*args, "1", "--splits", str(other), "--resume", "--quiet"])
    assert again.exit_code == 1 and "differs from --splits" in again.output
