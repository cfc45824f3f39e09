"""Checkpoint ensembles: loading, and the prediction of one loaded case (paper Fig. 1).

Per case: slices → normalise with each checkpoint's own training-fold statistics → generator →
segmentor → lesion probability; several checkpoints (e.g. the four folds) are ensembled by
averaging probabilities; optional flip test-time augmentation; threshold 0.5; written in
challenge format on the case's CT_MTT grid. Never needs MR_DWI (cross-validation of the
``dwi-unet`` stage may opt in, see ``allow_dwi``). The batched forward pass itself, shared
with whole folders, is :mod:`isles2018.inference.batching`. The predictor needs only
:func:`isles2018.inference.checkpoint.load_checkpoint`, never the trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from isles2018.config import Config
from isles2018.data.normalise import NormStats
from isles2018.data.stack import CaseArrays
from isles2018.errors import CheckpointError
from isles2018.inference.batching import Prediction, SliceBatcher, reads_dwi
from isles2018.inference.checkpoint import SIDECAR, WEIGHTS, load_checkpoint
from isles2018.models import Models

# Prediction and reads_dwi live with the batched forward pass; imported from here as before.
__all__ = [
    "Member",
    "Prediction",
    "find_checkpoints",
    "load_members",
    "predict_arrays",
    "reads_dwi",
]


@dataclass
class Member:
    """One checkpoint of an ensemble, loaded for inference."""

    models: Models
    config: Config
    stats: NormStats
    path: Path


def _missing_folds(run: Path) -> list[int]:
    """Folds of a run folder (one with ``splits.json``) that have no checkpoint."""
    from isles2018.data.splits import SPLITS_FILE, Splits

    if not (run / SPLITS_FILE).is_file():
        return []
    k = Splits.load(run / SPLITS_FILE).k
    return [fold for fold in range(k) if not (run / f"fold_{fold}" / SIDECAR).is_file()]


def find_checkpoints(paths: Sequence[Path]) -> list[Path]:
    """Checkpoint folders named by ``paths``: a fold folder, its ``checkpoint.json`` or
    ``checkpoint.safetensors``, or a run or weights folder holding ``fold_*/checkpoint.json``
    (any depth up to three).

    A run folder must hold every fold of its ``splits.json``, as a shipped weights folder must
    hold every file of its manifest: an ensemble is never silently smaller than asked for (name
    the fold folders to ensemble fewer).

    Raises:
        CheckpointError: a path that holds no checkpoint, or a run folder missing a fold.
    """
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_file() and path.name in (SIDECAR, WEIGHTS):
            if not (path.parent / SIDECAR).is_file():
                raise CheckpointError(f"{path}: no {SIDECAR} beside it")
            found.append(path.parent)
        elif path.is_file():
            raise CheckpointError(
                f"{path}: a file, but not {SIDECAR} or {WEIGHTS}; name a checkpoint, run or "
                "weights folder"
            )
        elif (path / SIDECAR).is_file():
            found.append(path)
        elif path.is_dir():
            nested = sorted(
                p.parent
                for pattern in ("*/" + SIDECAR, "*/*/" + SIDECAR, "*/*/*/" + SIDECAR)
                for p in path.glob(pattern)
            )
            if not nested:
                raise CheckpointError(f"{path}: no {SIDECAR} found")
            missing = _missing_folds(path)
            if missing:
                raise CheckpointError(
                    f"{path}: no checkpoint for fold(s) {', '.join(map(str, missing))} of its "
                    f"splits; to ensemble fewer folds, name their fold_<k> folders"
                )
            found.extend(nested)
        else:
            raise CheckpointError(f"{path}: no such checkpoint file or folder")
    return list(dict.fromkeys(found))


def load_members(paths: Sequence[Path], device: torch.device) -> list[Member]:
    """Load every checkpoint found under ``paths`` (sha256-verified) for inference.

    A folder with a weights ``manifest.json`` (the shipped weights) has every listed file
    checked against the manifest first.
    """
    from isles2018.inference.weights import verify_weights

    for path in map(Path, paths):
        if path.is_dir():
            verify_weights(path)
    members = []
    for folder in find_checkpoints(paths):
        models, config, stats, _ = load_checkpoint(folder, device=device)
        members.append(Member(models, config, stats, folder))
    return members


def predict_arrays(
    members: Sequence[Member],
    arrays: CaseArrays,
    *,
    device: torch.device,
    tta: bool = False,
    batch_size: int = 8,
    amp: torch.dtype | None = None,
    channels_last: bool = False,
    allow_dwi: bool = False,
) -> Prediction:
    """Ensemble prediction of one loaded case.

    Args:
        members: loaded checkpoints; each normalises with its own statistics.
        arrays: the case (``inputs`` ``(S, 5, H, W)``); MR_DWI (``dwi``) only with
            ``allow_dwi``.
        device: where the networks are.
        tta: average over identity, x-flip, y-flip and both.
        batch_size: slices per forward pass.
        amp: autocast dtype (``torch.bfloat16``) or None for fp32.
        channels_last: feed NHWC tensors (the members' weights are made NHWC too).
        allow_dwi: accept checkpoints that read MR_DWI (validation on training cases loaded
            with it); test-time inference never has MR_DWI, so this is off by default.

    Raises:
        CheckpointError: no member, or a member reads MR_DWI without ``allow_dwi``.
        ConfigError: ``batch_size`` below 1.
        ValueError: a member reads MR_DWI but ``arrays`` holds none (load it with the DWI).
    """
    return SliceBatcher(
        members,
        device=device,
        tta=tta,
        batch_size=batch_size,
        amp=amp,
        channels_last=channels_last,
        allow_dwi=allow_dwi,
    ).predict_alone(arrays)
