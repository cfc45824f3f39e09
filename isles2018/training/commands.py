"""``isles2018 train`` and ``isles2018 ablation``: thin commands over :mod:`isles2018.training.run`.

torch is imported inside the commands, never at module level, so ``--help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from isles2018.config import ABLATION_STAGES, STAGES, load_config

_data = click.argument("data", type=click.Path(exists=True, file_okay=False, path_type=Path))
_out = click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Run folder."
)
_fold = click.option(
    "--fold", "folds", type=int, multiple=True, help="Fold to train (repeatable; default all)."
)
_epochs = click.option("--epochs", type=click.IntRange(min=1), help="Override optim.epochs.")
_device = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Override runtime.device."
)
_seed = click.option("--seed", type=int, help="Override runtime.seed.")
_resume = click.option("--resume", is_flag=True, help="Continue from the folds' checkpoints.")
_quiet = click.option("--quiet", is_flag=True, help="No progress bars.")


def _setup(device_name: str) -> tuple[Any, Any]:
    import torch

    from isles2018.training.distributed import init_distributed

    context, device = init_distributed(device_name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed slice size: let cuDNN pick its kernels
    return context, device


def _launch(runtime: Any, run: Callable[[Any, Any], Any]) -> tuple[Any, Any]:
    """Set threads, start (and always stop) the process group, and call ``run(device, ctx)``."""
    import torch

    from isles2018.training.distributed import shutdown_distributed

    if runtime.num_threads > 0:
        torch.set_num_threads(runtime.num_threads)
    context, device = _setup(runtime.device)
    try:
        return context, run(device, context)
    finally:
        shutdown_distributed()


@click.command("train")
@_data
@_out
@click.option(
    "--config",
    "config_name",
    default=None,
    help="Named config (gan-gn-maxout, gan, perfusion-unet, dwi-unet, gan-gn-maxout-attn, fast, "
    "ci, demo; join with '+', e.g. gan+ci) or a JSON file. Default: RUN/config.json when "
    "resuming, else gan-gn-maxout.",
)
@click.option(
    "--splits",
    "splits_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A splits.json from `isles2018 split` to train on (default: RUN/splits.json if "
    "present, else a new patient-grouped split with runtime.folds and runtime.seed).",
)
@_fold
@click.option(
    "--concurrent-folds",
    is_flag=True,
    help="Train the folds at once, one process per fold sharing the device (e.g. one GPU); "
    "their lines are relayed as 'fold <k> | ...'. Not under torchrun.",
)
@_epochs
@_device
@_seed
@_resume
@_quiet
def train(
    data: Path,
    out: Path,
    config_name: str | None,
    splits_file: Path | None,
    folds: tuple[int, ...],
    concurrent_folds: bool,
    epochs: int | None,
    device: str | None,
    seed: int | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Cross-validate the pipeline on an ISLES TRAINING folder into RUN/fold_<k>/.

    Under torchrun every process trains the same folds on its share of the slices. With
    --concurrent-folds each fold trains in its own process, all at once on the same device.
    """
    from isles2018.training.run import apply_overrides, train_run

    stored = out / "config.json"
    if config_name is None:
        config_name = str(stored) if resume and stored.is_file() else "gan-gn-maxout"
    config = apply_overrides(load_config(config_name), epochs=epochs, seed=seed, device=device)
    if concurrent_folds:
        from isles2018.models.device import resolve_device
        from isles2018.training.concurrent import train_concurrently

        results = train_concurrently(
            data, out, config, folds=folds, resume=resume, splits_file=splits_file,
            device=resolve_device(config.runtime.device).type, log=click.echo,
        )  # fmt: skip
        _echo_results(results)
        return
    context, results = _launch(
        config.runtime,
        lambda device, context: train_run(
            data,
            out,
            config,
            folds=folds,
            resume=resume,
            device=device,
            context=context,
            progress=not quiet,
            splits_file=splits_file,
        ),
    )
    if context.is_main:
        _echo_results(results)


def _echo_results(results: Any) -> None:
    for result in results:
        dice = "-" if result.val_dice is None else f"{result.val_dice:.4f}"
        click.echo(f"fold {result.fold}: {result.epoch} epochs, validation Dice {dice}")


@click.command("ablation")
@_data
@_out
@click.option(
    "--stage",
    "stages",
    type=click.Choice(ABLATION_STAGES),
    multiple=True,
    help="Stage to train (repeatable; default the four of Table 1; gan-gn-maxout-attn is "
    "stage 4 with self-attention and inverse-frequency CE, which the paper does not score).",
)
@click.option(
    "--config-suffix",
    default=None,
    help="Config merged over each stage, e.g. 'ci' or 'fast' (stage+suffix).",
)
@_fold
@_epochs
@_device
@_seed
@_resume
@_quiet
def ablation(
    data: Path,
    out: Path,
    stages: tuple[str, ...],
    config_suffix: str | None,
    folds: tuple[int, ...],
    epochs: int | None,
    device: str | None,
    seed: int | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Train the four stages of Table 1 into RUN/<stage>/; print their Dice beside the paper's."""
    from isles2018.crossval.table1 import StageScores, table1_markdown
    from isles2018.training.ablation import run_ablation, stage_configs

    configs = stage_configs(
        stages or STAGES, config_suffix, epochs=epochs, seed=seed, device=device
    )
    context, results = _launch(
        next(iter(configs.values())).runtime,
        lambda device, context: run_ablation(
            data,
            out,
            configs,
            folds=folds,
            resume=resume,
            device=device,
            context=context,
            progress=not quiet,
        ),
    )
    if context.is_main:
        rows = {
            stage: StageScores.from_training(
                [f.val_dice for f in folds], configs[stage].runtime.folds
            )
            for stage, folds in results.items()
        }
        click.echo(table1_markdown(rows))
