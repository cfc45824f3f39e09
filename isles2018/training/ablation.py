"""The Table 1 ablation: one cross-validation run per stage, ``RUN/<stage>/``.

The default is the paper's four stages (:data:`isles2018.config.STAGES`); any name of
:data:`isles2018.config.ABLATION_STAGES` may be trained beside them, e.g.
``gan-gn-maxout-attn`` (stage 4 with self-attention and inverse-frequency CE; the paper gives
it no Dice, so Table 1 shows "–" in its paper column).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from isles2018.config import STAGES, Config, load_config
from isles2018.data.layout import training_cases
from isles2018.training.preflight import check_dwi
from isles2018.training.run import FoldResult, apply_overrides, train_run


def stage_configs(
    stages: Sequence[str] = STAGES, suffix: str | None = None, **overrides: Any
) -> dict[str, Config]:
    """The config of each ablation stage: ``<stage>[+<suffix>]`` with the CLI overrides.

    Args:
        stages: named configs (default Table 1's four; see ``ABLATION_STAGES``).
        suffix: a config merged over each stage, e.g. ``ci``.
        **overrides: ``epochs``, ``seed``, ``device`` (see ``run.apply_overrides``).
    """
    return {
        stage: apply_overrides(load_config(f"{stage}+{suffix}" if suffix else stage), **overrides)
        for stage in stages
    }


def run_ablation(
    data: Path, out: Path, configs: dict[str, Config], **options: Any
) -> dict[str, list[FoldResult]]:
    """Train every stage's cross-validation into ``out/<stage>/`` (Table 1).

    Every stage is checked for MR_DWI before any training starts.
    """
    cases = training_cases(Path(data))
    for config in configs.values():
        check_dwi(cases, config)
    return {stage: train_run(data, Path(out) / stage, c, **options) for stage, c in configs.items()}
