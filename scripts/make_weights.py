#!/usr/bin/env python3
"""Train the shipped demo weights on phantom data and write ``weights/manifest.json``.

Every figure in the manifest is measured by this script, never typed in:

1. a phantom training set (``TRAIN_SET``) is generated;
2. the ``demo`` config is cross-validated on it (4 folds, CPU or GPU);
3. each fold's validation cases are predicted with its checkpoint and scored (what
   ``isles2018 crossval`` does) → cross-validation scores;
4. the fold checkpoints (weights and sidecars, no optimiser state) are copied to ``weights/``;
5. the same config is trained for one epoch (fold 0), a broken pipeline of the gate;
6. on a fixed phantom test set (``REGRESSION_SET``, never trained on), the shipped ensemble and
   every broken pipeline (threshold rule, zeroed generator, permuted inputs, one epoch) are
   scored → the regression reference and the gate's margins that CI checks;
7. the manifest records SHA-256 of every file, config, data, time, hardware and scores.

Usage: ``python scripts/make_weights.py [--work DIR] [--out weights] [--device auto]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from isles2018.crossval.regression import (  # noqa: E402
    INTACT,
    REGRESSION_SET,
    TRAIN_SET,
    make_phantom,
    margin_lines,
    score_methods,
)
from isles2018.crossval.regression import summary as gate_summary  # noqa: E402
from isles2018.inference.checkpoint import SIDECAR, WEIGHTS  # noqa: E402
from isles2018.training.metrics_log import METRICS  # noqa: E402

CONFIG = "demo"


def hardware() -> dict[str, object]:
    """Where the weights were trained."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument("--out", type=Path, default=REPO / "weights")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--reuse-run", action="store_true", help="keep a finished WORK/run (skip training)"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="isles2018-weights-"))
    work.mkdir(parents=True, exist_ok=True)

    from isles2018.config import load_config
    from isles2018.crossval.evaluate import evaluate_run
    from isles2018.data.layout import training_cases
    from isles2018.models.device import resolve_device
    from isles2018.training.run import apply_overrides, train_run

    data, run = work / "train", work / "run"
    print(f"phantom training set {TRAIN_SET} -> {data}", flush=True)
    make_phantom(data, workers=2, progress=True, **TRAIN_SET)
    device = resolve_device(args.device)
    cases = training_cases(data / "TRAINING")
    if not (args.reuse_run and run.is_dir()):
        print(f"training config {CONFIG!r} on {device} -> {run}", flush=True)
        config = apply_overrides(load_config(CONFIG), device=args.device)
        train_run(data / "TRAINING", run, config, device=device, progress=False)
    training_seconds = sum(
        json.loads(line)["seconds"]
        for log in sorted(run.glob(f"fold_*/{METRICS}"))
        for line in log.read_text().splitlines()
    )
    summary = evaluate_run(run, cases, device=device).summary

    out = args.out
    (out / "manifest.json").unlink(missing_ok=True)  # it pins the old files; rewritten below
    for old in out.glob("fold_*"):
        shutil.rmtree(old)
    for fold in sorted(run.glob("fold_*")):
        target = out / fold.name
        target.mkdir(parents=True)
        for name in (WEIGHTS, SIDECAR):
            shutil.copy2(fold / name, target / name)

    one_epoch = work / "one_epoch"
    if not (args.reuse_run and (one_epoch / "fold_0").is_dir()):
        print(f"training config {CONFIG!r} for one epoch (fold 0) -> {one_epoch}", flush=True)
        config = apply_overrides(load_config(CONFIG), epochs=1, device=args.device)
        train_run(data / "TRAINING", one_epoch, config, folds=[0], device=device, progress=False)
    scores = score_methods(
        out, work / "regression", device=args.device, one_epoch=one_epoch / "fold_0"
    )
    gate = gate_summary(scores)
    print("\n".join(margin_lines(gate)), flush=True)
    regression = {
        "n_cases": gate["n_cases"],
        "dice_gan": gate["dice"][INTACT],
        "dice_threshold": gate["dice"]["threshold"],
        "gate": gate,
    }
    config = json.loads((run / "config.json").read_text())
    from isles2018.inference.weights import write_manifest

    record = {
        "purpose": "demo and tests only: trained on synthetic phantom data; not for clinical "
        "or real-data use",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config_name": CONFIG,
        "config": config,
        "training_data": {"generator": "isles2018 phantom", **TRAIN_SET},
        "training_seconds": round(training_seconds, 1),
        "hardware": hardware(),
        "cross_validation": {
            "folds": {k: v["metrics"]["dice"]["mean"] for k, v in summary["folds"].items()},
            "dice_mean": summary["overall"]["metrics"]["dice"]["mean"],
            "preset": "default",
        },
        "regression": {"data": {"generator": "isles2018 phantom", **REGRESSION_SET}, **regression},
    }
    path = write_manifest(out, record)
    print(json.dumps({k: record[k] for k in ("cross_validation", "regression")}, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
