"""A run as asked for: what to train, on which data, for whom. Written to the run folder as request.json when the run
is queued, so whoever trains it (this process after a restart, or a worker) builds the same job from the folder
alone."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from core.caption.config import CaptionConfig
from core.caption.job import CaptionJob, encoder_source
from core.data.sources import Dataset
from core.jobs.registry import BackgroundJob, TrainingJob
from core.models.codec import spec_from_json, spec_to_json
from core.models.spec import ModelSpec
from core.runs.folder import Run, load_model, open_run, run_path
from core.runs.layout import RunError, RunFolder, write_json
from core.runs.summary import RunKind, RunSummary
from core.training.config import TrainConfig
from core.training.status import RunStatus

REQUEST_VERSION = 1


@dataclass(frozen=True)
class RunRequest:
    kind: RunKind
    name: str  # the model's name: the run id starts with it, listings show it
    source: str  # the data source, as the dataset store names it
    config: TrainConfig | CaptionConfig
    spec: ModelSpec | None = None  # a classifier's model
    encoder_run: str | None = None  # a captioner's encoder: a classifier run's id, or None to train one from scratch
    owner: str | None = None  # the account that asked (class mode); None in personal mode
    queued: float = 0.0  # Unix seconds
    parent: str | None = None  # a classifier continued from this run's last weights ("N more epochs")

    @classmethod
    def classifier(cls, spec: ModelSpec, config: TrainConfig, source: str, owner: str | None = None,
                   parent: str | None = None) -> RunRequest:
        return cls("classifier", spec.name, source, config, spec=spec, owner=owner, queued=time.time(),
                   parent=parent)

    @classmethod
    def continuing(cls, parent: Run, epochs: int, source: str, owner: str | None = None,
                   lr: float | None = None) -> RunRequest:
        """`epochs` more of a saved run, as a new run that starts from its last weights with its model and settings
        (the schedule runs again over the new epochs, as the CLI's --resume does), at peak rate `lr` (None: the
        parent's)."""
        config = replace(parent.config, epochs=epochs, lr=parent.config.lr if lr is None else lr).check()
        return cls.classifier(parent.spec, config, source, owner, parent=parent.id)

    @classmethod
    def captioner(cls, config: CaptionConfig, source: str, encoder_run: str | None,
                  owner: str | None = None) -> RunRequest:
        return cls("captioner", "captioner", source, config, encoder_run=encoder_run, owner=owner, queued=time.time())

    @property
    def epochs(self) -> int:
        return self.config.epochs

    def to_json(self) -> dict:
        return {"v": REQUEST_VERSION, "kind": self.kind, "name": self.name, "source": self.source,
                "config": self.config.to_json(), "spec": spec_to_json(self.spec) if self.spec else None,
                "encoder_run": self.encoder_run, "owner": self.owner, "queued": self.queued, "parent": self.parent}

    @classmethod
    def from_json(cls, data: dict) -> RunRequest:
        """Raises RunError for a request that cannot be read back (a damaged or hand-edited file)."""
        try:
            kind = data["kind"]
            config = (TrainConfig if kind == "classifier" else CaptionConfig).from_json(data["config"])
            spec = spec_from_json(data["spec"]) if kind == "classifier" else None
            if kind not in ("classifier", "captioner"):
                raise ValueError(kind)
            return cls(kind, str(data["name"]), str(data["source"]), config, spec, data.get("encoder_run"),
                       data.get("owner"), float(data.get("queued", 0.0)), _text_or_none(data.get("parent")))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunError(f"request.json is damaged ({str(exc)[:80]})") from None

    def summary(self) -> RunSummary:
        """What listings show while it waits."""
        model = self.name if self.kind == "classifier" else f"captioner ({self.config.cell})"
        return RunSummary(kind=self.kind, name=self.name, model=model, source=self.source, epochs=self.epochs,
                          status=RunStatus.QUEUED, created=self.queued, updated=self.queued, parent=self.parent)


def _text_or_none(value) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("parent must be a run id")
    return value


def write_request(folder: Path, request: RunRequest) -> None:
    files = RunFolder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(files.request, request.to_json())
    write_json(files.summary, request.summary().to_json())


def read_request(folder: Path) -> RunRequest:
    files = RunFolder(folder)
    data = files.read_request()
    if not data:
        raise RunError(f"{folder.name}: request.json is missing or damaged")
    return RunRequest.from_json(data)


def mark(folder: Path, status: RunStatus, reason: str) -> None:
    """Set a run's status from outside its training (cancelled in the queue, a request that cannot start, a worker
    that died); a folder whose summary cannot be read is left as it is."""
    files = RunFolder(folder)
    try:
        summary = files.read_summary()
    except RunError:
        return
    write_json(files.summary, summary.changed(status=status, reason=reason).to_json())


def build_job(request: RunRequest, dataset: Dataset, folder: Path, runs_root: Path) -> BackgroundJob:
    """The job that trains it: the same classes the pages and the CLI have always used."""
    if request.kind == "classifier":
        initial = load_model(open_run(run_path(request.parent, runs_root))) if request.parent else None
        return TrainingJob(request.spec, dataset, request.config, folder, initial, parent=request.parent)
    encoder = encoder_source(run_path(request.encoder_run, runs_root) if request.encoder_run else None,
                             dataset.classes)
    return CaptionJob(dataset, request.config, encoder, folder)
