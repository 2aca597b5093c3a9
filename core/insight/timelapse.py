"""A time-lapse of learning: after every epoch, a small frame in the run folder with the first-layer filters and
where the network looks (Grad-CAM) in a few fixed test images, so a person can scrub through the epochs."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.insight.explain import explain, first_layer_filters
from core.runs.folder import read_tensors, save_tensors
from core.runs.layout import RunFolder

PICTURES = 6  # fixed test images followed through the run: the first test image of each of the first six classes


def sample_indices(labels: torch.Tensor, n: int = PICTURES) -> list[int]:
    """The first test image of each class, classes in order, up to n: the same pictures for every run on the data."""
    out = []
    for label in range(int(labels.max()) + 1 if len(labels) else 0):
        hits = (labels == label).nonzero().flatten()
        if len(hits):
            out.append(int(hits[0]))
        if len(out) == n:
            break
    return out


@dataclass(frozen=True)
class Frame:
    epoch: int
    images: torch.Tensor  # uint8 (n, 3, 32, 32): the pictures followed
    cams: torch.Tensor  # uint8 (n, 32, 32): where the evidence for the predicted class sits, 0..255
    truth: list[str]  # their labels
    predicted: list[str]
    confidence: list[float]
    filters: torch.Tensor | None  # uint8 (k, 3, s, s), each stretched to full contrast; None without an RGB conv


def record(folder: Path, epoch: int, model: nn.Sequential, classes, images: torch.Tensor, truth: list[str]) -> None:
    """Save epoch `epoch`'s frame. `model` must be a CPU float copy in eval mode (never the one training)."""
    cams, predicted, confidence = [], [], []
    for image in images:
        e = explain(model, classes, image)
        cams.append(torch.from_numpy(e.heatmap * 255).round().to(torch.uint8))
        predicted.append(e.predicted)
        confidence.append(e.probabilities[e.predicted])
    tensors = {"cams": torch.stack(cams) if cams else torch.zeros(0, 32, 32, dtype=torch.uint8)}
    filters = first_layer_filters(model)
    if filters is not None:
        tensors["filters"] = filters
    files = RunFolder(folder)
    files.timelapse.mkdir(exist_ok=True)
    if not files.timelapse_pictures.exists():  # the same pictures every epoch: kept once
        save_tensors(files.timelapse_pictures, {"images": images}, {"truth": json.dumps(truth)})
    meta = {"epoch": str(epoch), "predicted": json.dumps(predicted),
            "confidence": json.dumps(confidence)}
    save_tensors(files.timelapse_frame(epoch), tensors, meta)


def read(folder: Path) -> list[Frame]:
    """Every readable frame of a run, in epoch order; damaged ones are skipped (the rest still plays)."""
    files = RunFolder(folder)
    pictures = read_tensors(files.timelapse_pictures)
    if pictures is None:
        return []
    frames = []
    for epoch, path in files.timelapse_frames():
        loaded = read_tensors(path)
        if loaded is None:
            continue
        frame = _frame(epoch, pictures, *loaded)
        if frame is not None:
            frames.append(frame)
    return frames


def _frame(epoch: int, pictures: tuple[dict, dict], tensors: dict, meta: dict) -> Frame | None:
    """A frame from its file's tensors and metadata, or None when anything in it is not what record() writes."""
    try:
        images, cams = pictures[0]["images"], tensors["cams"]
        lists = [json.loads(pictures[1]["truth"])] + [json.loads(meta[k]) for k in ("predicted", "confidence")]
        n = len(images)
        if not (images.dtype == cams.dtype == torch.uint8 and images.shape[1:] == (3, 32, 32)
                and cams.shape == (n, 32, 32) and all(isinstance(v, list) and len(v) == n for v in lists)):
            return None
        truth, predicted, confidence = [str(t) for t in lists[0]], [str(p) for p in lists[1]], [float(c) for c in lists[2]]
    except (KeyError, ValueError, TypeError):
        return None
    return Frame(epoch, images, cams, truth, predicted, confidence, tensors.get("filters"))
