"""Training settings: TrainConfig with each setting's range on its field, and what can be refused before training."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from core.bounds import choice, ranged, settings_from_json, settings_problem
from core.data.batches import Augmentation
from core.data.sources import Dataset
from core.device import DEVICES, resolve_device
from core.errors import UserError
from core.models.layers import ModelSpec, summarize, validate

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "onecycle", "cosine", "triangle")
PAD_MODES = ("zeros", "reflect")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class ConfigError(UserError):
    """A training setting outside its sane range; the message names the setting and the range."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run; the allowed values sit on each field and are checked in core, whatever the caller."""

    epochs: int = ranged(2, low=1, high=500)  # full passes over the (possibly limited) training set
    batch_size: int = ranged(128, low=1, high=8192)  # images per step
    optimizer: str = choice("sgd", OPTIMIZERS)
    lr: float = ranged(0.05, low=1e-6, high=10.0, whole=False)  # peak learning rate
    momentum: float = ranged(0.9, low=0.0, high=0.999, whole=False)  # SGD momentum (adam: beta1)
    nesterov: bool = False
    weight_decay: float = ranged(5e-4, low=0.0, high=0.1, whole=False)  # L2 penalty
    schedule: str = choice("onecycle", SCHEDULES)  # constant | onecycle (up 20%, down to 0) | cosine |
    #                                               triangle (0.2 -> 1 at 23% -> 0.07)
    label_smoothing: float = ranged(0.0, low=0.0, high=0.5, whole=False)
    crop_padding: int = ranged(0, low=0, high=8)  # random-crop augmentation: pixels of padding, 0 = off
    pad_mode: str = choice("zeros", PAD_MODES)  # what the crop's padding holds: zeros (grey after normalization)
    flip: bool = False  # random horizontal flips
    crop_scale: float = ranged(1.0, low=0.08, high=1.0, whole=False)  # random resized crop: each crop keeps from
    #                                 this share of the area up to all of it, stretched back to 32x32; 1 = off
    color_jitter: float = ranged(0.0, low=0.0, high=0.8, whole=False)  # brightness, contrast and saturation each
    #                                 scaled by a random factor in 1 +- this; 0 = off
    erasing: float = ranged(0.0, low=0.0, high=1.0, whole=False)  # chance an image loses a random rectangle to grey
    noise: float = ranged(0.0, low=0.0, high=0.2, whole=False)  # Gaussian noise, each image from none to this sigma
    #                                 (pixel units: 1 = black to white); 0 = off
    blur: float = ranged(0.0, low=0.0, high=2.0, whole=False)  # Gaussian blur, each image from none to this sigma
    #                                 in pixels; 0 = off
    photo_share: float = ranged(1.0, low=0.0, high=1.0, whole=False)  # the share of each batch that gets the five
    #                                 above (the rest: translation and flips only); fewer keeps clean accuracy up
    photo_apart: bool = False  # each of the five draws its own photo_share of the batch (most touched images then
    #                            show one change, as a corrupted photo does) instead of one share getting all five
    consistency: float = ranged(0.0, low=0.0, high=50.0, whole=False)  # weight of a Jensen-Shannon loss between
    #                                 each photo-augmented image and a plain view of it trained beside it (AugMix);
    #                                 0 = off. The plain views make each step that share bigger.
    tta: int = ranged(0, low=0, high=2)  # test-time augmentation: 0 none, 1 with the mirror, 2 mirror and shifts
    lr_bias_scale: float = ranged(1.0, low=1.0, high=1000.0, whole=False)  # BatchNorm shifts train this many times
    #                                                                        faster (weight decay as much weaker)
    lookahead: bool = False  # pull weights towards a slow moving average from 30% of the run (airbench)
    whiten_bias_epochs: int = ranged(0, low=0, high=500)  # PatchWhiten's bias trains this many epochs; 0 = always
    compile: bool = False  # torch.compile the model (pays on GPUs for long runs; its time is reported apart)
    limit_train: int = ranged(0, low=0, high=10_000_000)  # only the first N training images (seeded shuffle); 0 = all
    holdout: int = ranged(0, low=0, high=100_000)  # training images kept out of training to calibrate on (the same
    #                                                slice for every run, at most a fifth of them); 0 = train on all
    #                                                (runs saved before this setting existed read back as 0)
    seed: int = ranged(0, low=0, high=2**31 - 1)
    device: str = choice("auto", DEVICES)
    precision: str = choice("auto", PRECISIONS)  # auto (bf16 autocast where the hardware runs bf16 natively: GPUs,
    #                                CPUs with AVX-512 BF16 or AMX; else fp32) | fp32 | bf16 (autocast, always) |
    #                                fp16 (fp16 weights on CUDA GPUs; elsewhere the same as auto)
    channels_last: bool = True  # memory layout that conv kernels run faster on

    def check(self) -> "TrainConfig":
        """Refuse settings outside their declared ranges, and combinations that make no sense."""
        problem = settings_problem(self)
        if problem:
            raise ConfigError(problem)
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ConfigError("nesterov needs the sgd optimizer with momentum above 0")
        return self

    @property
    def augmentation(self) -> Augmentation:
        return Augmentation(self.crop_padding, self.pad_mode, self.flip, self.crop_scale, self.color_jitter,
                            self.erasing, self.noise, self.photo_share, self.blur,
                            self.photo_apart)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        return settings_from_json(cls, data, "training", ConfigError)


def with_overrides(config: TrainConfig, **overrides) -> TrainConfig:
    """A copy of `config` with the given settings replaced (None means 'keep'), checked."""
    given = {k: v for k, v in overrides.items() if v is not None}
    new = replace(config, **given)
    if new.nesterov and (new.optimizer != "sgd" or new.momentum == 0) and "nesterov" not in given:
        new = replace(new, nesterov=False)  # Nesterov is a kind of SGD momentum: leaving SGD leaves it behind
    return new.check()


def check_trainable(spec: ModelSpec, dataset: Dataset, config: TrainConfig) -> None:
    """Everything that can be refused before a thread starts: bad spec, bad config, missing device, class count."""
    validate(spec)
    config.check()
    resolve_device(config.device)
    outputs = summarize(spec).output_shape[0]
    if outputs != len(dataset.classes):
        raise ConfigError(f"the model ends in {outputs} outputs but the dataset has {len(dataset.classes)} classes")
