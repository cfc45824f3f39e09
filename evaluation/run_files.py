"""The files of a scoring run: ``per_case.csv`` and ``summary.json``, written and read back."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.atomic import write_text
from evaluation.errors import EvaluationError
from evaluation.metrics import METRIC_COLUMNS

PER_CASE = "per_case.csv"
SUMMARY = "summary.json"

#: Columns of ``per_case.csv``, in order.
PER_CASE_COLUMNS: tuple[str, ...] = (
    "case_id",
    "patient_id",
    "fold",
    "status",
    "error",
    *METRIC_COLUMNS,
    "smir_id",
    "reference_path",
    "prediction_path",
    "background_path",
    "reference_sha256",
)
_BOOL = {"reference_empty", "prediction_empty"}
_INT = {
    "fold",
    "lesion_tp",
    "lesion_fp",
    "lesion_fn",
    "lesion_count_reference",
    "lesion_count_prediction",
    "lesion_count_difference",
    "tp_voxels",
    "fp_voxels",
    "fn_voxels",
}
_TEXT = {"case_id", "patient_id", "status", "error", "smir_id", "reference_sha256"}
_PATH = {"reference_path", "prediction_path", "background_path"}


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ``bool``/``int``/``float`` (``repr(np.float64(1))`` is not 1.0)."""
    return value.item() if isinstance(value, np.generic) else value


def _format(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # full precision; inf is written as "inf"
    return str(value)


def _parse(column: str, text: str) -> Any:
    if text == "":
        return None
    if column in _TEXT:
        return text
    if column in _PATH:
        return Path(text)
    if column in _BOOL:
        return text.lower() == "true"
    if column in _INT:
        return int(text)
    return float(text)


def per_case_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Per-case rows as CSV text (``inf`` as ``inf``, missing values empty)."""
    buffer = StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PER_CASE_COLUMNS)
    for row in rows:
        writer.writerow([_format(row.get(column)) for column in PER_CASE_COLUMNS])
    return buffer.getvalue()


def write_per_case(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Write :func:`per_case_csv` atomically."""
    write_text(path, per_case_csv(rows))


def read_per_case(path: str | Path) -> list[dict[str, Any]]:
    """Read ``per_case.csv`` back into typed rows.

    Raises:
        EvaluationError: missing file, missing ``case_id`` column or an unparsable value.
    """
    path = Path(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            raw = list(reader)
    except FileNotFoundError:
        raise EvaluationError(f"{path}: per-case table not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise EvaluationError(f"{path}: not a readable CSV ({error})") from None
    if "case_id" not in header:
        raise EvaluationError(f"{path}: no case_id column (is it a per_case.csv?)")
    rows = []
    for number, record in enumerate(raw, start=2):
        row = {}
        for column, text in record.items():
            try:
                row[column] = _parse(column, (text or "").strip())
            except ValueError:
                raise EvaluationError(
                    f"{path}: line {number}, column {column}: cannot parse {text!r}"
                ) from None
        rows.append(row)
    return rows


def _json_ready(value: Any) -> Any:
    """Replace non-finite floats by strings (``"inf"``), so the file is strict JSON."""
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def json_text(data: dict[str, Any]) -> str:
    """Strict JSON text (indent 2; inf as the string ``"inf"``)."""
    return json.dumps(_json_ready(data), indent=2, allow_nan=False) + "\n"


def write_json(data: dict[str, Any], path: str | Path) -> None:
    """Write :func:`json_text` atomically."""
    write_text(path, json_text(data))


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a JSON object, with a one-line error naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EvaluationError(f"{path}: file not found") from None
    except (OSError, ValueError) as error:
        raise EvaluationError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(data, dict):
        raise EvaluationError(f"{path}: expected a JSON object")
    return data
