"""isles2018: Liu's CTP → synthetic DWI → lesion pipeline for ISLES 2018 (BrainLes 2018)."""

from __future__ import annotations

__version__ = "0.1.0"
