"""A captioner run's settings: CaptionConfig, each setting's range, default and help declared once on its field."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from core.bounds import choice, ranged, settings_from_json, settings_problem
from core.caption.fitting import DEFAULT_FIT, FITS, PictureFit
from core.caption.model import CELLS, DecoderSpec
from core.device import DEVICES
from core.training.config import ConfigError

ENCODER_MODES = ("frozen", "adapt", "finetune")


@dataclass(frozen=True)
class CaptionConfig:
    """Every setting of a captioner run; allowed values sit on each field, as for TrainConfig."""

    epochs: int = ranged(6, low=1, high=200, label="Epochs", unit="epochs", group="essentials",
                         help="Passes of freshly drawn scenes, each followed by captioning the fixed test scenes.")
    scenes_per_epoch: int = ranged(6400, low=64, high=1_000_000, label="Scenes per epoch", unit="scenes",
                                   group="essentials", step=640,
                                   help="Training scenes freshly drawn for each epoch.")
    batch_size: int = ranged(64, low=2, high=1024, label="Batch size", unit="scenes", group="essentials",
                             help="Scenes per step, all of one canvas shape.")
    lr: float = ranged(3e-3, low=1e-6, high=1.0, whole=False, label="Learning rate", group="essentials",
                       help="Adam's peak step size; it warms up, then falls to zero (one-cycle).")
    varied_share: float = ranged(0.5, low=0.0, high=1.0, whole=False, label="Share of varied scenes",
                                 group="essentials", step=0.1,
                                 help="The share of training batches drawn as varied scenes (any object size, place "
                                      "and canvas shape, like photos); the rest are the fixed scenes' kind.")
    picture: str = choice(DEFAULT_FIT, tuple(FITS), label="Input picture size", group="encoder",
                          help="Every picture is scaled, keeping its shape, to fit this size before the encoder "
                               "reads it, in training and in use: larger keeps small objects readable and costs "
                               "time.")
    scales: int = ranged(2, low=1, high=3, label="Scales the encoder reads", unit="scales", group="encoder",
                         help="The encoder reads the picture at full size and, with 2, at half size too, and "
                              "attention picks among both grids: a large object reads at half size as the small "
                              "picture the classifier learned from.")
    cell: str = choice("lstm", CELLS, label="Recurrent cell", group="decoder",
                       help="The decoder's recurrent cell: an LSTM keeps a separate memory cell, a GRU is a lighter "
                            "cousin.")
    hidden: int = ranged(256, low=16, high=1024, label="Decoder state size", group="decoder", step=32,
                         help="The size of the decoder's recurrent state.")
    # Off by default: 0.1 named more test objects with a weaker encoder on the JPEG copy (+0.9 points, four seeds) but
    # fewer at the defaults on the official pixels (-0.4, two seeds); docs/captioning.md, "Training variants screened
    # on a GPU".
    label_smoothing: float = ranged(0.0, low=0.0, high=0.5, whole=False, label="Label smoothing", group="decoder",
                                    step=0.05,
                                    help="This share of each target word's weight is spread over the whole "
                                         "vocabulary, so the decoder is never taught to be certain of a word (0 = "
                                         "plain cross-entropy).")
    encoder_mode: str = choice("adapt", ENCODER_MODES, label="Pretrained encoder", group="encoder",
                               help="With an encoder from a classifier run: keep its weights (frozen), first teach "
                                    "them the scenes' objects with the classifier's own head and then keep them "
                                    "(adapt), or train them with the decoder (finetune).")
    adapt_scenes: int = ranged(12_800, low=64, high=1_000_000, label="Scenes to adapt the encoder on (adapt)",
                               unit="scenes", group="encoder", step=640,
                               help="Adapt only: before the decoder trains, the classifier learns to name the objects "
                                    "of this many training scenes from its grid.")
    encoder_lr: float = ranged(0.1, low=0.0, high=1.0, whole=False,
                               label="Encoder learning rate, share of the decoder's (finetune)", group="encoder",
                               help="Finetune only: the encoder's learning rate as a share of the decoder's, since a "
                                    "pretrained encoder's full step tends to wreck what it learned.")
    reuse: int = ranged(3, low=1, high=10, label="Uses of each scene (pretrained encoder, frozen or adapted)",
                        unit="uses", group="encoder",
                        help="Frozen or adapted pretrained encoder only: each drawn scene's features are computed "
                             "once and serve this many freshly drawn captions of it.")
    test_scenes: int = ranged(600, low=16, high=10_000, label="Test scenes", unit="scenes", group="evaluation",
                              form=False, help="Fixed held-back scenes captioned and scored after every epoch.")
    held_out_scenes: int = ranged(200, low=16, high=10_000, label="Held-out pair scenes", unit="scenes",
                                  group="evaluation", form=False,
                                  help="Fixed test scenes of class pairs never seen together in training, scored "
                                       "apart.")
    varied_test_scenes: int = ranged(600, low=0, high=10_000, label="Varied test scenes", unit="scenes",
                                     group="evaluation", form=False,
                                     help="Fixed held-back varied scenes (any size, place and canvas) captioned and "
                                          "scored after every epoch.")
    seed: int = ranged(0, low=0, high=2**31 - 1, label="Seed", group="essentials",
                       help="Seeds the weights and the scenes: the same seed gives the same run.")
    device: str = choice("auto", DEVICES, label="Device", group="device", form=False,
                         help="Where to train (auto picks a GPU when there is one).")

    def check(self) -> "CaptionConfig":
        problem = settings_problem(self)
        if problem:
            raise ConfigError(problem)
        return self

    def fit(self) -> PictureFit:
        return FITS[self.picture]

    def decoder(self) -> DecoderSpec:
        return DecoderSpec(cell=self.cell, hidden=self.hidden, scales=self.scales)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "CaptionConfig":
        return settings_from_json(cls, data, "captioner", ConfigError)
