"""The fixed phantom sets behind the shipped weights and the Dice regression check.

``TRAIN_SET`` is what the shipped weights are trained on; ``REGRESSION_SET`` is a phantom test
set they never see. :func:`score_methods` predicts the regression set with the shipped ensemble
and with the threshold method (both through :class:`~isles2018.inference.Predictor`) and scores
both with the evaluation package: it produces the reference figures in
``weights/manifest.json`` (``scripts/make_weights.py``) and the figures CI compares with them
(``tests/inference/test_regression.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from isles2018.errors import UserError

#: Phantom training set of the shipped weights.
TRAIN_SET: dict[str, Any] = {"cases": 40, "seed": 2018, "profile": "ci"}
#: Fixed phantom test set of the regression check (disjoint seed; testing partition only).
REGRESSION_SET: dict[str, Any] = {"test_cases": 12, "seed": 4242, "profile": "ci"}


def make_phantom(
    root: Path,
    *,
    cases: int = 1,
    test_cases: int = 0,
    seed: int,
    profile: str,
    workers: int = 2,
    progress: bool = False,
) -> Path:
    """Generate (or complete) a phantom data set into ``root``; returns ``root``."""
    from isles2018.phantom.generate import Request, generate_dataset

    request = Request(
        out=Path(root),
        cases=cases,
        test_cases=test_cases,
        seed=seed,
        profile=profile,
        workers=workers,
    )
    generate_dataset(request, progress=progress)
    return Path(root)


def make_regression_set(root: Path) -> Path:
    """Generate the regression phantom set into ``root`` (TESTING + REFERENCE); returns root."""
    return make_phantom(root, cases=1, **REGRESSION_SET)


def mean_dice(prediction_dir: Path, reference_dir: Path) -> float:
    """Mean per-case Dice (default preset) of a prediction folder against its references.

    Raises:
        UserError: a case could not be scored.
    """
    from evaluation.score import score_directory

    run = score_directory(prediction_dir, reference_dir, workers=1, progress=False)
    if run.failed:
        raise UserError(f"{prediction_dir}: {len(run.failed)} case(s) failed to score")
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

    Raises:
        UserError: a case could not be predicted or scored.
    """
    from isles2018.inference.predictor import Predictor

    work = Path(work)
    root = data or make_regression_set(work / "regression_set")
    testing, reference = root / "TESTING", root / "REFERENCE"
    predictors = {
        "gan": Predictor.from_checkpoints([weights], device=device),
        "threshold": Predictor.threshold(),
    }
    dice = {}
    for name, predictor in predictors.items():
        report = predictor.predict_folder(testing, work / name, progress=False)
        if report.failed:
            raise UserError(f"{testing}: {len(report.failed)} case(s) failed to predict")
        dice[f"dice_{name}"] = mean_dice(work / name, reference)
    return {"n_cases": REGRESSION_SET["test_cases"], **dice}
