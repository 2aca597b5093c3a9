"""What a run records as it trains, typed from the engine to the charts: step and epoch reports, events (a new
learning rate, Stop, a diverged loss), and History, their sum. Written to and read from a run's metrics file here
and only here (core.runs.layout names the file), one JSON object per line, each with its "type" and the format version "v"; lines written before the
version existed read the same, and a line cut short by a crash is skipped."""
from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

HISTORY_VERSION = 1


@dataclass(frozen=True)
class StepReport:
    step: int  # 1-based, over the whole run
    epoch: int  # 1-based (a captioner's encoder adapting to scenes first reports epoch 0)
    loss: float
    lr: float
    images_per_second: float = 0.0  # training images per second since the run started (evaluation excluded)
    elapsed: float = 0.0  # seconds of wall time since the start
    eta: float = 0.0  # seconds left, estimated from the pace so far
    total_steps: int = 0
    smoothed: float | None = None  # the loss's moving average over every step, where a live job has it


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    train_loss: float
    train_accuracy: float  # 0..1, on augmented training batches in train mode
    test_accuracy: float  # 0..1
    per_class_accuracy: dict[str, float]
    seconds: float  # wall time since the start, after this epoch's evaluation
    train_seconds: float = 0.0  # time in training steps so far, evaluations excluded (what time-to-accuracy counts)
    # 0..1 on the training images held out of training (TrainConfig.holdout), where the run has them: what the best
    # epoch and early stopping are judged by, never the test set
    holdout_accuracy: float | None = None


@dataclass(frozen=True)
class CaptionEpochReport:
    epoch: int
    train_loss: float
    exact: float  # test scenes whose caption means exactly the scene (every object: class, count and place)
    precision: float  # of the objects named, the share that are in the scene at the named place
    recall: float  # of the scene's objects, the share named at their place
    bleu: float  # BLEU-4 against every reference phrasing
    held_out_exact: float  # the same exact match on class pairs never seen together in training
    held_out_recall: float
    samples: list[dict]  # {"scene" (or "varied"): index in the fixed (varied) test scenes, "sentence": str}
    seconds: float
    # The fixed varied test scenes (any object size, place and canvas; core.caption.varied), where the run scored them
    # (runs from before them did not): all of them, and those whose objects are all 32 px or larger ("large").
    varied_exact: float | None = None
    varied_recall: float | None = None
    varied_bleu: float | None = None
    varied_large_exact: float | None = None
    varied_large_recall: float | None = None

    @property
    def test_accuracy(self) -> float:  # what run listings show for every kind of run
        return self.exact


@dataclass(frozen=True)
class Event:
    type: Literal["lr", "stop", "diverged", "adapt", "early-stop"]
    step: int  # the step it took effect at
    lr_from: float | None = None  # "lr": the learning rate before and after
    lr_to: float | None = None
    reason: str = ""  # "diverged": what happened; "adapt": how far the encoder's grid came; "early-stop": why


def adapt_event(events: list[Event]) -> Event | None:
    """A captioner run's "adapt" event (its encoder adapted to scenes before the captions began), if it has one."""
    return next((e for e in events if e.type == "adapt"), None)


@dataclass
class History:
    steps: list[StepReport] = field(default_factory=list)
    epochs: list = field(default_factory=list)  # EpochReport, or CaptionEpochReport for a captioner run
    events: list[Event] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------------------------
# the metrics file


def step_line(report: StepReport) -> str:
    """A step as the metrics file keeps it (what charts need, not the live-only estimates)."""
    return json.dumps({"type": "step", "v": HISTORY_VERSION, "step": report.step, "epoch": report.epoch,
                       "loss": report.loss, "lr": report.lr, "images_per_second": report.images_per_second,
                       "elapsed": report.elapsed})


def epoch_line(report) -> str:
    return json.dumps({"type": "epoch", "v": HISTORY_VERSION, **asdict(report)})


def event_line(event: Event) -> str:
    item = {"type": event.type, "v": HISTORY_VERSION, "step": event.step}
    if event.type == "lr":
        item.update({"from": event.lr_from, "to": event.lr_to})  # the names the file has always used
    if event.reason:
        item["reason"] = event.reason
    return json.dumps(item)


def read_history(path: Path, epoch_type: type = EpochReport) -> History:
    """A run's history from its metrics file; lines that do not parse into their record are skipped, the rest still
    read."""
    history = History()
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return history
    for line in lines:
        try:
            item = json.loads(line)
            kind = item.pop("type")
            item.pop("v", None)
            if kind == "step":
                history.steps.append(_record(StepReport, item))
            elif kind == "epoch":
                history.epochs.append(_record(epoch_type, item))
            elif kind in ("lr", "stop", "diverged", "adapt", "early-stop"):
                history.events.append(Event(kind, int(item["step"]), item.get("from"), item.get("to"),
                                            str(item.get("reason", ""))))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a line cut short by a crash, or not ours: the rest is still good
    return history


def _record(cls, item: dict):
    """A record from a JSON object: unknown keys ignored, a missing required field a TypeError."""
    names = {f.name for f in fields(cls)}
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    if not required <= set(item):
        raise TypeError(f"{cls.__name__} needs {sorted(required - set(item))}")
    return cls(**{k: v for k, v in item.items() if k in names})
