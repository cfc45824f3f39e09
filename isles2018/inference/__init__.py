"""Inference: the :class:`Predictor` (checkpoint ensembles, TTA, the threshold method),
checkpoints, the shipped weights and the Dice regression check.

``from isles2018.inference import Predictor`` loads torch only when ``Predictor`` is first used,
so the command line's ``--help`` stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FolderReport", "Prediction", "Predictor"]


def __getattr__(name: str) -> Any:
    if name in ("FolderReport", "Predictor"):
        from isles2018.inference import predictor

        return getattr(predictor, name)
    if name == "Prediction":
        from isles2018.inference.ensemble import Prediction

        return Prediction
    raise AttributeError(f"module 'isles2018.inference' has no attribute {name!r}")
