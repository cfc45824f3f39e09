"""DistributedDataParallel on the CPU: two gloo processes started by torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from isles2018.config import load_config
from isles2018.data.modalities import Modality
from isles2018.models import build_models
from isles2018.training.distributed import (
    DistributedContext,
    init_distributed,
    launched_by_torchrun,
)

WORKER = textwrap.dedent(
    """
    import sys
    import torch
    from safetensors.torch import save_file
    from isles2018.config import load_config, with_overrides
    from isles2018.data.dataset import Batch
    from isles2018.training.distributed import init_distributed, shutdown_distributed
    from isles2018.models import build_models
    from isles2018.training.step import make_optimisers, train_step

    torch.set_num_threads(1)
    context, device = init_distributed("cpu")
    config = with_overrides(load_config("ci"), model={"depth": 2})
    torch.manual_seed(100 + context.rank)  # different initial weights: DDP broadcasts rank 0's
    models = build_models(config)
    initial = {k: v.clone() for k, v in models.state_dict().items()}
    optimisers = make_optimisers(models, config.optim)
    wrapped = context.wrap(models, device)
    data = torch.Generator().manual_seed(context.rank)  # each rank its own slices
    for _ in range(3):
        label = (torch.rand(2, 32, 32, generator=data) > 0.8).long()
        inputs = torch.randn(2, 5, 32, 32, generator=data)
        dwi = torch.randn(2, 1, 32, 32, generator=data)
        train_step(wrapped, optimisers, Batch(inputs, dwi, label), config.loss)
    out, rank = sys.argv[1], context.rank
    final = {k: v.contiguous() for k, v in models.state_dict().items()}
    save_file(final, f"{out}/rank{rank}.safetensors")
    save_file({k: v.contiguous() for k, v in initial.items()}, f"{out}/initial{rank}.safetensors")
    mean = context.mean({"rank": float(context.rank)})
    print(f"rank {context.rank} of {context.world_size}: mean rank {mean['rank']}")
    shutdown_distributed()
    """
)


def torchrun(tmp_path: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=timeout
    )


def test_single_process_context_is_a_no_op(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not launched_by_torchrun()
    context, device = init_distributed("cpu")
    assert context == DistributedContext() and context.is_main and not context.enabled
    assert device == torch.device("cpu")
    models = build_models(load_config("ci"))
    assert context.wrap(models, device) is models
    assert context.mean({"a": 1.5}) == {"a": 1.5}


@pytest.mark.slow
def test_two_gloo_ranks_end_with_identical_parameters(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(WORKER)
    result = torchrun(tmp_path, "worker.py", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "mean rank 0.5" in result.stdout
    ranks = [load_file(str(tmp_path / f"rank{r}.safetensors")) for r in (0, 1)]
    initial = load_file(str(tmp_path / "initial0.safetensors"))
    other_initial = load_file(str(tmp_path / "initial1.safetensors"))
    assert any(not torch.equal(initial[k], other_initial[k]) for k in initial)
    for key in ranks[0]:
        assert torch.equal(ranks[0][key], ranks[1][key]), key
    assert any(not torch.equal(ranks[0][k], initial[k]) for k in initial)  # it did train


@pytest.mark.slow
def test_train_command_under_torchrun_writes_once(tmp_path: Path, make_case) -> None:
    data = tmp_path / "TRAINING"
    for number in (1, 2, 3, 4):
        make_case(data, number, shape=(32, 32, 2), modalities=tuple(Modality))
    (tmp_path / "launch.py").write_text(
        "import sys\nfrom isles2018.training.commands import train\ntrain.main(sys.argv[1:])\n"
    )
    run = tmp_path / "run"
    args = [str(data), "--out", str(run), "--config", "ci", "--fold", "0", "--epochs", "2"]
    result = torchrun(tmp_path, "launch.py", *args, "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("fold 0: 2 epochs") == 1  # only rank 0 reports
    lines = (run / "fold_0" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert (run / "fold_0" / "checkpoint.json").is_file()
    assert not list(run.rglob(".tmp-*"))
