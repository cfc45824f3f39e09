"""Cross-validation evaluation of a trained run, and Table 1 beside the paper.

Every fold's validation cases are predicted with that fold's checkpoint alone (no ensemble)
and scored with :mod:`evaluation` against the training OT::

    RUN/crossval/predictions/SMIR.GANSeg.<CT_MTT id>.nii   RUN/crossval/predictions.json
    RUN/crossval/eval/per_case.csv  summary.json  summary.md  report.html

``predictions.json`` records the fold, checkpoint sha256 and TTA behind each prediction; a
prediction is reused while it is newer than its checkpoint and that record still matches. An
ablation folder (``RUN/<stage>/`` per stage) is evaluated stage by stage and compared with the
paper in ``RUN/crossval/table1.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from isles2018.data.layout import Case
from isles2018.data.modalities import DEFAULT_METHOD_NAME
from isles2018.data.splits import SPLITS_FILE, Splits
from isles2018.errors import CheckpointError, CrossvalError, DataError
from isles2018.files import atomic_path
from isles2018.inference.checkpoint import SIDECAR, WEIGHTS, read_sidecar

if TYPE_CHECKING:
    import torch


METHOD = DEFAULT_METHOD_NAME
FOLDER = "crossval"
RECORD = "predictions.json"


@dataclass(frozen=True)
class CrossvalResult:
    """The evaluation of one cross-validation run.

    Attributes:
        run: the run folder.
        k: folds in ``splits.json``.
        missing: folds without a checkpoint (their cases are not scored).
        checkpoint_dice: fold → validation Dice saved in its checkpoint (None if absent).
        predicted, reused: cases predicted now / whose prediction was still current.
        rows, summary: the evaluation of the folds with a checkpoint (``per_case.csv``,
            ``summary.json``); a case that could not be predicted is a failed row (Dice 0).
        eval_dir: ``RUN/crossval/eval``.
    """

    run: Path
    k: int
    missing: tuple[int, ...]
    checkpoint_dice: dict[int, float | None]
    predicted: int
    reused: int
    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    eval_dir: Path

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Rows whose status is not ``ok``."""
        return [r for r in self.rows if r["status"] != "ok"]

    @property
    def fold_dice(self) -> dict[int, float | None]:
        """Mean per-case Dice of each scored fold, from our evaluation."""
        return {int(k): g["metrics"]["dice"]["mean"] for k, g in self.summary["folds"].items()}


def predict_fold(
    folder: Path,
    cases: Sequence[Case],
    out_dir: Path,
    record: dict[str, Any],
    *,
    device: torch.device,
    tta: bool = False,
    progress: bool = True,
) -> tuple[int, int, dict[str, str]]:
    """Predict one fold's validation cases with that fold's checkpoint alone.

    A prediction newer than the checkpoint whose ``record`` entry (fold, weights sha256, TTA)
    still matches is reused; any other is removed first, so a case that fails leaves none.
    The checkpoint is loaded only when some case needs predicting. MR_DWI is read when the
    checkpoint's inputs include it (``dwi-unet``; allowed for validation on training data).

    Args:
        folder: ``RUN/fold_<k>`` holding the checkpoint.
        cases: the fold's validation cases.
        out_dir: ``RUN/crossval/predictions``.
        record: case id → what made its prediction; updated in place.

    Returns:
        ``(predicted, reused, failed)``; ``failed`` maps case id → one-line reason.
    """
    from isles2018.inference.predictor import Predictor

    meta = read_sidecar(folder)
    made_by = {"fold": meta.get("fold"), "sha256": meta["weights"]["sha256"], "tta": tta}
    stamp = max(
        (folder / n).stat().st_mtime_ns for n in (SIDECAR, WEIGHTS) if (folder / n).exists()
    )
    failed: dict[str, str] = {}
    todo: list[Case] = []
    reused = 0
    for case in cases:
        try:
            target = out_dir / case.prediction_file(METHOD)
        except DataError as error:
            failed[case.case_id] = str(error)
            continue
        if target.is_file() and target.stat().st_mtime_ns > stamp:
            if record.get(case.case_id) == made_by:
                reused += 1
                continue
        target.unlink(missing_ok=True)
        record.pop(case.case_id, None)
        todo.append(case)
    if not todo:
        return 0, reused, failed
    try:
        predictor = Predictor.from_checkpoints(
            [folder], device=device, tta=tta, allow_dwi=True, method_name=METHOD
        )
    except CheckpointError as error:
        return 0, reused, failed | dict.fromkeys((case.case_id for case in todo), str(error))
    report = predictor.predict_folder(todo, out_dir, progress=progress, description=folder.name)
    for case_id in report.written:
        record[case_id] = made_by
    return len(report.written), reused, failed | report.failed


def evaluate_run(
    run: Path,
    cases: Sequence[Case],
    *,
    device: torch.device,
    tta: bool = False,
    **options: Any,
) -> CrossvalResult:
    """Predict every fold's validation cases with its own checkpoint, then score them.

    Args:
        run: a run folder (``splits.json``, ``fold_<k>/``).
        cases: the training cases the run was trained on (with OT).
        device: where the networks run.
        tta: flip test-time augmentation.
        options: for :func:`evaluation.score.score_directory` (``preset``, ``workers``,
            ``progress``).

    Raises:
        CrossvalError: no ``splits.json``, no fold checkpoint at all, validation cases absent
            from ``cases`` or in several folders, or an unusable reference folder.
    """
    from evaluation.report import build_report
    from evaluation.score import ScoreRun, write_run

    run, out = Path(run), Path(run) / FOLDER
    if not (run / SPLITS_FILE).is_file():
        raise CrossvalError(f"{run}: no splits.json (not a cross-validation or ablation run)")
    try:
        splits = Splits.load(run / SPLITS_FILE)
    except DataError as error:
        raise CrossvalError(str(error)) from None
    by_id = {c.case_id: c for c in cases}
    wanted = [c for fold in splits.folds for c in fold.val]
    absent = [c for c in wanted if c not in by_id]
    if absent:
        raise CrossvalError(
            f"{run / 'splits.json'} lists {len(absent)} validation case(s) absent from the data "
            f"({', '.join(absent[:5])}): is --data the run's training folder?"
        )
    if len({by_id[c].folder.parent for c in wanted}) > 1:
        raise CrossvalError(f"{run}: its validation cases lie in several data folders")
    folders = {f.fold: run / f"fold_{f.fold}" for f in splits.folds}
    present = [f for f in splits.folds if (folders[f.fold] / SIDECAR).is_file()]
    if not present:
        raise CrossvalError(f"{run}: no fold_<k>/{SIDECAR} for any of the {splits.k} folds")
    try:
        record = json.loads((out / RECORD).read_text())
    except (OSError, ValueError):
        record = {}  # no or damaged record: every prediction is made again
    predicted = reused = 0
    failed: dict[str, str] = {}
    checkpoint_dice: dict[int, float | None] = {}
    for fold in present:
        try:
            meta = read_sidecar(folders[fold.fold])
            checkpoint_dice[fold.fold] = meta.get("scores", {}).get("val_dice")
            made, kept, problems = predict_fold(
                folders[fold.fold], [by_id[c] for c in fold.val], out / "predictions", record,
                device=device, tta=tta, progress=options.get("progress", True),
            )  # fmt: skip
        except CheckpointError as error:  # an unreadable sidecar: the fold's cases fail
            checkpoint_dice[fold.fold] = None
            made, kept, problems = 0, 0, dict.fromkeys(fold.val, str(error))
        predicted, reused = predicted + made, reused + kept
        failed.update(problems)
        with atomic_path(out / RECORD) as temporary:  # after each fold: a rerun resumes here
            temporary.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    scored = [f.fold for f in present]
    missing = tuple(sorted(set(folders) - set(scored)))
    rows, summary = _score(out, by_id[wanted[0]].folder.parent, run, scored, failed, **options)
    summary["crossval"] = {"folds_scored": scored, "missing_folds": missing, "tta": tta}
    summary["crossval"]["checkpoint_val_dice"] = checkpoint_dice
    result = CrossvalResult(
        run, splits.k, missing, checkpoint_dice, predicted, reused, rows, summary, out / "eval"
    )
    write_run(ScoreRun(rows=rows, summary=summary), result.eval_dir)
    with atomic_path(result.eval_dir / "summary.md") as temporary:
        temporary.write_text(run_markdown(result))
    build_report(result.eval_dir)  # overlays on each case's CT_MTT
    return result


def _score(
    out: Path, reference_dir: Path, run: Path, folds: Sequence[int], failed: Mapping[str, str],
    **options: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Score the scored folds' cases; a case that was not predicted fails with the reason."""
    from evaluation.aggregate import aggregate
    from evaluation.errors import EvaluationError
    from evaluation.score import score_directory

    (out / "predictions").mkdir(parents=True, exist_ok=True)
    try:
        scoring = score_directory(
            out / "predictions", reference_dir, splits=run / SPLITS_FILE, **options
        )
    except EvaluationError as error:
        raise CrossvalError(str(error)) from None
    rows = [r for r in scoring.rows if r["fold"] in folds]  # missing folds are not scored
    for row in rows:
        if row["case_id"] in failed:
            row.update(status="error", error=f"not predicted: {failed[row['case_id']]}")
    failures = [{k: r[k] for k in ("case_id", "status", "error")} for r in rows]
    summary = scoring.summary | aggregate(rows, scoring.summary["inf_policy"])
    summary["failed"] = [f for f in failures if f["status"] != "ok"]
    return rows, summary


def run_markdown(result: CrossvalResult) -> str:
    """The evaluation's per-fold Markdown table, with the folds missing and the predictions."""
    from evaluation.tables import summary_markdown

    missing = result.missing
    lines = [
        f"# Cross-validation of {result.run}",
        "",
        f"{len(result.fold_dice)} of {result.k} folds scored, each with its own checkpoint; "
        f"{result.predicted} case(s) predicted, {result.reused} reused.",
    ]
    if missing:
        lines.append(
            f"Missing folds (no checkpoint, cases not scored): {', '.join(map(str, missing))}."
        )
    return "\n".join(lines) + "\n\n" + summary_markdown(result.summary)
