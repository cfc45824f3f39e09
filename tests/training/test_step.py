"""train_step (alternating D / joint G+S updates), the schedule, a short fit, validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from isles2018.config import Config, load_config, with_overrides
from isles2018.data.dataset import Batch, SliceDataset
from isles2018.data.normalise import compute_stats
from isles2018.data.stack import CaseArrays
from isles2018.models import Models, build_models
from isles2018.training.losses import segmentation_loss
from isles2018.training.step import (
    learning_rate,
    make_optimisers,
    segmentor_step,
    train_epoch,
    train_step,
    validate,
)

TINY = {"width": 8, "depth": 2, "discriminator_width": 8}


def tiny(name: str = "gan-gn-maxout", **sections) -> Config:
    return with_overrides(load_config(name), model=TINY, **sections)


def random_batch(batch: int = 3, size: int = 32, seed: int = 0) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    label = torch.zeros(batch, size, size, dtype=torch.long)
    label[:, 8:16, 10:20] = 1
    inputs = torch.randn(batch, 5, size, size, generator=generator) + label[:, None]
    dwi = torch.randn(batch, 1, size, size, generator=generator) + 2 * label[:, None]
    return Batch(inputs, dwi, label)


def params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("name", ["gan-gn-maxout", "gan"])
def test_train_step_updates_each_network_only_in_its_own_step(name: str) -> None:
    torch.manual_seed(0)
    models = build_models(tiny(name))
    optimisers = make_optimisers(models, Config().optim)
    before = {n: params(m) for n, m in models.networks().items()}
    after_d_step: dict[str, list[torch.Tensor]] = {}
    d_step = optimisers.discriminator.step

    def recording_step(*args, **kwargs):
        result = d_step(*args, **kwargs)
        after_d_step.update({n: params(m) for n, m in models.networks().items()})
        after_d_step["d_grad"] = [p.grad.clone() for p in models.discriminator.parameters()]
        return result

    optimisers.discriminator.step = recording_step
    losses = train_step(models, optimisers, random_batch(), Config().loss)

    assert set(losses) == {"d_loss", "g_loss", "adv_loss", "seg_loss", "loss"}
    assert all(torch.isfinite(v) and v.ndim == 0 for v in losses.values())
    # Step 1 (eq. 2) moves D only.
    assert not same(after_d_step["discriminator"], before["discriminator"])
    assert same(after_d_step["generator"], before["generator"])
    assert same(after_d_step["segmentor"], before["segmentor"])
    # Step 2 (eq. 6) moves G and S and leaves D (weights and gradients) untouched.
    assert same(params(models.discriminator), after_d_step["discriminator"])
    d_grads = [p.grad for p in models.discriminator.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(d_grads, after_d_step["d_grad"], strict=True))
    assert all(p.requires_grad for p in models.discriminator.parameters())  # unfrozen again
    for network in ("generator", "segmentor"):
        module = models.networks()[network]
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())
        changed = [
            not torch.equal(a, b) for a, b in zip(params(module), before[network], strict=True)
        ]
        assert all(changed), f"{network}: some parameters did not move"


def test_total_loss_combines_the_parts_with_the_paper_weights() -> None:
    torch.manual_seed(0)
    models = build_models(tiny())
    losses = train_step(
        models, make_optimisers(models, Config().optim), random_batch(), Config().loss
    )
    expected = 0.002 * losses["g_loss"] + 0.5 * losses["adv_loss"] + losses["seg_loss"]
    torch.testing.assert_close(losses["loss"], expected)


def test_stage_without_gan_takes_a_segmentor_step() -> None:
    torch.manual_seed(0)
    models = build_models(tiny("perfusion-unet"))
    optimisers = make_optimisers(models, Config().optim)
    assert optimisers.discriminator is None
    batch = random_batch()
    batch = Batch(batch.inputs[:, :4], None, batch.label)
    before = params(models.segmentor)
    losses = train_step(models, optimisers, batch, Config().loss)
    assert set(losses) == {"seg_loss", "loss"}
    assert not same(params(models.segmentor), before)
    torch.testing.assert_close(
        segmentor_step(models, optimisers, batch, Config().loss)["loss"].shape, torch.Size([])
    )


def test_gan_step_needs_dwi() -> None:
    models = build_models(tiny())
    batch = random_batch()
    with pytest.raises(ValueError, match="MR_DWI"):
        train_step(
            models,
            make_optimisers(models, Config().optim),
            Batch(batch.inputs, None, batch.label),
            Config().loss,
        )


def test_bf16_autocast_step_on_cpu() -> None:
    torch.manual_seed(0)
    models = build_models(tiny()).to("cpu", channels_last=True)
    losses = train_step(
        models,
        make_optimisers(models, Config().optim),
        random_batch(),
        Config().loss,
        amp=torch.bfloat16,
    )
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(p.dtype == torch.float32 for p in models.generator.parameters())


@pytest.mark.parametrize(
    ("epoch", "lr"),
    [
        (0, 1e-4),
        (99, 1e-4),
        (100, 5e-5),
        (299, 5e-5),
        (300, 2.5e-5),
        (500, 1.25e-5),
        (699, 1.25e-5),
    ],
)
def test_learning_rate_halves_at_100_300_500(epoch: int, lr: float) -> None:
    assert learning_rate(epoch, Config().optim) == pytest.approx(lr)


def synthetic_cases(count: int, size: int = 32, slices: int = 2) -> list[CaseArrays]:
    """Cases whose lesion is bright in Tmax and DWI, dark elsewhere: learnable in a few steps."""
    cases = []
    for number in range(count):
        rng = np.random.default_rng(number)
        label = np.zeros((slices, size, size), np.uint8)
        for k in range(slices):
            x, y = rng.integers(4, size - 12, 2)
            label[k, x : x + 8, y : y + 8] = 1
        inputs = rng.normal(size=(slices, 5, size, size)).astype(np.float32)
        inputs[:, 1] += 3 * label
        dwi = rng.normal(100, 5, (slices, size, size)).astype(np.float32) + 40 * label
        cases.append(
            CaseArrays(f"case_{number + 1}", inputs, dwi, label, np.eye(4), (1.0, 1.0, 5.0))
        )
    return cases


def test_short_fit_lowers_the_segmentation_loss() -> None:
    config = tiny(optim={"batch_size": 4, "lr": 1e-3}, augment={"enabled": False})
    cases = synthetic_cases(4)
    stats = compute_stats(cases, config.pipeline.inputs, with_dwi=True)
    dataset = SliceDataset(cases, stats, with_dwi=True)
    torch.manual_seed(0)
    models = build_models(config)
    optimisers = make_optimisers(models, config.optim)
    generator = torch.Generator().manual_seed(0)
    history = [
        train_epoch(
            models, optimisers, dataset, config, epoch=e, generator=generator, progress=False
        )
        for e in range(12)
    ]
    assert history[0]["lr"] == pytest.approx(1e-3)
    assert history[-1]["seg_loss"] < 0.7 * history[0]["seg_loss"]


class Oracle(nn.Module):
    """A segmentor whose lesion logit is its first input channel."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.zeros_like(image[:, :1]), image[:, :1]], dim=1)


def test_validate_scores_whole_cases_with_the_evaluation_module() -> None:
    cases = synthetic_cases(2, size=20, slices=3)
    cases[1].label[:] = 0
    for arrays in cases:
        arrays.inputs[:, 0] = np.where(arrays.label > 0, 5.0, -5.0)
    stats = compute_stats(cases, ("CT_MTT",), with_dwi=False)
    stats = type(stats)(channels=("CT_MTT",), method="zscore", mean=(0.0,), std=(1.0,))
    dice = validate(
        Models(segmentor=Oracle()), cases, stats, device=torch.device("cpu"), batch_size=2
    )
    assert dice == {"case_1": 1.0, "case_2": 1.0}  # both-empty counts as 1.0
    cases[0].inputs[0, 0] = -5.0  # miss the lesion of slice 0
    dice = validate(Models(segmentor=Oracle()), cases, stats, device=torch.device("cpu"))
    assert 0 < dice["case_1"] < 1


def attention_config(levels: tuple[int, ...] = (-1,), **sections) -> Config:
    model = {**TINY, "attention_levels": list(levels), "slice_size_px": 32}
    return with_overrides(load_config("gan-gn-maxout-attn"), model=model, **sections)


def test_gradients_reach_every_parameter_of_an_attention_model() -> None:
    torch.manual_seed(0)
    config = attention_config(levels=(0, -1))
    models = build_models(config)
    optimisers = make_optimisers(models, config.optim)
    loss = with_overrides(config, loss={"ce_class_weights": [1.0, 5.0]}).loss
    gates = [m.gate for n in ("generator", "segmentor") for m in models.networks()[n].modules()
             if hasattr(m, "gate")]  # fmt: skip
    assert len(gates) == 4 and all(g.item() == 0 for g in gates)
    train_step(models, optimisers, random_batch(), loss)
    # The first step moves the zero gates (their attention weights had no gradient yet) ...
    assert all(g.item() != 0 for g in gates)
    before = {n: params(models.networks()[n]) for n in ("generator", "segmentor")}
    train_step(models, optimisers, random_batch(seed=1), loss)
    # ... and from the second on every parameter of G and S learns.
    for network in ("generator", "segmentor"):
        module = models.networks()[network]
        for name, p in module.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{network}.{name}"
        moved = [
            not torch.equal(a, b) for a, b in zip(params(module), before[network], strict=True)
        ]
        assert all(moved)


def test_inverse_frequency_needs_the_folds_weights() -> None:
    config = attention_config(optim={"batch_size": 2}, augment={"enabled": False})
    cases = synthetic_cases(2)
    dataset = SliceDataset(
        cases, compute_stats(cases, config.pipeline.inputs, with_dwi=True), with_dwi=True
    )
    models = build_models(config)
    optimisers = make_optimisers(models, config.optim)
    options = {"epoch": 0, "generator": torch.Generator().manual_seed(0), "progress": False}
    with pytest.raises(ValueError, match="fold_class_weights"):
        train_epoch(models, optimisers, dataset, config, **options)
    losses = train_epoch(models, optimisers, dataset, config, class_weights=(1.0, 45.0), **options)
    assert np.isfinite(losses["seg_loss"])


@pytest.mark.parametrize("reduction", ["batch", "image"])
def test_the_step_uses_the_configured_gds_reduction(reduction: str) -> None:
    torch.manual_seed(0)
    config = tiny("perfusion-unet", loss={"gds_reduction": reduction})
    models = build_models(config)
    batch = random_batch()
    batch.label[1] = 0  # one lesion-free slice: the two reductions differ
    batch = Batch(batch.inputs[:, :4], None, batch.label)
    with torch.no_grad():
        logits = models.segmentor(batch.inputs)
    expected = {r: segmentation_loss(logits, batch.label, reduction=r) for r in ("batch", "image")}
    assert abs(expected["batch"] - expected["image"]) > 1e-3
    losses = segmentor_step(models, make_optimisers(models, config.optim), batch, config.loss)
    torch.testing.assert_close(losses["seg_loss"], expected[reduction])
