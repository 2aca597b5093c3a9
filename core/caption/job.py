"""A captioner trained in the background like a classifier (the same registry, snapshots, stop and learning-rate
control), and where its encoder comes from: from scratch, or the conv layers of a trained classifier run."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.caption.adapt import ClassifierHead, classifier_head
from core.caption.config import CaptionConfig
from core.caption.model import SCRATCH_ENCODER, Captioner, encoder_from_classifier
from core.caption.runs import CaptionRecorder
from core.caption.train import build_captioner, fit_captioner
from core.data.sources import Dataset
from core.device import describe_device, resolve_device
from core.jobs.registry import BackgroundJob, JobRegistry, JobSnapshot, watch
from core.models.spec import ModelSpec
from core.runs.classes import check_same_classes
from core.runs.folder import RunError, load_model, open_run
from core.training.callbacks import Callbacks
from core.training.train import FitResult


@dataclass(frozen=True)
class EncoderSource:
    spec: ModelSpec
    state: dict | None  # trained weights of the conv layers, or None to start from scratch
    label: str  # "scratch" or the classifier run's id
    test_accuracy: float | None = None  # the classifier's own test accuracy on single pictures
    head: ClassifierHead | None = None  # the classifier's pooling and head, which encoder mode "adapt" trains with


def encoder_source(classifier_run: Path | None, classes) -> EncoderSource:
    if classifier_run is None:
        return EncoderSource(SCRATCH_ENCODER, None, "scratch")
    run = open_run(classifier_run)  # a captioner run given here is refused with its own message
    check_same_classes(run.id, run.classes, classes, "encoder run")
    try:
        spec = encoder_from_classifier(run.spec)
    except ValueError as exc:
        raise RunError(str(exc)) from None
    model = load_model(run)
    keep = len(spec.layers)
    state = {k: v for k, v in model.state_dict().items() if int(k.split(".")[0]) < keep}
    return EncoderSource(spec, state, run.id, run.summary.test_accuracy, classifier_head(model, run.spec, keep))


class CaptionJob(BackgroundJob):
    kind = "captioner"

    def __init__(self, dataset: Dataset, config: CaptionConfig, encoder: EncoderSource, folder: Path):
        config.check()
        resolve_device(config.device)
        self.dataset, self.config, self.encoder = dataset, config, encoder
        self.model: Captioner = build_captioner(config, dataset.classes, encoder.spec, encoder.state)
        super().__init__(folder, config.lr)

    def _recorder(self) -> CaptionRecorder:
        return CaptionRecorder(self.folder, self.model, self.config, self.dataset.classes, self.dataset.source,
                               describe_device(self.config.device), self.encoder.label)

    def _train(self, callbacks: Callbacks) -> FitResult:
        return fit_captioner(self.model, self.dataset, self.config, callbacks, self.control,
                             pretrained=self.encoder.state is not None, head=self.encoder.head)


def start_captioner(registry: JobRegistry, dataset: Dataset, config: CaptionConfig,
                    encoder: EncoderSource) -> CaptionJob:
    return registry.launch("captioner", lambda folder: CaptionJob(dataset, config, encoder, folder))


def train_captioner_blocking(dataset: Dataset, config: CaptionConfig, encoder: EncoderSource, folder: Path,
                             on_poll=None, poll_s: float = 0.5) -> JobSnapshot:
    """The CLI's path: the same background job the page starts, polled until it ends."""
    return watch(CaptionJob(dataset, config, encoder, folder), on_poll, poll_s)
