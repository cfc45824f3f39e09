"""build_models per stage, the Models container and the inference path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from isles2018.config import load_config, with_overrides
from isles2018.models import Models, build_models, predict_probability, predict_slices

SMALL = {"width": 8, "depth": 2, "discriminator_width": 8}


def small(name: str, **pipeline: object):
    return with_overrides(load_config(name), model=SMALL, pipeline=pipeline)


@pytest.mark.parametrize(
    ("stage", "networks", "segmentor_in", "norm", "head_maps"),
    [
        ("dwi-unet", ["segmentor"], 1, nn.BatchNorm2d, 2),
        ("perfusion-unet", ["segmentor"], 4, nn.BatchNorm2d, 2),
        ("gan", ["generator", "discriminator", "segmentor"], 1, nn.BatchNorm2d, 2),
        ("gan-gn-maxout", ["generator", "discriminator", "segmentor"], 1, nn.GroupNorm, 4),
    ],
)
def test_build_models_per_stage(stage, networks, segmentor_in, norm, head_maps) -> None:
    models = build_models(small(stage))
    assert list(models.networks()) == networks
    first_conv = models.segmentor.unet.encoder[0][0]
    assert first_conv.in_channels == segmentor_in
    assert isinstance(models.segmentor.unet.encoder[0][1], norm)
    assert models.segmentor.unet.head.out_channels == head_maps
    if models.generator is not None:
        assert models.generator.unet.encoder[0][0].in_channels == 5
        # The discriminator keeps GroupNorm in every stage (paper §2.2).
        assert any(isinstance(m, nn.GroupNorm) for m in models.discriminator.modules())


def test_segmentor_may_also_see_the_inputs() -> None:
    models = build_models(small("gan-gn-maxout", segmentor_sees_inputs=True))
    assert models.segmentor.unet.encoder[0][0].in_channels == 6
    assert predict_probability(models.eval(), torch.randn(2, 5, 16, 16)).shape == (2, 16, 16)


def test_reference_width_parameter_count() -> None:
    # The reference U-Net (width 64, depth 4) has about 31 million parameters.
    models = build_models(load_config("gan-gn-maxout"))
    count = sum(p.numel() for p in models.segmentor.parameters())
    assert 30e6 < count < 32e6


def test_state_dict_round_trip_is_prefixed_and_strict() -> None:
    torch.manual_seed(0)
    first = build_models(small("gan-gn-maxout"))
    torch.manual_seed(1)
    second = build_models(small("gan-gn-maxout"))
    tensors = first.state_dict()
    assert {k.split(".")[0] for k in tensors} == {"generator", "discriminator", "segmentor"}
    second.load_state_dict(tensors)
    for key, value in second.state_dict().items():
        assert torch.equal(value, tensors[key])
    plain = build_models(small("perfusion-unet"))
    with pytest.raises(KeyError, match="generator"):
        plain.load_state_dict(tensors)


def test_predict_slices_matches_predict_probability_and_is_a_probability() -> None:
    models = build_models(small("gan-gn-maxout")).eval()
    inputs = np.random.default_rng(0).normal(size=(5, 5, 24, 20)).astype(np.float32)
    probability = predict_slices(models, inputs, batch_size=2)
    assert probability.shape == (5, 24, 20)
    assert probability.dtype == np.float32
    assert ((probability >= 0) & (probability <= 1)).all()
    direct = predict_probability(models, torch.from_numpy(inputs)).numpy()
    np.testing.assert_allclose(probability, direct, rtol=1e-4, atol=1e-5)


def test_models_to_channels_last() -> None:
    models = build_models(small("perfusion-unet")).to("cpu", channels_last=True)
    weight = models.segmentor.unet.encoder[1][0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert isinstance(models, Models)


def attention(levels: list[int] | None = None, **pipeline: object):
    # 16-pixel slices: attention at full resolution passes the memory check.
    model = {**SMALL, "attention": "self", "attention_levels": levels or [-1], "slice_size_px": 16}
    return with_overrides(load_config("gan-gn-maxout-attn"), model=model, pipeline=pipeline)


@pytest.mark.parametrize(
    ("levels", "blocks"),
    [([-1], {"2"}), ([0], {"0"}), ([0, -1], {"0", "2"}), ([-3, 1], {"0", "1"})],
)
def test_attention_goes_into_both_unets_at_the_configured_levels(levels, blocks) -> None:
    models = build_models(attention(levels))
    assert set(models.generator.unet.attention) == blocks
    assert set(models.segmentor.unet.attention) == blocks
    assert not any("attention" in k for k in models.discriminator.state_dict())


def test_configs_without_attention_keep_the_parameter_names_of_older_checkpoints() -> None:
    for name in ("gan-gn-maxout", "gan", "perfusion-unet", "dwi-unet"):
        assert not any("attention" in key for key in build_models(small(name)).state_dict())


def test_untrained_attention_models_predict_what_the_plain_models_predict() -> None:
    plain = build_models(small("gan-gn-maxout")).eval()
    models = build_models(attention([0, -1])).eval()
    for name, network in models.networks().items():
        result = network.load_state_dict(plain.networks()[name].state_dict(), strict=False)
        assert not result.unexpected_keys
        assert all(".attention." in key for key in result.missing_keys)
    inputs = torch.randn(2, 5, 16, 16)
    torch.testing.assert_close(
        predict_probability(models, inputs), predict_probability(plain, inputs), rtol=0, atol=0
    )


def test_attention_state_dict_round_trip() -> None:
    torch.manual_seed(0)
    first = build_models(attention())
    with torch.no_grad():
        first.segmentor.unet.attention["2"].gate.fill_(0.25)
    second = build_models(attention())
    second.load_state_dict(first.state_dict())
    assert second.segmentor.unet.attention["2"].gate.item() == 0.25
    inputs = torch.randn(1, 5, 16, 16)
    first.eval(), second.eval()
    assert torch.equal(predict_probability(first, inputs), predict_probability(second, inputs))
