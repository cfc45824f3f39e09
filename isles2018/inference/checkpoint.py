"""Self-describing checkpoints: safetensors weights + a JSON sidecar; no pickle anywhere.

A checkpoint folder (one per fold) holds:

* ``checkpoint.safetensors`` — every network's tensors, keyed ``<network>.<parameter>``; the
  config and normalisation statistics are also embedded in its metadata;
* ``training_state.safetensors`` — optimiser tensors and RNG states (for ``--resume`` only);
* ``checkpoint.json`` — config, normalisation statistics, fold, epoch, scores, optimiser
  hyper-parameters, and the sha256 of both tensor files.

:func:`load_checkpoint` is all a predictor needs: it verifies the sha256, rebuilds the networks
from the embedded config and loads the weights. It never imports the trainer.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from isles2018.config import Config, from_dict, to_dict
from isles2018.data.normalise import NormStats
from isles2018.errors import CheckpointError, ConfigError
from isles2018.files import atomic_path, file_digest
from isles2018.models import Models, build_models

WEIGHTS = "checkpoint.safetensors"
STATE = "training_state.safetensors"
SIDECAR = "checkpoint.json"
FORMAT = "isles2018-checkpoint"
VERSION = 1


def _save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> str:
    plain = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as temporary:
        save_file(plain, str(temporary), metadata=metadata)
        digest = file_digest(temporary)
    return digest


def _optimiser_state(optimisers: dict[str, torch.optim.Optimizer]) -> tuple[dict, dict]:
    tensors: dict[str, torch.Tensor] = {}
    groups: dict[str, Any] = {}
    for name, optimiser in optimisers.items():
        state = optimiser.state_dict()
        for index, values in state["state"].items():
            for key, value in values.items():
                if not isinstance(value, torch.Tensor):
                    raise CheckpointError(f"optimiser {name}: non-tensor state {key!r}")
                tensors[f"optimiser.{name}.{index}.{key}"] = value
        groups[name] = state["param_groups"]
    return tensors, groups


def save_checkpoint(
    folder: Path,
    models: Models,
    config: Config,
    stats: NormStats,
    *,
    fold: int | None,
    epoch: int,
    scores: dict[str, Any] | None = None,
    optimisers: dict[str, torch.optim.Optimizer] | None = None,
    rng: dict[str, torch.Tensor] | None = None,
    ce_class_weights: Sequence[float] | None = None,
) -> Path:
    """Write the checkpoint files atomically; the sidecar last, so it never names a stale file.

    Args:
        folder: the fold's folder.
        models: networks (DDP wrappers are unwrapped).
        config: the run's full config (embedded).
        stats: the training fold's normalisation statistics.
        fold: fold index, or None for a model trained on all cases.
        epoch: epochs completed.
        scores: JSON-ready scores (e.g. validation Dice).
        optimisers: optimisers by name; with ``rng`` they make the resumable training state.
        rng: RNG states as uint8 tensors (e.g. the augmentation generator's).
        ce_class_weights: the (background, lesion) CE weights the fold trained with, stored as
            ``ce_class_weights`` (null if not given; absent from older sidecars): the config's
            pair, or the numbers ``"inverse-frequency"`` derived from the training fold.

    Returns:
        The sidecar's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config_json = json.dumps(to_dict(config))
    weights = None if ce_class_weights is None else [float(w) for w in ce_class_weights]
    stats_json = json.dumps(stats.to_dict())
    metadata = {"format": FORMAT, "config": config_json, "stats": stats_json}
    sidecar: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "weights": {
            "file": WEIGHTS,
            "sha256": _save_tensors(folder / WEIGHTS, models.state_dict(), metadata),
        },
        "training_state": None,
        "fold": fold,
        "epoch": epoch,
        "scores": scores or {},
        "ce_class_weights": weights,
        "config": to_dict(config),
        "stats": stats.to_dict(),
        "networks": list(models.networks()),
        "torch_version": torch.__version__,
        "saved_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if optimisers is not None:
        tensors, groups = _optimiser_state(optimisers)
        tensors.update({f"rng.{name}": value for name, value in (rng or {}).items()})
        digest = _save_tensors(folder / STATE, tensors, {"format": FORMAT})
        sidecar["training_state"] = {"file": STATE, "sha256": digest, "param_groups": groups}
    with atomic_path(folder / SIDECAR) as temporary:
        temporary.write_text(json.dumps(sidecar, indent=2) + "\n")
    return folder / SIDECAR


def _sidecar_path(path: Path) -> Path:
    path = Path(path)
    if path.is_dir():
        return path / SIDECAR
    if path.suffix == ".safetensors":
        return path.with_name(SIDECAR) if path.name == WEIGHTS else path.with_suffix(".json")
    return path


def read_sidecar(path: Path) -> dict[str, Any]:
    """The sidecar of a checkpoint given by folder, sidecar or weights path.

    Raises:
        CheckpointError: missing or not a checkpoint sidecar.
    """
    sidecar = _sidecar_path(path)
    if not sidecar.is_file():
        raise CheckpointError(f"{sidecar}: checkpoint sidecar not found")
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{sidecar}: unreadable checkpoint sidecar ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{sidecar}: not an isles2018 checkpoint sidecar")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{sidecar}: checkpoint version {meta.get('version')} unsupported")
    meta["_folder"] = str(sidecar.parent)
    return meta


def _verified_tensors(folder: Path, entry: dict[str, Any]) -> dict[str, torch.Tensor]:
    path = folder / entry["file"]
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    if file_digest(path) != entry["sha256"]:
        raise CheckpointError(f"{path}: sha256 mismatch (file changed or damaged since saved)")
    return load_file(str(path))


def load_checkpoint(
    path: Path, *, device: torch.device | str = "cpu"
) -> tuple[Models, Config, NormStats, dict[str, Any]]:
    """Load a checkpoint for inference: verified, rebuilt from its own config, in eval mode.

    Args:
        path: the fold folder, ``checkpoint.json`` or ``checkpoint.safetensors``.
        device: where to put the networks.

    Returns:
        ``(models, config, stats, meta)``; ``meta`` is the sidecar (fold, epoch, scores, …).

    Raises:
        CheckpointError: missing file, sha256 mismatch, or weights that do not fit the config.
    """
    meta = read_sidecar(path)
    folder = Path(meta["_folder"])
    tensors = _verified_tensors(folder, meta["weights"])
    try:
        config = from_dict(meta["config"])
        stats = NormStats.from_dict(meta["stats"])
    except ConfigError as error:
        raise CheckpointError(f"{folder / SIDECAR}: {error}") from None
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{folder / SIDECAR}: damaged normalisation stats ({error})"
        ) from None
    torch_state = torch.random.get_rng_state()
    models = build_models(config)  # random init is overwritten; do not disturb the caller's RNG
    torch.random.set_rng_state(torch_state)
    try:
        models.load_state_dict(tensors)
    except (KeyError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(
            f"{folder / WEIGHTS}: weights do not fit its config ({first})"
        ) from None
    models.to(device).eval()
    return models, config, stats, meta


def load_training_state(
    path: Path,
    models: Models,
    optimisers: dict[str, torch.optim.Optimizer],
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Restore weights and optimiser state in place, for ``--resume``.

    Returns:
        ``(meta, rng)``: the sidecar and the saved RNG states by name.

    Raises:
        CheckpointError: missing files, sha256 mismatch, no training state, or a mismatch with
            the networks and optimisers given.
    """
    meta = read_sidecar(path)
    folder = Path(meta["_folder"])
    if meta.get("training_state") is None:
        raise CheckpointError(f"{folder}: checkpoint holds no training state to resume from")
    try:
        models.load_state_dict(_verified_tensors(folder, meta["weights"]))
    except (KeyError, RuntimeError) as error:
        first = str(error).strip().splitlines()[0]
        raise CheckpointError(f"{folder}: weights do not fit this run ({first})") from None
    state = _verified_tensors(folder, meta["training_state"])
    groups = meta["training_state"]["param_groups"]
    if set(groups) != set(optimisers):
        raise CheckpointError(f"{folder}: optimisers {sorted(groups)} != {sorted(optimisers)}")
    for name, optimiser in optimisers.items():
        prefix = f"optimiser.{name}."
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in state.items():
            if key.startswith(prefix):
                index, field = key[len(prefix) :].split(".", 1)
                per_param.setdefault(int(index), {})[field] = value
        optimiser.load_state_dict({"state": per_param, "param_groups": groups[name]})
    rng = {key[len("rng.") :]: value for key, value in state.items() if key.startswith("rng.")}
    return meta, rng
