"""The fixed phantom sets behind the shipped weights and the Dice regression check.

``TRAIN_SET`` is what the shipped weights are trained on; ``REGRESSION_SET`` is a phantom test
set they never see. :func:`score_methods` predicts the regression set with the shipped ensemble
and with the threshold method and scores both with the evaluation package: it produces the
reference figures in ``weights/manifest.json`` (``scripts/make_weights.py``) and the figures CI
compares with them (``tests/test_regression.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

#: Phantom training set of the shipped weights.
TRAIN_SET: dict[str, Any] = {"cases": 40, "seed": 2018, "profile": "ci"}
#: Fixed phantom test set of the regression check (disjoint seed; testing partition only).
REGRESSION_SET: dict[str, Any] = {"test_cases": 12, "seed": 4242, "profile": "ci"}


def invoke(*args: str) -> None:
    """Run an ``isles2018`` command in this process.

    Raises:
        click.ClickException: the command failed (its exit code was not 0).
    """
    from isles2018.cli import main

    try:
        main.main(args=list(args), prog_name="isles2018", standalone_mode=False)
    except SystemExit as stop:
        if stop.code:
            raise click.ClickException(f"isles2018 {args[0]} exited with {stop.code}") from None


def make_regression_set(root: Path) -> Path:
    """Generate the regression phantom set into ``root`` (TESTING + REFERENCE); returns root."""
    if not (Path(root) / "manifest.json").is_file():
        invoke(
            "phantom",
            str(root),
            "--cases",
            "1",
            "--test-cases",
            str(REGRESSION_SET["test_cases"]),
            "--seed",
            str(REGRESSION_SET["seed"]),
            "--profile",
            REGRESSION_SET["profile"],
            "--workers",
            "2",
        )
    return Path(root)


def mean_dice(prediction_dir: Path, reference_dir: Path) -> float:
    """Mean per-case Dice (default preset) of a prediction folder against its references."""
    from evaluation.score import score_directory

    run = score_directory(prediction_dir, reference_dir, workers=1, progress=False)
    if run.failed:
        raise click.ClickException(f"{prediction_dir}: {len(run.failed)} case(s) failed to score")
    return float(run.summary["overall"]["metrics"]["dice"]["mean"])


def score_methods(
    weights: Path, work: Path, *, device: str = "cpu", data: Path | None = None
) -> dict[str, Any]:
    """Mean Dice of the shipped ensemble and of the threshold method on the regression set.

    Args:
        weights: the weights folder (all fold checkpoints are ensembled).
        work: scratch folder for the data (unless ``data`` is given) and predictions.
        device: ``auto``, ``cpu`` or ``cuda``.
        data: an already generated regression set.

    Returns:
        ``{"n_cases", "dice_gan", "dice_threshold"}``.
    """
    work = Path(work)
    root = data or make_regression_set(work / "regression_set")
    testing, reference = root / "TESTING", root / "REFERENCE"
    invoke(
        "predict",
        str(testing),
        "--weights",
        str(weights),
        "--out",
        str(work / "gan"),
        "--device",
        device,
    )
    invoke("predict", str(testing), "--method", "threshold", "--out", str(work / "threshold"))
    return {
        "n_cases": REGRESSION_SET["test_cases"],
        "dice_gan": mean_dice(work / "gan", reference),
        "dice_threshold": mean_dice(work / "threshold", reference),
    }
