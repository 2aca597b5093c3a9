"""Run folders: safetensors weights, JSON spec/config/summary, a JSON-lines metrics log; atomic writes, no pickle.
The files' names are in core.runs.layout (RunFolder); this module opens, lists and writes runs."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from safetensors import safe_open
from torch import nn

from core.models.codec import spec_from_json, spec_to_json
from core.models.layers import SpecError
from core.models.spec import ModelSpec, summarize
from core.runs.layout import STARTERS_ROOT, RunError, RunFolder, read_json, write_json
from core.runs.summary import RunKind, RunSummary
from core.runs.weights import (  # noqa: F401 (their old home: callers import them from here too)
    load_weights,
    read_tensors,
    save_state,
    save_tensors,
    save_weights,
    weights_stamp,
)
from core.training import history
from core.training.config import ConfigError, TrainConfig
from core.training.history import EpochReport, Event, History, StepReport
from core.training.status import RunStatus
from core.training.train import FitResult

RUNS_ROOT = Path(os.environ.get("CIFAR10_RUNS", "runs"))
HEARTBEAT_S = 2.0  # a running run rewrites its summary this often, on a timer
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


def log_traceback(folder: Path, what: str) -> None:
    """Append the exception being handled, with its traceback, to the run folder's error log: users get one line,
    a maintainer gets the cause. Never raises (it runs while handling another failure)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(RunFolder(folder).error_log, "a") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n{traceback.format_exc()}\n")
    except OSError:
        pass


def new_run_id(name: str = "run") -> str:
    slug = re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")[:40] or "run"
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}-{secrets.token_hex(3)}"


def run_path(run: str | Path, root: Path | None = None) -> Path:
    """A run id (inside the runs folder, else a starter shipped with the project) or an explicit folder path given on
    the command line."""
    root = Path(root or RUNS_ROOT)
    text = str(run)
    if _ID.match(text) and ".." not in text:
        if not (root / text).exists() and (STARTERS_ROOT / text).is_dir():
            return STARTERS_ROOT / text
        return root / text
    raise RunError(f"{text[:60]!r} is not a run id (letters, digits, '.', '_' and '-', no '..')")


def run_kind(folder: Path) -> RunKind | None:
    return RunFolder(folder).kind


def resolve_cli_run(path: str, kind: str | None = "classifier") -> Path:
    """The CLI accepts a folder path (the person's own disk) or a run id (in the runs folder, or a starter's), but it
    must be a run folder of the right kind (None: any kind)."""
    folder = Path(path).expanduser()
    if not folder.exists() and _ID.match(path) and ".." not in path:
        folder = run_path(path)
    files = RunFolder(folder)
    found = files.kind
    if found is None:
        wanted = files.model_file(kind).name if kind else f"{files.spec.name} or {files.captioner.name}"
        raise RunError(f"{path} is not a run folder (no {wanted}); train one with "
                       f"`python -m core {'caption-train' if kind == 'captioner' else 'train'}`")
    if kind is not None and found != kind:
        how = "train" if kind == "classifier" else "caption-train"
        raise RunError(f"{path} is a {found} run, and this needs a {kind} run (train one with `python -m core {how}`)")
    return folder


# ----------------------------------------------------------------------------------------------------------------
# reading runs


@dataclass
class Run:
    id: str
    path: Path
    spec: ModelSpec
    config: TrainConfig
    classes: tuple[str, ...]
    summary: RunSummary

    @property
    def files(self) -> RunFolder:
        return RunFolder(self.path)


@dataclass(frozen=True)
class ListedRun:
    """One line of a listing of run folders: its summary, or a damaged one saying what is wrong with the folder."""
    id: str
    path: Path
    kind: str  # from the folder's files, which a damaged summary cannot hide
    summary: RunSummary
    starter: bool = False  # shipped with the project (starters/), read-only


def read_summary(folder: Path) -> RunSummary:
    return RunFolder(folder).read_summary()


def read_classes(files: RunFolder) -> tuple[str, ...]:
    classes = read_json(files.classes)
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes):
        raise RunError(f"{files.id}: {files.classes.name} must be a list of distinct class names")
    return tuple(classes)


def open_run(folder: Path) -> Run:
    """Spec, config, classes and summary of a run, each checked; weights are loaded separately by load_model."""
    files = RunFolder(folder)
    if files.kind == "captioner":
        raise RunError(f"{folder.name} is a captioner run; open it on the Caption page or with `python -m core caption`")
    try:
        spec = spec_from_json(read_json(files.spec))
        config = TrainConfig.from_json(read_json(files.config))
    except (SpecError, ConfigError) as exc:
        raise RunError(f"{folder.name}: {exc}") from None
    return Run(folder.name, folder, spec, config, read_classes(files), files.read_summary())


def load_model(run: Run, best: bool = False) -> nn.Module:
    """The run's last weights, or with `best` those of its best epoch by held-out accuracy (runs with a holdout)."""
    path = run.files.best_weights if best else run.files.weights
    if best and not path.exists():
        raise RunError(f"{run.id} kept no best epoch: only runs with held-out training images (holdout) judge epochs")
    if not path.exists():
        raise RunError(f"{run.id} has no saved weights yet (it saves them after each epoch)")
    model = load_weights(path, run.spec)
    outputs = summarize(run.spec).output_shape[0]
    if outputs != len(run.classes):
        raise RunError(f"{run.id}: the model has {outputs} outputs but {run.files.classes.name} names "
                       f"{len(run.classes)} classes")
    meta_classes = _weights_classes(path)
    if meta_classes is not None and tuple(meta_classes) != run.classes:
        raise RunError(f"{run.id}: the weights were trained on other classes than {run.files.classes.name} names")
    model.eval()
    return model


def _weights_classes(path: Path):
    with safe_open(path, "pt") as f:
        meta = f.metadata() or {}
    try:
        return json.loads(meta["classes"]) if "classes" in meta else None
    except ValueError:
        raise RunError(f"{path.name}: its class list metadata is damaged") from None


def read_history(folder: Path) -> History:
    """A run's typed history (steps, epochs of its kind, events) from its metrics file."""
    return RunFolder(folder).read_history()


def list_runs(root: Path | None = None, kind: str | None = None) -> list[ListedRun]:
    """Summaries of every readable run (of one kind: classifier or captioner, if given), newest first, then the
    starters shipped with the project when listing the runs folder itself (no `root` given); unreadable folders are
    listed with their problem."""
    out = _listed(Path(root or RUNS_ROOT), kind)
    return out + _listed(STARTERS_ROOT, kind) if root is None else out


def _listed(root: Path, kind: str | None) -> list[ListedRun]:
    out = []
    for folder in sorted(root.glob("*"), reverse=True) if root.exists() else []:
        if not folder.is_dir() or not _ID.match(folder.name):
            continue
        try:
            summary = read_summary(folder)
        except RunError as exc:
            summary = RunSummary(status=RunStatus.DAMAGED, reason=str(exc))
        entry = ListedRun(folder.name, folder, run_kind(folder) or "classifier", summary, RunFolder(folder).starter)
        if kind is None or entry.kind == kind:
            out.append(entry)
    return out


def delete_run(folder: Path) -> None:
    if run_kind(folder) is None:
        raise RunError(f"{folder} is not a run folder")
    if RunFolder(folder).starter:
        raise RunError(f"{folder.name} is a starter run shipped with the studio: it cannot be deleted (train your own "
                       "runs to keep or delete)")
    shutil.rmtree(folder)


# ----------------------------------------------------------------------------------------------------------------
# writing a run while it trains


class Recorder:
    """Connects a training loop's callbacks to a run folder: metrics appended as they come, and a heartbeat on a timer,
    so a run busy compiling or evaluating still reads as alive to every other session. Subclasses write their own
    files (the model's description, its weights) and say what an epoch changes in the summary."""

    def __init__(self, folder: Path, summary: RunSummary):
        self.folder = folder
        self._lock = threading.Lock()  # the metrics buffer
        self._summary_lock = threading.Lock()  # the summary and its file: the heartbeat writes it from its own thread
        self._buffer: list[str] = []
        self._last_flush = 0.0
        folder.mkdir(parents=True, exist_ok=True)
        self.summary = replace(summary, status=RunStatus.RUNNING, created=time.time())
        self._update()
        self._done = threading.Event()
        threading.Thread(target=self._heartbeat, name=f"heartbeat-{folder.name}", daemon=True).start()

    def save(self, model: nn.Module) -> None:
        raise NotImplementedError

    def epoch_summary(self, report) -> dict:
        return {"epochs_done": report.epoch}

    def on_step(self, report: StepReport) -> None:
        self._append(history.step_line(report))

    def on_event(self, event: Event) -> None:
        self._append(history.event_line(event), force=True)

    def on_epoch(self, report, model: nn.Module) -> None:
        self.save(model)
        self._append(history.epoch_line(report), force=True)
        self._update(**self.epoch_summary(report))

    def finish(self, result: FitResult, model: nn.Module | None = None) -> None:
        if result.status == RunStatus.STOPPED and model is not None:
            self.save(model)  # keep what was learned
        self._flush()
        self._end(status=result.status, reason=result.reason, train_seconds=result.train_seconds,
                  images_per_second=result.images_per_second)

    def fail(self, reason: str) -> None:
        self._flush()
        self._end(status=RunStatus.FAILED, reason=reason)

    def _end(self, **changes) -> None:
        self._done.set()
        self._update(**changes)

    def _heartbeat(self) -> None:
        while not self._done.wait(HEARTBEAT_S):
            with self._summary_lock:
                if self.summary.status != RunStatus.RUNNING:
                    return
            self._update()

    def _append(self, line: str, force: bool = False) -> None:
        with self._lock:
            self._buffer.append(line)
        # one write a second keeps small-batch runs fast; events and epochs are written at once
        if force or time.monotonic() - self._last_flush > 1.0:
            self._flush()

    def _flush(self) -> None:
        with self._lock:
            lines, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if lines:  # under the lock: two flushes never interleave their lines
                with open(RunFolder(self.folder).metrics, "a") as f:
                    f.write("\n".join(lines) + "\n")

    def _update(self, **changes) -> None:
        with self._summary_lock:
            self.summary = self.summary.changed(**changes)
            write_json(RunFolder(self.folder).summary, self.summary.to_json())


class RunRecorder(Recorder):
    """A classifier run: spec, config and classes as JSON, safetensors weights after every epoch."""

    def __init__(self, folder: Path, spec: ModelSpec, config: TrainConfig, classes, source: str, device: str,
                 parent: str | None = None):
        self.spec, self.classes = spec, tuple(classes)
        folder.mkdir(parents=True, exist_ok=True)
        files = RunFolder(folder)
        write_json(files.spec, spec_to_json(spec))
        write_json(files.config, config.to_json())
        write_json(files.classes, list(self.classes))
        super().__init__(folder, RunSummary(kind="classifier", name=spec.name, model=spec.name, source=source,
                                            device=device, epochs=config.epochs, parent=parent))

    def save(self, model: nn.Module) -> None:
        save_weights(RunFolder(self.folder).weights, model, self.spec, self.classes)

    def on_epoch(self, report: EpochReport, model: nn.Module) -> None:
        best = self.summary.best_holdout_accuracy
        if report.holdout_accuracy is not None and (best is None or report.holdout_accuracy > best):
            save_weights(RunFolder(self.folder).best_weights, model, self.spec, self.classes)  # before the summary
        super().on_epoch(report, model)

    def epoch_summary(self, report: EpochReport) -> dict:
        changes = {"epochs_done": report.epoch, "test_accuracy": report.test_accuracy,
                   "per_class_accuracy": report.per_class_accuracy}
        best = self.summary.best_holdout_accuracy
        if report.holdout_accuracy is not None and (best is None or report.holdout_accuracy > best):
            changes.update(best_epoch=report.epoch, best_holdout_accuracy=report.holdout_accuracy)
        return changes
