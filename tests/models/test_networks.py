"""Shape tables and stated behaviour of the networks (tiny widths, CPU)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from isles2018.models import (
    Discriminator,
    Generator,
    Segmentor,
    UNet,
    group_count,
    make_norm,
    maxout_background,
)


@pytest.mark.parametrize(
    ("channels", "groups"),
    [(16, 1), (32, 2), (64, 4), (128, 8), (512, 32), (1024, 64), (8, 1), (1, 1), (40, 2), (48, 3)],
)
def test_group_count_is_channels_over_16(channels: int, groups: int) -> None:
    assert group_count(channels) == groups
    norm = make_norm("group", channels)
    assert isinstance(norm, nn.GroupNorm)
    assert norm.num_groups == groups


def test_reference_unet_uses_16_channels_per_group_everywhere() -> None:
    unet = UNet(5, 1, width=64, depth=4, norm="group")
    norms = [m for m in unet.modules() if isinstance(m, nn.GroupNorm)]
    assert {m.num_channels for m in norms} == {64, 128, 256, 512, 1024}
    assert all(m.num_channels // m.num_groups == 16 for m in norms)


def test_batch_norm_option() -> None:
    unet = UNet(5, 1, width=16, depth=2, norm="batch")
    assert any(isinstance(m, nn.BatchNorm2d) for m in unet.modules())
    assert not any(isinstance(m, nn.GroupNorm) for m in unet.modules())
    with pytest.raises(ValueError, match="layer"):
        make_norm("layer", 16)


@pytest.mark.parametrize(
    ("batch", "channels", "size", "depth"),
    [
        (1, 5, (32, 32), 2),
        (2, 5, (64, 64), 3),
        (3, 4, (64, 48), 3),
        (2, 1, (33, 31), 3),  # not divisible by 2**depth: padded and cropped back
        (1, 5, (17, 50), 2),
        (1, 5, (5, 7), 3),  # smaller than 2**depth
        (1, 5, (256, 256), 4),  # ISLES size, reference depth
    ],
)
def test_generator_and_segmentor_keep_the_slice_size(batch, channels, size, depth) -> None:
    x = torch.randn(batch, channels, *size)
    generator = Generator(channels, width=8, depth=depth)
    segmentor = Segmentor(1, head="maxout", width=8, depth=depth)
    with torch.no_grad():
        synthetic = generator(x)
        logits = segmentor(synthetic)
    assert synthetic.shape == (batch, 1, *size)
    assert logits.shape == (batch, 2, *size)
    assert torch.isfinite(logits).all()


def test_padding_does_not_leak_into_the_cropped_output_shape_or_batch() -> None:
    # Each sample of the batch is processed independently with GroupNorm (eval = train here).
    unet = UNet(2, 3, width=16, depth=2).eval()
    x = torch.randn(2, 2, 30, 30)
    with torch.no_grad():
        together = unet(x)
        alone = unet(x[:1])
    torch.testing.assert_close(together[:1], alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("head", ["maxout", "plain"])
def test_segmentor_heads(head: str) -> None:
    segmentor = Segmentor(1, head=head, width=8, depth=2)
    assert segmentor.unet.head.out_channels == (4 if head == "maxout" else 2)
    assert segmentor(torch.randn(2, 1, 16, 16)).shape == (2, 2, 16, 16)


def test_maxout_background_is_max_of_the_three_background_maps() -> None:
    maps = torch.tensor([[1.0, -2.0], [5.0, 0.0], [3.0, 4.0], [7.0, -1.0]]).reshape(1, 4, 1, 2)
    logits = maxout_background(maps)
    assert logits.shape == (1, 2, 1, 2)
    assert logits[0, 0].flatten().tolist() == [5.0, 4.0]
    assert logits[0, 1].flatten().tolist() == [7.0, -1.0]
    with pytest.raises(ValueError, match="4 channels"):
        maxout_background(torch.zeros(1, 3, 2, 2))


def test_maxout_segmentor_applies_maxout_to_the_unet_maps() -> None:
    segmentor = Segmentor(1, head="maxout", width=8, depth=2)
    x = torch.randn(1, 1, 16, 16)
    with torch.no_grad():
        maps = segmentor.unet(x)
        logits = segmentor(x)
    torch.testing.assert_close(logits[:, 0], maps[:, :3].amax(1))
    torch.testing.assert_close(logits[:, 1], maps[:, 3])


def test_discriminator_layers_match_the_paper() -> None:
    discriminator = Discriminator(1, width=64)
    convs = [m for m in discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 5
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert all(c.kernel_size == (5, 5) and c.stride == (2, 2) for c in convs)
    assert all(c.padding == (0, 0) for c in convs)
    norms = [m for m in discriminator.modules() if isinstance(m, nn.GroupNorm)]
    assert [n.num_groups for n in norms] == [4, 8, 16, 32]
    assert not any(isinstance(m, nn.Sigmoid) for m in discriminator.modules())


@pytest.mark.parametrize(
    ("batch", "size", "score_map"),
    [
        (1, (256, 256), (5, 5)),  # 256 → 126 → 61 → 29 → 13 → 5
        (3, (256, 256), (5, 5)),
        (2, (125, 125), (1, 1)),  # the smallest unpadded size
        (2, (300, 200), (6, 3)),  # 300 → 148 → 72 → 34 → 15 → 6; 200 → … → 3
        (2, (32, 32), (1, 1)),  # padded up to 125
        (1, (64, 200), (1, 3)),
    ],
)
def test_discriminator_output_shapes(batch, size, score_map) -> None:
    discriminator = Discriminator(1, width=8)
    image = torch.randn(batch, 1, *size)
    with torch.no_grad():
        assert discriminator.score_map(image).shape == (batch, 1, *score_map)
        scores = discriminator(image)
    assert scores.shape == (batch,)
    torch.testing.assert_close(scores, discriminator.score_map(image).mean(dim=(1, 2, 3)))
