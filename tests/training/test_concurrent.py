"""``train --concurrent-folds``: one process per fold, each fold as if trained alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

from isles2018.cli import main
from isles2018.config import load_config
from isles2018.errors import TrainingError
from isles2018.training.concurrent import child_command, train_concurrently
from isles2018.training.metrics_log import read_metrics
from isles2018.training.run import train_run

#: Two folds of a depth-2 ci network, one epoch, one CPU thread per process (bit-reproducible).
TINY = {"model": {"depth": 2}, "optim": {"epochs": 1}, "runtime": {"folds": 2, "num_threads": 1}}


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return f"ci+{path}"


def _losses(fold: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in read_metrics(fold)]


@pytest.mark.slow
def test_concurrent_folds_train_each_fold_as_a_sequential_run_does(
    data: Path, tiny: str, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = [str(data), "--out", str(run), "--config", tiny, "--fold", "0", "--fold", "1"]
    result = CliRunner().invoke(main, ["train", *args, "--device", "cpu", "--concurrent-folds"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("training folds 0, 1 concurrently: one process per fold sharing")
    assert any(line.startswith("fold 1 | fold 1 epoch 1/1 | ") for line in lines)
    assert lines[-2].startswith("fold 0: 1 epochs, validation Dice 0.")
    assert lines[-1].startswith("fold 1: 1 epochs, validation Dice 0.")
    assert json.loads((run / "splits.json").read_text())["k"] == 2
    assert (run / "config.json").is_file()

    sequential = tmp_path / "sequential"
    train_run(data, sequential, load_config(tiny), device=torch.device("cpu"), progress=False)
    for fold in ("fold_0", "fold_1"):
        assert _losses(run / fold) == _losses(sequential / fold)
        weights = load_file(run / fold / "checkpoint.safetensors")
        alone = load_file(sequential / fold / "checkpoint.safetensors")
        assert all(torch.equal(weights[key], alone[key]) for key in alone)


@pytest.mark.slow
def test_a_failing_fold_is_named_in_one_line_and_the_others_finish(
    data: Path, tiny: str, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "fold_1").write_text("a file where fold 1's folder goes")
    lines: list[str] = []
    with pytest.raises(TrainingError) as caught:
        train_concurrently(data, run, load_config(tiny), device="cpu", log=lines.append)
    message = str(caught.value)
    assert message.startswith("fold 1 failed (exit 1): ") and "fold_1" in message
    assert "\n" not in message and "fold 0" not in message
    assert (run / "fold_0" / "checkpoint.json").is_file()  # the other fold still finished
    assert any(line.startswith("fold 0 | fold 0: 1 epochs") for line in lines)


def test_concurrent_folds_refuse_before_starting_anything(
    data: Path, tiny: str, tmp_path: Path, monkeypatch
) -> None:
    run = tmp_path / "run"
    with pytest.raises(TrainingError, match="fold 5 does not exist"):
        train_concurrently(data, run, load_config(tiny), folds=[5], device="cpu")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(TrainingError, match="without torchrun"):
        train_concurrently(data, run, load_config(tiny), device="cpu")
    assert not run.exists()


def test_a_child_trains_one_fold_with_the_shared_config_and_splits(tmp_path: Path) -> None:
    command = child_command(
        tmp_path / "D", tmp_path / "R", tmp_path / "c.json", tmp_path / "s.json", 3,
        device="cuda", resume=True,
    )  # fmt: skip
    assert command[1:4] == ["-m", "isles2018", "train"]
    joined = " ".join(command[4:])
    assert f"--config {tmp_path}/c.json --splits {tmp_path}/s.json --fold 3" in joined
    assert joined.endswith("--device cuda --quiet --resume")
