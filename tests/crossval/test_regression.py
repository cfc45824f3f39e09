"""Dice regression on fixed phantom cases (marker ``slow``; part of ``make test`` and CI).

1. The shipped weights, ensembled, on the fixed regression set: mean Dice at least the value
   recorded in ``weights/manifest.json`` minus 0.02, and at least the threshold method + 0.2.
2. Training from scratch with the ``ci`` config (three epochs, about a minute or two on CPU)
   beats the threshold method on held-out phantom cases.
The recorded values are measured by ``scripts/make_weights.py``, never typed in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from isles2018.config import load_config
from isles2018.inference import Predictor
from isles2018.inference.regression import (
    REGRESSION_SET,
    make_phantom,
    make_regression_set,
    mean_dice,
    score_methods,
)
from isles2018.inference.weights import verify_weights
from isles2018.training.run import apply_overrides, train_run

pytestmark = pytest.mark.slow

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


@pytest.fixture(scope="module")
def regression_set(tmp_path_factory) -> Path:
    return make_regression_set(tmp_path_factory.mktemp("regression") / "set")


def test_shipped_weights_keep_their_dice(regression_set: Path, tmp_path: Path) -> None:
    manifest = verify_weights(WEIGHTS)
    assert manifest is not None, "weights/manifest.json is missing"
    recorded = manifest["regression"]
    assert recorded["data"] == {"generator": "isles2018 phantom", **REGRESSION_SET}
    scores = score_methods(WEIGHTS, tmp_path, device="cpu", data=regression_set)
    assert scores["dice_gan"] >= recorded["dice_gan"] - 0.02, scores
    assert scores["dice_gan"] >= scores["dice_threshold"] + 0.2, scores


def test_ci_training_from_scratch_beats_threshold(regression_set: Path, tmp_path: Path) -> None:
    data, run = tmp_path / "train", tmp_path / "run"
    make_phantom(data, cases=16, seed=77, profile="ci")
    config = apply_overrides(load_config("ci"), device="cpu")
    train_run(data / "TRAINING", run, config, folds=[0], device=torch.device("cpu"), progress=False)
    testing, reference = regression_set / "TESTING", regression_set / "REFERENCE"
    trained = Predictor.from_checkpoints([run / "fold_0"], device="cpu")
    assert not trained.predict_folder(testing, tmp_path / "gan", progress=False).failed
    assert (
        not Predictor.threshold().predict_folder(testing, tmp_path / "thr", progress=False).failed
    )
    trained_dice = mean_dice(tmp_path / "gan", reference)
    threshold_dice = mean_dice(tmp_path / "thr", reference)
    assert trained_dice > threshold_dice, (trained_dice, threshold_dice)
