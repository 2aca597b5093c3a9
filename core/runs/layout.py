"""The files of a run folder, each named once: `RunFolder(path).weights` is where a run's weights are, and so on for
every file. Nothing else in the project spells a run-folder file name; the readers here are the ones every kind of
run shares (its summary, its metrics, whether it is a classifier or a captioner)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from core.errors import UserError
from core.runs.summary import RunKind, RunSummary
from core.storage import write_bytes_atomic
from core.training import history
from core.training.history import EpochReport, History

_FRAME = re.compile(r"epoch-(\d{4})\.safetensors")
# Runs shipped with the project (starters/README.md): read-only, listed beside a person's own runs.
STARTERS_ROOT = Path(__file__).resolve().parents[2] / "starters"


class RunError(UserError):
    """A run folder that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def starter(self) -> bool:
        """Shipped with the project (starters/): nobody may stop, delete or overwrite it."""
        return self.path.parent.resolve() == STARTERS_ROOT.resolve()

    @property
    def derived(self) -> Path:
        """Where files computed from the weights on first use go: the run folder, or for a starter (whose folder is
        part of the project) the data folder's cache."""
        if not self.starter:
            return self.path
        from core.data import (
            sources,  # read at call time: tests and CIFAR10_ROOT move it
        )

        return Path(sources.DATA_ROOT) / "cache" / "starters" / self.id

    @property
    def provenance(self) -> Path:  # a starter's: the command, data, commit and measured accuracy that made it
        return self.path / "provenance.json"

    # --- what every run has ---
    @property
    def summary(self) -> Path:  # RunSummary as JSON, rewritten by the heartbeat while the run trains
        return self.path / "summary.json"

    @property
    def metrics(self) -> Path:  # one JSON line per step, epoch and event (core.training.history)
        return self.path / "metrics.jsonl"

    @property
    def config(self) -> Path:  # TrainConfig or CaptionConfig as JSON
        return self.path / "config.json"

    @property
    def classes(self) -> Path:  # the class names, in label order
        return self.path / "classes.json"

    @property
    def weights(self) -> Path:  # safetensors, rewritten after every epoch
        return self.path / "weights.safetensors"

    @property
    def histograms(self) -> Path:  # JSON lines: each epoch's weight and gradient histograms per layer
        return self.path / "histograms.jsonl"

    @property
    def best_weights(self) -> Path:  # safetensors of the epoch with the best held-out accuracy (runs with a holdout)
        return self.path / "best.safetensors"

    @property
    def request(self) -> Path:  # what was asked for and by whom, written when it was queued (core.classroom)
        return self.path / "request.json"

    @property
    def control(self) -> Path:  # Stop and a new learning rate for a run a worker process trains (core.classroom)
        return self.path / "control.json"

    @property
    def worker(self) -> Path:  # which process on which machine trains it (a Ray worker), for a maintainer
        return self.path / "worker.json"

    @property
    def error_log(self) -> Path:  # tracebacks of what failed, for a maintainer
        return self.path / "error.log"

    # --- the file that says what kind of model it is ---
    @property
    def spec(self) -> Path:  # a classifier's ModelSpec
        return self.path / "spec.json"

    @property
    def captioner(self) -> Path:  # a captioner's encoder spec and decoder settings
        return self.path / "captioner.json"

    @property
    def vocab(self) -> Path:  # a captioner's words, the four specials first
        return self.path / "vocab.json"

    # --- kept by the insight tools, each stamped with the weights it belongs to ---
    @property
    def calibration(self) -> Path:
        return self.derived / "calibration.json"

    @property
    def robustness(self) -> Path:
        return self.derived / "robustness.json"

    @property
    def neighbours(self) -> Path:  # the training set's features
        return self.derived / "neighbours.safetensors"

    @property
    def feature_map(self) -> Path:  # the test images' 2-D map (t-SNE of their features), for one size and seed
        return self.derived / "feature_map.safetensors"

    # --- the time-lapse: one frame per epoch, and the pictures every frame follows ---
    @property
    def timelapse(self) -> Path:
        return self.path / "timelapse"

    @property
    def timelapse_pictures(self) -> Path:
        return self.timelapse / "pictures.safetensors"

    def timelapse_frame(self, epoch: int) -> Path:
        return self.timelapse / f"epoch-{epoch:04d}.safetensors"

    def timelapse_frames(self) -> Iterator[tuple[int, Path]]:
        """(epoch, path) of every frame file, in epoch order; files with other names are not frames."""
        for path in sorted(self.timelapse.glob("epoch-*.safetensors")):
            match = _FRAME.fullmatch(path.name)
            if match is not None:
                yield int(match.group(1)), path

    # --- readers every kind shares ---
    def model_file(self, kind: RunKind) -> Path:
        """The file that makes a folder a run of this kind."""
        return self.spec if kind == "classifier" else self.captioner

    @property
    def kind(self) -> RunKind | None:
        """"classifier" or "captioner" from the folder's files (which a damaged summary cannot hide), or from the
        request of a run still queued; None if neither."""
        found = next((k for k in KINDS if self.model_file(k).is_file()), None)
        if found is None and self.request.is_file():
            asked = self.read_request().get("kind")
            found = asked if asked in KINDS else None
        return found

    def read_request(self) -> dict:
        """The request.json of a run started through the queue; {} for runs started otherwise (the CLI, older
        versions) or a request that cannot be read."""
        try:
            data = json.loads(self.request.read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def owner(self) -> str | None:
        """Who asked for this run (class mode); None for runs without an owner."""
        owner = self.read_request().get("owner")
        return owner if isinstance(owner, str) else None

    def weights_stamp(self) -> str:
        """Changes whenever the weights are saved again: caches derived from them keep it to stay fresh."""
        stat = self.weights.stat()
        return f"{stat.st_size}-{stat.st_mtime_ns}"

    def weights_mtime(self) -> float:
        """When the weights were last saved; 0 before the first epoch saved them."""
        return self.weights.stat().st_mtime if self.weights.exists() else 0.0

    def read_summary(self) -> RunSummary:
        data = read_json(self.summary)
        if not isinstance(data, dict):
            raise RunError(f"{self.id}: {self.summary.name} is not a JSON object")
        return RunSummary.from_json(data)

    def read_history(self) -> History:
        """The typed history (steps, epochs of the run's kind, events) from the metrics file."""
        epoch_type = history.CaptionEpochReport if self.kind == "captioner" else EpochReport
        return history.read_history(self.metrics, epoch_type)


KINDS: tuple[RunKind, ...] = ("classifier", "captioner")


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path.parent.name}: {path.name} is missing") from None
    except (ValueError, UnicodeDecodeError):
        raise RunError(f"{path.parent.name}: {path.name} is damaged (not valid JSON)") from None


def write_json(path: Path, data) -> None:
    write_bytes_atomic(path, json.dumps(data, indent=2).encode())
