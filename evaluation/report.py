"""A self-contained HTML report of a scoring run (images embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluation.atomic import write_text
from evaluation.errors import EvaluationError
from evaluation.figures import box_plots, dice_volume_scatter, overlay
from evaluation.io import read_image
from evaluation.pairing import find_backgrounds
from evaluation.run_files import PER_CASE, SUMMARY, read_json, read_per_case
from evaluation.tables import HEADINGS, summary_rows

REPORT = "report.html"

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th { background: #eee; }
.cases { display: flex; flex-wrap: wrap; gap: 6px; }
.case { font-size: 12px; text-align: center; }
.note { color: #a00; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def fold_table(summary: dict[str, Any]) -> str:
    """The per-fold, overall and patient statistics as an HTML table."""
    lines = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in HEADINGS) + "</tr>"]
    for name, *cells in summary_rows(summary):
        lines.append(
            f"<tr><th>{html.escape(name)}</th>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + "</tr>"
        )
    lines.append("</table>")
    return "\n".join(lines)


def _case_figure(row: dict[str, Any], backgrounds: dict[str, Path]) -> str:
    """One overlay, or a line saying why there is none."""
    case_id, note = row["case_id"], ""
    try:
        reference = prediction = None
        spacing_mm: tuple[float, ...] = (1.0, 1.0, 1.0)
        if row.get("reference_path") is not None:
            image = read_image(row["reference_path"])
            reference, spacing_mm = image.array != 0, image.spacing_mm
        if row["status"] == "ok" and row.get("prediction_path") is not None:
            image = read_image(row["prediction_path"])
            prediction = image.array != 0
            spacing_mm = spacing_mm if reference is not None else image.spacing_mm
        if reference is None and prediction is None:
            raise EvaluationError("no readable mask")
        shape = (reference if reference is not None else prediction).shape
        background_path = backgrounds.get(case_id, row.get("background_path"))
        background = None
        if background_path is not None:
            array = read_image(background_path).array
            if array.shape == shape:
                background = array
            else:
                note = f"background shape {array.shape} ≠ {shape}: blank"
        dice = row.get("dice")
        title = f"{case_id} Dice {dice:.2f}" if isinstance(dice, float) else case_id
        figure = _img(overlay(reference, prediction, background, title, spacing_mm), case_id)
    except EvaluationError as error:
        figure, note = "", f"no overlay: {error}"
    status = "" if row["status"] == "ok" else f"{row['status']}: {row.get('error') or ''}"
    notes = " ".join(filter(None, [status, note]))
    return (
        f'<div class="case">{figure}<br>{html.escape(case_id)}'
        + (f'<br><span class="note">{html.escape(notes)}</span>' if notes else "")
        + "</div>"
    )


def build_report(
    run_dir: str | Path,
    background_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``report.html`` into a run folder made by ``isles-eval score``.

    Args:
        run_dir: folder holding ``per_case.csv`` and ``summary.json``.
        background_dir: overlay backgrounds (ISLES layout: each case's CT_MTT; or
            ``<case_id>.nii[.gz]``). Default: the background found while scoring, else blank.
        progress: called with 1 after each case overlay.

    Returns:
        The report's path.

    Raises:
        EvaluationError: the run folder lacks its files, or the report cannot be written
            (it is written atomically: never a truncated ``report.html``).
    """
    run_dir = Path(run_dir)
    rows = read_per_case(run_dir / PER_CASE)
    summary = read_json(run_dir / SUMMARY)
    backgrounds = find_backgrounds(background_dir) if background_dir is not None else {}
    cases = []
    for row in rows:
        cases.append(_case_figure(row, backgrounds))
        if progress is not None:
            progress(1)
    failed = summary.get("failed", [])
    failures = "".join(
        f"<li>{html.escape(f['case_id'])} ({html.escape(f['status'])}): "
        f"{html.escape(str(f['error']))}</li>"
        for f in failed
    )
    preset = html.escape(summary.get("preset", {}).get("name", "?"))
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Evaluation report</title>
<style>{_STYLE}</style></head><body>
<h1>Evaluation report</h1>
<p>{len(rows)} cases; preset <code>{preset}</code>; inf policy
<code>{html.escape(str(summary.get("inf_policy")))}</code>;
reference <code>{html.escape(str(summary.get("reference_dir")))}</code>.</p>
<h2>Per fold</h2>
{fold_table(summary)}
{f"<h2>Failed cases ({len(failed)})</h2><ul>{failures}</ul>" if failed else ""}
<h2>Distributions</h2>
{_img(box_plots(rows), "box plots of Dice, HD95 and AVD per fold")}
<h2>Dice and lesion volume</h2>
{_img(dice_volume_scatter(rows), "Dice against reference lesion volume")}
<h2>Cases</h2>
<p>Reference contour <span style="color:#00a000">green</span>, prediction contour
<span style="color:#00b0b0">cyan</span>; the slice with the largest lesion area.</p>
<div class="cases">
{"".join(cases)}
</div>
</body></html>
"""
    return write_text(run_dir / REPORT, page)
