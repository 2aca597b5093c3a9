"""Evaluation: predictions over a split, accuracy / precision / recall / confusion, and single-image predictions."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from PIL import Image
from torch import nn

from core.data.batches import normalize
from core.data.images import FITS, to_model_input
from core.recipe import EVAL_BATCH, TTA_SHIFT


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: torch.Tensor,
    device: torch.device | str = "cpu",
    tta: int = 0,
    amp: torch.dtype | None = None,
    channels_last: bool = True,
) -> torch.Tensor:
    """uint8 (N, 3, 32, 32) -> float32 class scores (N, classes) on the CPU, in eval mode (BatchNorm frozen).
    tta 1 averages with the mirror image, tta 2 also with 1-pixel shifts (free accuracy for augmented nets)."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = []
    try:
        for start in range(0, len(images), EVAL_BATCH):
            x = normalize(images[start:start + EVAL_BATCH].to(device)).contiguous(memory_format=fmt)
            x = x.to(next(model.parameters()).dtype)  # an fp16-trained model takes fp16 inputs
            with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                out.append(_tta_logits(model, x, int(tta)).cpu())
    finally:
        model.train(was_training)
    return torch.cat(out) if out else torch.empty((0, 0))


def predict_probabilities(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu", tta: int = 0,
                          amp: torch.dtype | None = None, channels_last: bool = True) -> torch.Tensor:
    """Class probabilities (N, classes): the softmax of predict_logits."""
    logits = predict_logits(model, images, device, tta, amp, channels_last)
    return torch.softmax(logits, 1) if logits.numel() else logits


def _tta_logits(model: nn.Module, x: torch.Tensor, level: int) -> torch.Tensor:
    def mirrored(v):
        return (model(v).float() + model(v.flip(3)).float()) / 2 if level >= 1 else model(v).float()

    logits = mirrored(x)
    if level >= 2:
        k, side = TTA_SHIFT, x.shape[-1]
        padded = torch.nn.functional.pad(x, (k,) * 4, mode="reflect")
        shifted = (mirrored(padded[:, :, :side, :side]) + mirrored(padded[:, :, 2 * k:, 2 * k:])) / 2
        logits = (logits + shifted) / 2
    return logits


def predict_classes(model, images, device="cpu", tta=0, amp=None, channels_last=True) -> torch.Tensor:
    return predict_probabilities(model, images, device, tta, amp, channels_last).argmax(1)


@dataclass(frozen=True)
class AccuracyReport:
    accuracy: float  # 0..1
    per_class_accuracy: dict[str, float]


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    per_class_accuracy: dict[str, float]  # = recall per class
    precision: dict[str, float]
    recall: dict[str, float]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    misclassified: list[int]  # test-set indices, most confidently wrong first
    predictions: list[int]
    confidences: list[float]  # probability of the predicted class


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    return torch.bincount(labels * n + predictions, minlength=n * n).reshape(n, n)


def accuracy_report(predictions: torch.Tensor, labels: torch.Tensor, classes) -> AccuracyReport:
    cm = confusion_matrix(predictions.cpu(), labels.cpu(), len(classes))
    per_class = _ratio(cm.diagonal(), cm.sum(1))
    return AccuracyReport(float(cm.diagonal().sum()) / max(1, len(labels)), dict(zip(classes, per_class)))


def _ratio(num: torch.Tensor, den: torch.Tensor) -> list[float]:
    return [float(a) / float(b) if b else 0.0 for a, b in zip(num.tolist(), den.tolist())]


def metrics(probabilities: torch.Tensor, labels: torch.Tensor, classes) -> Metrics:
    predictions = probabilities.argmax(1)
    confidences = probabilities.max(1).values
    cm = confusion_matrix(predictions, labels.cpu(), len(classes))
    recall = _ratio(cm.diagonal(), cm.sum(1))
    precision = _ratio(cm.diagonal(), cm.sum(0))
    wrong = (predictions != labels.cpu()).nonzero().flatten()
    wrong = wrong[confidences[wrong].argsort(descending=True)]
    return Metrics(
        accuracy=float((predictions == labels.cpu()).float().mean()) if len(labels) else 0.0,
        per_class_accuracy=dict(zip(classes, recall)),
        precision=dict(zip(classes, precision)),
        recall=dict(zip(classes, recall)),
        confusion=cm.tolist(),
        misclassified=wrong.tolist(),
        predictions=predictions.tolist(),
        confidences=confidences.tolist(),
    )


# ----------------------------------------------------------------------------------------------------------------
# one image


@dataclass(frozen=True)
class Prediction:
    top: list[tuple[str, float]]  # (class, probability), most likely first
    caption: str
    views: dict[str, torch.Tensor]  # what the model saw: one (3, 32, 32) uint8 image per fit in core.data.images.FITS


def predict_image(model: nn.Module, classes, image: Image.Image, k: int = 5, device="cpu", temperature: float = 1.0,
                  threshold: float | None = None, tta: int = 0) -> Prediction:
    """Top-k classes of one picture of any shape, seen three ways (its centre square, squashed, padded: every fit in
    core.data.images.FITS), each with test-time augmentation `tta`, the probabilities averaged. On photo-like versions of
    held-out images this was right 77.8% of the time for a `fast` run against 66.0% for the centre square alone
    (python -m bench.uploads). `temperature` (core.insight.calibrate) softens over-confident scores; with a `threshold`, a
    top probability below it is answered "not sure" instead of a guess."""
    views = {fit: to_model_input(image, fit) for fit in FITS}
    logits = predict_logits(model, torch.stack(list(views.values())), device, tta=tta)
    probs = torch.softmax(logits / temperature, 1).mean(0)
    values, indices = probs.topk(min(k, len(classes)))
    top = [(classes[i], float(v)) for v, i in zip(values.tolist(), indices.tolist())]
    return Prediction(top, caption(top, threshold), views)


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


UNSURE_BELOW = 0.35  # without a calibrated threshold, a top probability under this is hedged


def caption(top: list[tuple[str, float]], threshold: float | None = None) -> str:
    """One sentence from the ranked classes, hedged by how sure the model is; below `threshold` it declines."""
    (first, p1), rest = top[0], top[1:]
    if threshold is not None and p1 < threshold:
        return (f"Not sure: nothing here is {threshold:.0%} likely to be one of the classes I know "
                f"(best guess {article(first)} {first}, {p1:.0%}).")
    if p1 < UNSURE_BELOW:
        names = " or ".join(f"{article(c)} {c}" for c, _ in top[:3])
        return f"I am not sure what this is; it might be {names} (best guess {first}, {p1:.0%})."
    sure = "This is" if p1 >= 0.9 else "Most likely"
    sentence = f"{sure} {article(first)} {first} ({p1:.0%})"
    if rest and rest[0][1] >= 0.05:
        second, p2 = rest[0]
        sentence += f"; it could also be {article(second)} {second} ({p2:.0%})"
    return sentence + "."
