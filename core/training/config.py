"""Training settings: TrainConfig with each setting's range on its field, and what can be refused before training."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from core.bounds import choice, ranged, settings_from_json, settings_problem, switch
from core.data.batches import Augmentation
from core.data.sources import Dataset
from core.device import DEVICES, resolve_device
from core.errors import UserError
from core.models.layers import SpecError
from core.models.spec import ModelSpec, summarize, validate

OPTIMIZERS = ("sgd", "adam", "adamw", "muon")
SCHEDULES = ("constant", "onecycle", "cosine", "triangle")
PAD_MODES = ("zeros", "reflect")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


class ConfigError(UserError):
    """A training setting outside its sane range; the message names the setting and the range."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run; the allowed values sit on each field and are checked in core, whatever the caller."""

    epochs: int = ranged(2, low=1, high=500, label="Epochs", unit="passes", group="essentials",
                         help="Passes over the (possibly limited) training set; one epoch sees every image once.")
    batch_size: int = ranged(128, low=1, high=8192, label="Batch size", unit="images", group="essentials",
                             help="Images per step; the gradient is averaged over them.")
    optimizer: str = choice("sgd", OPTIMIZERS, label="Optimizer", group="essentials",
                            help="SGD follows the gradient with momentum (a running direction, like a ball rolling); "
                                 "Adam and AdamW also scale each weight's step by its gradient's recent size; Muon "
                                 "orthogonalises each conv layer's update (the rest keep SGD), as airbench94_muon does.")
    lr: float = ranged(0.05, low=1e-6, high=10.0, whole=False, label="Learning rate", group="essentials",
                       help="The peak step size: too high and the loss explodes, too low and it crawls "
                            "(the learning-rate finder measures a good one for the model).")
    momentum: float = ranged(0.9, low=0.0, high=0.999, whole=False, label="Momentum", group="optimizer", step=0.01,
                             help="How much of the last step each step keeps (SGD momentum; Adam's beta1).")
    # runs saved before Muon existed read back with this default, which only the muon optimizer reads
    muon_lr: float = ranged(0.24, low=1e-4, high=10.0, whole=False, label="Muon learning rate (conv filters)",
                            group="optimizer",
                            help="The conv filters' peak learning rate under the muon optimizer, scheduled like the "
                                 "learning rate above, which the other weights keep.")
    nesterov: bool = switch(False, label="Nesterov momentum", group="optimizer", form=False,
                            help="SGD looks ahead along its momentum before taking the gradient (needs sgd with "
                                 "momentum above 0).")
    weight_decay: float = ranged(5e-4, low=0.0, high=0.1, whole=False, label="Weight decay", group="regularisation",
                                 help="An L2 penalty that pulls weights towards zero, which helps the net generalise (0 = off).")
    # triangle is airbench's schedule (core/recipe.py); onecycle and triangle end at 0 and 0.07 of the peak
    schedule: str = choice("onecycle", SCHEDULES, label="Schedule", group="schedule",
                           help="How the learning rate moves through the run: constant, onecycle (up for the first "
                                "fifth, then down to 0), cosine, or triangle (0.2 up to 1 at 23% of the run, then "
                                "down to 0.07).")
    label_smoothing: float = ranged(0.0, low=0.0, high=0.5, whole=False, label="Label smoothing", step=0.05,
                                    group="regularisation",
                                    help="Cross-entropy against 'mostly right' targets instead of 100% sure ones: "
                                         "this share of each target goes to the other classes (0 = off).")
    crop_padding: int = ranged(0, low=0, high=8, label="Random crop padding", unit="pixels", group="augmentation",
                               help="Random-crop augmentation: the image is padded by this many pixels and a "
                                    "32x32 crop taken at random (0 = off).")
    pad_mode: str = choice("zeros", PAD_MODES, label="Crop padding holds", group="augmentation", form=False,
                           help="What the random crop's padding holds: zeros (grey after normalisation) or the "
                                "image reflected.")
    flip: bool = switch(False, label="Random flips", group="augmentation",
                        help="Half the training images are mirrored left to right.")
    crop_scale: float = ranged(1.0, low=0.08, high=1.0, whole=False, label="Random resized crop: smallest area kept",
                               group="augmentation", step=0.01,
                               help="Each image is cropped to a random part of it, down to this share of its area, "
                                    "and stretched back to 32x32, so the net sees objects closer up and off-centre "
                                    "(1 = off).")
    color_jitter: float = ranged(0.0, low=0.0, high=0.8, whole=False, label="Colour jitter", group="augmentation",
                                 step=0.05,
                                 help="Brightness, contrast and saturation each scaled by a random factor within "
                                      "1 +- this, as other cameras and light would (0 = off).")
    erasing: float = ranged(0.0, low=0.0, high=1.0, whole=False, label="Random erasing", group="augmentation",
                            step=0.05,
                            help="The chance that an image loses a random rectangle to grey, so the net learns to "
                                 "use every part of an object (0 = off).")
    noise: float = ranged(0.0, low=0.0, high=0.2, whole=False, label="Noise", group="augmentation", step=0.01,
                          help="Gaussian noise, each image from none to this sigma in pixel units (1 = black to "
                               "white), the grain of photos taken in dim light (0 = off).")
    blur: float = ranged(0.0, low=0.0, high=2.0, whole=False, label="Blur", unit="pixels", group="augmentation",
                         step=0.1,
                         help="Gaussian blur, each image from none to this sigma in pixels, as photos out of focus "
                              "or enlarged from a small crop look (0 = off).")
    photo_share: float = ranged(1.0, low=0.0, high=1.0, whole=False, label="Share of images they touch",
                                group="augmentation", step=0.05,
                                help="The share of each batch that the five photo augmentations (resized crop, "
                                     "jitter, erasing, noise, blur) touch; the rest keep the test images' look, "
                                     "which keeps clean accuracy up in a short run.")
    photo_apart: bool = switch(False, label="Each on its own share", group="augmentation",
                               help="Each of the five photo augmentations draws its own share of the batch, so most "
                                    "touched images show one change as a blurred or grainy photo does (off: one "
                                    "share gets all five).")
    # the plain views trained beside the augmented ones make each step bigger by photo_share
    consistency: float = ranged(0.0, low=0.0, high=50.0, whole=False, label="Consistency between views (AugMix)",
                                group="regularisation", step=1.0,
                                help="Weight of a Jensen-Shannon loss pulling together the net's answers for each "
                                     "photo-augmented image and for its plain view trained beside it, so blur, grain "
                                     "and light do not change what a photo shows (AugMix; keep it small in a short "
                                     "run; 0 = off).")
    # progressive resizing; runs saved before it read back with it off
    early_epochs: int = ranged(0, low=0, high=499, label="Epochs on small crops", unit="epochs", group="augmentation",
                               help="Progressive resizing: this many first epochs train on random crops of the size "
                                    "below, which cost fewer FLOPs, and the rest on whole 32x32 images (0 = off).")
    early_size: int = ranged(24, low=16, high=32, label="Small crop size", unit="pixels", group="augmentation", step=2,
                             help="The side of the random crops the first epochs train on (progressive resizing).")
    tta: int = ranged(0, low=0, high=2, label="Test-time augmentation", group="evaluation", form=False,
                      help="Test images are also seen mirrored (1) or mirrored and shifted (2), and the answers "
                           "averaged (0 = off).")
    lr_bias_scale: float = ranged(1.0, low=1.0, high=1000.0, whole=False, label="BatchNorm shift speed-up",
                                  unit="times", group="optimizer", form=False,
                                  help="BatchNorm shifts train this many times faster than the other weights, with "
                                       "weight decay as much weaker (airbench).")
    lookahead: bool = switch(False, label="Lookahead", group="schedule", form=False,
                             help="From 30% of the run on, the weights are pulled towards a slow moving average of "
                                  "themselves (airbench).")
    whiten_bias_epochs: int = ranged(0, low=0, high=500, label="Whitening bias epochs", unit="epochs",
                                     group="optimizer", form=False,
                                     help="PatchWhiten's bias trains this many epochs, then stays as it is (0 = it "
                                          "trains throughout).")
    compile: bool = switch(False, label="Compile", group="device", form=False,
                           help="torch.compile the model, which pays on GPUs for long runs (its time is reported "
                                "apart).")
    limit_train: int = ranged(0, low=0, high=10_000_000, label="Training images (0 = all)", unit="images",
                              group="data", step=1000,
                              help="Train on the first N training images only (a seeded shuffle), for quick runs "
                                   "(0 = all).")
    # runs saved before holdout existed read back as 0
    holdout: int = ranged(0, low=0, high=100_000, label="Held out for calibration", unit="images", group="data",
                          step=500,
                          help="Training images kept out of training (the same slice for every run, at most a "
                               "fifth) to calibrate the run's confidence on, never on the test set (0 = train on "
                               "all).")
    # runs saved before early stopping existed read back as 0 (off)
    patience: int = ranged(0, low=0, high=100, label="Early stopping patience", unit="epochs", group="data",
                           help="Stop the run once held-out accuracy has not improved for this many epochs, keeping "
                                "the best epoch's weights beside the last (needs held-out images; 0 = off).")
    seed: int = ranged(0, low=0, high=2**31 - 1, label="Seed", group="essentials", form=False,
                       help="Seeds initialisation, shuffling, augmentation and dropout: the same seed gives the same "
                            "run.")
    device: str = choice("auto", DEVICES, label="Device", group="device",
                         help="Where to train (auto picks a GPU when there is one).")
    precision: str = choice("auto", PRECISIONS, label="Precision", group="device", form=False,
                            help="Number format: auto is bf16 where the hardware runs it natively (GPUs, CPUs with "
                                 "AVX-512 BF16 or AMX) and fp32 elsewhere; fp16 keeps fp16 weights on CUDA GPUs.")
    channels_last: bool = switch(True, label="Channels last", group="device", form=False,
                                 help="The memory layout that conv kernels run faster on.")

    def check(self) -> "TrainConfig":
        """Refuse settings outside their declared ranges, and combinations that make no sense."""
        problem = settings_problem(self)
        if problem:
            raise ConfigError(problem)
        if self.nesterov and not nesterov_fits(self.optimizer, self.momentum):
            raise ConfigError("nesterov needs the sgd or muon optimizer with momentum above 0")
        if self.early_epochs and self.early_epochs >= self.epochs:
            raise ConfigError(f"early_epochs ({self.early_epochs}) must leave at least one of the {self.epochs} epochs "
                              "at the full 32x32 size the test images have")
        if self.patience and not self.holdout:
            raise ConfigError("early stopping (patience) judges epochs on held-out training images, never the test "
                              "set: set holdout to keep some out of training (e.g. 2000)")
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


def nesterov_fits(optimizer: str, momentum: float) -> bool:
    """The Nesterov rule, the one place it is written: Nesterov is a kind of SGD momentum, so it needs both."""
    return optimizer in ("sgd", "muon") and momentum > 0


def with_overrides(config: TrainConfig, **overrides) -> TrainConfig:
    """A copy of `config` with the given settings replaced (None means 'keep'), checked."""
    given = {k: v for k, v in overrides.items() if v is not None}
    new = replace(config, **given)
    if new.nesterov and not nesterov_fits(new.optimizer, new.momentum) and "nesterov" not in given:
        new = replace(new, nesterov=False)  # Nesterov is a kind of SGD momentum: leaving SGD leaves it behind
    return new.check()


def check_trainable(spec: ModelSpec, dataset: Dataset, config: TrainConfig) -> None:
    """Everything that can be refused before a thread starts: bad spec, bad config, missing device, class count."""
    validate(spec)
    config.check()
    resolve_device(config.device)
    full = summarize(spec)
    outputs = full.output_shape[0]
    if config.early_epochs:
        try:
            small = summarize(replace(spec, input_shape=(3, config.early_size, config.early_size)))
        except SpecError as exc:
            raise ConfigError(f"progressive resizing trains on {config.early_size}x{config.early_size} crops, "
                              f"too small for this model: {exc}") from None
        if (small.output_shape, small.parameters) != (full.output_shape, full.parameters):  # the same weights
            raise ConfigError(f"progressive resizing trains on {config.early_size}x{config.early_size} crops, but this "
                              "model's layers expect 32x32 (a Flatten before a Linear fixes the size): end the "
                              "convolutions in GlobalAvgPool, or set early_epochs to 0")
    if outputs != len(dataset.classes):
        raise ConfigError(f"the model ends in {outputs} outputs but the dataset has {len(dataset.classes)} classes")
