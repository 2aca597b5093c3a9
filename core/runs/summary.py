"""A run's summary: what every listing shows about a run (its kind, model, status, accuracy, speed), typed. Turned
into and out of the JSON of a run folder's summary.json here and only here, with the format version "v". Summaries
written before the version existed read the same; a field of the wrong type reads as its default, so one bad value
never hides a run."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields, replace
from types import UnionType
from typing import Literal, Union, get_args, get_origin, get_type_hints

from core.training.status import RunStatus, status_of

SUMMARY_VERSION = 1
STALE_S = 30.0  # a "running" summary not rewritten for this long (the heartbeat beats every 2 s) belongs to a dead process
RunKind = Literal["classifier", "captioner"]


@dataclass(frozen=True)
class RunSummary:
    kind: RunKind = "classifier"
    name: str = ""
    model: str = ""  # what listings call the model: a preset's name, or "captioner (gru)"
    source: str = ""  # the data source it trained on (a folder, "official", a server path)
    device: str = ""
    epochs: int = 0  # planned
    epochs_done: int = 0
    status: RunStatus = RunStatus.RUNNING
    reason: str = ""  # why it stopped, failed or diverged; empty when it finished
    created: float = 0.0  # Unix seconds
    updated: float = 0.0  # Unix seconds of the last write: the heartbeat keeps it fresh while the run trains
    train_seconds: float | None = None  # time in training steps, evaluations excluded; set when the run ends
    images_per_second: float | None = None  # training images (scenes, for a captioner) per second; set at the end
    test_accuracy: float | None = None  # 0..1 after the last epoch; a captioner's exact-match share of test scenes
    per_class_accuracy: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None  # the epoch with the highest held-out accuracy so far (runs with held-out images)
    best_holdout_accuracy: float | None = None
    parent: str | None = None  # the run this one continues from ("N more epochs"), whose weights it started with
    # captioners only
    encoder_from: str | None = None  # the classifier run whose conv layers the encoder started from
    bleu: float | None = None
    object_recall: float | None = None
    held_out_exact: float | None = None

    @property
    def has_weights(self) -> bool:
        """Weights are saved after each epoch, and when Stop is pressed during the first."""
        return self.epochs_done > 0 or self.status == RunStatus.STOPPED

    def changed(self, **changes) -> RunSummary:
        """A copy with these fields changed and `updated` set to now; an unknown field name is a TypeError."""
        return replace(self, **changes, updated=time.time())

    def to_json(self) -> dict:
        return {"v": SUMMARY_VERSION, **asdict(self), "status": str(self.status)}

    @classmethod
    def from_json(cls, data: dict, now: float | None = None) -> RunSummary:
        """Read back leniently (see the module's note); a "running" summary gone stale reads as interrupted."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data and _fits(data[f.name], _HINTS[f.name])}
        values["status"] = status_of(data.get("status"))  # unknown text reads as a damaged run
        summary = cls(**values)
        now = time.time() if now is None else now
        if summary.status == RunStatus.RUNNING and now - summary.updated > STALE_S:
            summary = replace(summary, status=RunStatus.INTERRUPTED, reason=summary.reason or
                              "the process training it stopped; the last saved weights are kept")
        return summary


_HINTS = get_type_hints(RunSummary)  # resolved once: every listing of runs reads every summary


def _fits(value, hint) -> bool:
    """Whether a JSON value has the field's declared type (the annotations above are the one source of truth)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return value in args
    if origin in (Union, UnionType):
        return any(_fits(value, a) for a in args)
    if origin is dict:
        return isinstance(value, dict) and all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
    if hint is float:  # JSON writes 1.0 as 1
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)
