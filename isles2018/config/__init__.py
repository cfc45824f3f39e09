"""The training configuration: one frozen dataclass tree whose defaults are the paper's values.

The tree is :mod:`isles2018.config.schema`; named JSON variants, files, merges and overrides are
:mod:`isles2018.config.loading`. Both are importable from here.
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
from isles2018.config.schema import (
    INPUT_TOKENS,
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
    "INPUT_TOKENS",
    "STAGES",
    "AugmentConfig",
    "Config",
    "LossConfig",
    "ModelConfig",
    "NormaliseConfig",
    "OptimConfig",
    "PipelineConfig",
    "RuntimeConfig",
    "from_dict",
    "load_config",
    "named_configs",
    "save_config",
    "to_dict",
    "with_overrides",
]
