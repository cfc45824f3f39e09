"""Checkpoint ensembles: loading, and the prediction of one loaded case (paper Fig. 1).

Per case: slices → normalise with each checkpoint's own training-fold statistics → generator →
segmentor → lesion probability; several checkpoints (e.g. the four folds) are ensembled by
averaging probabilities; optional flip test-time augmentation; threshold 0.5; written in
challenge format on the case's CT_MTT grid. Never needs MR_DWI (cross-validation of the
``dwi-unet`` stage may opt in, see ``allow_dwi``). The predictor needs only
:func:`isles2018.inference.checkpoint.load_checkpoint`, never the trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from isles2018.config import Config
from isles2018.data.modalities import Modality
from isles2018.data.normalise import NormStats
from isles2018.data.stack import CaseArrays
from isles2018.errors import CheckpointError, ConfigError
from isles2018.inference.checkpoint import SIDECAR, WEIGHTS, load_checkpoint
from isles2018.models import LESION_THRESHOLD, Models, run_pipeline


@dataclass
class Member:
    """One checkpoint of an ensemble, loaded for inference."""

    models: Models
    config: Config
    stats: NormStats
    path: Path


@dataclass(frozen=True)
class Prediction:
    """The prediction of one case.

    Attributes:
        probability: ``(X, Y, Z)`` float32 lesion probability (ensemble mean), or None for the
            threshold method.
        mask: ``(X, Y, Z)`` uint8 {0, 1}, ``probability >= 0.5``.
        dwi: ``(X, Y, Z)`` float32 synthetic DWI in the training data's DWI units (ensemble
            mean of the generators), or None for stages without a generator.
    """

    probability: np.ndarray | None
    mask: np.ndarray
    dwi: np.ndarray | None


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


def reads_dwi(member: Member) -> bool:
    """Whether the checkpoint reads MR_DWI as an input (the ``dwi-unet`` stage)."""
    return Modality.DWI.token in member.stats.channels


def _flips(tta: bool) -> list[tuple[int, ...]]:
    # Slices are (B, C, H, W); flipping H mirrors x, flipping W mirrors y. All four flips form a
    # group, so the TTA average is exactly equivariant to mirroring the input.
    return [(), (-2,), (-1,), (-2, -1)] if tta else [()]


@torch.no_grad()
def _member_forward(
    member: Member, inputs: torch.Tensor, flips: list[tuple[int, ...]], amp: torch.dtype | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    models = member.models
    probability = torch.zeros(inputs.shape[0], *inputs.shape[2:], device=inputs.device)
    dwi = None
    for dims in flips:
        view = inputs.flip(dims) if dims else inputs
        with torch.autocast(inputs.device.type, dtype=amp or torch.float32, enabled=bool(amp)):
            lesion, synthetic = run_pipeline(models, view)
        probability += lesion.flip(dims) if dims else lesion  # negative dims: same axes
        if synthetic is not None and not dims:
            dwi = synthetic[:, 0].float()
    return probability / len(flips), dwi


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
    if not members:
        raise CheckpointError("no checkpoint to predict with")
    if batch_size < 1:
        raise ConfigError(f"batch size must be at least 1 slice, got {batch_size}")
    slices = arrays.inputs.shape[0]
    probability = np.zeros((slices, *arrays.inputs.shape[2:]), np.float32)
    dwi_sum: np.ndarray | None = None
    generators = 0
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for member in members:
        if reads_dwi(member) and not allow_dwi:
            raise CheckpointError(
                f"{member.path}: this checkpoint reads MR_DWI, which inference lacks"
            )
        if channels_last:
            # NHWC weights too: with NCHW weights each convolution copies its weight to NHWC on
            # every call (2-7 % slower on a 2-core CPU, torch 2.13). A no-op once converted.
            member.models.to(device, channels_last=True)
        normalised = member.stats.normalise_inputs(arrays)
        member_dwi = []
        for start in range(0, slices, batch_size):
            chunk = torch.from_numpy(np.ascontiguousarray(normalised[start : start + batch_size]))
            chunk = chunk.to(device).contiguous(memory_format=memory_format)
            lesion, dwi = _member_forward(member, chunk, _flips(tta), amp)
            probability[start : start + batch_size] += lesion.cpu().numpy()
            if dwi is not None:
                member_dwi.append(dwi.cpu().numpy())
        if member_dwi and member.stats.dwi_mean is not None:
            restored = np.concatenate(member_dwi) * member.stats.dwi_std + member.stats.dwi_mean
            dwi_sum = restored if dwi_sum is None else dwi_sum + restored
            generators += 1
    probability /= len(members)
    # Back onto the case's grid (resampled when the slices were, ISLES'24), then thresholded.
    dwi = arrays.to_volume(dwi_sum / generators).astype(np.float32) if generators else None
    volume = arrays.to_volume(probability).astype(np.float32)
    return Prediction(volume, (volume >= LESION_THRESHOLD).astype(np.uint8), dwi)
