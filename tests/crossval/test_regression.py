"""The Dice regression gate on fixed phantom cases (marker ``slow``; part of ``make test`` and CI).

1. The shipped weights, ensembled, on the fixed regression set keep their mean Dice (at least
   the value recorded in ``weights/manifest.json`` minus 0.02).
2. The gate has power: the intact ensemble beats each broken pipeline — the threshold rule, the
   ensemble with its generator's output zeroed, the ensemble on permuted input maps and the
   same config trained for one epoch — by at least 0.1 mean Dice (``REQUIRED_MARGINS``), and
   the regression set is large enough that every paired bootstrap 95 % half-interval is at
   most ``MAX_HALF_WIDTH``.
The recorded values are measured by ``scripts/make_weights.py``, never typed in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from isles2018.config import from_dict
from isles2018.crossval.regression import (
    INTACT,
    MAX_HALF_WIDTH,
    REGRESSION_SET,
    REQUIRED_MARGINS,
    TRAIN_SET,
    make_phantom,
    make_regression_set,
    margin_lines,
    score_methods,
    summary,
)
from isles2018.inference.weights import verify_weights
from isles2018.training.run import apply_overrides, train_run

pytestmark = pytest.mark.slow

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


@pytest.fixture(scope="module")
def regression_set(tmp_path_factory) -> Path:
    return make_regression_set(tmp_path_factory.mktemp("regression") / "set")


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory) -> Path:
    """The shipped weights' config trained for one epoch (fold 0) on their training set."""
    manifest = verify_weights(WEIGHTS)
    assert manifest is not None and manifest["training_data"] == {
        "generator": "isles2018 phantom",
        **TRAIN_SET,
    }
    work = tmp_path_factory.mktemp("one_epoch")
    data = make_phantom(work / "train", **TRAIN_SET)
    # The config the weights were trained with, as recorded (not the repo's current JSON).
    config = apply_overrides(from_dict(manifest["config"]), epochs=1, device="cpu")
    device = torch.device("cpu")
    train_run(data / "TRAINING", work / "run", config, folds=[0], device=device, progress=False)
    return work / "run" / "fold_0"


def test_shipped_weights_keep_their_dice_and_beat_every_broken_pipeline(
    regression_set: Path, one_epoch: Path, tmp_path: Path
) -> None:
    manifest = verify_weights(WEIGHTS)
    recorded = manifest["regression"]
    assert recorded["data"] == {"generator": "isles2018 phantom", **REGRESSION_SET}
    scores = score_methods(
        WEIGHTS, tmp_path, device="cpu", data=regression_set, one_epoch=one_epoch
    )
    record = summary(scores)
    print("\n".join(margin_lines(record)))
    assert set(record["margins"]) == {"threshold", "zero-generator", "permuted-inputs", "one-epoch"}
    assert record["n_cases"] == REGRESSION_SET["test_cases"]
    assert record["dice"][INTACT] >= recorded["dice_gan"] - 0.02, record
    for name, margin in record["margins"].items():
        assert margin["margin"] >= REQUIRED_MARGINS[name], (name, record)
        assert margin["half_width"] <= MAX_HALF_WIDTH, (name, record)
