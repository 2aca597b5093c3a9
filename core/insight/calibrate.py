"""Honest confidence: temperature scaling fitted on training images a run never learned from, the reliability of its
probabilities before and after, and how accuracy trades against the share of images it answers."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torchmetrics.functional.classification import multiclass_calibration_error

from core.data.sources import Dataset
from core.runs.folder import Run, write_json
from core.training.evaluate import predict_logits
from core.training.train import unseen_indices

BINS = 15  # confidence bins of the reliability diagram and of the expected calibration error (the usual 15)
MAX_FIT_IMAGES = 5000  # held-out images the temperature is fitted on (more changes it by little)
TEMPERATURE_RANGE = (0.05, 20.0)
THRESHOLDS = tuple(round(k / 100, 2) for k in range(0, 100))  # points of the abstain curve


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The T minimising the negative log-likelihood of softmax(logits / T) (Guo et al., 2017). One scalar, so it
    changes no prediction, only how sure each one claims to be."""
    if not len(labels):
        return 1.0
    log_t = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")
    logits, labels = logits.float(), labels.long()

    def closure():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    low, high = TEMPERATURE_RANGE
    return float(log_t.detach().exp().clamp(low, high))


def nll(logits: torch.Tensor, labels: torch.Tensor, temperature: float = 1.0) -> float:
    return float(nn.functional.cross_entropy(logits.float() / temperature, labels.long())) if len(labels) else 0.0


def expected_calibration_error(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by their images."""
    if not len(labels):
        return 0.0
    return float(multiclass_calibration_error(probabilities, labels.long(), probabilities.shape[1], n_bins=BINS))


def reliability(probabilities: torch.Tensor, labels: torch.Tensor) -> list[dict]:
    """Per confidence bin (the same bins as the ECE): its range, images, mean confidence and accuracy."""
    confidence, predicted = probabilities.max(1)
    right = (predicted == labels).float()
    which = (confidence * BINS).ceil().clamp(1, BINS).long() - 1  # bin k holds (k/BINS, (k+1)/BINS]
    out = []
    for k in range(BINS):
        inside = which == k
        n = int(inside.sum())
        out.append({"low": k / BINS, "high": (k + 1) / BINS, "images": n,
                    "confidence": float(confidence[inside].mean()) if n else None,
                    "accuracy": float(right[inside].mean()) if n else None})
    return out


@dataclass(frozen=True)
class AbstainCurve:
    """Answer only when the top probability reaches a threshold: the share answered and their accuracy."""

    thresholds: list[float]
    coverage: list[float]  # share of images answered, 0..1
    accuracy: list[float | None]  # accuracy of the answered ones (None where none is answered)

    def at(self, threshold: float) -> tuple[float, float | None]:
        """(coverage, accuracy) at the nearest threshold on the curve."""
        k = min(range(len(self.thresholds)), key=lambda i: abs(self.thresholds[i] - threshold))
        return self.coverage[k], self.accuracy[k]


def abstain_curve(probabilities: torch.Tensor, labels: torch.Tensor) -> AbstainCurve:
    confidence, predicted = probabilities.max(1)
    right = (predicted == labels).float()
    coverage, accuracy = [], []
    for t in THRESHOLDS:
        answered = confidence >= t
        n = int(answered.sum())
        coverage.append(n / max(1, len(labels)))
        accuracy.append(float(right[answered].mean()) if n else None)
    return AbstainCurve(list(THRESHOLDS), coverage, accuracy)


@dataclass(frozen=True)
class CalibrationReport:
    """A run's calibration, scored on the test set: the temperature only ever saw held-out training images."""

    temperature: float
    fitted_on: int  # held-out training images the temperature was fitted on (0: none left, T stays 1)
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    reliability_before: list[dict]
    reliability_after: list[dict]
    abstain: AbstainCurve  # with the calibrated probabilities

    def to_json(self) -> dict:
        return asdict(self)


def report(test_logits: torch.Tensor, test_labels: torch.Tensor, temperature: float, fitted_on: int) -> CalibrationReport:
    before = torch.softmax(test_logits.float(), 1)
    after = torch.softmax(test_logits.float() / temperature, 1)
    return CalibrationReport(
        temperature, fitted_on,
        expected_calibration_error(before, test_labels), expected_calibration_error(after, test_labels),
        nll(test_logits, test_labels), nll(test_logits, test_labels, temperature),
        reliability(before, test_labels), reliability(after, test_labels), abstain_curve(after, test_labels))


# ----------------------------------------------------------------------------------------------------------------
# a run's temperature, fitted once per saved weights and kept in its folder


def held_out(run: Run, dataset: Dataset) -> torch.Tensor:
    """Indices of training images the run never learned from (at most MAX_FIT_IMAGES, a fixed choice)."""
    idx = unseen_indices(len(dataset.train_x), run.config)
    return idx[:MAX_FIT_IMAGES]


def run_temperature(run: Run, model: nn.Module, dataset: Dataset) -> tuple[float, int]:
    """(temperature, images fitted on) for the run's current weights and this data: read from its folder when both
    match, else fitted on its held-out images and saved. A damaged or edited file is simply fitted again."""
    stamp, path = run.files.weights_stamp(), run.files.calibration
    saved = _read(path)
    if saved and saved.get("weights") == stamp and saved.get("source") == dataset.source:
        return saved["temperature"], saved["fitted_on"]
    idx = held_out(run, dataset)
    logits = predict_logits(model, dataset.train_x[idx], tta=run.config.tta)
    temperature = fit_temperature(logits, dataset.train_y[idx]) if len(idx) else 1.0
    write_json(path, {"weights": stamp, "source": dataset.source, "temperature": temperature, "fitted_on": len(idx),
                      "nll_before": nll(logits, dataset.train_y[idx]),
                      "nll_after": nll(logits, dataset.train_y[idx], temperature)})
    return temperature, len(idx)


def _read(path: Path) -> dict | None:
    try:
        saved = json.loads(path.read_text())
        t, n = saved["temperature"], saved["fitted_on"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    ok = isinstance(t, float) and math.isfinite(t) and TEMPERATURE_RANGE[0] <= t <= TEMPERATURE_RANGE[1] \
        and isinstance(n, int) and n >= 0
    return saved if ok else None
