"""Table 1 of the paper beside ours: the ablation's stages, evaluated and rendered once.

An ablation folder holds one cross-validation run per stage, ``RUN/<stage>/``.
:func:`evaluate_stages` evaluates each with :func:`isles2018.crossval.evaluate.evaluate_run` and
writes ``RUN/crossval/table1.md``; :func:`table1_markdown` is the one renderer, used there and by
``isles2018 ablation`` right after training (which has only the checkpoints' Dice).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from isles2018.config import ABLATION_STAGES, STAGES
from isles2018.crossval.evaluate import FOLDER, CrossvalResult, evaluate_run
from isles2018.data.layout import Case
from isles2018.data.splits import SPLITS_FILE
from isles2018.errors import CrossvalError
from isles2018.files import atomic_path

#: Paper Table 1: 4-fold mean validation Dice per stage.
PAPER_DICE = {"dwi-unet": 0.8473, "perfusion-unet": 0.5463, "gan": 0.5829, "gan-gn-maxout": 0.6065}
TABLE = "table1.md"


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def _text(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


@dataclass(frozen=True)
class StageScores:
    """One row of Table 1.

    Attributes:
        folds: folds with a score.
        k: folds of the run.
        evaluated: mean over folds of the per-case 3D Dice from ``isles2018 crossval`` (None
            before it ran).
        checkpoints: mean of the validation Dice saved in the fold checkpoints.
        missing: folds without a checkpoint.
        failed: cases that could not be predicted (counted as Dice 0).
    """

    folds: int
    k: int
    evaluated: float | None
    checkpoints: float | None
    missing: tuple[int, ...] = ()
    failed: int = 0

    @classmethod
    def from_crossval(cls, result: CrossvalResult) -> StageScores:
        """The row of an evaluated run."""
        return cls(
            folds=len(result.fold_dice),
            k=result.k,
            evaluated=_mean(list(result.fold_dice.values())),
            checkpoints=_mean(list(result.checkpoint_dice.values())),
            missing=result.missing,
            failed=len(result.failed),
        )

    @classmethod
    def from_training(cls, val_dice: Sequence[float | None], k: int) -> StageScores:
        """The row of a run just trained: the validation Dice of each trained fold."""
        scored = [v for v in val_dice if v is not None]
        return cls(folds=len(scored), k=k, evaluated=None, checkpoints=_mean(scored))


def table1_markdown(rows: Mapping[str, StageScores | str]) -> str:
    """Table 1 as Markdown: our Dice per stage beside the checkpoints' and the paper's.

    Args:
        rows: stage → its scores, or why it has none. Every stage of the paper gets a row
            (absent ones marked "not run").
    """
    lines = [
        "| stage | folds scored | Dice (ours) | Dice (checkpoints) | Dice (paper) |",
        "|---|---|---|---|---|",
    ]
    notes = []
    for stage in [*STAGES, *(s for s in rows if s not in STAGES)]:
        row = rows.get(stage)
        paper = _text(PAPER_DICE.get(stage))
        if not isinstance(row, StageScores):
            lines.append(f"| {stage} | 0 | – | – | {paper} |")
            notes.append(f"- {stage}: {row or 'not run'}")
            continue
        folds = f"{row.folds}/{row.k}"
        lines.append(
            f"| {stage} | {folds} | {_text(row.evaluated)} | {_text(row.checkpoints)} | {paper} |"
        )
        if row.missing:
            notes.append(f"- {stage}: no checkpoint for fold(s) {', '.join(map(str, row.missing))}")
        if row.failed:
            notes.append(f"- {stage}: {row.failed} case(s) failed, counted as Dice 0")
    lines += [
        "",
        "Dice (ours): mean over the scored folds of each fold's mean per-case 3D Dice, from "
        "`isles2018 crossval` (– until it has run). Dice (checkpoints): mean of the validation "
        "Dice saved in the folds' checkpoints during training. Dice (paper): Liu 2018, Table 1 "
        "(4-fold mean).",
    ]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


#: Stage differences Table 1 is read for: what each step of the paper adds, and the DWI's worth.
COMPARISONS = (
    ("perfusion-unet", "dwi-unet"),
    ("gan", "perfusion-unet"),
    ("gan-gn-maxout", "gan"),
    ("gan-gn-maxout", "perfusion-unet"),
)


def details_markdown(results: Mapping[str, CrossvalResult]) -> str:
    """Per-fold Dice of every evaluated stage and paired bootstrap intervals between stages.

    Differences are paired over the cases both stages scored (same patient-grouped splits),
    mean per-case Dice ``first − second`` with a percentile bootstrap 95 % interval.
    """
    from evaluation.compare import bootstrap_ci

    k = max((r.k for r in results.values()), default=0)
    lines = [
        "| stage | " + " | ".join(f"fold {f}" for f in range(k)) + " | mean |",
        "|---|" + "---|" * (k + 1),
    ]
    for stage, result in results.items():
        folds = [_text(result.fold_dice.get(f)) for f in range(k)]
        lines.append(
            f"| {stage} | {' | '.join(folds)} | {_text(_mean(list(result.fold_dice.values())))} |"
        )
    lines += ["", "| difference | cases | mean Dice difference | 95 % CI (paired bootstrap) |"]
    lines.append("|---|---|---|---|")
    for first, second in COMPARISONS:
        if first not in results or second not in results:
            continue
        a = {r["case_id"]: float(r["dice"]) for r in results[first].rows}
        b = {r["case_id"]: float(r["dice"]) for r in results[second].rows}
        shared = sorted(set(a) & set(b))
        if not shared:
            continue
        difference = np.array([a[c] - b[c] for c in shared])
        low, high = bootstrap_ci(difference)
        lines.append(
            f"| {first} − {second} | {len(shared)} | {difference.mean():+.4f} | "
            f"[{low:+.4f}, {high:+.4f}] |"
        )
    return "\n".join(lines) + "\n"


def stage_runs(run: Path) -> dict[str, Path]:
    """``RUN/<stage>/`` folders of an ablation, in Table 1 order; empty for a plain run."""
    run = Path(run)
    if (run / SPLITS_FILE).is_file():
        return {}
    return {stage: run / stage for stage in ABLATION_STAGES if (run / stage).is_dir()}


def evaluate_stages(
    run: Path, cases: Sequence[Case], **options: Any
) -> tuple[dict[str, CrossvalResult | str], Path | None]:
    """Evaluate a run folder, or every stage of an ablation folder and write its Table 1.

    Args:
        run: a run folder (``splits.json``) or an ablation folder (``RUN/<stage>/``).
        cases: the training cases the run was trained on.
        options: for :func:`isles2018.crossval.evaluate.evaluate_run`.

    Returns:
        ``(results, table)``: stage → evaluation or why a stage has none (the key is ``""``
        for a plain run), and ``RUN/crossval/table1.md`` for an ablation (else None).

    Raises:
        CrossvalError: a plain run that cannot be evaluated, or an ablation none of whose
            stages holds a fold checkpoint.
    """
    stages = stage_runs(run)
    if not stages:
        return {"": evaluate_run(run, cases, **options)}, None
    results: dict[str, CrossvalResult | str] = {}
    for stage, folder in stages.items():
        try:
            results[stage] = evaluate_run(folder, cases, **options)
        except CrossvalError as error:
            results[stage] = f"not evaluated: {error}"
    if all(isinstance(r, str) for r in results.values()):
        raise CrossvalError(f"{run}: no stage folder holds a fold checkpoint")
    rows = {
        s: StageScores.from_crossval(r) if isinstance(r, CrossvalResult) else r
        for s, r in results.items()
    }
    table = Path(run) / FOLDER / TABLE
    evaluated = {s: r for s, r in results.items() if isinstance(r, CrossvalResult)}
    with atomic_path(table) as temporary:
        temporary.write_text(table1_markdown(rows) + "\n" + details_markdown(evaluated))
    return results, table
