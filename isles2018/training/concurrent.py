"""Several folds trained at once on one device, one process per fold (``--concurrent-folds``).

One fold at the paper's batch of 6 slices keeps a large GPU mostly idle (issue 16: 8.9 % of the
bf16 matmul peak), and the folds of a cross-validation are independent. So the parent checks
the run as a sequential start does (:func:`~isles2018.training.run.plan_run`: no image read,
nothing written), saves the config and the splits every fold must share to a temporary folder,
and starts one ``python -m isles2018 train DATA --out RUN --fold k`` per fold, all on the same
device. Each child is an ordinary one-fold run: it reads the data, writes ``RUN/config.json``
and ``RUN/splits.json`` (the same bytes from every child, atomically) and its own
``RUN/fold_<k>/``; checkpoints, metrics and ``--resume`` are those of a sequential run, fold
for fold. The children's lines are relayed prefixed ``fold <k> |``.

On a GPU the processes share the device by time-slicing (each holds its own CUDA context, about
0.5 GB); with NVIDIA's MPS daemon running their kernels can also overlap. On CPU each child
gets an equal share of the cores (``OMP_NUM_THREADS``) unless ``runtime.num_threads`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from isles2018.config import Config, save_config
from isles2018.errors import TrainingError
from isles2018.inference.checkpoint import read_sidecar
from isles2018.training.run import FoldResult, plan_run


@dataclass
class _Child:
    """One fold's process and the last line it printed."""

    fold: int
    process: subprocess.Popen
    last_line: str = ""
    relay: threading.Thread | None = field(default=None, repr=False)


def child_command(
    data: Path,
    out: Path,
    config_file: Path,
    splits_file: Path,
    fold: int,
    *,
    device: str,
    resume: bool,
) -> list[str]:
    """The ``isles2018 train`` command line that trains fold ``fold`` alone, without bars."""
    command = [sys.executable, "-m", "isles2018", "train", str(data), "--out", str(out)]
    command += ["--config", str(config_file), "--splits", str(splits_file)]
    command += ["--fold", str(fold), "--device", device, "--quiet"]
    return [*command, "--resume"] if resume else command


def child_environment(device: str, children: int, num_threads: int) -> dict[str, str]:
    """The children's environment: unbuffered output, and on CPU a share of the cores each."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if device == "cpu" and num_threads == 0 and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // children))
    return env


def _relay(child: _Child, log: Callable[[str], object], lock: threading.Lock) -> None:
    assert child.process.stdout is not None
    for line in child.process.stdout:
        text = line.rstrip()
        if text:
            child.last_line = text.removeprefix("Error: ")  # the child's own one-line error
            with lock:
                log(f"fold {child.fold} | {text}")


def train_concurrently(
    data: Path,
    out: Path,
    config: Config,
    *,
    folds: Sequence[int] | None = None,
    resume: bool = False,
    device: str,
    splits_file: Path | None = None,
    log: Callable[[str], object] = print,
) -> list[FoldResult]:
    """Train the requested folds (all by default) at once, one child process per fold.

    Args:
        data, out, config, folds, resume, splits_file: as :func:`~isles2018.training.run.
            train_run`.
        device: ``cpu`` or ``cuda`` (resolved, so every child uses the same device).
        log: receives the line saying what runs, and each child's lines.

    Returns:
        One :class:`FoldResult` per fold, read from its checkpoint, in fold order given.

    Raises:
        TrainingError: anything a sequential start refuses, a start under torchrun, or a child
            that failed (one line naming every failed fold and its last line); the other
            children are still waited for.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise TrainingError("--concurrent-folds starts its own processes; run it without torchrun")
    out = Path(out)
    _, splits, chosen = plan_run(
        data, out, config, folds=folds, resume=resume, splits_file=splits_file
    )
    numbers = [fold.fold for fold in chosen]
    env = child_environment(device, len(numbers), config.runtime.num_threads)
    share = f", {env['OMP_NUM_THREADS']} CPU thread(s) each" if "OMP_NUM_THREADS" in env else ""
    log(
        f"training folds {', '.join(map(str, numbers))} concurrently: one process per fold "
        f"sharing {device}{share}; their lines follow as 'fold <k> | ...'"
    )
    lock = threading.Lock()
    children: list[_Child] = []
    with tempfile.TemporaryDirectory(prefix="isles2018-folds-") as temporary:
        config_file = Path(temporary) / "config.json"
        save_config(config, config_file)
        shared_splits = splits.save(Path(temporary) / "splits.json")
        try:
            for fold in numbers:
                command = child_command(
                    data, out, config_file, shared_splits, fold, device=device, resume=resume
                )
                process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
                )
                child = _Child(fold, process)
                child.relay = threading.Thread(target=_relay, args=(child, log, lock), daemon=True)
                child.relay.start()
                children.append(child)
            for child in children:
                child.process.wait()
                assert child.relay is not None
                child.relay.join()
        finally:
            for child in children:  # only when interrupted: stop the folds still running
                if child.process.poll() is None:
                    child.process.terminate()
                    child.process.wait()
    failed = [c for c in children if c.process.returncode]
    if failed:
        raise TrainingError(
            "; ".join(
                f"fold {c.fold} failed (exit {c.process.returncode}): {c.last_line or 'no output'}"
                for c in failed
            )
        )
    return [_result(out / f"fold_{fold}", fold) for fold in numbers]


def _result(folder: Path, fold: int) -> FoldResult:
    """A finished fold's epochs and last validation Dice, from its checkpoint sidecar."""
    meta = read_sidecar(folder)
    val_dice = meta.get("scores", {}).get("val_dice")
    return FoldResult(fold=fold, epoch=int(meta["epoch"]), val_dice=val_dice, folder=folder)
