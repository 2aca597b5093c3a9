"""Accuracy under the shifts of real photos: a model scored on every corruption and severity of the test images
(core.data.corruptions), the network alone (no test-time augmentation: 70 corrupted test sets with TTA would take 35
minutes on a 2-core CPU instead of 7). A run's scores are kept in its folder, keyed on its weights and data."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from core.data.sources import Dataset
from core.runs.folder import Run, write_json
from core.training.evaluate import predict_logits

Progress = Callable[[int, int, str], None]  # (sets done, sets in all, what is being scored)


@dataclass(frozen=True)
class RobustnessReport:
    images: int  # test images scored per corrupted set (the first N of the test set)
    clean: float  # accuracy on the same images uncorrupted, without TTA: the like-for-like baseline
    accuracy: dict[str, dict[int, float]]  # corruption -> severity -> accuracy

    @property
    def mean(self) -> float:
        """Mean accuracy over every corruption and severity (CIFAR-10-C's headline figure)."""
        values = [a for by_severity in self.accuracy.values() for a in by_severity.values()]
        return sum(values) / len(values) if values else 0.0

    def mean_of(self, name: str) -> float:
        values = list(self.accuracy[name].values())
        return sum(values) / len(values)

    def to_json(self) -> dict:
        return {"images": self.images, "clean": self.clean, "mean": self.mean,
                "accuracy": {name: {str(s): a for s, a in by.items()} for name, by in self.accuracy.items()}}

    @classmethod
    def from_json(cls, data: dict) -> RobustnessReport:
        accuracy = {name: {int(s): float(a) for s, a in by.items()} for name, by in data["accuracy"].items()}
        return cls(int(data["images"]), float(data["clean"]), accuracy)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, device: torch.device | str = "cpu") -> float:
    """The network's share of right answers on these images, without TTA."""
    return float((predict_logits(model, images, device).argmax(1) == labels).float().mean())


def measure(models: dict[str, nn.Module], images: torch.Tensor, labels: torch.Tensor, seed: int = 0,
            progress: Progress | None = None, device: torch.device | str = "cpu") -> dict[str, RobustnessReport]:
    """Score several models on the same corrupted sets (each set made once on the CPU, scored by all on `device`,
    where the models are moved)."""
    models = {key: model.to(device) for key, model in models.items()}
    clean = {key: accuracy(m, images, labels, device) for key, m in models.items()}
    scores: dict[str, dict[str, dict[int, float]]] = {key: {} for key in models}
    total, done = len(CORRUPTIONS) * len(SEVERITIES), 0
    for name, c in CORRUPTIONS.items():
        for severity in SEVERITIES:
            if progress:
                progress(done, total, f"{c.label}, severity {severity}")
            corrupted = corrupt(images, name, severity, seed)
            for key, model in models.items():
                scores[key].setdefault(name, {})[severity] = accuracy(model, corrupted, labels, device)
            done += 1
    if progress:
        progress(total, total, "done")
    return {key: RobustnessReport(len(images), clean[key], scores[key]) for key in models}


def run_robustness(run: Run, model: nn.Module, dataset: Dataset, images: int,
                   progress: Progress | None = None) -> RobustnessReport:
    """A run's report on the first `images` test images: read from its folder when the weights, data and size match,
    else measured and saved. A damaged or edited file is simply measured again."""
    images = max(1, min(images, len(dataset.test_x)))
    saved = saved_report(run, dataset)
    if saved and saved.images == images:
        return saved
    stamp = run.files.weights_stamp()  # taken before measuring: weights saved meanwhile leave this report stale
    [report] = measure({"run": model}, dataset.test_x[:images], dataset.test_y[:images], progress=progress).values()
    write_json(run.files.robustness, {"weights": stamp, "source": dataset.source, **report.to_json()})
    return report


def saved_report(run: Run, dataset: Dataset) -> RobustnessReport | None:
    """The run's kept report for its current weights and this data, whatever its size; None if there is none."""
    saved = _read(run.files.robustness)
    if saved and (saved["weights"], saved["source"]) == (run.files.weights_stamp(), dataset.source):
        return saved["report"]
    return None


def _read(path: Path) -> dict | None:
    try:
        saved = json.loads(path.read_text())
        report = RobustnessReport.from_json(saved)
        ok = set(report.accuracy) == set(CORRUPTIONS) and all(
            set(by) == set(SEVERITIES) and all(0 <= a <= 1 for a in by.values()) for by in report.accuracy.values())
        return {"weights": saved["weights"], "source": saved["source"], "report": report} if ok else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
