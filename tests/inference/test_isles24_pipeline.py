"""The paper's pipeline on the ISLES'24 layout, end to end on a small phantom (CPU).

Train a GAN stage (ISLES'24 has the co-registered follow-up DWI it needs) → predict the testing
subjects → masks named after the subject, on exactly the NCCT grid → scored by ``isles-eval``
with the ISLES'24 preset against the lesion masks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from evaluation.cli import main as eval_main
from isles2018.config import load_config, with_overrides
from isles2018.crossval.evaluate import evaluate_run
from isles2018.data.case import ISLES24
from isles2018.data.grid import grid_differences
from isles2018.data.io import read_volume
from isles2018.data.layout import discover_cases, training_cases
from isles2018.data.modalities import Modality
from isles2018.inference import Predictor
from isles2018.phantom.generate import Request, generate_dataset
from isles2018.training.run import train_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def isles24_phantom(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("isles24") / "phantom"
    request = Request(
        out=root, cases=4, test_cases=2, seed=3, profile="ci", workers=2, layout=ISLES24
    )
    generate_dataset(request, progress=False)
    return root


def test_a_gan_stage_trains_and_predicts_on_the_ncct_grid(
    isles24_phantom: Path, tmp_path: Path
) -> None:
    config = with_overrides(
        load_config("gan-gn-maxout+ci"),
        model={"depth": 2},
        optim={"epochs": 1},
        runtime={"folds": 2, "device": "cpu"},
    )
    run = tmp_path / "run"
    (result,) = train_run(
        isles24_phantom / "TRAINING", run, config, folds=[0], device=torch.device("cpu"),
        progress=False,
    )  # fmt: skip
    assert result.epoch == 1 and result.val_dice is not None
    crossval = evaluate_run(
        run, training_cases(isles24_phantom / "TRAINING"), device=torch.device("cpu"),
        workers=1, progress=False,
    )  # fmt: skip
    assert crossval.fold_dice.keys() == {0} and crossval.failed == []
    assert crossval.missing == (1,)  # fold 1 was not trained: listed, not scored
    testing = isles24_phantom / "TESTING"
    cases = discover_cases(testing)
    assert [c.layout for c in cases] == [ISLES24, ISLES24]
    out = tmp_path / "predictions"
    report = Predictor.from_checkpoints([run / "fold_0"], device="cpu").predict_folder(
        testing, out, save_probabilities=True, progress=False
    )
    assert report.failed == {}
    for case in cases:
        written = report.written[case.case_id]
        assert written == out / f"{case.case_id}.nii.gz"
        ncct = case.path(Modality.CT)
        assert grid_differences(written, ncct) == []  # exactly the NCCT grid
        mask = read_volume(written).array
        assert mask.shape == read_volume(ncct).array.shape and set(np.unique(mask)) <= {0, 1}
        probability = read_volume(out / f"{case.case_id}.probability.nii.gz").array
        np.testing.assert_array_equal(mask, (probability >= 0.5).astype(np.uint8))
    threshold = Predictor.threshold().predict_folder(testing, tmp_path / "thr", progress=False)
    assert sorted(p.name for p in (tmp_path / "thr").iterdir()) == sorted(
        f"{c.case_id}.nii.gz" for c in cases
    )
    assert threshold.failed == {}
    scored = CliRunner().invoke(
        eval_main,
        [
            "score",
            "--prediction",
            str(tmp_path / "thr"),
            "--reference",
            str(isles24_phantom / "REFERENCE"),
            "--preset",
            "isles24",
            "--out",
            str(tmp_path / "eval"),
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert "2 cases, preset `isles24`" in scored.output
