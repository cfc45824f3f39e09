"""Score a folder of predictions against a reference folder: pairing, metrics, aggregation.

Every case is scored, in a process pool; a case that cannot be scored (missing or unreadable
prediction, shape or affine mismatch, bad labels) is kept as a failed row counted as Dice 0 and
infinite distances (in the micro, fold and patient statistics too, see :mod:`evaluation.aggregate`),
listed in the summary, and makes the run fail after all others are scored.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evaluation.aggregate import aggregate
from evaluation.atomic import write_files
from evaluation.conventions import INF_POLICIES, Conventions, resolve_preset
from evaluation.errors import EvaluationError
from evaluation.groups import resolve_groups
from evaluation.io import Image, read_image, same_grid
from evaluation.lesions import label_lesions
from evaluation.masks import binarise_mask
from evaluation.metrics import DISTANCE_COLUMNS, compute_metrics
from evaluation.pairing import CasePair, find_backgrounds, pair_cases
from evaluation.run_files import PER_CASE, SUMMARY, json_text, per_case_csv
from evaluation.surface_stats import SURFACE_DICE_TOLERANCE_MM, check_tolerance
from evaluation.tables import summary_markdown

Row = dict[str, Any]
SUMMARY_MD = "summary.md"


@dataclass(frozen=True)
class ScoreRun:
    """The outcome of scoring a folder.

    Attributes:
        rows: one per-case dict per reference case (``per_case.csv``), in natural case order.
        summary: the aggregate statistics and run description (``summary.json``).
    """

    rows: list[Row]
    summary: dict[str, Any]

    @property
    def failed(self) -> list[Row]:
        """Rows whose status is not ``ok``."""
        return [r for r in self.rows if r["status"] != "ok"]


def _failure(
    row: Row,
    status: str,
    error: str,
    reference: Image | None = None,
    mask: np.ndarray | None = None,
    conventions: Conventions | None = None,
) -> Row:
    """A failed case: Dice 0 and infinite distances; volumes and lesions as if none predicted.

    The reference's voxels and lesions count as missed (so micro and patient Dice see them),
    ``avd_ml`` is the reference volume; ``volume_prediction_ml`` stays empty (not measured).
    """
    row.update(status=status, error=error, dice=0.0, precision=0.0, recall=0.0, lesion_f1=0.0)
    row.update(surface_dice=0.0)
    row.update(dict.fromkeys(DISTANCE_COLUMNS, float("inf")))
    if reference is not None and mask is not None:
        voxel_ml = math.prod(reference.spacing_mm) / 1000.0
        n_voxels = int(np.count_nonzero(mask))
        connectivity = conventions.lesion_connectivity if conventions is not None else 26
        n_lesions = label_lesions(mask, connectivity)[1]
        row.update(
            tp_voxels=0,
            fp_voxels=0,
            fn_voxels=n_voxels,
            volume_reference_ml=n_voxels * voxel_ml,
            reference_empty=n_voxels == 0,
            avd_ml=n_voxels * voxel_ml,
            volume_difference_ml=-n_voxels * voxel_ml,
            lesion_tp=0,
            lesion_fp=0,
            lesion_fn=n_lesions,
            lesion_count_reference=n_lesions,
            lesion_count_difference=(
                n_lesions
                if conventions is not None and conventions.lesion_count_absolute
                else -n_lesions
            ),
            voxel_volume_ml=voxel_ml,
            diagonal_mm=float(np.linalg.norm(np.multiply(reference.shape, reference.spacing_mm))),
        )
    return row


def mask_digest(mask: np.ndarray, spacing_mm: Sequence[float]) -> str:
    """SHA-256 of a binary mask's shape, spacing and voxels: what identifies a reference.

    Independent of the file's name, folder, dtype and compression, so two runs scored against
    copies of one reference agree, and runs against different references do not.
    """
    digest = hashlib.sha256(repr((tuple(mask.shape), tuple(map(float, spacing_mm)))).encode())
    digest.update(np.packbits(np.asarray(mask, dtype=bool), axis=None).tobytes())
    return digest.hexdigest()


def score_case(
    pair: CasePair,
    conventions: Conventions,
    binarise: bool = False,
    surface_dice_tolerance_mm: float = SURFACE_DICE_TOLERANCE_MM,
) -> Row:
    """Score one case; never raises for bad input (the row says what went wrong).

    ``surface_dice_tolerance_mm`` is the tolerance of the ``surface_dice`` (NSD) column.

    Returns:
        A per-case row: ``case_id``, ``status`` (``ok``, ``missing`` or ``error``), ``error``,
        the metric columns, ``smir_id``, the three paths and ``reference_sha256`` (the
        reference mask's :func:`mask_digest`, when it could be read).
    """
    row: Row = {
        "case_id": pair.case_id,
        "smir_id": pair.smir_id,
        "reference_path": pair.reference_path,
        "prediction_path": pair.prediction_path,
        "background_path": pair.background_path,
    }
    reference = reference_mask = None
    try:
        if pair.reference_path is None:
            raise EvaluationError(pair.problem or f"{pair.case_id}: no reference mask")
        reference = read_image(pair.reference_path)
        reference_mask = binarise_mask(reference.array, binarise=binarise, name=str(reference.path))
        row["reference_sha256"] = mask_digest(reference_mask, reference.spacing_mm)
        if pair.problem:
            return _failure(row, "error", pair.problem, reference, reference_mask, conventions)
        if pair.prediction_path is None:
            expected = f"SMIR.<method>.{pair.smir_id}.nii or " if pair.smir_id else ""
            message = f"no prediction ({expected}{pair.case_id}.nii[.gz])"
            return _failure(row, "missing", message, reference, reference_mask, conventions)
        prediction = read_image(pair.prediction_path)
        mismatch = same_grid(reference, prediction)
        if mismatch:
            raise EvaluationError(f"{prediction.path}: {mismatch} ({reference.path.name})")
        prediction_mask = binarise_mask(
            prediction.array, binarise=binarise, name=str(prediction.path)
        )
        metrics = compute_metrics(
            reference_mask,
            prediction_mask,
            reference.spacing_mm,
            conventions,
            surface_dice_tolerance_mm=surface_dice_tolerance_mm,
        )
        row.update(metrics, status="ok", error=None)
        return row
    except EvaluationError as error:
        return _failure(row, "error", str(error), reference, reference_mask, conventions)
    except Exception as error:  # one broken case must not stop the others
        message = f"{type(error).__name__}: {error}"
        return _failure(row, "error", message, reference, reference_mask, conventions)


def _score_all(
    pairs: Sequence[CasePair],
    conventions: Conventions,
    binarise: bool,
    workers: int,
    progress: bool,
    tolerance_mm: float,
) -> list[Row]:
    bar = tqdm(total=len(pairs), desc="scoring", unit="case", disable=not progress)
    with bar:
        if workers <= 1 or len(pairs) <= 1:
            rows = []
            for pair in pairs:
                rows.append(score_case(pair, conventions, binarise, tolerance_mm))
                bar.update()
            return rows
        results: list[Row | None] = [None] * len(pairs)
        with ProcessPoolExecutor(max_workers=min(workers, len(pairs))) as pool:
            futures = {
                pool.submit(score_case, pair, conventions, binarise, tolerance_mm): index
                for index, pair in enumerate(pairs)
            }
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                bar.update()
        return [r for r in results if r is not None]


def score_directory(
    prediction_dir: str | Path,
    reference_dir: str | Path,
    *,
    splits: str | Path | None = None,
    patients_csv: str | Path | None = None,
    preset: str | Conventions = "default",
    inf_policy: str = "report",
    workers: int | None = None,
    binarise: bool = False,
    background_dir: str | Path | None = None,
    progress: bool = True,
    surface_dice_tolerance_mm: float = SURFACE_DICE_TOLERANCE_MM,
) -> ScoreRun:
    """Pair, score and aggregate every case of a reference folder.

    Args:
        prediction_dir: folder of ``SMIR.<method>.<ID>.nii`` or ``<case_id>.nii[.gz]`` files.
        reference_dir: ISLES-layout folder (``case_<n>/…OT…``), a data-set root holding one
            (:func:`evaluation.pairing.resolve_reference`), or ``<case_id>.nii[.gz]`` files.
        splits: ``splits.json`` giving folds (and patients); it must name every scored case
            and may name more (:func:`evaluation.groups.check_splits`).
        patients_csv: ``case,patient`` table, used when ``splits`` has no patient map.
        preset: metric conventions (name or :class:`Conventions`).
        inf_policy: ``report``, ``penalty`` or ``exclude``.
        workers: processes (default ``os.cpu_count()``).
        binarise: accept non-binary labels, lesion = ``!= 0``.
        background_dir: overlay backgrounds (ISLES layout or ``<case_id>.nii[.gz]``).
        progress: show a progress bar.
        surface_dice_tolerance_mm: tolerance of the normalised surface Dice (NSD), mm.

    Raises:
        EvaluationError: a folder, preset, policy or grouping file is unusable (per-case
            problems never raise).
    """
    conventions = resolve_preset(preset)
    tolerance_mm = check_tolerance(surface_dice_tolerance_mm)
    if inf_policy not in INF_POLICIES:
        raise EvaluationError(f"inf policy must be one of {INF_POLICIES}, got {inf_policy!r}")
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise EvaluationError(f"workers must be at least 1, got {workers}")
    pairing = pair_cases(prediction_dir, reference_dir)
    case_ids = [p.case_id for p in pairing.pairs]
    groups = resolve_groups(pairing.reference_dir, splits, patients_csv, case_ids)
    pairs = list(pairing.pairs)
    if background_dir is not None:
        backgrounds = find_backgrounds(background_dir)
        pairs = [
            replace(p, background_path=backgrounds.get(p.case_id, p.background_path)) for p in pairs
        ]
    rows = _score_all(pairs, conventions, binarise, workers, progress, tolerance_mm)
    for row in rows:
        row["patient_id"] = groups.patient_of(row["case_id"])
        row["fold"] = groups.folds.get(row["case_id"])
    summary = {
        "preset": conventions.to_dict(),
        "inf_policy": inf_policy,
        "surface_dice_tolerance_mm": tolerance_mm,
        "binarise": binarise,
        "prediction_dir": str(prediction_dir),
        "reference_dir": str(reference_dir),
        "reference_partition": str(pairing.reference_dir.resolve()),
        "layout": pairing.layout,
        "patient_source": groups.patient_source,
        "splits": str(splits) if splits is not None else None,
        "splits_not_scored": list(groups.splits_not_scored),
        "failed": [
            {"case_id": r["case_id"], "status": r["status"], "error": r["error"]}
            for r in rows
            if r["status"] != "ok"
        ],
        "unmatched_predictions": [str(p) for p in pairing.unmatched_predictions],
        **aggregate(rows, inf_policy),
    }
    return ScoreRun(rows=rows, summary=summary)


def write_run(run: ScoreRun, out_dir: str | Path) -> Path:
    """Write ``per_case.csv``, ``summary.json`` and ``summary.md`` into ``out_dir``.

    The three are written together (:func:`evaluation.atomic.write_files`): all data first,
    then the renames, so a failed write leaves the folder as it was; temporary files that a
    killed earlier run left are removed.

    Raises:
        EvaluationError: a file could not be written (one line naming it).
    """
    out_dir = Path(out_dir)
    texts = {
        out_dir / PER_CASE: per_case_csv(run.rows),
        out_dir / SUMMARY: json_text(run.summary),
        out_dir / SUMMARY_MD: summary_markdown(run.summary),
    }
    write_files({path: text.encode("utf-8") for path, text in texts.items()})
    return out_dir
