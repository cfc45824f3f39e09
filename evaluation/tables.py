"""The summary table shared by the Markdown output and the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: (metric, heading, decimals) of the summary table.
TABLE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("dice", "Dice", 3),
    ("hd95_mm", "HD95 (mm)", 1),
    ("assd_mm", "ASSD (mm)", 2),
    ("avd_ml", "AVD (ml)", 2),
    ("lesion_f1", "lesion F1", 3),
)
HEADINGS: tuple[str, ...] = (
    "group",
    "n",
    "both empty",
    *(heading for _, heading, _ in TABLE_COLUMNS),
    "micro Dice",
)


def format_stats(stats: dict[str, Any], digits: int) -> str:
    """``mean ± SD (k inf)``; ``–`` when there is no value."""
    if stats.get("mean") is None:
        text = "–"
    else:
        text = f"{stats['mean']:.{digits}f}"
        if stats.get("sd") is not None:
            text += f" ± {stats['sd']:.{digits}f}"
    if stats.get("n_inf"):
        text += f" ({stats['n_inf']} inf)"
    return text


def summary_rows(summary: dict[str, Any]) -> list[list[str]]:
    """Table rows (cells as text, in :data:`HEADINGS` order): each fold, overall, patients."""
    groups = [(f"fold {fold}", stats) for fold, stats in summary["folds"].items()]
    groups.append(("overall", summary["overall"]))
    rows = []
    for name, group in groups:
        micro = "–" if group["micro_dice"] is None else f"{group['micro_dice']:.3f}"
        if group.get("n_unpooled"):  # failed cases whose reference volume is unknown
            micro += f" ({group['n_unpooled']} not pooled)"
        rows.append(
            [
                name,
                str(group["n_cases"] - group["n_excluded"]),
                str(group["n_both_empty"]),
                *(format_stats(group["metrics"][m], d) for m, _, d in TABLE_COLUMNS),
                micro,
            ]
        )
    patients = summary["patients"]
    cells = (format_stats(patients["metrics"].get(m, {}), d) for m, _, d in TABLE_COLUMNS)
    rows.append(["patients", str(patients["n"]), "", *cells, ""])
    return rows


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown: one table row per fold, overall and patients, then failures."""
    lines = [
        f"## Evaluation: {summary['overall']['n_cases']} cases, preset "
        f"`{summary['preset']['name']}`, inf policy `{summary['inf_policy']}`",
        "",
        "| " + " | ".join(HEADINGS) + " |",
        "|---" * len(HEADINGS) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(summary)]
    lines += ["", f"Patient ids: {summary['patient_source']}."]
    partition, given = summary.get("reference_partition"), summary.get("reference_dir")
    if partition and given and Path(given).resolve() != Path(partition):
        lines.append(f"Reference cases: {partition} (in {given}).")
    if summary.get("splits_not_scored"):
        extra = summary["splits_not_scored"]
        shown = ", ".join(extra[:5]) + (", …" if len(extra) > 5 else "")
        lines.append(f"Splits: {len(extra)} case(s) of {summary['splits']} not scored ({shown}).")
    if summary["failed"]:
        lines += ["", f"Failed cases ({len(summary['failed'])}), counted as Dice 0:"]
        lines += [f"- {f['case_id']} ({f['status']}): {f['error']}" for f in summary["failed"]]
    if summary["unmatched_predictions"]:
        lines += ["", f"Unmatched predictions ({len(summary['unmatched_predictions'])}):"]
        lines += [f"- {p}" for p in summary["unmatched_predictions"]]
    return "\n".join(lines) + "\n"
