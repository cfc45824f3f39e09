"""Figures of a scoring run as PNG bytes: box plots, a scatter and per-case overlays.

Matplotlib is used through ``Figure`` and the Agg canvas directly (no pyplot, no display).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

REFERENCE_COLOUR = "#00c000"  # green, as in the paper's figures
PREDICTION_COLOUR = "#00ffff"  # cyan

Row = dict[str, Any]


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def _fold_label(row: Row) -> str:
    return "no fold" if row.get("fold") is None else f"fold {row['fold']}"


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def box_plots(rows: Sequence[Row]) -> bytes:
    """Dice, HD95 (mm) and AVD (ml) per fold, one panel each; infinite values counted apart."""
    labels = sorted({_fold_label(r) for r in rows})
    figure = Figure(figsize=(10, 3.2), dpi=90)
    panels = (("dice", "Dice"), ("hd95_mm", "HD95 (mm)"), ("avd_ml", "AVD (ml)"))
    for index, (metric, title) in enumerate(panels):
        axes = figure.add_subplot(1, 3, index + 1)
        data, names = [], []
        for label in labels:
            values = [r.get(metric) for r in rows if _fold_label(r) == label]
            finite = [float(v) for v in values if _finite(v)]
            n_inf = sum(isinstance(v, float) and math.isinf(v) for v in values)
            data.append(finite)
            names.append(f"{label}\n({n_inf} inf)" if n_inf else label)
        axes.boxplot(data, tick_labels=names, showmeans=True)
        axes.set_title(title)
        axes.tick_params(axis="x", labelsize=8)
    figure.tight_layout()
    return _png(figure)


def dice_volume_scatter(rows: Sequence[Row]) -> bytes:
    """Dice against reference lesion volume (ml, symlog axis), coloured by fold."""
    figure = Figure(figsize=(5, 3.6), dpi=90)
    axes = figure.add_subplot(1, 1, 1)
    for label in sorted({_fold_label(r) for r in rows}):
        points = [
            (r["volume_reference_ml"], r["dice"])
            for r in rows
            if _fold_label(r) == label and _finite(r.get("volume_reference_ml"))
        ]
        if points:
            x, y = zip(*points, strict=True)
            axes.scatter(x, y, s=18, label=label, alpha=0.8)
    axes.set_xscale("symlog", linthresh=1.0)
    axes.set_xlabel("reference lesion volume (ml)")
    axes.set_ylabel("Dice")
    axes.set_ylim(-0.05, 1.05)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=8)
    figure.tight_layout()
    return _png(figure)


def overlay_slice(reference: np.ndarray | None, prediction: np.ndarray | None) -> int:
    """The z index with the largest reference + prediction area (middle slice when empty).

    Args:
        reference: ``(X, Y, Z)`` bool or None.
        prediction: ``(X, Y, Z)`` bool or None (at least one of them given).
    """
    masks = [m for m in (reference, prediction) if m is not None]
    area = sum(m.sum(axis=(0, 1)) for m in masks)
    if not np.any(area):
        return masks[0].shape[2] // 2
    return int(np.argmax(area))


def overlay(
    reference: np.ndarray | None,
    prediction: np.ndarray | None,
    background: np.ndarray | None = None,
    title: str = "",
    spacing_mm: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> bytes:
    """One axial slice with the reference contour (green) and the prediction contour (cyan).

    Args:
        reference: ``(X, Y, Z)`` bool, or None when unreadable.
        prediction: ``(X, Y, Z)`` bool, or None when missing.
        background: ``(X, Y, Z)`` image of the same grid (e.g. CT_MTT), or None for blank.
        title: drawn above the image.
        spacing_mm: voxel size ``(x, y, z)``: the in-plane aspect ratio of the drawing.
    """
    z = overlay_slice(reference, prediction)
    shape = (reference if reference is not None else prediction).shape
    figure = Figure(figsize=(2.8, 2.8), dpi=80)
    axes = figure.add_subplot(1, 1, 1)
    aspect = spacing_mm[1] / spacing_mm[0]  # rows are y, columns x
    if background is not None:
        image = np.asarray(background[:, :, z], dtype=float)
        finite = image[np.isfinite(image)]
        low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        window = {"vmin": low, "vmax": max(high, low + 1e-6)}
        axes.imshow(image.T, cmap="gray", origin="lower", aspect=aspect, **window)
    else:
        blank = np.zeros(shape[:2]).T
        axes.imshow(blank, cmap="gray", origin="lower", aspect=aspect, vmin=0, vmax=1)
    for mask, colour in ((reference, REFERENCE_COLOUR), (prediction, PREDICTION_COLOUR)):
        if mask is not None and mask[:, :, z].any():
            axes.contour(mask[:, :, z].T.astype(float), levels=[0.5], colors=colour, linewidths=1)
    axes.set_title(f"{title} (z={z})", fontsize=8)
    axes.set_axis_off()
    return _png(figure)
