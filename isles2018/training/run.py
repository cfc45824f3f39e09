"""Cross-validation training runs: folds, checkpoints, resume.

Run layout::

    RUN/config.json  RUN/splits.json
    RUN/fold_<k>/checkpoint.safetensors  checkpoint.json  training_state.safetensors
                 metrics.jsonl  loss_curve.png

The per-epoch log is :mod:`isles2018.training.metrics_log`; the ablation (``RUN/<stage>/``)
is :mod:`isles2018.training.ablation`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from isles2018.config import Config, save_config, with_overrides
from isles2018.data.dataset import SliceDataset, load_cases
from isles2018.data.layout import training_cases
from isles2018.data.normalise import compute_stats
from isles2018.data.splits import SPLITS_FILE as SPLITS
from isles2018.errors import TrainingError
from isles2018.inference.checkpoint import (
    SIDECAR,
    load_training_state,
    read_sidecar,
    save_checkpoint,
)
from isles2018.models import build_models
from isles2018.models.compilation import compile_models
from isles2018.training.distributed import DistributedContext
from isles2018.training.losses import fold_class_weights
from isles2018.training.metrics_log import (
    METRICS,
    append_metrics,
    plot_loss_curve,
    truncate_metrics,
)
from isles2018.training.preflight import (
    check_dwi,
    check_same_config,
    run_splits,
    trained_epochs,
)
from isles2018.training.step import amp_dtype, make_optimisers, train_epoch, validate


@dataclass(frozen=True)
class FoldResult:
    """Outcome of one fold: epochs completed and the last validation Dice (mean over cases)."""

    fold: int
    epoch: int
    val_dice: float | None
    folder: Path


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def _quiet(_: str) -> None:
    """Log of the ranks other than the first: nothing."""


def _gather_rng(generator: torch.Generator, context: DistributedContext) -> dict[str, torch.Tensor]:
    """Every rank's augmentation RNG state, keyed ``augment.<rank>``."""
    state = generator.get_state()
    if not context.enabled:
        return {"augment.0": state}
    gathered: list[Any] = [None] * context.world_size
    torch.distributed.all_gather_object(gathered, state)
    return {f"augment.{rank}": s for rank, s in enumerate(gathered)}


def train_fold(
    config: Config,
    train_cases: Sequence[Any],
    val_cases: Sequence[Any],
    folder: Path,
    *,
    fold: int,
    device: torch.device,
    resume: bool = False,
    context: DistributedContext | None = None,
    progress: bool = True,
) -> FoldResult:
    """Train one fold from scratch or from its checkpoint, validating and checkpointing.

    Args:
        train_cases, val_cases: loaded ``CaseArrays`` (training fold with labels, and MR_DWI
            if the stage needs it; validation cases with labels).
        folder: ``RUN/fold_<k>``.
        resume: continue from ``folder``'s checkpoint, exactly where it stopped.

    Raises:
        TrainingError: a checkpoint exists but ``resume`` is False.
    """
    context = context or DistributedContext()
    folder = Path(folder)
    seed = config.runtime.seed
    stats = compute_stats(
        train_cases,
        config.pipeline.inputs,
        with_dwi=config.pipeline.adversarial,
        method=config.normalise.method,
        percentiles=config.normalise.percentiles,
    )
    dataset = SliceDataset(train_cases, stats, with_dwi=config.pipeline.adversarial).to(device)
    class_weights = fold_class_weights(config.loss, [c.label for c in train_cases])
    torch.manual_seed(_seed(seed, fold))
    models = build_models(config).to(device, channels_last=config.runtime.channels_last)
    optimisers = make_optimisers(models, config.optim)
    generator = torch.Generator().manual_seed(_seed(seed, fold, context.rank))
    start = 0
    if trained_epochs(folder, epochs=config.optim.epochs, resume=resume) is not None:
        meta, rng = load_training_state(folder, models, optimisers.named())
        if f"augment.{context.rank}" not in rng:
            raise TrainingError(f"{folder}: resume with as many processes as the run started with")
        generator.set_state(rng[f"augment.{context.rank}"])
        start = int(meta["epoch"])
        if context.is_main:
            truncate_metrics(folder, start)
    elif context.is_main and (folder / METRICS).exists():
        (folder / METRICS).unlink()  # a run that never reached its first checkpoint
    folder.mkdir(parents=True, exist_ok=True)
    amp = amp_dtype(config.runtime, device)
    # Compiled (or DDP) wrappers share the plain networks' parameters; checkpoints use `models`.
    log = tqdm.write if context.is_main else _quiet
    wrapped = compile_models(context.wrap(models, device), config.runtime.compile, device, log=log)
    epochs, val_dice = config.optim.epochs, None
    for epoch in range(start, epochs):
        begin = time.perf_counter()
        losses = train_epoch(
            wrapped, optimisers, dataset, config, epoch=epoch, generator=generator, amp=amp,
            context=context, progress=progress, class_weights=class_weights,
            description=f"fold {fold} epoch {epoch + 1}/{epochs}",
        )  # fmt: skip
        losses = context.mean(losses)
        done = epoch + 1
        record: dict[str, Any] = {"epoch": done, **losses, "val_dice": None}
        last = done == epochs
        if context.is_main and (last or done % config.runtime.validate_every_epochs == 0):
            per_case = validate(
                wrapped, val_cases, stats, device=device, amp=amp,
                batch_size=config.optim.batch_size, channels_last=config.runtime.channels_last,
            )  # fmt: skip
            val_dice = float(np.mean(list(per_case.values()))) if per_case else None
            record.update(val_dice=val_dice, val_dice_per_case=per_case)
        record["seconds"] = round(time.perf_counter() - begin, 3)
        if context.is_main:
            append_metrics(folder, record)
            shown = " ".join(f"{k} {v:.4g}" for k, v in losses.items() if k != "lr")
            dice_text = "" if record["val_dice"] is None else f" | val dice {val_dice:.4f}"
            tqdm.write(f"fold {fold} epoch {done}/{epochs} | {shown}{dice_text}")
        if last or done % config.runtime.checkpoint_every_epochs == 0:
            rng = _gather_rng(generator, context)  # every rank takes part in the gather
            if context.is_main:
                scores = {"val_dice": record["val_dice"], "losses": losses}
                save_checkpoint(
                    folder, models, config, stats, fold=fold, epoch=done, scores=scores,
                    optimisers=optimisers.named(), rng=rng, ce_class_weights=class_weights,
                )  # fmt: skip
                plot_loss_curve(folder)
    context.barrier()
    if start >= epochs and (folder / SIDECAR).is_file():
        val_dice = read_sidecar(folder).get("scores", {}).get("val_dice")
    return FoldResult(fold=fold, epoch=max(start, epochs), val_dice=val_dice, folder=folder)


def apply_overrides(
    config: Config, *, epochs: int | None = None, seed: int | None = None, device: str | None = None
) -> Config:
    """The CLI's few overrides (``--epochs``, ``--seed``, ``--device``) applied to a config."""
    optim = {} if epochs is None else {"epochs": epochs}
    runtime: dict[str, Any] = {} if seed is None else {"seed": seed}
    if device is not None:
        runtime["device"] = device
    return with_overrides(config, optim=optim, runtime=runtime)


def plan_run(
    data: Path,
    out: Path,
    config: Config,
    *,
    folds: Sequence[int] | None = None,
    resume: bool = False,
    splits_file: Path | None = None,
) -> tuple[list[Any], Any, list[Any]]:
    """Every check of :func:`train_run` that needs no image: nothing is read or written.

    Returns:
        ``(cases, splits, chosen)``: the discovered training cases, the run's splits and the
        requested folds' entries of them.

    Raises:
        TrainingError: as :func:`train_run`.
    """
    cases = training_cases(Path(data))
    check_dwi(cases, config)
    check_same_config(Path(out) / "config.json", config)
    splits = run_splits(cases, Path(out), config, splits_file)
    k = splits.k
    wanted = list(range(k)) if not folds else list(dict.fromkeys(folds))
    unknown = [f for f in wanted if not 0 <= f < k]
    if unknown:
        raise TrainingError(f"fold {unknown[0]} does not exist; folds are 0..{k - 1}")
    chosen = [splits.folds[f] for f in wanted]
    for fold in chosen:
        trained_epochs(Path(out) / f"fold_{fold.fold}", epochs=config.optim.epochs, resume=resume)
    return cases, splits, chosen


def train_run(
    data: Path,
    out: Path,
    config: Config,
    *,
    folds: Sequence[int] | None = None,
    resume: bool = False,
    device: torch.device,
    context: DistributedContext | None = None,
    progress: bool = True,
    splits_file: Path | None = None,
) -> list[FoldResult]:
    """Train the requested folds (all by default) on patient-grouped splits.

    Writes ``out/config.json`` and ``out/splits.json`` (reused if present; else taken from
    ``splits_file`` or made) and one ``out/fold_<k>/`` per fold, only after every check passed
    and the data was read. Each case is read once and shared by the folds.

    Raises:
        TrainingError: MR_DWI missing for this stage, a different config already in ``out``,
            an unknown fold, an existing checkpoint without ``resume``, ``--epochs`` below the
            epochs already trained, or a ``splits_file`` that does not fit.
        DataError: unreadable data (from the data layer).
    """
    context = context or DistributedContext()
    out = Path(out)
    cases, splits, chosen = plan_run(
        data, out, config, folds=folds, resume=resume, splits_file=splits_file
    )
    needed = {c for fold in chosen for c in (*fold.train, *fold.val)}
    loaded = load_cases(
        [c for c in cases if c.case_id in needed],
        with_dwi=config.pipeline.needs_dwi,
        resample_spacing_mm=config.pipeline.resample_spacing_mm,
    )
    arrays = {a.case_id: a for a in loaded}
    # Everything is checked and read before the run folder is written: a failed start leaves
    # nothing behind that would refuse the corrected rerun.
    if context.is_main:
        out.mkdir(parents=True, exist_ok=True)
        save_config(config, out / "config.json")
        if not (out / SPLITS).is_file():
            splits.save(out / SPLITS)
    context.barrier()
    return [
        train_fold(
            config,
            [arrays[c] for c in fold.train],
            [arrays[c] for c in fold.val],
            out / f"fold_{fold.fold}",
            fold=fold.fold,
            device=device,
            resume=resume,
            context=context,
            progress=progress,
        )
        for fold in chosen
    ]
