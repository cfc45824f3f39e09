"""Table 1 of the paper beside ours: mean validation Dice per stage of the ablation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from isles2018.config import STAGES
from isles2018.crossval.evaluate import CrossvalResult

#: Paper Table 1: 4-fold mean validation Dice per stage.
PAPER_DICE = {"dwi-unet": 0.8473, "perfusion-unet": 0.5463, "gan": 0.5829, "gan-gn-maxout": 0.6065}


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _text(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def ablation_table(results: Mapping[str, Sequence[Any]]) -> str:
    """Table 1 beside ours after training: mean validation Dice over the folds trained."""
    lines = [f"{'stage':<16}{'folds':>6}{'Dice (ours)':>13}{'Dice (paper)':>14}"]
    for stage, folds in results.items():
        scores = [f.val_dice for f in folds if f.val_dice is not None]
        ours = f"{np.mean(scores):.4f}" if scores else "-"
        paper = f"{PAPER_DICE[stage]:.4f}" if stage in PAPER_DICE else "-"
        lines.append(f"{stage:<16}{len(scores):>6}{ours:>13}{paper:>14}")
    return "\n".join(lines)


def table1_markdown(results: Mapping[str, CrossvalResult | str]) -> str:
    """Table 1 as Markdown: our evaluated Dice per stage beside the checkpoints' and the paper's.

    Args:
        results: stage → its evaluation, or why it has none. Every stage of the paper gets a
            row (absent ones marked "not run").
    """
    lines = [
        "| stage | folds scored | Dice (ours) | Dice (checkpoints) | Dice (paper) |",
        "|---|---|---|---|---|",
    ]
    notes = []
    for stage in [*STAGES, *(s for s in results if s not in STAGES)]:
        result = results.get(stage)
        paper = _text(PAPER_DICE.get(stage))
        if not isinstance(result, CrossvalResult):
            lines.append(f"| {stage} | 0 | – | – | {paper} |")
            notes.append(f"- {stage}: {result or 'not run'}")
            continue
        ours = _mean(list(result.fold_dice.values()))
        recorded = _mean(list(result.checkpoint_dice.values()))
        folds = f"{len(result.fold_dice)}/{result.k}"
        lines.append(f"| {stage} | {folds} | {_text(ours)} | {_text(recorded)} | {paper} |")
        if result.missing:
            notes.append(
                f"- {stage}: no checkpoint for fold(s) {', '.join(map(str, result.missing))}"
            )
        if result.failed:
            notes.append(f"- {stage}: {len(result.failed)} case(s) failed, counted as Dice 0")
    lines += [
        "",
        "Dice (ours): mean over the scored folds of each fold's mean per-case 3D Dice, from "
        "`isles2018 crossval`. Dice (checkpoints): mean of the validation Dice saved in the "
        "folds' checkpoints during training. Dice (paper): Liu 2018, Table 1 (4-fold mean).",
    ]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"
