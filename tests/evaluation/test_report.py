"""The HTML report and its figures."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pytest
from matplotlib import image as mpimg

from evaluation.errors import EvaluationError
from evaluation.figures import overlay, overlay_slice
from evaluation.report import build_report
from evaluation.score import score_directory, write_run


def _pixels(png: bytes) -> np.ndarray:
    return mpimg.imread(io.BytesIO(png), format="png")[..., :3]


def _has_colour(pixels: np.ndarray, rgb: tuple[float, float, float]) -> bool:
    return bool((np.abs(pixels - np.array(rgb)).max(axis=-1) < 0.15).any())


def test_overlay_draws_green_reference_and_cyan_prediction_contours():
    reference = np.zeros((40, 40, 5), bool)
    reference[8:24, 10:26, 1:4] = True
    prediction = np.zeros_like(reference)
    prediction[16:32, 14:30, 2] = True
    pixels = _pixels(overlay(reference, prediction, title="case"))
    assert _has_colour(pixels, (0.0, 0.75, 0.0))  # green reference
    assert _has_colour(pixels, (0.0, 1.0, 1.0))  # cyan prediction


def test_overlay_uses_the_background_when_given():
    reference = np.zeros((30, 30, 3), bool)
    reference[10:20, 10:20, 1] = True
    background = np.tile(np.linspace(0, 100, 30)[:, None, None], (1, 30, 3))

    def centre_brightness(pixels):
        rows, columns = pixels.shape[:2]
        return pixels[rows // 3 : 2 * rows // 3, columns // 3 : 2 * columns // 3].mean()

    assert centre_brightness(_pixels(overlay(reference, None))) < 0.05  # blank: black
    assert centre_brightness(_pixels(overlay(reference, None, background))) > 0.25


def test_overlay_slice_has_the_largest_lesion_area():
    reference = np.zeros((10, 10, 6), bool)
    reference[2:4, 2:4, 1] = True
    prediction = np.zeros_like(reference)
    prediction[1:8, 1:8, 4] = True
    assert overlay_slice(reference, prediction) == 4
    assert overlay_slice(np.zeros_like(reference), None) == 3  # empty: the middle slice


def test_report_is_self_contained_with_every_case(tmp_path, training, nifti, lesions):
    root, ids = training
    for case_id in ("case_1", "case_2", "case_10"):
        nifti(tmp_path / "predictions" / f"SMIR.m.{ids[case_id]}.nii", lesions[case_id])
    splits = tmp_path / "splits.json"
    folds = [{"fold": 0, "val": ["case_1", "case_2"]}, {"fold": 1, "val": ["case_3", "case_10"]}]
    splits.write_text(json.dumps({"version": 1, "folds": folds}))
    run = score_directory(tmp_path / "predictions", root, splits=splits, progress=False)
    write_run(run, tmp_path / "run")
    page = build_report(tmp_path / "run").read_text()
    assert "<th>fold 0</th>" in page and "<th>fold 1</th>" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2 + 4  # box plots, scatter and one overlay per case
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'src="(?!data:)', page)  # nothing loaded from outside
    assert "<th>overall</th>" in page
    assert "case_3 (missing)" in page


def test_report_background_folder_with_plain_names(tmp_path, nifti, lesions):
    for case_id, lesion in lesions.items():
        nifti(tmp_path / "reference" / f"{case_id}.nii", lesion)
        nifti(tmp_path / "predictions" / f"{case_id}.nii", lesion)
    nifti(tmp_path / "dwi" / "case_1.nii", np.random.default_rng(0).random(lesions["case_1"].shape))
    nifti(tmp_path / "dwi" / "case_2.nii", np.zeros((3, 3, 3)))  # wrong grid
    run = score_directory(tmp_path / "predictions", tmp_path / "reference", progress=False)
    write_run(run, tmp_path / "run")
    page = build_report(tmp_path / "run", tmp_path / "dwi").read_text()
    assert "background shape (3, 3, 3) ≠ (20, 16, 4): blank" in page


def test_report_of_a_folder_without_a_run_is_an_error(tmp_path):
    with pytest.raises(EvaluationError, match="per-case table not found"):
        build_report(tmp_path)
