"""Paired comparison of two runs: bootstrap CI and Wilcoxon test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.compare import bootstrap_ci, compare_runs, comparison_markdown, wilcoxon_p
from evaluation.errors import EvaluationError
from evaluation.run_files import write_per_case


def _run(folder, values, metric="dice"):
    rows = [{"case_id": f"case_{i + 1}", "status": "ok", metric: v} for i, v in enumerate(values)]
    write_per_case(rows, folder / "per_case.csv")
    return folder


A_VALUES = [0.1, 0.3, 0.5, 0.2, 0.6, 0.7, 0.4, 0.55, 0.35, 0.25]


def test_constant_improvement(tmp_path):
    a = _run(tmp_path / "a", A_VALUES)
    b = _run(tmp_path / "b", [v + 0.1 for v in A_VALUES])
    result = compare_runs(a, b)
    assert result["n_pairs"] == 10
    assert result["mean_difference"] == pytest.approx(0.1)
    assert result["ci95"] == pytest.approx([0.1, 0.1])
    assert result["p_value"] == pytest.approx(2 / 2**10)  # exact two-sided, all positive
    assert "+0.1000" in comparison_markdown(result)


def test_identical_runs_give_p_one(tmp_path):
    a = _run(tmp_path / "a", A_VALUES)
    result = compare_runs(a, a)
    assert result["p_value"] == 1.0 and result["ci95"] == [0.0, 0.0]


def test_bootstrap_is_seeded_and_brackets_the_mean():
    differences = np.random.default_rng(1).normal(0.05, 0.1, 40)
    low, high = bootstrap_ci(differences, 10_000, seed=3)
    assert (low, high) == bootstrap_ci(differences, 10_000, seed=3)
    assert low < differences.mean() < high
    assert bootstrap_ci(differences, 10_000, seed=4) != (low, high)


def test_wilcoxon_matches_scipy_for_mixed_signs():
    from scipy import stats

    differences = np.array([0.1, -0.05, 0.2, 0.3, -0.1, 0.15, 0.05, 0.25])
    assert wilcoxon_p(differences)[1] == pytest.approx(stats.wilcoxon(differences).pvalue)


def test_infinite_and_unpaired_cases_are_left_out_and_reported(tmp_path):
    a = _run(tmp_path / "a", [1.0, math.inf, 3.0, 4.0], "hd95_mm")
    b = _run(tmp_path / "b", [2.0, 2.0, 3.0], "hd95_mm")
    result = compare_runs(a, b, "hd95_mm")
    assert (result["n_pairs"], result["n_left_out"]) == (2, 1)
    assert result["only_in_a"] == ["case_4"] and result["only_in_b"] == []


def test_unusable_comparisons_are_errors(tmp_path):
    a = _run(tmp_path / "a", [math.inf])
    with pytest.raises(EvaluationError, match="no case with a finite dice"):
        compare_runs(a, a)
    with pytest.raises(EvaluationError, match="no column 'sensitivity'"):
        compare_runs(a, a, "sensitivity")
    with pytest.raises(EvaluationError, match="column 'status' is not numeric"):
        compare_runs(a, a, "status")
    with pytest.raises(EvaluationError, match="per-case table not found"):
        compare_runs(tmp_path / "none", a)


def _scored(tmp_path, name, lesions, nifti, shift=0):
    """A real run: plain reference and (shifted) predictions of ``lesions``, scored."""
    from evaluation.score import score_directory, write_run

    for case_id, lesion in lesions.items():
        nifti(tmp_path / name / "reference" / f"{case_id}.nii.gz", lesion)
        nifti(tmp_path / name / "predictions" / f"{case_id}.nii", np.roll(lesion, shift, 0))
    folder = tmp_path / name
    run = score_directory(folder / "predictions", folder / "reference", progress=False)
    return write_run(run, folder / "run")


def test_runs_of_different_references_are_refused(tmp_path, nifti, lesions):
    a = _scored(tmp_path, "a", lesions, nifti)
    other = {case_id: np.roll(lesion, 1, 1) for case_id, lesion in lesions.items()}
    other["case_2"] = lesions["case_2"]  # one case in common, the others differ
    b = _scored(tmp_path, "b", other, nifti)
    with pytest.raises(EvaluationError) as raised:
        compare_runs(a, b)
    assert str(raised.value) == (
        f"{a / 'per_case.csv'} and {b / 'per_case.csv'} were scored against different "
        "references (3 case(s) with another reference mask: case_1, case_3, case_10); "
        "compare runs of the same reference"
    )


def test_runs_of_copies_of_one_reference_are_paired(tmp_path, nifti, lesions):
    a = _scored(tmp_path, "a", lesions, nifti)
    b = _scored(tmp_path, "b", lesions, nifti, shift=1)  # another folder, same masks
    result = compare_runs(a, b)
    assert result["n_pairs"] == 4 and result["mean_difference"] < 0
    # Runs written before the digest was recorded (case_1 to case_4 here) are still compared.
    assert compare_runs(_run(tmp_path / "old", A_VALUES[:4]), b)["n_pairs"] == 3
