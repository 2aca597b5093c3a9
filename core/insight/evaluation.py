"""A run scored on the test set, composed once for the Evaluate page and `python -m core evaluate`: its metrics (per
class, precision and recall, the confusion matrix) and how far to trust its confidence (calibration fitted on held-out
training images, never the test set); and the test images behind one cell of the confusion matrix."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.data.sources import Dataset
from core.insight.calibrate import CalibrationReport, run_temperature
from core.insight.calibrate import report as calibration_report
from core.runs.classes import check_same_classes
from core.runs.folder import Run
from core.training.evaluate import Metrics, metrics, predict_logits

CELL_IMAGES = 30  # images shown for one cell of the confusion matrix: its most confident ones


@dataclass(frozen=True)
class Evaluation:
    metrics: Metrics
    calibration: CalibrationReport


def evaluate_run(run: Run, model: nn.Module, dataset: Dataset) -> Evaluation:
    """The run's model on the dataset's test images (with the run's own test-time augmentation). Data with other
    classes than the run's is refused (ClassesError) before anything is classified."""
    check_same_classes(run.id, run.classes, dataset.classes)
    logits = predict_logits(model, dataset.test_x, tta=run.config.tta)
    temperature, fitted_on = run_temperature(run, model, dataset)
    return Evaluation(metrics(torch.softmax(logits, 1), dataset.test_y, run.classes),
                      calibration_report(logits, dataset.test_y, temperature, fitted_on))


def confusion_cell(m: Metrics, labels: torch.Tensor, true: int, predicted: int, limit: int = CELL_IMAGES) -> list[int]:
    """Test-image indices labelled `true` and predicted `predicted`, most confident first, at most `limit`."""
    predictions, confidences = torch.tensor(m.predictions), torch.tensor(m.confidences)
    cell = ((labels == true) & (predictions == predicted)).nonzero().flatten()
    return cell[confidences[cell].argsort(descending=True, stable=True)][:limit].tolist()
