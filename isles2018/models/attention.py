"""Self-attention for the U-Nets (paper §3.2 names "self attention" among stage 4's changes).

The paper says neither where nor how; we follow SAGAN (Zhang et al., "Self-Attention Generative
Adversarial Networks", ICML 2019), the self-attention of GANs at the time: 1×1 convolutions give
queries, keys and values, every position attends to every other, and a learned scalar gate that
starts at 0 adds the result to the input. An untrained block is the identity, so a network with
attention starts as the plain network. Where the blocks go is ``model.attention_levels``
(:class:`isles2018.models.unet.UNet`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SelfAttention(nn.Module):
    """SAGAN self-attention block with a residual gate initialised at 0.

    With ``N = H·W`` positions, ``q = W_q x`` and ``k = W_k x`` (1×1 convolutions to
    ``C' = max(1, C // 8)`` channels, as SAGAN; the key without bias, which softmax would
    cancel) and ``v = W_v x`` (1×1, ``C`` channels):
    ``A = softmax_j(q_i · k_j)`` (SAGAN: no ``1/√C'`` scaling) and
    ``y_i = x_i + γ Σ_j A_ij v_j``, with the scalar ``γ`` (``gate``) starting at 0.

    While ``γ = 0`` the query, key and value weights get no gradient (their output is multiplied
    by 0); the first update moves ``γ`` and from then on every weight learns.

    Memory: ``A`` is ``(B, N, N)`` — 4·N² bytes per image in fp32, e.g. 256 KiB on 16×16 maps,
    64 MiB on 64×64 maps and 16 GiB on a whole 256×256 slice (see
    :data:`isles2018.config.ATTENTION_BUDGET_GIB`). PyTorch's fused attention may avoid
    storing it on a GPU; the budget assumes it does not.

    Shapes: ``(B, C, H, W) → (B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        inner = max(1, channels // reduction)
        self.query = nn.Conv2d(channels, inner, 1)
        # A key bias adds q_i·b to every score of row i: softmax cancels it, so it could never
        # learn (its gradient is 0); the key convolution has none.
        self.key = nn.Conv2d(channels, inner, 1, bias=False)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add the gated attention output to ``x``: ``(B, C, H, W) → (B, C, H, W)``."""
        batch, channels, height, width = x.shape
        # (B, 1, N, C') queries and keys, (B, 1, N, C) values: one head over the N positions.
        query = self.query(x).flatten(2).transpose(1, 2).unsqueeze(1)
        key = self.key(x).flatten(2).transpose(1, 2).unsqueeze(1)
        value = self.value(x).flatten(2).transpose(1, 2).unsqueeze(1)
        attended = F.scaled_dot_product_attention(query, key, value, scale=1.0)
        attended = attended.squeeze(1).transpose(1, 2).reshape(batch, channels, height, width)
        return x + self.gate * attended
