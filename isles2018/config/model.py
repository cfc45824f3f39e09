"""The ``model`` section of the config: network shapes, and the self-attention memory check.

Part of the tree of :mod:`isles2018.config.schema` (defaults: the paper's values; ours where the
paper is silent, and the field's comment says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from isles2018.errors import ConfigError

#: Largest fp32 attention matrix (H·W)² of one image that ``model.attention_levels`` may ask
#: for, in GiB. Training keeps about three such matrices per image and per U-Net with the block
#: (scores, softmax, gradient): batch 6, both U-Nets, at this limit ≈ 9 GiB of activations.
ATTENTION_BUDGET_GIB = 0.25


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def attention_matrix_gib(side_px: int) -> float:
    """Size of one image's fp32 attention matrix ``(H·W)²`` on ``side × side`` maps, in GiB.

    Examples:
        16 → 2⁻¹² (256 KiB: the bottleneck of a 256 slice), 64 → 0.0625, 128 → 1.0, 256 → 16.0.
    """
    return (side_px * side_px) ** 2 * 4 / 2**30


@dataclass(frozen=True)
class ModelConfig:
    """Network shapes (paper §2.2, Fig. 4).

    Attributes:
        width: channels of the first U-Net level, doubled per level (reference U-Net: 64).
        depth: number of poolings (reference U-Net: 4, i.e. five resolution levels).
        norm: ``group`` (paper §3.1) or ``batch`` (Fig. 7's comparison, stages 1–3).
        channels_per_group: GroupNorm channels per group, fixed at 16 (paper §3.1).
        head: ``maxout`` (three background maps + one foreground, paper §2.2) or ``plain``.
        discriminator_width: first discriminator width, doubled per layer: 64, 128, 256, 512, 1
            (paper: silent on widths).
        attention: ``none`` (Fig. 4; the default) or ``self``: a SAGAN self-attention block in
            both U-Nets (§3.2 names "self attention" among stage 4's changes without saying
            where or how; Fig. 4 shows none).
        attention_levels: U-Net levels that get the block, ``0`` (full resolution) to ``depth``
            (the bottleneck); negative counts back from the bottleneck (``-1``, our default).
            A level whose attention matrix exceeds :data:`ATTENTION_BUDGET_GIB` per image at
            ``slice_size_px`` is refused (at 256 pixels, depth 4: levels 2, 3 and 4 fit).
        slice_size_px: side of the slices the networks are built for (ISLES 2018: 256). The
            U-Nets accept any size; only the attention memory check uses it.
    """

    width: int = 64
    depth: int = 4
    norm: str = "group"
    channels_per_group: int = 16
    head: str = "maxout"
    discriminator_width: int = 64
    attention: str = "none"
    attention_levels: tuple[int, ...] = (-1,)
    slice_size_px: int = 256

    def __post_init__(self) -> None:
        _check(self.width >= 1, f"model.width must be >= 1, got {self.width}")
        _check(1 <= self.depth <= 8, f"model.depth must be in 1..8, got {self.depth}")
        _check(self.norm in ("group", "batch"), f"model.norm must be group|batch: {self.norm!r}")
        _check(self.channels_per_group >= 1, "model.channels_per_group must be >= 1")
        _check(self.head in ("maxout", "plain"), f"model.head must be maxout|plain: {self.head!r}")
        _check(self.discriminator_width >= 1, "model.discriminator_width must be >= 1")
        _check(
            self.attention in ("none", "self"),
            f"model.attention must be none|self: {self.attention!r}",
        )
        _check(self.slice_size_px >= 1, f"model.slice_size_px must be >= 1: {self.slice_size_px}")
        for level in self.attention_levels:
            _check(
                -(self.depth + 1) <= level <= self.depth,
                f"model.attention_levels: level {level} is not in -{self.depth + 1}..{self.depth} "
                f"(0 = full resolution, {self.depth} or -1 = the bottleneck)",
            )
        levels = [level % (self.depth + 1) for level in self.attention_levels]
        _check(len(set(levels)) == len(levels), "model.attention_levels: a level is repeated")
        for level in self.resolved_attention_levels:
            side = self.level_size_px(level)
            gib = attention_matrix_gib(side)
            _check(
                gib <= ATTENTION_BUDGET_GIB,
                f"model.attention_levels: level {level} ({side}×{side} maps of "
                f"{self.slice_size_px}-pixel slices) needs a {gib:g} GiB attention matrix per "
                f"image, above the {ATTENTION_BUDGET_GIB:g} GiB budget; use a coarser level",
            )

    @property
    def resolved_attention_levels(self) -> tuple[int, ...]:
        """Levels (``0..depth``, ascending) with a self-attention block; empty without one."""
        if self.attention == "none":
            return ()
        return tuple(sorted(level % (self.depth + 1) for level in self.attention_levels))

    def level_size_px(self, level: int) -> int:
        """Side of a level's feature maps for ``slice_size_px`` slices (after the U-Net's padding).

        Examples:
            256-pixel slices, depth 4: level 0 → 256, 1 → 128, 2 → 64, 3 → 32, 4 → 16.
        """
        multiple = 2**self.depth
        return -(-self.slice_size_px // multiple) * multiple // 2**level
