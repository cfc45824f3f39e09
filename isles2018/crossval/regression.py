"""The fixed phantom sets behind the shipped weights, and the Dice regression gate with power.

``TRAIN_SET`` is what the shipped weights are trained on; ``REGRESSION_SET`` is a phantom test
set they never see. :func:`score_methods` predicts the regression set with the shipped ensemble
and with each broken pipeline of :mod:`isles2018.crossval.sabotage` (all through
:class:`~isles2018.inference.Predictor`) and scores every case with the evaluation package;
:func:`margins` gives, per broken pipeline, the intact ensemble's mean Dice advantage with a
paired bootstrap 95 % interval over cases. ``scripts/make_weights.py`` records these figures in
``weights/manifest.json``; CI (``tests/crossval/test_regression.py``) measures them again and
fails when a broken pipeline comes within its :data:`REQUIRED_MARGINS` of the intact one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from isles2018.crossval.sabotage import SABOTAGES, permuted_inputs, zero_generator_weights
from isles2018.errors import UserError

#: Phantom training set of the shipped weights.
TRAIN_SET: dict[str, Any] = {"cases": 40, "seed": 2018, "profile": "ci"}
#: Fixed phantom test set of the regression check (disjoint seed; testing partition only).
#: Sized so that the paired bootstrap 95 % intervals of the margins are at most ±0.05 wide.
REGRESSION_SET: dict[str, Any] = {"test_cases": 60, "seed": 4242, "profile": "ci"}
#: Mean Dice by which the intact ensemble must beat each broken pipeline (docs/training.md has
#: the measured margins; the one-epoch one depends on the learning rate of the shipped config).
REQUIRED_MARGIN = 0.1
REQUIRED_MARGINS = dict.fromkeys(SABOTAGES, REQUIRED_MARGIN)
#: Widest paired bootstrap 95 % half-interval the regression set is sized for.
MAX_HALF_WIDTH = 0.05
INTACT = "gan"


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


def per_case_dice(prediction_dir: Path, reference_dir: Path) -> dict[str, float]:
    """Dice (default preset) of every reference case; a case that failed to score counts 0.

    Raises:
        UserError: a case could not be scored.
    """
    from evaluation.score import score_directory

    run = score_directory(prediction_dir, reference_dir, workers=1, progress=False)
    if run.failed:
        raise UserError(f"{prediction_dir}: {len(run.failed)} case(s) failed to score")
    return {str(row["case_id"]): float(row["dice"]) for row in run.rows}


def score_methods(
    weights: Path,
    work: Path,
    *,
    device: str = "cpu",
    data: Path | None = None,
    one_epoch: Path | None = None,
) -> dict[str, dict[str, float]]:
    """Per-case Dice of the intact ensemble and of every broken pipeline on the regression set.

    Args:
        weights: the weights folder (all fold checkpoints are ensembled).
        work: scratch folder for the data (unless ``data`` is given) and predictions.
        device: ``auto``, ``cpu`` or ``cuda``.
        data: an already generated regression set.
        one_epoch: checkpoint folder of the same config trained for one epoch (optional).

    Returns:
        ``{method: {case: dice}}`` for ``gan`` (intact), ``threshold``, ``zero-generator``,
        ``permuted-inputs`` and, when given, ``one-epoch``.

    Raises:
        UserError: a case could not be predicted or scored.
    """
    from isles2018.inference.predictor import Predictor

    work = Path(work)
    root = data or make_regression_set(work / "regression_set")
    testing, reference = root / "TESTING", root / "REFERENCE"
    permuted = permuted_inputs(testing, work / "permuted_testing")
    intact = Predictor.from_checkpoints([weights], device=device)
    runs = {
        INTACT: (intact, testing),
        "threshold": (Predictor.threshold(), testing),
        "zero-generator": (
            Predictor.from_checkpoints(
                [zero_generator_weights(weights, work / "zero_generator")], device=device
            ),
            testing,
        ),
        "permuted-inputs": (intact, permuted),
    }
    if one_epoch is not None:
        runs["one-epoch"] = (Predictor.from_checkpoints([one_epoch], device=device), testing)
    scores = {}
    for name, (predictor, folder) in runs.items():
        report = predictor.predict_folder(folder, work / name, progress=False)
        if report.failed:
            raise UserError(f"{folder}: {len(report.failed)} case(s) failed to predict")
        scores[name] = per_case_dice(work / name, reference)
    return scores


def margins(scores: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per broken pipeline: mean Dice margin of the intact ensemble, its paired bootstrap 95 % CI
    (:func:`evaluation.compare.bootstrap_ci`) and half-width."""
    from evaluation.compare import bootstrap_ci

    cases = sorted(scores[INTACT])
    intact = [scores[INTACT][c] for c in cases]
    out = {}
    for name, per_case in scores.items():
        if name == INTACT:
            continue
        if sorted(per_case) != cases:
            raise UserError(f"{name}: scored other cases than the intact ensemble")
        difference = np.asarray(intact) - np.asarray([per_case[c] for c in cases])
        low, high = bootstrap_ci(difference)
        out[name] = {
            "margin": round(float(difference.mean()), 4),
            "ci95": [round(low, 4), round(high, 4)],
            "half_width": round((high - low) / 2, 4),
        }
    return out


def summary(scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    """JSON-ready record: case count, mean Dice per method and the margins."""
    measured = margins(scores)
    return {
        "n_cases": len(scores[INTACT]),
        "dice": {name: round(float(np.mean(list(s.values()))), 4) for name, s in scores.items()},
        "margins": measured,
        "required_margins": {name: REQUIRED_MARGINS[name] for name in measured},
        "max_half_width": MAX_HALF_WIDTH,
    }


def margin_lines(record: dict[str, Any]) -> list[str]:
    """The gate as a small table: Dice per method, margin of the intact one with its CI."""
    lines = [f"regression set: {record['n_cases']} cases; intact ensemble Dice "
             f"{record['dice'][INTACT]:.3f}"]  # fmt: skip
    for name, m in record["margins"].items():
        lines.append(
            f"  {name:<16} Dice {record['dice'][name]:.3f}  margin {m['margin']:+.3f}  "
            f"95% CI [{m['ci95'][0]:+.3f}, {m['ci95'][1]:+.3f}]  (±{m['half_width']:.3f})"
        )
    return lines
