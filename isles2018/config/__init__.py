"""The training configuration: one frozen dataclass tree whose defaults are the paper's values.

The tree is :mod:`isles2018.config.schema` (its ``model`` section, with the attention memory
check, is :mod:`isles2018.config.model`); named JSON variants, files, merges and overrides are
:mod:`isles2018.config.loading`. All are importable from here.
"""

from __future__ import annotations

from isles2018.config.loading import (
    from_dict,
    load_config,
    named_configs,
    save_config,
    to_dict,
    with_overrides,
)
from isles2018.config.model import ATTENTION_BUDGET_GIB, attention_matrix_gib
from isles2018.config.schema import (
    ABLATION_STAGES,
    COMPILE_MODES,
    INPUT_TOKENS,
    INVERSE_FREQUENCY,
    STAGES,
    AugmentConfig,
    Config,
    LossConfig,
    ModelConfig,
    NormaliseConfig,
    OptimConfig,
    PipelineConfig,
    RuntimeConfig,
)

__all__ = [
    "ABLATION_STAGES",
    "ATTENTION_BUDGET_GIB",
    "COMPILE_MODES",
    "INPUT_TOKENS",
    "INVERSE_FREQUENCY",
    "STAGES",
    "AugmentConfig",
    "Config",
    "LossConfig",
    "ModelConfig",
    "NormaliseConfig",
    "OptimConfig",
    "PipelineConfig",
    "RuntimeConfig",
    "attention_matrix_gib",
    "from_dict",
    "load_config",
    "named_configs",
    "save_config",
    "to_dict",
    "with_overrides",
]
