"""Self-attention: shape tables, the zero gate, the SAGAN formula, and U-Net placement."""

from __future__ import annotations

import pytest
import torch

from isles2018.models import SelfAttention, UNet


@pytest.mark.parametrize(
    ("batch", "channels", "size", "inner"),
    [
        (1, 1, (1, 1), 1),  # one position, one channel: C // 8 rounds up to 1
        (2, 8, (4, 4), 1),
        (3, 16, (8, 5), 2),  # not square
        (2, 64, (16, 16), 8),
        (1, 1024, (16, 16), 128),  # the reference bottleneck of a 256-pixel slice
    ],
)
def test_self_attention_keeps_the_shape(batch, channels, size, inner) -> None:
    block = SelfAttention(channels)
    assert block.query.out_channels == block.key.out_channels == inner
    assert block.value.out_channels == channels
    assert block.key.bias is None  # softmax would cancel it: it could never learn
    x = torch.randn(batch, channels, *size)
    with torch.no_grad():
        block.gate.fill_(0.5)
        y = block(x)
    assert y.shape == (batch, channels, *size)
    assert torch.isfinite(y).all()


def test_the_gate_starts_at_zero_so_the_block_is_the_identity() -> None:
    block = SelfAttention(16)
    assert block.gate.item() == 0.0
    x = torch.randn(2, 16, 6, 7)
    assert torch.equal(block(x), x)


def test_the_output_is_the_sagan_formula() -> None:
    torch.manual_seed(0)
    block = SelfAttention(16)
    x = torch.randn(2, 16, 5, 3)
    with torch.no_grad():
        block.gate.fill_(0.7)
        q = block.query(x).flatten(2)  # (B, C', N)
        k = block.key(x).flatten(2)
        v = block.value(x).flatten(2)  # (B, C, N)
        attention = torch.softmax(torch.einsum("bci,bcj->bij", q, k), dim=-1)  # unscaled
        expected = x + 0.7 * torch.einsum("bij,bcj->bci", attention, v).reshape(x.shape)
        torch.testing.assert_close(block(x), expected, rtol=1e-5, atol=1e-5)


def test_every_position_sees_every_other() -> None:
    torch.manual_seed(0)
    block = SelfAttention(8)
    with torch.no_grad():
        block.gate.fill_(1.0)
    x = torch.randn(1, 8, 9, 9)
    far = x.clone()
    far[..., 8, 8] += 5.0  # change one corner only
    with torch.no_grad():
        changed = (block(far) - block(x))[..., 0, 0].abs().sum()
    assert changed > 1e-4  # the opposite corner moved: no convolution could do that


@pytest.mark.parametrize(
    ("depth", "levels", "size", "channels"),
    [
        (2, (2,), (32, 32), {"2": 32}),  # bottleneck only
        (3, (0, 3), (24, 20), {"0": 8, "3": 64}),  # full resolution and bottleneck
        (3, (1, 2), (33, 31), {"1": 16, "2": 32}),  # padded to 40×32 and cropped back
        (4, (4,), (256, 256), {"4": 128}),  # ISLES size, reference depth
    ],
)
def test_unet_with_attention_keeps_the_slice_size(depth, levels, size, channels) -> None:
    unet = UNet(5, 2, width=8, depth=depth, attention_levels=levels)
    assert {k: m.value.in_channels for k, m in unet.attention.items()} == channels
    with torch.no_grad():
        for block in unet.attention.values():
            block.gate.fill_(1.0)
        out = unet(torch.randn(2, 5, *size))
    assert out.shape == (2, 2, *size)
    assert torch.isfinite(out).all()


def test_untrained_attention_unet_equals_the_plain_unet() -> None:
    torch.manual_seed(3)
    plain = UNet(5, 2, width=8, depth=3)
    torch.manual_seed(3)
    attention = UNet(5, 2, width=8, depth=3, attention_levels=(1, 3))
    own = {k: v for k, v in attention.state_dict().items() if not k.startswith("attention.")}
    assert own.keys() == plain.state_dict().keys()
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in own.items())
    x = torch.randn(2, 5, 24, 24)
    with torch.no_grad():
        assert torch.equal(attention(x), plain(x))
        attention.attention["3"].gate.fill_(0.1)
        assert not torch.equal(attention(x), plain(x))


def test_plain_unet_has_no_attention_parameters() -> None:
    assert not any(k.startswith("attention") for k in UNet(1, 1, width=8, depth=2).state_dict())


@pytest.mark.parametrize("levels", [(3,), (-1,)])
def test_unet_refuses_levels_outside_the_encoder(levels) -> None:
    with pytest.raises(ValueError, match=r"attention levels must be in 0\.\.2"):
        UNet(1, 1, width=8, depth=2, attention_levels=levels)
