"""Named presets: a model spec plus the training config that suits it (flags and widgets override its settings)."""
from __future__ import annotations

from dataclasses import dataclass

from core.models.layers import (
    GELU,
    BatchNorm2d,
    Conv2d,
    Flatten,
    Linear,
    MaxPool2d,
    ModelSpec,
    PatchWhiten,
    ReLU,
    Scale,
)
from core.training.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    spec: ModelSpec
    config: TrainConfig


def _conv_block(width: int) -> list:
    """airbench's block: conv, pool, BN, GELU, conv, BN, GELU (halves the map, widens to `width`)."""
    norm = BatchNorm2d(momentum=0.4, learn_scale=False)
    return [Conv2d(width, 3, 1, 1, bias=False, identity_init=True), MaxPool2d(2), norm, GELU(),
            Conv2d(width, 3, 1, 1, bias=False, identity_init=True), norm, GELU()]


def _airbench(name: str, widths: tuple[int, int, int]) -> ModelSpec:
    layers = [PatchWhiten(2), GELU()]  # 2x2 whitened patches: 32 -> 31, 24 channels
    for width in widths:
        layers += _conv_block(width)  # 31 -> 15 -> 7 -> 3
    layers += [MaxPool2d(3), Flatten(), Linear(10, bias=False), Scale(1 / 9)]
    return ModelSpec(tuple(layers), name=name)


# Training images every preset keeps out of training, to calibrate its confidence on (core.insight.calibrate): 4% of CIFAR-10.
CALIBRATION_HOLDOUT = 2000


def _airbench_config(epochs: int, batch_size: int, **overrides) -> TrainConfig:
    """airbench94's recipe in mean-loss terms: its lr 11.5 per 1024 images with momentum 0.85 is 1.5 here, and its
    decoupled weight decay 0.0153 per 1024 images is 0.00133 (per-step decay lr x wd stays the same)."""
    settings = dict(epochs=epochs, batch_size=batch_size, optimizer="sgd", lr=1.5 * batch_size / 1024, momentum=0.85,
                    nesterov=True, weight_decay=0.00133, schedule="triangle", label_smoothing=0.2, crop_padding=2,
                    pad_mode="reflect", flip=True, tta=2, lr_bias_scale=64.0, lookahead=True, whiten_bias_epochs=3,
                    holdout=CALIBRATION_HOLDOUT)
    return TrainConfig(**{**settings, **overrides})


# What `robust` adds to `fast`; chosen on corrupted copies of the held-out training images, never the test set
# (docs/robustness.md has the comparison).
ROBUST_AUGMENTATION = dict(crop_scale=0.75, color_jitter=0.2, noise=0.06, blur=0.6, photo_share=0.15, photo_apart=True)

# The seed tutorial's Classifier and its training settings, exactly (batch 4, SGD lr 0.001, momentum 0.9, 2 epochs).
TUTORIAL_CONFIG = TrainConfig(epochs=2, batch_size=4, optimizer="sgd", lr=0.001, momentum=0.9, weight_decay=0.0,
                              schedule="constant", channels_last=False,
                              holdout=CALIBRATION_HOLDOUT)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "seed",
            "The seed tutorial's Classifier: one 5x5 conv (16 maps), 2x2 max-pool, Linear 3136->128, ReLU, Linear 128->10.",
            ModelSpec((Conv2d(16, 5, 1, 0), MaxPool2d(2), Flatten(), Linear(128), ReLU(), Linear(10)), name="seed"),
            TUTORIAL_CONFIG,
        ),
        Preset(
            "tutorial",
            "PyTorch's CIFAR-10 tutorial Net: two 5x5 convs (6, 16) with ReLU and pooling, then 120-84-10 linear layers.",
            ModelSpec((Conv2d(6, 5, 1, 0), ReLU(), MaxPool2d(2), Conv2d(16, 5, 1, 0), ReLU(), MaxPool2d(2), Flatten(),
                       Linear(120), ReLU(), Linear(84), ReLU(), Linear(10)), name="tutorial"),
            TUTORIAL_CONFIG,
        ),
        Preset(
            "fast",
            "A narrow airbench-style net (2x2 stem, three conv-pool-BN-GELU blocks 32/64/64) trained with Nesterov SGD, "
            "label smoothing, flip + translate augmentation and flip test-time augmentation. Built for CPUs.",
            _airbench("fast", (32, 64, 64)),
            _airbench_config(epochs=8, batch_size=512, precision="auto"),
        ),
        Preset(
            "robust",
            "The fast network and recipe trained for photos rather than for the CIFAR test set: random resized crops, "
            f"colour jitter, blur and noise, each on {'its own ' if ROBUST_AUGMENTATION['photo_apart'] else ''}"
            f"{ROBUST_AUGMENTATION['photo_share']:.0%} of each batch, teach it the framing, light, colour, focus and "
            "grain of uploads, in about 10% more CPU time.",
            _airbench("robust", (32, 64, 64)),
            _airbench_config(epochs=8, batch_size=512, precision="auto", **ROBUST_AUGMENTATION),
        ),
        Preset(
            "accurate",
            "The same recipe at widths 64/128/128 for 16 epochs: 93.5% on the official test set in 41 minutes on a "
            "2-core AVX2 CPU (fp32); about 10 minutes where the CPU has AVX-512.",
            _airbench("accurate", (64, 128, 128)),
            _airbench_config(epochs=16, batch_size=512, precision="auto"),
        ),
        Preset(
            "gpu-speedrun",
            "airbench94's network (widths 64/256/256) for one CUDA GPU: batch 1024, 10 epochs, fp16 weights, data and "
            "augmentation kept on the GPU (on a CPU it runs too, in bf16, slowly).",
            _airbench("gpu-speedrun", (64, 256, 256)),
            _airbench_config(epochs=10, batch_size=1024, precision="fp16"),
        ),
    ]
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
