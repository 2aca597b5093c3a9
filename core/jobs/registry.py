"""Background training: a TrainingJob runs fit() in a thread and records it; a JobRegistry holds a process's jobs."""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from core.data.sources import Dataset
from core.device import describe_device
from core.errors import UserError
from core.insight import timelapse
from core.insight.timelapse import sample_indices
from core.jobs.worker import Worker
from core.models.layers import SpecError
from core.models.spec import ModelSpec, build_model
from core.runs import histograms
from core.runs.curve import Curve
from core.runs.folder import (
    RUNS_ROOT,
    Recorder,
    RunRecorder,
    log_traceback,
    new_run_id,
    run_path,
)
from core.runs.layout import RunFolder
from core.runs.summary import RunKind
from core.runs.view import RunView
from core.training.callbacks import Callbacks
from core.training.config import ConfigError, TrainConfig, check_trainable
from core.training.history import EpochReport, Event, History, StepReport
from core.training.status import RunStatus
from core.training.train import FitResult, fit


@dataclass
class JobSnapshot:
    """A copy of a job's state, safe to read while the job keeps training."""

    id: str
    status: RunStatus
    reason: str
    steps: list[StepReport]  # a sample of the steps (at most 2 x curve.MAX_POINTS), always ending with the latest
    smoothed: list[float]  # the moving average of the loss over every step, at each sampled step
    epochs: list  # EpochReport (CaptionEpochReport for a captioner run)
    events: list[Event]
    total_steps: int
    lr: float
    folder: Path

    @property
    def done(self) -> bool:
        return not self.status.active

    def history(self) -> History:
        """The same type as a history read back from a run folder, so charts need not care which."""
        steps = [replace(s, smoothed=m) for s, m in zip(self.steps, self.smoothed)]
        return History(steps, list(self.epochs), list(self.events))

    @property
    def progress(self) -> float:
        return self.steps[-1].step / self.total_steps if self.steps and self.total_steps else 0.0

    def view(self) -> RunView:
        """What a page draws of it: the same type as a run read back from its folder (RunView.from_folder)."""
        return RunView(self.id, self.status, self.reason, self.history(), self.total_steps, self.lr, live=True)


class BackgroundJob(Worker):
    """Trains in a thread and records it; subclasses say how to start the run folder and what to train. Watchers read
    snapshots and send stop or a new learning rate through `control`."""

    kind: RunKind = "classifier"  # the kind of run folder it writes

    def __init__(self, folder: Path, lr: float):
        self.folder, self.id = folder, folder.name
        self._curve = Curve()
        self._epochs: list = []
        self._events: list[Event] = []
        self._status, self._reason, self._lr, self._total = RunStatus.STARTING, "", lr, 0
        super().__init__(f"train-{self.id}")

    def set_lr(self, lr: float) -> None:
        self.control.set_lr(lr)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            points = self._curve.points()
            return JobSnapshot(self.id, self._status, self._reason, [p.report for p in points],
                               [p.smoothed for p in points], list(self._epochs), list(self._events), self._total,
                               self._lr, self.folder)

    # --- what a kind of run fills in ---

    def _recorder(self) -> Recorder:
        raise NotImplementedError

    def _train(self, callbacks: Callbacks) -> FitResult:
        raise NotImplementedError

    def _after_epoch(self, report, model: nn.Module) -> None:
        """Extra keeping after each epoch's checkpoint (a classifier's time-lapse frame); nothing by default."""

    # --- the worker thread; never touches any UI ---

    def _run(self) -> None:
        recorder = None
        try:
            recorder = self._recorder()
            callbacks = Callbacks(
                on_step=lambda r: (self._step(r), recorder.on_step(r)),
                on_epoch=lambda r, model: (recorder.on_epoch(r, model), self._after_epoch(r, model), self._epoch(r)),
                on_event=lambda e: (self._event(e), recorder.on_event(e)),
            )
            with self._lock:
                self._status = RunStatus.RUNNING
            result = self._train(callbacks)
            recorder.finish(result, result.model)
            self._end(result.status, result.reason)
        except (torch.OutOfMemoryError, MemoryError):
            log_traceback(self.folder, "out of memory")
            self._fail(recorder, "out of memory: use a smaller batch size or a narrower model; "
                                 "the weights from the last finished epoch are kept")
        except (SpecError, ConfigError, ValueError) as exc:
            log_traceback(self.folder, "refused")
            self._fail(recorder, str(exc))
        except Exception as exc:  # recorded as the run's status, never lost in a thread; the traceback in its log
            log_traceback(self.folder, "training failed")
            log = RunFolder(self.folder).error_log.name
            self._fail(recorder, f"training failed: {type(exc).__name__}: {exc} (traceback in {log})")

    def _fail(self, recorder, reason: str) -> None:
        if recorder is not None:
            recorder.fail(reason)
        self._end(RunStatus.FAILED, reason)

    def _end(self, status: RunStatus, reason: str) -> None:
        with self._lock:
            self._status, self._reason = status, reason

    def _step(self, report: StepReport) -> None:
        with self._lock:
            self._curve.add(report)
            self._lr, self._total = report.lr, report.total_steps

    def _epoch(self, report: EpochReport) -> None:
        with self._lock:
            self._epochs.append(report)

    def _event(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)


class TrainingJob(BackgroundJob):
    def __init__(self, spec: ModelSpec, dataset: Dataset, config: TrainConfig, folder: Path,
                 initial: nn.Module | None = None, parent: str | None = None):
        """`initial`: a trained model to continue from (resume or fine-tune); None trains from scratch. `parent`:
        the run it came from, which its summary names."""
        check_trainable(spec, dataset, config)
        self.spec, self.dataset, self.config, self.initial, self.parent = spec, dataset, config, initial, parent
        super().__init__(folder, config.lr)

    def _recorder(self) -> Recorder:
        return RunRecorder(self.folder, self.spec, self.config, self.dataset.classes, self.dataset.source,
                           describe_device(self.config.device), self.parent)

    def _train(self, callbacks: Callbacks) -> FitResult:
        return fit(self.spec, self.dataset, self.config, callbacks, self.control, model=self.initial)

    def _after_epoch(self, report: EpochReport, model: nn.Module) -> None:
        """The time-lapse frame, from a CPU float copy so the model in training is never touched. A frame that
        cannot be drawn is skipped: it must never cost the run itself."""
        try:
            copy = build_model(self.spec)
            copy.load_state_dict({k: v.detach().float().cpu() for k, v in model.state_dict().items()})
            pictures = sample_indices(self.dataset.test_y)
            truth = [self.dataset.classes[int(self.dataset.test_y[i])] for i in pictures]
            timelapse.record(self.folder, report.epoch, copy.eval(), self.dataset.classes, self.dataset.test_x[pictures],
                             truth)
        except Exception:  # an extra view; the checkpoint is already saved, so the run goes on
            log_traceback(self.folder, f"time-lapse frame of epoch {report.epoch} skipped")
        try:
            histograms.record(self.folder, report.epoch, histograms.layer_histograms(model, self.spec))
        except Exception:  # the same: never at the run's cost
            log_traceback(self.folder, f"histograms of epoch {report.epoch} skipped")


class BusyError(UserError):
    """The server trains as many runs as it can at once; the message says how many and what to do."""


def new_job_id(name: str) -> str:
    """A run id nobody can guess: whoever has a run's address can watch it (and, in personal mode, stop it)."""
    return f"{new_run_id(name)}-{secrets.token_urlsafe(6).replace('_', 'x').replace('-', 'y')}"


@dataclass
class JobRegistry:
    """One per server process: jobs by unguessable id, with a cap on how many train at once."""

    runs_root: Path = RUNS_ROOT
    max_running: int = 2
    max_finished: int = 8  # finished jobs kept in memory; older ones are read back from their run folders
    _jobs: dict[str, TrainingJob] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, spec: ModelSpec, dataset: Dataset, config: TrainConfig) -> TrainingJob:
        return self.launch(spec.name, lambda folder: TrainingJob(spec, dataset, config, folder))

    def launch(self, name: str, make: Callable[[Path], BackgroundJob]) -> BackgroundJob:
        """Start the job `make` builds for a fresh run folder, unless too many are training already."""
        with self._lock:
            running = sum(job.alive for job in self._jobs.values())
            if running >= self.max_running:
                raise BusyError(
                    f"{running} runs are training on this server already (the limit is {self.max_running}); "
                    "wait for one to finish or stop one"
                )
            job = make(run_path(new_job_id(name), self.runs_root))
            self._evict()
            self._jobs[job.id] = job
        return job.start()

    def adopt(self, job: BackgroundJob) -> BackgroundJob:
        """Start a job made elsewhere (the scheduler, which keeps its own count of slots) and keep it here."""
        with self._lock:
            self._evict()
            self._jobs[job.id] = job
        return job.start()

    def _evict(self) -> None:
        """Forget the oldest finished jobs beyond max_finished (their run folders keep everything)."""
        finished = [job_id for job_id, job in self._jobs.items() if not job.alive and job.snapshot().done]
        for job_id in finished[:max(0, len(finished) - self.max_finished)]:
            del self._jobs[job_id]

    def get(self, job_id: str) -> BackgroundJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def running(self) -> list[BackgroundJob]:
        with self._lock:
            return [job for job in self._jobs.values() if job.alive]


def watch(job: BackgroundJob, on_poll=None, poll_s: float = 0.5) -> JobSnapshot:
    """Start a job and poll it until it ends (the CLI's path: the same background job the dashboard runs); Ctrl-C
    stops it the way the Stop button does."""
    job.start()
    try:
        while not job.join(poll_s):
            if on_poll:
                on_poll(job.snapshot())
    except KeyboardInterrupt:
        job.stop()
        job.join()
    return job.snapshot()


def run_blocking(spec: ModelSpec, dataset: Dataset, config: TrainConfig, folder: Path, on_poll=None,
                 poll_s: float = 0.5, initial: nn.Module | None = None, parent: str | None = None) -> JobSnapshot:
    """Train a classifier in the background thread exactly as the dashboard does, polling until done."""
    return watch(TrainingJob(spec, dataset, config, folder, initial, parent), on_poll, poll_s)
