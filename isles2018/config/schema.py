"""The configuration tree: frozen dataclasses whose defaults are the paper's values.

Defaults reproduce Liu, BrainLes 2018 (the final stage of Table 1, ``gan-gn-maxout``). Where the
paper is silent the default is ours and the field's comment says so. The network section
(``model``, with the attention memory check) is :mod:`isles2018.config.model`; reading and writing
JSON is :mod:`isles2018.config.loading`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from isles2018.config.model import ModelConfig, _check
from isles2018.data.modalities import INPUT_CHANNELS, Modality
from isles2018.data.placement import DEFAULT_SPACING_MM

#: Channel tokens a network input may name (ISLES file-name tokens; ``CT_4DPWI`` means PWI_max).
INPUT_TOKENS = tuple(m.token for m in (*INPUT_CHANNELS, Modality.DWI))
#: The four stages of the paper's Table 1, in order: the ablation's default.
STAGES = ("dwi-unet", "perfusion-unet", "gan", "gan-gn-maxout")
#: Every stage the ablation can train: Table 1's four, then variants the paper names without
#: a score (stage 4 with self-attention and inverse-frequency CE, §3.2 and the abstract).
ABLATION_STAGES = (*STAGES, "gan-gn-maxout-attn")
#: ``runtime.compile`` values: eager, or a ``torch.compile`` mode.
COMPILE_MODES = ("off", "default", "max-autotune")
#: ``loss.ce_class_weights`` value that derives the weights from the training fold's labels.
INVERSE_FREQUENCY = "inverse-frequency"


@dataclass(frozen=True)
class PipelineConfig:
    """What the networks see (paper §2.1, Fig. 1, Table 1).

    Attributes:
        inputs: input channel tokens in order; the paper's five CTP channels by default.
        adversarial: use the generator + LSGAN discriminator (stages 3 and 4); otherwise the
            segmentor reads ``inputs`` directly (stages 1 and 2).
        segmentor_sees_inputs: also feed the input channels to the segmentor beside the synthetic
            DWI (paper: no, Fig. 1; an ablation option).
        resample_spacing_mm: in-plane spacing (mm) ISLES'24 slices are resampled to, on a
            256×256 field (ours: the paper trained on ISLES 2018's ~0.9 mm 256² slices, which
            keep their own grid; ISLES'24 is ~0.4 mm 512²).
    """

    inputs: tuple[str, ...] = tuple(m.token for m in INPUT_CHANNELS)
    adversarial: bool = True
    segmentor_sees_inputs: bool = False
    resample_spacing_mm: float = DEFAULT_SPACING_MM

    def __post_init__(self) -> None:
        _check(len(self.inputs) > 0, "pipeline.inputs: at least one channel is needed")
        for token in self.inputs:
            _check(token in INPUT_TOKENS, f"pipeline.inputs: unknown channel {token!r}")
        _check(len(set(self.inputs)) == len(self.inputs), "pipeline.inputs: repeated channel")
        _check(
            not (self.adversarial and Modality.DWI.token in self.inputs),
            "pipeline.inputs: MR_DWI is the generator's target, not an input of a GAN stage",
        )
        _check(
            0.1 <= self.resample_spacing_mm <= 5.0,
            f"pipeline.resample_spacing_mm: {self.resample_spacing_mm} mm is not in 0.1..5 mm",
        )

    @property
    def needs_dwi(self) -> bool:
        """Whether training needs real MR_DWI (as target of the GAN or as input)."""
        return self.adversarial or Modality.DWI.token in self.inputs


@dataclass(frozen=True)
class LossConfig:
    """Loss weights (paper §2.3, eq. 6 and §3.1: ω_g : ω_d : ω_s = 0.002 : 0.5 : 1).

    Attributes:
        weight_generator: ω_g on GLoss (eq. 1).
        weight_adversarial: ω_d on the generator's LSGAN loss (eq. 3).
        weight_segmentation: ω_s on SegLoss (eq. 5).
        ce_class_weights: (background, lesion) cross-entropy weights, or ``"inverse-frequency"``
            (background 1, lesion = the training fold's background / lesion voxel ratio, clipped
            to ``[1, ce_max_weight]``; stored in the checkpoint sidecar). Paper: "weighted",
            values silent; we use 1, 1. Only the ratio matters: the CE is a weighted mean.
        ce_max_weight: the largest lesion weight ``inverse-frequency`` may give (ours: 100; a
            fold with no lesion voxel gets it).
        gds_reduction: ``batch`` pools the generalised Dice over the batch's voxels (ours, the
            default); ``image`` scores each image and averages the scores (paper: silent; Sudre
            2017 allows both). An image or batch without lesion scores its mean background
            probability under either.
        epsilon: guard in the generalised Dice score and its log (ours).
    """

    weight_generator: float = 0.002
    weight_adversarial: float = 0.5
    weight_segmentation: float = 1.0
    ce_class_weights: tuple[float, float] | str = (1.0, 1.0)
    ce_max_weight: float = 100.0
    gds_reduction: str = "batch"
    epsilon: float = 1e-6

    def __post_init__(self) -> None:
        weights = self.ce_class_weights
        if isinstance(weights, str):
            _check(
                weights == INVERSE_FREQUENCY,
                f"loss.ce_class_weights must be two numbers or {INVERSE_FREQUENCY!r}: {weights!r}",
            )
        else:
            _check(len(weights) == 2, "loss.ce_class_weights needs two values")
            _check(all(w >= 0 for w in weights), "loss.ce_class_weights must be >= 0")
            _check(sum(weights) > 0, "loss.ce_class_weights: at least one must be > 0")
        _check(self.ce_max_weight >= 1, f"loss.ce_max_weight must be >= 1: {self.ce_max_weight}")
        _check(
            self.gds_reduction in ("batch", "image"),
            f"loss.gds_reduction must be batch|image: {self.gds_reduction!r}",
        )
        _check(self.epsilon > 0, f"loss.epsilon must be > 0, got {self.epsilon}")


@dataclass(frozen=True)
class OptimConfig:
    """Optimisation (paper §3.1).

    Attributes:
        lr: RMSprop initial learning rate, 1e-4.
        alpha: RMSprop smoothing constant (the paper's γ), 0.9.
        epochs: 700.
        lr_milestones_epochs: the learning rate is halved at these epochs.
        lr_factor: multiplier at each milestone (halved: 0.5).
        batch_size: slices per batch, 6 (per process under torchrun).
    """

    lr: float = 1e-4
    alpha: float = 0.9
    epochs: int = 700
    lr_milestones_epochs: tuple[int, ...] = (100, 300, 500)
    lr_factor: float = 0.5
    batch_size: int = 6

    def __post_init__(self) -> None:
        _check(self.lr > 0, f"optim.lr must be > 0, got {self.lr}")
        _check(0 < self.alpha < 1, f"optim.alpha must be in (0, 1), got {self.alpha}")
        _check(self.epochs >= 1, f"optim.epochs must be >= 1, got {self.epochs}")
        _check(self.batch_size >= 1, f"optim.batch_size must be >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class AugmentConfig:
    """On-the-fly augmentation (paper §2.1 names the operations; the ranges are ours).

    Attributes:
        enabled: augment training batches.
        scale_range: isotropic zoom factor drawn uniformly in this range.
        rotation_deg: rotation angle drawn uniformly in ±this many degrees.
        translation_fraction: shift drawn uniformly in ±this fraction of the slice size.
        flip_probability: probability of a left–right flip (the array's x axis).
    """

    enabled: bool = True
    scale_range: tuple[float, float] = (0.9, 1.1)
    rotation_deg: float = 15.0
    translation_fraction: float = 0.1
    flip_probability: float = 0.5

    def __post_init__(self) -> None:
        low, high = self.scale_range
        _check(0 < low <= high, f"augment.scale_range must satisfy 0 < low <= high: {low, high}")
        _check(0 <= self.flip_probability <= 1, "augment.flip_probability must be in [0, 1]")


@dataclass(frozen=True)
class NormaliseConfig:
    """Per-channel intensity normalisation from the training fold (paper §2.1; method ours).

    Attributes:
        method: ``zscore`` or ``robust`` (clip to percentiles, then z-score).
        percentiles: clip range of ``robust``.
    """

    method: str = "zscore"
    percentiles: tuple[float, float] = (0.5, 99.5)

    def __post_init__(self) -> None:
        _check(self.method in ("zscore", "robust"), f"normalise.method: {self.method!r}")
        low, high = self.percentiles
        _check(0 <= low < high <= 100, f"normalise.percentiles out of range: {low, high}")


@dataclass(frozen=True)
class RuntimeConfig:
    """How the run executes (all ours; none changes the method).

    Attributes:
        seed: one seed for initialisation, shuffling and augmentation.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        amp: ``auto`` (bf16 autocast on CUDA, fp32 on CPU), ``bf16`` or ``off``.
        channels_last: store activations NHWC (faster convolutions on GPU and oneDNN).
        folds: number of cross-validation folds (paper §3.1: four).
        checkpoint_every_epochs: checkpoint period; the last epoch is always saved.
        validate_every_epochs: validation Dice period; the last epoch is always validated.
        num_threads: CPU threads for torch (0 = torch's default).
        compile: ``off`` (eager, the default), ``default`` or ``max-autotune``: ``torch.compile``
            the generator, segmentor and discriminator with this inductor mode for training and
            validation (:mod:`isles2018.models.compilation`). ``max-autotune`` searches kernel
            configurations at the first step (minutes) and, on CUDA, replays steps as CUDA
            graphs. Checkpoints hold the plain networks either way; where compilation is
            unavailable the run logs one line and trains eagerly.
    """

    seed: int = 0
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool = True
    folds: int = 4
    checkpoint_every_epochs: int = 10
    validate_every_epochs: int = 1
    num_threads: int = 0
    compile: str = "off"

    def __post_init__(self) -> None:
        _check(self.device in ("auto", "cpu", "cuda"), f"runtime.device: {self.device!r}")
        _check(
            self.compile in COMPILE_MODES,
            f"runtime.compile must be {'|'.join(COMPILE_MODES)}: {self.compile!r}",
        )
        _check(self.amp in ("auto", "bf16", "off"), f"runtime.amp: {self.amp!r}")
        _check(self.folds >= 2, f"runtime.folds must be >= 2, got {self.folds}")
        _check(self.checkpoint_every_epochs >= 1, "runtime.checkpoint_every_epochs must be >= 1")
        _check(self.validate_every_epochs >= 1, "runtime.validate_every_epochs must be >= 1")


@dataclass(frozen=True)
class Config:
    """The whole configuration of a training run (defaults: the paper's final stage)."""

    name: str = "gan-gn-maxout"
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    normalise: NormaliseConfig = field(default_factory=NormaliseConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
