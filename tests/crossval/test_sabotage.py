"""The broken pipelines of the gate, and the gate's statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from isles2018.crossval.regression import margins, summary
from isles2018.crossval.sabotage import ROTATION, permuted_inputs, zero_generator_weights
from isles2018.data.layout import discover_cases
from isles2018.errors import UserError
from isles2018.inference.checkpoint import load_checkpoint

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


def test_zeroed_generator_outputs_exactly_zero(tmp_path: Path) -> None:
    out = zero_generator_weights(WEIGHTS, tmp_path / "zero")
    assert sorted(p.name for p in out.glob("fold_*")) == sorted(
        p.name for p in WEIGHTS.glob("fold_*")
    )
    models, config, _, _ = load_checkpoint(out / "fold_0")
    intact, *_ = load_checkpoint(WEIGHTS / "fold_0")
    inputs = torch.randn(2, len(config.pipeline.inputs), 64, 64)
    with torch.no_grad():
        assert torch.count_nonzero(models.generator(inputs)) == 0
        assert torch.count_nonzero(intact.generator(inputs)) > 0
    # everything but the generator's head is untouched
    for (name, a), (_, b) in zip(
        models.state_dict().items(), intact.state_dict().items(), strict=True
    ):
        if not name.startswith("generator.unet.head"):
            assert torch.equal(a, b), name


def test_a_folder_without_folds_cannot_be_sabotaged(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no fold_"):
        zero_generator_weights(tmp_path, tmp_path / "out")


def test_permuted_inputs_rotate_the_four_maps_of_every_case(testing: Path, tmp_path: Path):
    out = permuted_inputs(testing, tmp_path / "permuted")
    before = {c.case_id: c for c in discover_cases(testing)}
    after = discover_cases(out)
    assert sorted(c.case_id for c in after) == sorted(before)
    for case in after:
        for target, source in ROTATION.items():
            assert case.path(target).read_bytes() == before[case.case_id].path(source).read_bytes()
        assert case.path(target).name == before[case.case_id].path(target).name


def paired_bootstrap(intact: list[float], broken: list[float]) -> tuple[float, float, float]:
    """The margin of ``intact`` over ``broken`` and its interval, as :func:`margins` gives them."""
    names = [str(i) for i in range(len(intact))]
    other = [str(i) for i in range(len(broken))]
    scores = {
        "gan": dict(zip(names, intact, strict=True)),
        "b": dict(zip(other, broken, strict=True)),
    }
    margin = margins(scores)["b"]
    return margin["margin"], *margin["ci95"]


def test_paired_bootstrap_interval_contains_the_mean_and_shrinks_with_cases() -> None:
    rng = np.random.default_rng(1)
    small = rng.normal(0.2, 0.2, 20)
    large = rng.normal(0.2, 0.2, 200)
    mean, low, high = paired_bootstrap(list(small), [0.0] * 20)
    assert low < mean < high and mean == pytest.approx(small.mean(), abs=1e-4)
    _, low2, high2 = paired_bootstrap(list(large), [0.0] * 200)
    assert (high2 - low2) < (high - low) / 1.5
    # close to the normal approximation 2 · 1.96 · sd / √n
    expected = 2 * 1.96 * large.std() / np.sqrt(200)
    assert 0.8 * expected <= high2 - low2 <= 1.2 * expected
    assert paired_bootstrap([0.5, 0.7], [0.1, 0.3]) == (pytest.approx(0.4),) * 3
    with pytest.raises(UserError, match="other cases"):
        paired_bootstrap([0.5], [0.1, 0.2])


def test_margins_and_summary() -> None:
    scores = {"gan": {"a": 0.8, "b": 0.6}, "threshold": {"a": 0.3, "b": 0.3}}
    record = summary(scores)
    assert record["n_cases"] == 2 and record["dice"] == {"gan": 0.7, "threshold": 0.3}
    assert record["margins"]["threshold"]["margin"] == pytest.approx(0.4)
    with pytest.raises(UserError, match="other cases"):
        margins({"gan": {"a": 1.0}, "threshold": {"b": 0.0}})
