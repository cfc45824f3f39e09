"""A fold's per-epoch log (``metrics.jsonl``) and its loss curve (``loss_curve.png``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from isles2018.files import append_line, atomic_path

METRICS = "metrics.jsonl"
CURVE = "loss_curve.png"


def append_metrics(folder: Path, record: dict[str, Any]) -> None:
    """Append one epoch's record to ``metrics.jsonl``."""
    append_line(Path(folder) / METRICS, json.dumps(record))


def read_metrics(folder: Path) -> list[dict[str, Any]]:
    """The per-epoch records of a fold's ``metrics.jsonl`` (empty if none).

    A last line cut short by a kill during the append is left out; it is rewritten when the
    run resumes (:func:`truncate_metrics`).
    """
    path = Path(folder) / METRICS
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a partial line: the append was interrupted
    return records


def truncate_metrics(folder: Path, epochs_done: int) -> None:
    """Keep the records of the epochs the checkpoint holds (a resume replays the rest)."""
    kept = [r for r in read_metrics(folder) if r["epoch"] <= epochs_done]
    with atomic_path(Path(folder) / METRICS) as temporary:
        temporary.write_text("".join(json.dumps(r) + "\n" for r in kept))


def plot_loss_curve(folder: Path) -> Path:
    """Write ``loss_curve.png``: training losses and validation Dice per epoch (Agg, no GUI)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    records = read_metrics(folder)
    figure = Figure(figsize=(9, 4))
    FigureCanvasAgg(figure)
    losses, dice = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    names = [k for k in records[0] if k.endswith("loss")] if records else []
    for name in names:
        losses.plot([r["epoch"] for r in records], [r[name] for r in records], label=name)
    losses.set(xlabel="epoch", ylabel="loss", title="training losses")
    if names:
        losses.legend()
    scored = [r for r in records if r.get("val_dice") is not None]
    dice.plot([r["epoch"] for r in scored], [r["val_dice"] for r in scored], marker=".")
    dice.set(xlabel="epoch", ylabel="mean Dice", title="validation Dice", ylim=(0, 1))
    figure.tight_layout()
    with atomic_path(Path(folder) / CURVE) as temporary:
        figure.savefig(temporary, dpi=80, format="png")
    return Path(folder) / CURVE
