"""The summary table cells and the Markdown summary."""

from __future__ import annotations

from evaluation.aggregate import aggregate
from evaluation.tables import format_stats, summary_markdown


def test_table_cells_show_inf_counts_even_without_finite_values():
    assert format_stats({"mean": None, "n_inf": 2}, 1) == "– (2 inf)"
    assert format_stats({"mean": 1.25, "sd": 0.5, "n_inf": 0}, 2) == "1.25 ± 0.50"
    assert format_stats({"mean": 1.25, "sd": None, "n_inf": 1}, 1) == "1.2 (1 inf)"


def test_markdown_has_a_row_per_fold_overall_and_patients_then_failures():
    rows = [
        {
            "case_id": "case_1",
            "patient_id": "p1",
            "fold": 0,
            "status": "ok",
            "dice": 0.5,
            "hd95_mm": 3.0,
            "tp_voxels": 1,
            "fp_voxels": 1,
            "fn_voxels": 1,
            "voxel_volume_ml": 0.001,
        },
        {
            "case_id": "case_2",
            "patient_id": "p1",
            "fold": 1,
            "status": "missing",
            "dice": 0.0,
            "hd95_mm": float("inf"),
            "fn_voxels": 4,
            "voxel_volume_ml": 0.001,
        },
    ]
    summary = {
        "preset": {"name": "default"},
        "patient_source": "test",
        "failed": [{"case_id": "case_2", "status": "missing", "error": "no prediction"}],
        "unmatched_predictions": ["extra.nii"],
        **aggregate(rows, "report"),
    }
    text = summary_markdown(summary)
    assert "| fold 0 | 1 | 0 | 0.500 | 3.0 |" in text
    assert "| fold 1 | 1 | 0 | 0.000 | – (1 inf) |" in text
    assert "| overall | 2 | 0 | 0.250 ± 0.354 | 3.0 (1 inf) |" in text
    assert "| patients | 1 |" in text
    assert "- case_2 (missing): no prediction" in text
    assert "- extra.nii" in text


def test_markdown_says_which_partition_was_scored_and_which_split_cases_were_not(tmp_path):
    summary = {
        "preset": {"name": "default"},
        "patient_source": "test",
        "failed": [],
        "unmatched_predictions": [],
        "reference_dir": str(tmp_path),
        "reference_partition": str(tmp_path / "REFERENCE"),
        "splits": "splits.json",
        "splits_not_scored": [f"case_{i}" for i in range(5, 12)],
        **aggregate([], "report"),
    }
    text = summary_markdown(summary)
    assert f"Reference cases: {tmp_path / 'REFERENCE'} (in {tmp_path})." in text
    assert "Splits: 7 case(s) of splits.json not scored (case_5, case_6, case_7, case_8, " in text
    summary["reference_partition"] = str(tmp_path.resolve())
    assert "Reference cases" not in summary_markdown(summary)
